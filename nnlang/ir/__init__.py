"""The typed, checked model: networks, parameters, variables, expressions, constraints."""

from nnlang.ir.nodes import (
    ATOMS,
    Add,
    Apply,
    Atom,
    Const,
    Expr,
    Index,
    LayerRef,
    MatMul,
    NetworkDef,
    Reshape,
    Scale,
    Sum,
    Var,
    VarRef,
)
from nnlang.ir.options import Options
from nnlang.ir.program import Comparison, Objective, Program

__all__ = [
    "ATOMS", "Add", "Apply", "Atom", "Comparison", "Const", "Expr", "Index", "LayerRef",
    "MatMul", "NetworkDef", "Objective", "Options", "Program", "Reshape", "Scale", "Sum",
    "Var", "VarRef",
]
