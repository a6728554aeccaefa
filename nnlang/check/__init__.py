"""Semantic checking: syntax tree -> checked IR (``nnlang.ir.Program``).

Resolves names, loads networks and data, folds parameters, checks shapes,
types, indices and options, and expands constraint families. Every error
carries the span of the construct at fault.
"""

from nnlang.check.program import check_program

__all__ = ["check_program"]
