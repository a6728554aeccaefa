"""Per-entry comforts of a variable declaration: ``integer [i, ...]`` (chosen entries
integer) and ``names [...]`` / ``names header("file.csv")`` (entry names for results)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from nnlang.check.exprs import ExprChecker
from nnlang.errors import SemanticError, Span
from nnlang.parse import ast


def integer_entries(exprs: ExprChecker, stmt: ast.VarDecl, size: int) -> tuple[int, ...]:
    """The flat indices ``integer [i, ...]`` names, checked against the variable."""
    if stmt.domain != "continuous":
        raise SemanticError(f"variable '{stmt.name}' is {stmt.domain} already: "
                            "'integer [i, ...]' makes chosen entries of a continuous "
                            "variable integer", stmt.integer_entries[0].span)
    out: list[int] = []
    for e in stmt.integer_entries:
        value = np.ravel(exprs.constant(e, "an entry index"))
        if value.dtype.kind not in "iub" and not np.all(value == np.round(value)):
            raise SemanticError("entry indices must be whole numbers", e.span)
        for v in value.astype(int).tolist():
            if not 0 <= v < size:
                raise SemanticError(f"entry {v} is out of range for '{stmt.name}' "
                                    f"({size} entries, counted from 0)", e.span)
            out.append(v)
    return tuple(sorted(set(out)))


def entry_names(exprs: ExprChecker, stmt: ast.VarDecl, size: int) -> tuple[str, ...]:
    """One name per entry, from a list of strings or a CSV file's header."""
    node = stmt.names
    if isinstance(node, ast.ListLit) and all(isinstance(i, ast.String) for i in node.items):
        names = [i.value for i in node.items]
    elif isinstance(node, ast.Call) and node.func == "header" and not node.kwargs \
            and 1 <= len(node.args) <= 2 and isinstance(node.args[0], ast.String):
        names = csv_header(exprs.base_dir / node.args[0].value, node.args[0].span)
        if len(node.args) == 2:
            names = names[: exprs.integer(node.args[1], "a column count")]
    else:
        raise SemanticError("names takes a list of strings, [\"a\", \"b\"], or "
                            "header(\"file.csv\") (its first line; header(\"file.csv\", "
                            "n) for the first n columns)", node.span)
    if len(names) != size:
        raise SemanticError(f"variable '{stmt.name}' has {size} entries but {len(names)} "
                            "names", node.span)
    if len(set(names)) != len(names):
        raise SemanticError(f"variable '{stmt.name}': the names repeat", node.span)
    return tuple(names)


def csv_header(path: Path, span: Span) -> list[str]:
    """The column names on the first line of a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            row = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError) as exc:
        raise SemanticError(f"cannot read the header of '{path}': {exc}", span) from None
    if not row:
        raise SemanticError(f"'{path}' has no header line", span)
    return [c.strip() for c in row]
