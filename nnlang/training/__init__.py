"""Training ReLU networks with mixed-integer programs.

A training algorithm is a strategy that solves many small programs built by the
encoder (:mod:`nnlang.training.problems`) and solved by the solve stage; the
algorithms are the table ``nnlang.registry.TRAINERS``.
"""
