"""Solver backends: ``solve(model, options) -> Result`` with the column values in
``Result.point``. ``highs`` runs highspy directly; ``cvxpy`` lowers the model to CVXPY
for any installed solver. Which solver reaches which backend, and what each takes, is
``nnlang.registry.SOLVERS``."""
