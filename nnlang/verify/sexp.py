"""The s-expressions of a VNN-LIB file, read in one pass of one regular expression.

VNN-COMP properties run to megabytes (an ``or`` of thousands of input boxes);
a general parser spends much of a verification's time limit reading them. This
reader is one regular expression (which skips blanks and comments itself) and
an explicit stack: linear in the file's length, free of recursion however deep
the nesting, and it works out a token's line and column only when a message
or a span asks for it. It builds ``Node("app", [head, *args])`` for ``(head
args...)``, ``Node("sym", [tok])`` and ``Node("num", [tok])``, and
``Node("command", ...)`` at the top level.

Which commands and operators are supported is the reader's business
(``nnlang.verify.vnnlib``); here only brackets and characters are checked, each
error with its location.
"""

from __future__ import annotations

import bisect
import re
import time

from nnlang.errors import Span, SyntaxError_, TimeLimitError

_CHARS = r"A-Za-z0-9_~!@$%^&*+=<>.?/\-"
_TOKEN = re.compile(rf"(?:\s+|;[^\n]*)*(?:(\()|(\))|([{_CHARS}]+|\|[^|]*\|)|(\S)|\Z)")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


class Node:
    """An s-expression: ``data`` is "app", "sym", "num" or "command"."""

    __slots__ = ("children", "data")

    def __init__(self, data: str, children: list):
        self.data, self.children = data, children


class _Lines:
    """Line starts of a text, to turn offsets into (line, column) on demand."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def place(self, pos: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i + 1, pos - self.starts[i] + 1


class Tok(str):
    """A name or number of the file, with its offset. ``lines`` and ``type`` are
    class attributes of the per-file subclasses ``read_sexps`` makes (a token is
    a string and one offset: megabyte files hold hundreds of thousands)."""

    type = "SYMBOL"
    lines: _Lines
    pos: int

    @property
    def line(self) -> int:
        return self.lines.place(self.pos)[0]

    @property
    def column(self) -> int:
        return self.lines.place(self.pos)[1]

    @property
    def end_line(self) -> int:  # names and numbers never span lines
        return self.line


def read_sexps(text: str, filename: str, deadline: float | None = None) -> list[Node]:
    """The top-level ``(command ...)`` forms of ``text``; past ``deadline``
    (``time.perf_counter()``) reading stops with ``TimeLimitError``."""
    lines = _Lines(text)
    sym = type("Sym", (Tok,), {"lines": lines, "type": "SYMBOL"})
    num = type("Num", (Tok,), {"lines": lines, "type": "NUMBER"})

    def fail(message: str, pos: int) -> SyntaxError_:
        return SyntaxError_(message, Span(filename, *lines.place(pos)), text)

    commands: list[Node] = []
    stack: list[list] = []  # the open forms: their items so far
    opened: list[int] = []  # the offset of each open form's '('
    pos, end = 0, len(text)
    match = _TOKEN.match
    number = _NUMBER.match
    count = 0
    while True:
        count += 1
        if deadline is not None and count % 8192 == 0 and time.perf_counter() > deadline:
            raise TimeLimitError(f"the time limit ran out while reading '{filename}' "
                                 f"({pos:,} of {end:,} characters read)")
        m = match(text, pos)
        lpar, rpar, atom, other = m.groups()
        if lpar is not None:
            opened.append(m.start(1))
            stack.append([])
        elif rpar is not None:
            if not stack:
                raise fail("unexpected ')' without a matching '('", m.start(2))
            items = stack.pop()
            start = opened.pop()
            if not items or not isinstance(items[0], Tok) or items[0].type != "SYMBOL":
                what = "')'" if not items else (
                    f"number '{items[0]}'" if isinstance(items[0], Tok) else "'('")
                raise fail(f"unexpected {what} after '(' (a form starts with a name)", start)
            if stack:
                stack[-1].append(Node("app", items))
            else:
                commands.append(Node("command", items))
        elif atom is not None:
            is_number = number(atom) is not None
            tok = (num if is_number else sym)(atom)
            tok.pos = m.start(3)
            if not stack:
                what = f"number '{atom}'" if is_number else f"symbol '{atom}'"
                raise fail(f"unexpected {what} (a command must start with '(')", tok.pos)
            items = stack[-1]
            items.append(Node("num" if is_number else "sym", [tok]) if items else tok)
        elif other is not None:
            raise fail(f"unexpected character {other!r}", m.start(4))
        else:  # the end of the text
            break
        pos = m.end()
        if pos >= end and not stack:
            break
    if stack:
        all_lines = text.splitlines() or [""]
        raise SyntaxError_("unexpected end of file: a '(' is never closed",
                           Span(filename, len(all_lines), len(all_lines[-1]) + 1), text)
    return commands
