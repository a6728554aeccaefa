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

from nnlang.errors import SemanticError, Span

MEMORY_LIMIT = 4 * 2**30
BYTES_PER_COLUMN = 250
BYTES_PER_ROW = 1000


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.1f} GB"


class Budget:
    """The running estimate of one spec's model."""

    def __init__(self, limit: int = MEMORY_LIMIT):
        self.limit = limit
        self.used = 0.0

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
