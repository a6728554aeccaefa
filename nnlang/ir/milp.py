"""The encoded model: a mixed-integer program in matrix form.

This is what every backend consumes (CVXPY lowering, LP/MPS/AMPL emitters):
variable blocks with bounds and types, row blocks ``lo <= A x <= hi`` over
the global column vector, and a linear (plus optional sum-of-squares)
objective. Nothing here refers to the syntax tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from nnlang.errors import Span
from nnlang.networks.network import Network


def entry_suffixes(shape: tuple[int, ...], size: int) -> list[str]:
    """How the spec indexes each entry of an array, row-major: ``[i,j]`` (``""`` for a
    scalar; ``[k]`` by position when ``shape`` does not hold ``size`` entries)."""
    if size == 1 and shape == ():
        return [""]
    if len(shape) <= 1 or int(np.prod(shape)) != size:
        return [f"[{i}]" for i in range(size)]
    coords = np.stack(np.unravel_index(np.arange(size), shape), axis=1).tolist()
    return [f"[{','.join(map(str, c))}]" for c in coords]


@dataclass(eq=False)
class VarBlock:
    """A contiguous range of columns ``offset .. offset + size``."""

    name: str
    shape: tuple[int, ...]
    kind: str  # continuous | integer | binary
    lb: np.ndarray
    ub: np.ndarray
    offset: int
    role: str  # user | layer | slack | relu_binary | aux | integer_entries
    span: Span | None = None
    # per column, how the spec would write it (a block over some entries of a larger
    # expression: ``abs_L19[4]`` is entry 4 of that line's ``abs``), else by position
    labels: list[str] | None = None

    @property
    def size(self) -> int:
        return int(self.lb.size)

    @property
    def cols(self) -> slice:
        return slice(self.offset, self.offset + self.size)


@dataclass(eq=False)
class RowBlock:
    """Rows ``lo <= A @ x <= hi`` (``A`` is CSR with the model's column count)."""

    name: str
    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    role: str  # user | relu | aux | indicator | complementarity | integer_entries
    span: Span | None = None
    labels: list[str] | None = None  # per row, for user constraints
    # Conditional rows (roles indicator and complementarity): row i holds only when
    # binary column when[0][i] equals when[1][i] (0 or 1). An indicator row is
    # written natively (``z = 0 -> x <= 0``); a complementarity row as the product
    # ``(A x - hi) * (1 - z) <= 0`` (or ``* z``) of the WBO master's thesis eq. 4.16.
    when: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def conditional(self) -> bool:
        return self.when is not None

    @property
    def size(self) -> int:
        return int(self.A.shape[0])


@dataclass(eq=False)
class QuadTerm:
    """``coef * ||A x + c||^2`` in the objective."""

    coef: float
    A: sp.csr_matrix
    c: np.ndarray


@dataclass(eq=False)
class LinearObjective:
    sense: str  # minimize | maximize
    c: np.ndarray
    constant: float = 0.0
    quad: list[QuadTerm] = field(default_factory=list)


@dataclass(eq=False)
class ObjectiveBall:
    """The objective is ``scale * dist(x[cols] - center)`` with ``scale > 0``.

    ``dist`` is ``norm1``, ``norminf``, ``norm0`` or ``sumsq`` (exact or a
    piecewise-linear over-approximation). Every solution with objective value at
    most ``v`` then lies in the ball of radius :meth:`radius` ``(v)``: the region
    bounds of the objective (``nnlang.bounds.region``).
    """

    dist: str
    cols: np.ndarray
    center: np.ndarray
    scale: float

    @property
    def norm(self) -> str:
        return "norm2" if self.dist == "sumsq" else self.dist

    def radius(self, value: float) -> float:
        r = max(value, 0.0) / self.scale
        return float(np.sqrt(r)) if self.dist == "sumsq" else float(r)


@dataclass
class LayerStats:
    size: int
    active: int  # stably active (pre-activation lower bound >= 0)
    inactive: int  # stably inactive (upper bound <= 0)
    unstable: int
    mean_width: float
    activation: str


@dataclass(eq=False)
class AppEncoding:
    """How one network application was encoded."""

    label: str
    network: Network
    input_A: sp.csr_matrix  # layer 0 (flattened input) = input_A @ x + input_c
    input_c: np.ndarray
    layers: list[VarBlock]  # post-activation block of layers 1..K
    pre_bounds: list[tuple[np.ndarray, np.ndarray]]
    stats: list[LayerStats]
    # each layer's pre-activation as (A, c) over the columns existing when it was encoded
    pre_rows: list[tuple[sp.csr_matrix, np.ndarray]] = field(default_factory=list)


@dataclass(eq=False)
class WeightAppEncoding:
    """A network with variable weights applied to constant samples ``X``.

    ``weights[k] = (A_W, c_W, A_b, c_b)``: layer k's weights ``A_W x + c_W`` (flattened
    ``(n_out, n_in)``) and bias; ``layers[k]`` = ``(A, c)`` of layer k's values
    (``k = 0``: the samples), each ``(samples, width)`` row-major."""

    label: str
    network: Network
    X: np.ndarray
    weights: dict
    layers: list
    batch: int

    def pad(self, n: int) -> None:
        def grown(A):
            A = A.copy()
            A.resize((A.shape[0], n))
            return A
        self.weights = {k: (grown(a), c, grown(ab), cb) for k, (a, c, ab, cb)
                        in self.weights.items()}
        self.layers = [(grown(A), c) for A, c in self.layers]

    def network_at(self, x: np.ndarray) -> Network:
        """The network with the weights the column values ``x`` give."""
        layers = list(self.network.layers)
        for k, (aw, cw, ab, cb) in self.weights.items():
            old = layers[k]
            layers[k] = type(old)((aw @ x + cw).reshape(old.W.shape), ab @ x + cb,
                                  old.activation)
        return Network(tuple(layers), self.network.name, self.network.source,
                       self.network.input_shape)


@dataclass(eq=False)
class MilpModel:
    blocks: list[VarBlock]
    rows: list[RowBlock]
    objective: LinearObjective
    applications: list[AppEncoding]
    n: int
    bounds_seconds: float = 0.0
    # piecewise-linear approximations: (name, Aff of the argument, t block)
    approximations: list = field(default_factory=list)
    objective_ball: ObjectiveBall | None = None
    # the whole objective (quadratic terms included) at most this value: a convex
    # quadratic constraint for in-process solves only (the radius search's steps)
    objective_cutoff: float | None = None
    # native solver options the encoding asks for, per solver (the user's
    # solver_args override them), e.g. {"HIGHS": {"presolve_rule_off": 32768}}
    solver_args: dict = field(default_factory=dict)
    # a start for the solver: values of some columns ``(indices, values)``; a MIP
    # solver completes and uses it as its first incumbent if it is feasible
    start: tuple[np.ndarray, np.ndarray] | None = None
    # networks with variable weights applied to data (re-checked by a forward pass
    # with the solved weights; the bound strategies leave them alone)
    weight_applications: list[WeightAppEncoding] = field(default_factory=list)

    def block(self, name: str) -> VarBlock:
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(name)

    @property
    def num_integer(self) -> int:
        return sum(b.size for b in self.blocks if b.kind != "continuous")

    def integer_columns(self) -> np.ndarray:
        """Indices of the integer and binary columns."""
        return np.concatenate([np.arange(b.offset, b.offset + b.size) for b in self.blocks
                               if b.kind != "continuous"] or [np.zeros(0, dtype=np.int64)])

    @property
    def num_rows(self) -> int:
        return sum(r.size for r in self.rows)

    @property
    def nnz(self) -> int:
        return sum(int(r.A.nnz) for r in self.rows)

    @property
    def conditional_rows(self) -> list[RowBlock]:
        """Indicator or complementarity rows (no linear solver backend takes them)."""
        return [r for r in self.rows if r.when is not None]

    def linear_rows(self) -> list[RowBlock]:
        """The rows that are plain linear inequalities."""
        return [r for r in self.rows if r.when is None]

    def linear_system(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """``(A, lo, hi)`` of the linear rows stacked: ``lo <= A x <= hi``."""
        rows = self.linear_rows()
        if not rows:
            return sp.csr_matrix((0, self.n)), np.zeros(0), np.zeros(0)
        return (sp.vstack([r.A for r in rows], format="csr"),
                np.concatenate([r.lo for r in rows]).astype(float),
                np.concatenate([r.hi for r in rows]).astype(float))

    def size(self) -> dict[str, int]:
        """Columns, binaries, integers, rows and nonzeros (as results and files report)."""
        return {
            "variables": self.n,
            "binaries": sum(b.size for b in self.blocks if b.kind == "binary"),
            "integers": sum(b.size for b in self.blocks if b.kind == "integer"),
            "constraints": self.num_rows,
            "nonzeros": self.nnz,
        }

    def objective_row(self, value: float) -> tuple[sp.csr_matrix, float, float]:
        """The linear objective bounded by ``value`` (with a relative tolerance of
        1e-6): ``(row, lo, hi)`` with ``lo <= row @ x <= hi``."""
        tol = 1e-6 * (1.0 + abs(value))
        row = sp.csr_matrix(self.objective.c.reshape(1, -1))
        target = value - self.objective.constant
        if self.objective.sense == "minimize":
            return row, -np.inf, target + tol
        return row, target - tol, np.inf

    def cut_off(self, value: float, name: str) -> MilpModel:
        """The same model with the objective no worse than ``value``: a row named
        ``name`` for a linear objective, ``objective_cutoff`` for a sum of squares."""
        if self.objective.quad:
            return replace(self, objective_cutoff=value + 1e-6 * (1.0 + abs(value)))
        row, lo, hi = self.objective_row(value)
        return replace(self, rows=[*self.rows, RowBlock(name, row, np.array([lo]),
                                                        np.array([hi]), "aux")])

    def without_objective(self) -> MilpModel:
        """The same rows and columns with a zero objective and no cutoff (a
        feasibility model, or one whose objective a caller sets itself)."""
        return replace(self, objective=LinearObjective("minimize", np.zeros(self.n)),
                       objective_cutoff=None)

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lb = np.concatenate([b.lb.ravel() for b in self.blocks]) if self.blocks else np.zeros(0)
        ub = np.concatenate([b.ub.ravel() for b in self.blocks]) if self.blocks else np.zeros(0)
        return lb, ub
