"""The typed syntax tree the parser produces: frozen dataclasses with spans.

Nothing here knows about shapes or values; ``nnlang.check`` turns this tree into
the checked IR. Only ``nnlang.parse`` builds these nodes from lark trees.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnlang.errors import Span


@dataclass(frozen=True)
class Node:
    span: Span


# ---- expressions -----------------------------------------------------------


@dataclass(frozen=True)
class Number(Node):
    value: float | int


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # + - * / @ %
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Neg(Node):
    operand: Expr


@dataclass(frozen=True)
class Slice(Node):
    start: Expr | None
    stop: Expr | None


@dataclass(frozen=True)
class Index(Node):
    base: Expr
    items: tuple[Expr | Slice, ...]


@dataclass(frozen=True)
class Attr(Node):
    base: Expr
    name: str


@dataclass(frozen=True)
class Kwarg(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[Kwarg, ...]


@dataclass(frozen=True)
class Approx(Node):
    """``expr approx method(args)``, e.g. ``sumsq(d) approx pwl(17)``."""

    expr: Expr
    method: str
    args: tuple[Expr, ...]
    kwargs: tuple[Kwarg, ...]


Expr = Number | String | Name | ListLit | BinOp | Neg | Index | Attr | Call | Approx


# ---- conditions (constraint families) ----------------------------------------


@dataclass(frozen=True)
class CondCmp(Node):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class CondBool(Node):
    op: str  # and | or | not
    operands: tuple[Cond, ...]


Cond = CondCmp | CondBool


# ---- statements -------------------------------------------------------------


@dataclass(frozen=True)
class NetworkStmt(Node):
    name: str
    value: Expr | None  # None: the network is passed from Python (compile(networks=...))


@dataclass(frozen=True)
class NetInput(Node):
    dims: tuple[Expr, ...]


@dataclass(frozen=True)
class NetDense(Node):
    size: Expr
    activation: str | None
    weights: tuple[Expr, Expr] | None = None  # W and b as expressions


@dataclass(frozen=True)
class NetWeights(Node):
    path: str


@dataclass(frozen=True)
class NetworkBlock(Node):
    name: str
    items: tuple[NetInput | NetDense | NetWeights, ...]


@dataclass(frozen=True)
class ParamDecl(Node):
    name: str
    shape: tuple[Expr, ...] | None
    value: Expr | None


@dataclass(frozen=True)
class VarDecl(Node):
    name: str
    shape: tuple[Expr, ...] | None
    domain: str  # continuous | integer | binary
    lower: Expr | None
    upper: Expr | None
    fixed: Expr | None
    start: Expr | None = None
    integer_entries: tuple[Expr, ...] | None = None  # `integer [i, j]`: only these entries
    names: Expr | None = None  # `names [...]` / `names header("file.csv")`


@dataclass(frozen=True)
class Train(Node):
    """``train NET on INPUTS, LABELS { settings }``."""

    net: str
    inputs: Expr
    labels: Expr
    settings: tuple[Option, ...]


@dataclass(frozen=True)
class Let(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Objective(Node):
    sense: str  # minimize | maximize
    expr: Expr


@dataclass(frozen=True)
class SubjectTo(Node):
    pass


@dataclass(frozen=True)
class ForClause(Node):
    var: str
    start: Expr
    stop: Expr
    cond: Cond | None


@dataclass(frozen=True)
class Chain(Node):
    """``e0 op0 e1 op1 e2 ...`` (each pair must hold)."""

    exprs: tuple[Expr, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True)
class AnyOf(Node):
    """``any(conjunct for ...)``: a disjunction with one branch per loop value."""

    conjunct: tuple[Chain, ...]
    fors: tuple[ForClause, ...]


@dataclass(frozen=True)
class Constraint(Node):
    """``name: c1 and c2 or c3 ... for ...``: a disjunction of conjunctions of chains
    (``disjuncts`` holds conjunctions of chains, or one ``AnyOf``)."""

    name: str | None
    disjuncts: tuple[tuple[Chain, ...] | AnyOf, ...]
    fors: tuple[ForClause, ...]


@dataclass(frozen=True)
class Option(Node):
    name: str
    value: Expr


@dataclass(frozen=True)
class Options(Node):
    items: tuple[Option, ...]


Stmt = (NetworkStmt | NetworkBlock | ParamDecl | VarDecl | Let | Objective | SubjectTo
        | Constraint | Options)


@dataclass(frozen=True)
class Program(Node):
    statements: tuple[Stmt, ...]
    source: str
