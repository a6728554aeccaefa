"""Encode a checked ``Program`` into a ``MilpModel`` (matrix form).

Expressions are lowered to ``Aff`` (sparse ``A x + c``) by a dispatch table.
``sign`` tracks whether the enclosing problem wants an expression small (+1),
large (-1) or exact (0): the epigraph encodings of abs/norms are only exact
where it is +1, and are refused elsewhere with a located message.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from nnlang.check.limits import Budget
from nnlang.encode import atoms
from nnlang.encode.affine import Aff, interval
from nnlang.encode.layers import encode_application
from nnlang.encode.weights import encode_on_data
from nnlang.errors import SemanticError, Span, UnsupportedError
from nnlang.ir import nodes as ir
from nnlang.ir.milp import (
    AppEncoding,
    LinearObjective,
    MilpModel,
    ObjectiveBall,
    QuadTerm,
    RowBlock,
    VarBlock,
)
from nnlang.ir.options import Options
from nnlang.ir.program import Program


class Builder:
    """Accumulates variable blocks and row blocks; columns only grow."""

    def __init__(self, options: Options, bound_overrides=None):
        self.options = options
        self.bound_overrides = bound_overrides or {}
        self.blocks: list[VarBlock] = []
        self.rows: list[RowBlock] = []
        self.n = 0
        self._names: dict[str, int] = {}
        self._bounds_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self.apps: dict[int, list[Aff]] = {}  # an application's layers, by id
        self.app_order: list[AppEncoding] = []
        self.weight_apps: list = []  # applications with variable weights
        self.quad: list[QuadTerm] = []
        self.bounds_seconds = 0.0
        self.approximations: list = []
        self.solver_args: dict[str, dict] = {}
        self.var_starts: dict[str, np.ndarray] = {}  # user variables' start values

    def fresh(self, base: str, span: Span | None) -> str:
        tag = f"{base}_L{span.line}" if span is not None else base
        k = self._names.get(tag, 0)
        self._names[tag] = k + 1
        return tag if k == 0 else f"{tag}_{k}"

    def add_block(self, name, shape, kind, lb, ub, role, span=None, labels=None) -> VarBlock:
        lb = np.asarray(lb, dtype=float).ravel()
        ub = np.asarray(ub, dtype=float).ravel()
        block = VarBlock(name, tuple(shape), kind, lb, ub, self.n, role, span, labels)
        self.blocks.append(block)
        self.n += block.size
        return block

    def add_rows(self, name, A, lo, hi, role, span=None, labels=None, when=None) -> None:
        if A.shape[0] == 0:
            return
        self.rows.append(RowBlock(name, A, np.asarray(lo, float), np.asarray(hi, float),
                                  role, span, labels, when))

    def column_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        if self._bounds_cache is None or self._bounds_cache[0] != len(self.blocks):
            lb = np.concatenate([b.lb for b in self.blocks]) if self.blocks else np.zeros(0)
            ub = np.concatenate([b.ub for b in self.blocks]) if self.blocks else np.zeros(0)
            self._bounds_cache = (len(self.blocks), lb, ub)
        return self._bounds_cache[1], self._bounds_cache[2]

    def model(self, objective: LinearObjective, ball: ObjectiveBall | None = None) -> MilpModel:
        """The model built so far, every matrix padded to the final column count."""
        n = self.n
        objective.c = np.pad(objective.c, (0, n - objective.c.size))
        for q in objective.quad:
            q.A.resize((q.A.shape[0], n))
        for enc in self.app_order:
            enc.input_A = enc.input_A.copy()
            enc.input_A.resize((enc.input_A.shape[0], n))
        for row in self.rows:
            if row.A.shape[1] != n:
                row.A.resize((row.A.shape[0], n))
        approximations = [(name, e.padded(n), t) for name, e, t in self.approximations]
        for enc in self.weight_apps:
            enc.pad(n)
        start = _start_values(self.blocks, self.var_starts)
        return MilpModel(self.blocks, self.rows, objective, self.app_order, n,
                         self.bounds_seconds, approximations, ball,
                         solver_args=self.solver_args, start=start,
                         weight_applications=self.weight_apps)

    # ---- expressions
    def lower(self, expr: ir.Expr, sign: int, scale: float | None = 1.0) -> Aff:
        fn = LOWERINGS.get(type(expr))
        if fn is None:  # pragma: no cover - every IR node has an entry
            raise UnsupportedError(f"cannot encode {type(expr).__name__}", expr.span)
        return fn(self, expr, sign, scale)


def _const(b: Builder, e: ir.Const, sign, scale) -> Aff:
    return Aff.const(e.value, b.n)


def _var(b: Builder, e: ir.VarRef, sign, scale) -> Aff:
    block = b.var_blocks[e.var.name]
    return Aff.columns(block.offset, block.size, b.n, e.var.shape)


def _app_layers(b: Builder, e: ir.Apply) -> list[Aff]:
    """Every layer of the application ``e`` (0 = its input) as an affine expression,
    encoded on first use."""
    key = id(e)
    if key not in b.apps:
        if e.net.variable:
            enc, layers = encode_on_data(b, e, lambda x: b.lower(x, 0))
            b.weight_apps.append(enc)
        else:
            layers = _constant_network(b, e)
        b.apps[key] = layers
    return b.apps[key]


def _constant_network(b: Builder, e: ir.Apply) -> list[Aff]:
    h = b.lower(e.arg, 0).padded(b.n)
    n_in = e.net.network.n_in
    rows = [h] if not e.batch else [h.rows(np.arange(k * n_in, (k + 1) * n_in), (n_in,))
                                    for k in range(e.batch)]
    per_sample = []
    for k, h0 in enumerate(rows):
        h0 = Aff(h0.A, h0.c, (h0.size,))
        sub = e if not e.batch else ir.Apply(e.span, e.net, e.arg, f"{e.label}[{k}]")
        enc = encode_application(b, sub, h0)
        b.app_order.append(enc)
        per_sample.append([Aff(enc.input_A, enc.input_c, (enc.input_c.size,))]
                          + [Aff.columns(x.offset, x.size, b.n, (x.size,)) for x in enc.layers])
    if not e.batch:
        return per_sample[0]
    stacked = []
    for k in range(len(per_sample[0])):
        parts = [p[k].padded(b.n) for p in per_sample]
        stacked.append(Aff(sp.vstack([q.A for q in parts], format="csr"),
                           np.concatenate([q.c for q in parts]), (e.batch, parts[0].size)))
    return stacked


def _apply(b: Builder, e: ir.Apply, sign, scale) -> Aff:
    return _app_layers(b, e)[-1].padded(b.n)


def _layer(b: Builder, e: ir.LayerRef, sign, scale) -> Aff:
    return _app_layers(b, e.app)[e.k].padded(b.n)


def _index(b: Builder, e: ir.Index, sign, scale) -> Aff:
    if isinstance(e.base, ir.VarRef):
        # x[j]: only the selected columns; lowering x first would build its whole
        # identity for every row of a constraint family (quadratic in its length)
        block = b.var_blocks[e.base.var.name]
        idx = _flat_index(e.base.var.shape, e.key)
        k = idx.size
        A = sp.csr_matrix((np.ones(k), block.offset + idx, np.arange(k + 1)), shape=(k, b.n))
        return Aff(A, np.zeros(k), e.shape)
    base = b.lower(e.base, sign, scale)
    idx = np.arange(base.size).reshape(base.shape)[e.key]
    return base.rows(np.ravel(idx), e.shape)


def _flat_index(shape: tuple[int, ...], key: tuple) -> np.ndarray:
    """The row-major positions ``key`` selects in an array of ``shape``."""
    if len(key) == len(shape) and all(isinstance(k, (int, np.integer)) for k in key):
        return np.array([np.ravel_multi_index(tuple(int(k) % n for k, n in zip(key, shape)),
                                              shape)]) if shape else np.zeros(1, int)
    return np.ravel(np.arange(int(np.prod(shape))).reshape(shape)[key])


def _reshape(b: Builder, e: ir.Reshape, sign, scale) -> Aff:
    base = b.lower(e.base, sign, scale)
    return Aff(base.A, base.c, e.shape)


def _add(b: Builder, e: ir.Add, sign, scale) -> Aff:
    return b.lower(e.left, sign, scale) + b.lower(e.right, sign, scale)


def _factor_sign(f: np.ndarray) -> int:
    if np.all(f >= 0):
        return 1
    if np.all(f <= 0):
        return -1
    return 0


def _scale(b: Builder, e: ir.Scale, sign, scale) -> Aff:
    s = sign * _factor_sign(e.factor)
    sc = scale * float(e.factor) if (scale is not None and e.factor.ndim == 0) else None
    return b.lower(e.expr, s, sc).scaled(e.factor)


def _matmul(b: Builder, e: ir.MatMul, sign, scale) -> Aff:
    inner = b.lower(e.expr, sign * _factor_sign(e.matrix), None)
    M = e.matrix if e.left else e.matrix.T
    A = sp.csr_matrix(M) @ inner.A
    return Aff(A.tocsr(), M @ inner.c, e.shape)


def _sum(b: Builder, e: ir.Sum, sign, scale) -> Aff:
    inner = b.lower(e.expr, sign, scale)
    A = sp.csr_matrix(inner.A.sum(axis=0))
    return Aff(A, np.array([inner.c.sum()]), ())


def _atom(b: Builder, e: ir.Atom, sign, scale) -> Aff:
    if e.func == "sumsq" and e.approx is not None:
        if sign != 1:
            raise SemanticError("sumsq(...) approx pwl over-approximates the sum of squares: it "
                                "can be minimized or bounded above, not maximized", e.span)
        return atoms.encode_sumsq_pwl(b, b.lower(e.arg, 0), e.approx[0], e.approx[1], e.span)
    if e.func == "sumsq":
        # ``sign == 1``: the term is minimized (``minimize c * sumsq``, c > 0, or
        # ``maximize -c * sumsq``), so the objective stays convex (concave if maximized)
        if not b.in_objective or sign != 1 or scale is None or scale == 0:
            raise SemanticError("sumsq() can only be a term of the objective that is "
                                "minimized (minimize c * sumsq(...) or maximize "
                                "-c * sumsq(...), c > 0): the problem must stay convex "
                                "apart from its integer variables", e.span)
        arg = b.lower(e.arg, 0).padded(b.n)
        b.quad.append(QuadTerm(scale, arg.A, arg.c))
        return Aff.const(0.0, b.n)
    if sign != 1:
        where = "maximized or bounded below" if sign == -1 else "in an equality"
        raise SemanticError(f"{e.func}() appears where it would be {where}; its exact "
                            f"encoding is only valid where it is minimized or bounded above "
                            f"(e.g. minimize {e.func}(...), or {e.func}(...) <= c)", e.span)
    arg = b.lower(e.arg, 0)
    if e.func == "abs":
        return atoms.encode_abs(b, arg, e.span)
    if e.func == "norm1":
        t = atoms.encode_abs(b, arg, e.span)
        return Aff(sp.csr_matrix(t.A.sum(axis=0)), np.array([t.c.sum()]), ())
    if e.func == "norminf":
        return atoms.encode_norminf(b, arg, e.span)
    if e.func == "norm0":
        return atoms.encode_norm0(b, arg, e.span)
    raise UnsupportedError(f"unknown atom {e.func}", e.span)  # pragma: no cover


LOWERINGS: dict[type, Callable[[Builder, ir.Expr, int, float | None], Aff]] = {
    ir.Const: _const,
    ir.VarRef: _var,
    ir.Apply: _apply,
    ir.LayerRef: _layer,
    ir.Index: _index,
    ir.Reshape: _reshape,
    ir.Add: _add,
    ir.Scale: _scale,
    ir.MatMul: _matmul,
    ir.Sum: _sum,
    ir.Atom: _atom,
}

_SIGN = {"<=": 1, ">=": -1, "==": 0}


def _start_values(blocks, starts: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The columns of the user variables with a start value, and those values."""
    index, value = [], []
    for block in blocks:
        if block.role == "user" and block.name in starts:
            index.append(block.offset + np.arange(block.size))
            value.append(np.ravel(starts[block.name]))
    if not index:
        return None
    return np.concatenate(index), np.concatenate(value)


def encode_program(program: Program, bound_overrides=None,
                   budget: Budget | None = None) -> MilpModel:
    """Build the MILP of ``program`` (networks bounded and encoded).

    ``bound_overrides`` maps an application label to per-layer ``(L, U)``
    pre-activation bounds known to be sound (e.g. from LP tightening); they are
    intersected with the bounds the options' method computes. ``budget``: its
    deadline stops the encoding of many constraints (``TimeLimitError``).
    """
    b = Builder(program.options, bound_overrides)
    b.in_objective = False
    b.var_blocks = {}
    for var in program.variables.values():
        b.var_blocks[var.name] = b.add_block(
            var.name, var.shape, var.domain, var.lower, var.upper, "user", var.span)
        if var.start is not None:
            b.var_starts[var.name] = var.start
        if var.integer_entries:
            _integer_entries(b, var)
    # Encode applications in declaration order so block names follow the spec.
    for app in program.applications:
        _apply(b, app, 0, None)
    for count, con in enumerate(program.constraints):
        if budget is not None and count % 256 == 0:
            budget.check_time(f"the rows of constraint '{con.name}' ({count:,} of "
                              f"{len(program.constraints):,} constraints encoded)", con.span)
        s = _SIGN[con.op]
        left = b.lower(con.left, s)
        if isinstance(con.right, ir.Const) and \
                np.broadcast_shapes(con.right.value.shape, left.shape) == left.shape:
            # '... <= 1': shift the constant part (no sparse arithmetic per row of a family)
            shift = np.broadcast_to(np.asarray(con.right.value, float), left.shape).ravel()
            diff = Aff(left.A, left.c - shift, left.shape)
        else:
            diff = left - b.lower(con.right, -s)
        diff = diff.padded(b.n)
        _add_comparison(b, con, diff)
    for dis in program.disjunctions:
        _add_disjunction(b, dis)
    objective = LinearObjective("minimize", np.zeros(0))
    ball = None
    if program.objective is not None:
        if program.objective.sense == "minimize":
            ball = _objective_ball(b, program.objective.expr)
        b.in_objective = True
        sense = program.objective.sense
        s = 1 if sense == "minimize" else -1
        aff = b.lower(program.objective.expr, s, 1.0)
        b.in_objective = False
        objective = LinearObjective(sense, aff.padded(b.n).A.toarray().ravel(),
                                    float(aff.c[0]), b.quad)
    return b.model(objective, ball)


_BALL_ATOMS = ("norm1", "norminf", "norm0", "sumsq")
_PLAIN = (ir.Const, ir.VarRef, ir.Index, ir.Reshape, ir.Add, ir.Scale)


def _plain_affine(e: ir.Expr) -> bool:
    """True if ``e`` is built from variables and constants only (lowering adds no columns)."""
    if not isinstance(e, _PLAIN):
        return False
    return all(_plain_affine(getattr(e, f)) for f in ("base", "left", "right", "expr")
               if isinstance(getattr(e, f, None), ir.Expr))


def _objective_ball(b: Builder, expr: ir.Expr) -> ObjectiveBall | None:
    """Recognize ``minimize [s *] dist(x - center)`` (dist a norm or sumsq, ``s > 0``):
    each entry of the argument one column (coefficient +-1, each column once) plus
    a constant."""
    scale = 1.0
    if isinstance(expr, ir.Scale) and np.ndim(expr.factor) == 0:
        scale, expr = float(expr.factor), expr.expr
    if not (isinstance(expr, ir.Atom) and expr.func in _BALL_ATOMS and scale > 0
            and _plain_affine(expr.arg)):
        return None
    arg = b.lower(expr.arg, 0)
    A = arg.A.tocsr()
    if not (np.all(np.diff(A.indptr) == 1) and np.all(np.abs(A.data) == 1.0)):
        return None
    cols = A.indices.copy()
    if np.unique(cols).size != cols.size:
        return None
    # |s x_j + c_i| = |x_j + c_i / s| for s = +-1: the centre is -c_i * s
    return ObjectiveBall(expr.func, cols, -arg.c * A.data, scale)


def _add_disjunction(b: Builder, dis) -> None:
    """One binary d_i per branch, sum(d) >= 1; branch i's rows relaxed by big-M when d_i = 0.

    Each row ``a x - r <= 0`` becomes ``a x - r <= M (1 - d_i)`` with ``M`` the
    row's interval upper bound over the column bounds (sound, so exact).
    """
    k = len(dis.disjuncts)
    d = b.add_block(b.fresh(f"{dis.name}.branch", dis.span), (k,), "binary", np.zeros(k),
                    np.ones(k), "aux", dis.span)
    for i, branch in enumerate(dis.disjuncts):
        for con in branch:
            s = _SIGN[con.op]
            diff = (b.lower(con.left, s) - b.lower(con.right, -s)).padded(b.n)
            parts = [diff] if con.op != "==" else [diff, -diff]
            if con.op == ">=":
                parts = [-diff]
            for part in parts:  # rows part <= 0
                A = part.padded(b.n).A
                lb, ub = b.column_bounds()
                _, hi = interval(part, lb, ub)
                if not np.isfinite(hi).all():
                    raise SemanticError(
                        f"constraint '{con.label}' is one branch of an 'or': its terms need "
                        f"finite bounds (bound the variables in it)", con.span)
                M = np.maximum(hi, 0.0)
                D = sp.csr_matrix((M, (np.arange(part.size), np.full(part.size, d.offset + i))),
                                  shape=(part.size, b.n))
                b.add_rows(dis.name, (A + D).tocsr(), np.full(part.size, -np.inf),
                           M - part.c, "user", con.span,
                           [f"{con.label}.or{i}"] * part.size)
    ones = sp.csr_matrix((np.ones(k), (np.zeros(k, dtype=int), d.offset + np.arange(k))),
                         shape=(1, b.n))
    b.add_rows(dis.name, ones, np.ones(1), np.full(1, np.inf), "user", dis.span,
               [dis.label])


def _integer_entries(b: Builder, var: ir.Var) -> None:
    """``var x[n] ... integer [i, j]``: integer copies of the chosen entries, equal to
    them, so every backend and file format takes it as it takes integer variables."""
    block = b.var_blocks[var.name]
    idx = np.asarray(var.integer_entries, dtype=int)
    k = idx.size
    lo = np.ceil(var.lower.ravel()[idx] - 1e-9)
    hi = np.floor(var.upper.ravel()[idx] + 1e-9)
    if np.any(lo > hi):
        bad = int(idx[np.argmax(lo > hi)])
        raise SemanticError(f"variable '{var.name}': entry {bad} is integer but its bounds "
                            "contain no integer", var.span)
    ints = b.add_block(f"{var.name}.int", (k,), "integer", lo, hi, "integer_entries",
                       var.span, [f"{var.name}[{i}]" for i in idx.tolist()])
    rows = np.arange(k)
    A = sp.csr_matrix((np.r_[np.ones(k), -np.ones(k)],
                       (np.r_[rows, rows], np.r_[block.offset + idx, ints.offset + rows])),
                      shape=(k, b.n))
    b.add_rows(f"{var.name}.int", A, np.zeros(k), np.zeros(k), "integer_entries", var.span,
               [f"{var.name}[{i}] integer" for i in idx.tolist()])


def _add_comparison(b: Builder, con, diff: Aff) -> None:
    A = diff.A
    if not A.data.all():  # explicit zeros (cancelled terms) would hide constant rows
        A = A.copy()
        A.eliminate_zeros()
    empty = np.diff(A.indptr) == 0
    if empty.any():
        c = diff.c[empty]
        ok = {"<=": c <= 1e-9, ">=": c >= -1e-9, "==": np.abs(c) <= 1e-9}[con.op]
        if not np.all(ok):
            raise SemanticError(f"constraint '{con.label}' does not depend on any variable and "
                                f"is always false: the problem is infeasible", con.span)
    keep = np.flatnonzero(~empty)
    if keep.size == 0:
        return
    if keep.size < empty.size:
        A, c = A[keep], diff.c[keep]
    else:
        c = diff.c
    inf = np.full(keep.size, np.inf)
    lo, hi = {"<=": (-inf, -c), ">=": (-c, inf), "==": (-c, -c)}[con.op]
    if keep.size == 1 and diff.shape == ():
        labels = [con.label]
    else:
        coords = np.stack(np.unravel_index(keep, diff.shape), axis=1)
        labels = [f"{con.label}[{','.join(map(str, c))}]" for c in coords.tolist()]
    b.add_rows(con.name, A.tocsr(), lo, hi, "user", con.span, labels)
