"""Solving an encoded model: the stage after ``nnlang.encode``.

- :mod:`nnlang.solve.dispatch` — ``solve(task, options)``: picks the first strategy of
  ``nnlang.registry.STRATEGIES`` that is on and applies, and runs it;
- :mod:`nnlang.solve.strategies` — radius search, LP tightening, one MILP, and the
  outer approximation (sums of squares with HiGHS): transform, solve, map back;
- :mod:`nnlang.solve.backends` — HiGHS through highspy, any solver through CVXPY;
  what each takes is ``nnlang.registry.SOLVERS``;
- :mod:`nnlang.solve.answer` — column values to the spec's names, polished and
  re-checked by the forward pass;
- :mod:`nnlang.solve.results` (``Result``), :mod:`nnlang.solve.progress`,
  :mod:`nnlang.solve.diagnose` (which constraints make a model infeasible).
"""
