"""What a checked expression can be (an IR expression, a network, a layer access),
and the constant helpers the expression checker and the built-in functions share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnlang.errors import Span
from nnlang.ir import nodes as ir


@dataclass(frozen=True)
class LayerAccess:
    """The value of ``y.layer`` before it is indexed."""

    app: ir.Apply


Entity = ir.Expr | ir.NetworkDef | LayerAccess


def describe(expr: ir.Expr) -> str:
    """A short description for error messages, e.g. ``x[784]`` or ``a scalar``."""
    if isinstance(expr, ir.VarRef):
        dims = ",".join(map(str, expr.shape))
        return f"{expr.var.name}[{dims}]" if dims else expr.var.name
    if expr.shape == ():
        return "a scalar"
    return f"an expression of shape [{','.join(map(str, expr.shape))}]"


def is_const(e: Entity) -> bool:
    return isinstance(e, ir.Const)


def const(value, span: Span) -> ir.Const:
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    return ir.Const(span, arr)
