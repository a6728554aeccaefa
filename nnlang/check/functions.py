"""Built-in functions: constant helpers, data loading and the nonlinear atoms."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from nnlang.check.data import load_data
from nnlang.check.values import const, describe, is_const
from nnlang.errors import SemanticError
from nnlang.ir import nodes as ir
from nnlang.networks.ties import conv_tie_matrix
from nnlang.parse import ast

if TYPE_CHECKING:  # the checker calls these functions; they only name its type
    from nnlang.check.exprs import ExprChecker


def _args(node: ast.Call, low: int, high: int | None = None) -> None:
    high = low if high is None else high
    n = len(node.args)
    if not low <= n <= high:
        want = f"{low}" if low == high else f"{low} to {high}"
        raise SemanticError(f"{node.func}() takes {want} argument(s), got {n}", node.span)
    if node.kwargs:
        raise SemanticError(f"{node.func}() takes no keyword arguments", node.kwargs[0].span)


def _string_arg(node: ast.Expr, what: str) -> str:
    if not isinstance(node, ast.String):
        raise SemanticError(f"{what} must be a string", node.span)
    return node.value


def _data(ck: ExprChecker, node: ast.Call) -> ir.Const:
    _args(node, 1, 2)
    path = ck.base_dir / _string_arg(node.args[0], "the data file path")
    key = _string_arg(node.args[1], "the array name") if len(node.args) > 1 else None
    return ir.Const(node.span, load_data(path, key, node.args[0].span))


def _load(ck: ExprChecker, node: ast.Call) -> ir.Const:
    raise SemanticError("load() declares a network: write 'network NAME = load(\"file\")'",
                        node.span)


def _unary_const(fn: Callable[[np.ndarray], np.ndarray]):
    def build(ck: ExprChecker, node: ast.Call) -> ir.Const:
        _args(node, 1)
        value = ck.constant(node.args[0], f"the argument of {node.func}()")
        return const(fn(value), node.span)

    return build


def _shape_const(fill: float):
    def build(ck: ExprChecker, node: ast.Call) -> ir.Const:
        if not node.args:
            raise SemanticError(f"{node.func}() needs at least one dimension", node.span)
        dims = [ck.integer(a, "a dimension") for a in node.args]
        return const(np.full(dims, fill), node.span)

    return build


def _clip(ck: ExprChecker, node: ast.Call) -> ir.Const:
    _args(node, 3)
    a, lo, hi = (ck.constant(x, "an argument of clip()") for x in node.args)
    return const(np.clip(a, lo, hi), node.span)


def _sum(ck: ExprChecker, node: ast.Call) -> ir.Expr:
    _args(node, 1)
    arg = ck.expr(node.args[0])
    if is_const(arg):
        return const(arg.value.sum(), node.span)
    return ir.Sum(node.span, arg)


def _flatten(ck: ExprChecker, node: ast.Call) -> ir.Expr:
    _args(node, 1)
    arg = ck.expr(node.args[0])
    if is_const(arg):
        return const(arg.value.reshape(-1), node.span)
    return ir.Reshape(node.span, arg, (int(np.prod(arg.shape, dtype=int)),))


def _atom(func: str, const_fn: Callable[[np.ndarray], np.ndarray]):
    def build(ck: ExprChecker, node: ast.Call) -> ir.Expr:
        _args(node, 1)
        arg = ck.expr(node.args[0])
        if is_const(arg):
            return const(const_fn(arg.value), node.span)
        return ir.Atom(node.span, func, arg)

    return build


def _max_min(fn: Callable, name: str):
    def build(ck: ExprChecker, node: ast.Call) -> ir.Expr:
        _args(node, 1)
        arg = ck.expr(node.args[0])
        if not is_const(arg):
            raise SemanticError(f"{name}() of a variable expression is not supported; "
                                f"use norminf() or a constraint family instead "
                                f"(got {describe(arg)})", node.span)
        return const(fn(arg.value), node.span)

    return build


def _reshape(ck: ExprChecker, node: ast.Call) -> ir.Expr:
    """``reshape(a, d1, d2, ...)``: the entries of ``a`` row-major in a new shape."""
    if len(node.args) < 2 or node.kwargs:
        raise SemanticError("reshape() takes an expression and its new dimensions, e.g. "
                            "reshape(a, 25, 49)", node.span)
    arg = ck.expr(node.args[0])
    shape = tuple(ck.integer(d, "a dimension") for d in node.args[1:])
    if int(np.prod(shape, dtype=int)) != int(np.prod(arg.shape, dtype=int)) or min(shape) < 1:
        raise SemanticError(f"cannot reshape {describe(arg)} to "
                            f"[{','.join(map(str, shape))}]", node.span)
    if is_const(arg):
        return const(arg.value.reshape(shape), node.span)
    return ir.Reshape(node.span, arg, shape)


def _onehot(ck: ExprChecker, node: ast.Call) -> ir.Expr:
    """``onehot(labels, classes)``: one row per label with a one in its column."""
    _args(node, 2)
    labels = ck.constant(node.args[0], "the labels")
    classes = ck.integer(node.args[1], "the number of classes")
    if labels.ndim != 1 or not np.all(labels == np.round(labels)) or labels.min() < 0 \
            or labels.max() >= classes:
        raise SemanticError(f"onehot() takes a vector of class indices in 0..{classes - 1}",
                            node.args[0].span)
    return const(np.eye(classes)[labels.astype(int)], node.span)


def _conv_map(ck: ExprChecker, node: ast.Call) -> ir.Expr:
    """``conv_map(in_h, in_w, kh, kw)``: the 0/1 matrix M with which
    ``reshape(M @ k, out_h * out_w, in_h * in_w)`` is the dense weight matrix of a
    ``kh x kw`` kernel ``k`` (stride 1, no padding): weights tied equal."""
    _args(node, 4)
    dims = [ck.integer(a, "a size") for a in node.args]
    try:
        M = conv_tie_matrix(*dims)
    except ValueError as exc:
        raise SemanticError(str(exc), node.span) from None
    return const(M.toarray(), node.span)


FUNCTIONS: dict[str, Callable[[ExprChecker, ast.Call], ir.Expr]] = {
    "reshape": _reshape,
    "onehot": _onehot,
    "conv_map": _conv_map,
    "data": _data,
    "load": _load,
    "sum": _sum,
    "flatten": _flatten,
    "abs": _atom("abs", np.abs),
    "norm1": _atom("norm1", lambda v: np.abs(v).sum()),
    "norminf": _atom("norminf", lambda v: np.abs(v).max(initial=0)),
    "norm0": _atom("norm0", lambda v: np.count_nonzero(v)),
    "sumsq": _atom("sumsq", lambda v: np.square(v).sum()),
    "max": _max_min(np.max, "max"),
    "min": _max_min(np.min, "min"),
    "argmax": _unary_const(np.argmax),
    "argmin": _unary_const(np.argmin),
    "argsort": _unary_const(lambda v: np.argsort(v, kind="stable")),
    "round": _unary_const(np.round),
    "floor": _unary_const(np.floor),
    "ceil": _unary_const(np.ceil),
    "zeros": _shape_const(0.0),
    "ones": _shape_const(1.0),
    "clip": _clip,
}
