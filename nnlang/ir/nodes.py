"""The checked IR: typed expression nodes with shapes and spans.

Constants are folded during checking, so a ``Const`` holds a numpy array and
every other node involves at least one decision variable or network
application. Shapes are numpy shapes; ``()`` is a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlang.errors import Span
from nnlang.networks.network import Network


@dataclass(frozen=True, eq=False)
class Var:
    """A decision variable block."""

    name: str
    shape: tuple[int, ...]
    domain: str  # continuous | integer | binary
    lower: np.ndarray
    upper: np.ndarray
    span: Span
    fixed: bool = False
    start: np.ndarray | None = None  # a start value for the solver (var ... start e)
    # flat (row-major) indices of the entries that are integer in a continuous variable
    integer_entries: tuple[int, ...] = ()
    entry_names: tuple[str, ...] = ()  # one per entry (row-major), shown in results

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))


@dataclass(frozen=True, eq=False)
class NetworkDef:
    """A network declared in the spec."""

    name: str
    network: Network
    span: Span
    # layers (0-based) whose weights are expressions of variables: k -> (W, b), shapes
    # (n_out, n_in) and (n_out,); the network's own values there are placeholders
    variable: dict = field(default_factory=dict)
    # declared without weights (to be trained by ``nnlang train``)
    untrained: bool = False


@dataclass(frozen=True, eq=False)
class Expr:
    span: Span

    @property
    def shape(self) -> tuple[int, ...]:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


@dataclass(frozen=True, eq=False)
class VarRef(Expr):
    var: Var

    @property
    def shape(self) -> tuple[int, ...]:
        return self.var.shape


@dataclass(frozen=True, eq=False)
class Apply(Expr):
    """One application of a network to an input; the node is its output layer.

    Each ``Apply`` node is encoded once, however often it is referenced.
    """

    net: NetworkDef
    arg: Expr
    label: str = ""
    batch: int = 0  # applied to each of ``batch`` samples (the rows of ``arg``); 0: once

    @property
    def shape(self) -> tuple[int, ...]:
        n = self.net.network.n_out
        return (self.batch, n) if self.batch else (n,)


@dataclass(frozen=True, eq=False)
class LayerRef(Expr):
    """Layer ``k`` of an application (0 = the flattened input)."""

    app: Apply
    k: int

    @property
    def shape(self) -> tuple[int, ...]:
        n = self.app.net.network.sizes[self.k]
        return (self.app.batch, n) if self.app.batch else (n,)


@dataclass(frozen=True, eq=False)
class Index(Expr):
    base: Expr
    key: tuple[Any, ...]  # ints and slices, numpy basic indexing
    _shape: tuple[int, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape


@dataclass(frozen=True, eq=False)
class Reshape(Expr):
    base: Expr
    _shape: tuple[int, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape


@dataclass(frozen=True, eq=False)
class Add(Expr):
    left: Expr
    right: Expr
    _shape: tuple[int, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape


@dataclass(frozen=True, eq=False)
class Scale(Expr):
    """Elementwise product with a constant (broadcast, numpy rules)."""

    factor: np.ndarray
    expr: Expr
    _shape: tuple[int, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape


@dataclass(frozen=True, eq=False)
class MatMul(Expr):
    """``matrix @ expr`` (left=True) or ``expr @ matrix`` with a constant matrix."""

    matrix: np.ndarray
    expr: Expr
    left: bool
    _shape: tuple[int, ...] = field(default=())

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape


@dataclass(frozen=True, eq=False)
class Sum(Expr):
    expr: Expr

    @property
    def shape(self) -> tuple[int, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class Atom(Expr):
    """A nonlinear function with an exact MILP encoding: abs, norm1, norminf, norm0, sumsq."""

    func: str
    arg: Expr
    approx: tuple[int, str] | None = None  # sumsq only: (breakpoints, "epigraph"|"lambda")

    @property
    def shape(self) -> tuple[int, ...]:
        return self.arg.shape if self.func == "abs" else ()


ATOMS = ("abs", "norm1", "norminf", "norm0", "sumsq")
