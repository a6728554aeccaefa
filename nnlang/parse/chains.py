"""Chains of ``+ -`` and ``* /`` as syntax trees whose depth grows with the log of
their length: generated specs add up thousands of terms, and every later stage
(the checker, the encoder, CVXPY) walks expressions recursively."""

from __future__ import annotations

from nnlang.errors import Span
from nnlang.parse import ast


def join_spans(left: ast.Expr, right: ast.Expr) -> Span:
    """The span from ``left``'s start to ``right``'s end (end only on one line)."""
    a, b = left.span, right.span
    end = b.end_column if b.line == a.line else None
    return Span(a.file, a.line, a.column, end)


# chains up to this long keep the usual left-to-right grouping (the same trees,
# the same emitted files as always); longer ones are split in halves
_SHORT = 16


def balanced_sum(terms: list[tuple[str, ast.Expr]]) -> ast.Expr:
    """``s0 x0 s1 x1 ...`` (``terms[0]`` has sign '+') as a tree of depth log n:
    the right half's sign becomes the operator and its other signs flip, as in
    a - b + c = a - (b - c)."""
    if len(terms) <= _SHORT:
        out = terms[0][1]
        for op, x in terms[1:]:
            out = ast.BinOp(join_spans(out, x), op, out, x)
        return out
    mid = len(terms) // 2
    left = balanced_sum(terms[:mid])
    op, first = terms[mid]
    right_terms = [("+", first)] + [(s if op == "+" else ("-" if s == "+" else "+"), x)
                                     for s, x in terms[mid + 1:]]
    right = balanced_sum(right_terms)
    return ast.BinOp(join_spans(left, right), op, left, right)


def balanced_product(factors: list[ast.Expr]) -> ast.Expr:
    if len(factors) <= _SHORT:
        out = factors[0]
        for x in factors[1:]:
            out = ast.BinOp(join_spans(out, x), "*", out, x)
        return out
    mid = len(factors) // 2
    left, right = balanced_product(factors[:mid]), balanced_product(factors[mid:])
    return ast.BinOp(join_spans(left, right), "*", left, right)
