"""The one error hierarchy of nnlang.

Every error a user can cause is an ``NnlangError`` carrying an optional source
span; the CLI prints ``render()`` and exits non-zero. Anything else is a bug.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """A location in a spec file (1-based line and column)."""

    file: str
    line: int
    column: int
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class NnlangError(Exception):
    """Base class: a user-facing error with an optional source location."""

    kind = "error"
    exit_code = 1  # nnlang.cli.EXIT_CODES

    def __init__(self, message: str, span: Span | None = None, source: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source

    def with_span(self, span: Span | None, source: str | None = None) -> NnlangError:
        """Attach a location if the error has none yet; returns self."""
        if self.span is None and span is not None:
            self.span = span
        if self.source is None and source is not None:
            self.source = source
        return self

    def render(self) -> str:
        """``file:line:col: error: message`` plus the source line and a caret."""
        if self.span is None:
            return f"error: {self.message}"
        head = f"{self.span}: error: {self.message}"
        line = _source_line(self.span, self.source)
        if line is None:
            return head
        col = max(self.span.column, 1)
        width = 1
        if self.span.end_column and self.span.end_column > col:
            width = self.span.end_column - col
        caret = " " * (col - 1) + "^" + "~" * (width - 1)
        expanded = line.expandtabs(1)
        return f"{head}\n    {expanded}\n    {caret}"


def _source_line(span: Span, source: str | None) -> str | None:
    text = source
    if text is None:  # the file named by the span, as text (gzipped files too)
        try:
            raw = Path(span.file).read_bytes()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
        text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


class SyntaxError_(NnlangError):
    """The spec does not parse."""


class SemanticError(NnlangError):
    """Unknown names, shape or type mismatches, bad indices, bad options."""


class DataError(NnlangError):
    """A weights or data file is missing, malformed or holds NaN/inf."""


class UnsupportedError(NnlangError):
    """A valid construct that this backend, format or loader cannot handle."""


class SolverError(NnlangError):
    """The solver failed or is not installed."""


class TimeLimitError(NnlangError):
    """The time limit ran out before there was a model to solve (while compiling)."""

    exit_code = 4
