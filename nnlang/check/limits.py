"""Models too large to build are refused before they are built, naming the size.

The estimate is deliberately simple and documented (docs/language.md, "Limits"):
about ``BYTES_PER_COLUMN`` for every variable entry (bounds, names, the solver's
column arrays; a one-million-entry variable solves in about 220 MB) and
``BYTES_PER_ROW`` for every constraint the spec spells out (a row of a family
is a checked expression, a sparse row and its label before the solver sees
it). A spec whose estimate exceeds ``MEMORY_LIMIT`` is an error at the
declaration that crosses it, before any array of that size exists.
"""

from __future__ import annotations

import math
import time

from nnlang.errors import SemanticError, Span, TimeLimitError
from nnlang.parse import ast

MEMORY_LIMIT = 4 * 2**30
BYTES_PER_COLUMN = 250
BYTES_PER_ROW = 1000


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GB"


class Budget:
    """The running estimate of one spec's model."""

    def __init__(self, limit: int = MEMORY_LIMIT, deadline: float | None = None):
        self.limit = limit
        self.used = 0.0
        # a time.perf_counter() value: a time limit counted from the command's start
        # also stops the compilation of a spec too large to build in time
        self.deadline = deadline

    def check_time(self, what: str, span: Span | None) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise TimeLimitError(f"the time limit ran out while building {what}: there is "
                                 "no model to solve yet (a larger --time-limit, or fewer "
                                 "rows)", span)

    def columns(self, count: int, what: str, span: Span | None) -> None:
        """``count`` more variable entries (or columns an encoding adds)."""
        self._add(count * BYTES_PER_COLUMN, f"{what} has {count:,} entries", span)

    def rows(self, count: int, what: str, span: Span | None) -> None:
        """``count`` more constraint rows."""
        self._add(count * BYTES_PER_ROW, f"{what} has {count:,} rows", span)

    def _add(self, n_bytes: float, text: str, span: Span | None) -> None:
        if self.used + n_bytes > self.limit:
            raise SemanticError(
                f"{text}: the model would need about {_gb(self.used + n_bytes)}, more than "
                f"the {_gb(self.limit)} nnlang builds (docs/language.md, 'Limits')", span)
        self.used += n_bytes


def spec_time_limit(prog: ast.Program) -> float | None:
    """The spec's own ``options { time_limit = T }`` for a positive number ``T``, read
    before checking so that the limit can stop a compilation too long for it (the
    checker validates the option itself later)."""
    for stmt in prog.statements:
        if isinstance(stmt, ast.Options):
            for opt in stmt.items:
                if opt.name == "time_limit" and isinstance(opt.value, ast.Number):
                    value = float(opt.value.value)
                    if math.isfinite(value) and value > 0:
                        return value
    return None
