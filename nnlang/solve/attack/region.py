"""A compiled model seen by the attacks: the spec's rows as a function of the user
columns (through the numpy forward pass, with its gradient), and the LP over one
linear region of the networks (every unstable ReLU's binary fixed).

With the binaries fixed, the big-M rows (and the partition rows added to them) are
exactly that ReLU pattern's polyhedron, so the LP's optimum is a true point of the
model, the best one in that region. :func:`descend` moves from region to region:
the neurons whose pre-activation is zero at the LP's optimum lie on a face shared
with the neighbouring region where they are flipped, so the optimum stays feasible
there and the objective can only improve.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.highs_objects import relax_integers, set_time_limit
from nnlang.ir.milp import LinearObjective, MilpModel, VarBlock
from nnlang.solve.answer import check_solution
from nnlang.solve.backends.highs import milp_to_highs
from nnlang.solve.results import FORWARD_GAP_WARN, Result

# a checked point may break a row or a bound by at most this (absolute)
FEASIBILITY = 1e-6
# a pre-activation this close to zero (relative to the layer's largest) is on a face
TIGHT = 1e-6
FLIPS = 50  # region moves per descent at most
REACH = 200  # region moves towards the spec's rows at most
IPM_NONZEROS = 50_000  # region LPs of more nonzeros by interior point (_lp_options)
MISS = 1e-9  # an elastic LP's miss this small: the region holds a point of the spec


@dataclass
class Relu:
    """One ReLU layer of an application: its binaries' columns ``z`` and the
    neurons they belong to (``iu``, the layer's unstable ones)."""

    app: int
    layer: int
    z: np.ndarray
    iu: np.ndarray


@dataclass(eq=False)
class Problem:
    milp: MilpModel
    cols: np.ndarray  # the user columns
    lb: np.ndarray  # their bounds
    ub: np.ndarray
    inputs: list  # per application: (A over the user columns, c)
    relus: list[Relu]
    rows: sp.csr_matrix  # the spec's rows the forward pass can evaluate
    lo: np.ndarray
    hi: np.ndarray
    layer_cols: list  # per application, per layer: its columns
    sense: float  # 1 minimize, -1 maximize
    highs: highspy.Highs  # the model as an LP (binaries continuous)
    elastic: highspy.Highs  # the same LP with the spec's rows elastic, their misses summed
    # integer columns that are not ReLU binaries (norm0's indicators, a lambda
    # formulation's segments, a disjunction's branches) and the model as a MILP that
    # sets them once the user columns and the ReLU binaries are fixed (``rounded``)
    extra: np.ndarray
    exact: highspy.Highs | None

    @classmethod
    def build(cls, milp: MilpModel) -> Problem | None:
        """None for a model the attacks do not take: no network application,
        integer user variables, a quadratic objective, conditional rows or variable
        weights."""
        if (not milp.applications or milp.objective.quad or milp.conditional_rows
                or milp.weight_applications):
            return None
        users = [b for b in milp.blocks if b.role == "user"]
        if not users or any(b.kind != "continuous" for b in users):
            return None
        cols = np.concatenate([np.arange(b.offset, b.offset + b.size) for b in users])
        position = np.full(milp.n, -1)
        position[cols] = np.arange(cols.size)
        inputs, layer_cols = [], []
        for enc in milp.applications:
            A = sp.csr_matrix(enc.input_A)
            used = np.unique(A.indices)
            if np.any(position[used] < 0):
                return None  # an input that is not a function of the user columns alone
            inputs.append((sp.csr_matrix(A[:, cols]), np.asarray(enc.input_c, dtype=float)))
            layer_cols.append([np.arange(b.offset, b.offset + b.size) for b in enc.layers])
        if any(b.role == "integer_entries" for b in milp.blocks):
            return None  # integer user variables: the attacks' points are not integral
        relus = _relus(milp)
        if relus is None:
            return None
        extra = np.setdiff1d(milp.integer_columns(),
                             np.concatenate([r.z for r in relus] + [np.zeros(0, int)]))
        known = np.zeros(milp.n, dtype=bool)
        known[cols] = True
        for lc in layer_cols:
            for c in lc:
                known[c] = True
        user_rows = [r for r in milp.linear_rows() if r.role == "user"]
        keep = [r for r in user_rows if known[np.unique(r.A.indices)].all()]
        if keep:
            R = sp.vstack([r.A for r in keep], format="csr")
            lo = np.concatenate([r.lo for r in keep]).astype(float)
            hi = np.concatenate([r.hi for r in keep]).astype(float)
        else:
            R, lo, hi = sp.csr_matrix((0, milp.n)), np.zeros(0), np.zeros(0)
        h, _ = milp_to_highs(milp, False)
        relax_integers(h, milp.integer_columns())
        e, _ = milp_to_highs(_elastic(milp), False)
        relax_integers(e, milp.integer_columns())
        for lp in (h, e):
            _lp_options(lp, milp)
        exact = None
        if extra.size:
            exact, _ = milp_to_highs(milp, False)
            exact.setOptionValue("mip_rel_gap", 0.0)
        lb, ub = milp.column_bounds()
        sense = -1.0 if milp.objective.sense == "maximize" else 1.0
        return cls(milp, cols, lb[cols], ub[cols], inputs, relus, R, lo, hi, layer_cols,
                   sense, h, e, extra, exact)

    # -- the forward pass over user columns --------------------------------------------

    def columns(self, U: np.ndarray) -> tuple[np.ndarray, list]:
        """Column values (user and layer columns; others 0) of the user points ``U``
        (batch, user columns) and every application's pre-activations."""
        X = np.zeros((U.shape[0], self.milp.n))
        X[:, self.cols] = U
        pres = []
        for enc, (A, c), lcols in zip(self.milp.applications, self.inputs, self.layer_cols):
            a = (A @ U.T).T + c
            pre_app = []
            for layer, lc in zip(enc.network.layers, lcols):
                p = a @ layer.W.T + layer.b
                a = np.maximum(p, 0.0) if layer.activation == "relu" else p
                pre_app.append(p)
                X[:, lc] = a
            pres.append(pre_app)
        return X, pres

    def violation(self, U: np.ndarray, margin: float, worst: bool = False
                  ) -> tuple[np.ndarray, np.ndarray]:
        """How far each point misses the spec's rows (with ``margin`` inside), and the
        gradient of that sum with respect to the user columns (exact almost
        everywhere: the networks are piecewise linear); with ``worst``, the gradient
        of the most violated row alone."""
        X, pres = self.columns(U)
        r = (self.rows @ X.T).T
        eq = self.lo == self.hi
        under = np.where(eq, self.lo - r, self.lo + margin - r)
        over = np.where(eq, r - self.hi, r - self.hi + margin)
        with np.errstate(invalid="ignore"):
            under = np.nan_to_num(under, nan=0.0, neginf=0.0, posinf=0.0)
            over = np.nan_to_num(over, nan=0.0, neginf=0.0, posinf=0.0)
        each = np.maximum(np.maximum(under, over), 0.0)  # per row (one side can miss)
        loss = each.sum(axis=1)
        if worst:  # the gradient of the most violated row only (Carlini and Wagner 2017)
            k = np.argmax(each, axis=1)
            pick = np.zeros_like(each)
            pick[np.arange(each.shape[0]), k] = 1.0
            each = each * pick
        dr = np.where(over >= under, 1.0, -1.0) * (each > 0)
        rows_t, inputs_t = self._transposed
        G = (rows_t @ dr.T).T  # d loss / d column values
        grad = G[:, self.cols].copy()
        for enc, A_t, lcols, pre_app in zip(self.milp.applications, inputs_t,
                                             self.layer_cols, pres):
            g = np.zeros((U.shape[0], enc.network.n_out))
            for layer, lc, p in zip(reversed(enc.network.layers), reversed(lcols),
                                    reversed(pre_app)):
                g = g + G[:, lc]
                if layer.activation == "relu":
                    g = g * (p > 0)
                g = g @ layer.W
            grad += (A_t @ g.T).T
        return loss, grad

    @functools.cached_property
    def _transposed(self) -> tuple[sp.csr_matrix, list[sp.csr_matrix]]:
        """The rows' and the inputs' transposes, built once: the attacks take
        thousands of gradients."""
        return self.rows.T.tocsr(), [A.T.tocsr() for A, _ in self.inputs]

    def pattern(self, u: np.ndarray) -> np.ndarray:
        """Every ReLU binary's value at the user point ``u`` (1 where active)."""
        _, pres = self.columns(u[None, :])
        z = np.zeros(self.milp.n)
        for r in self.relus:
            z[r.z] = (pres[r.app][r.layer][0, r.iu] > 0).astype(float)
        return z

    def tight(self, u: np.ndarray) -> np.ndarray:
        """The binary columns whose neuron's pre-activation is zero at ``u``."""
        _, pres = self.columns(u[None, :])
        out = []
        for r in self.relus:
            p = pres[r.app][r.layer][0]
            scale = 1.0 + float(np.max(np.abs(p), initial=0.0))
            out.append(r.z[np.abs(p[r.iu]) <= TIGHT * scale])
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def user_of(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x[self.cols], dtype=float).copy()

    def better(self, a: float, b: float) -> bool:
        return self.sense * (a - b) < -1e-9 * (1.0 + abs(b))

    # -- the LP over one region ------------------------------------------------------------

    def region_lp(self, z: np.ndarray, fix: np.ndarray | None, deadline: float,
                  elastic: bool = False) -> tuple[float, np.ndarray] | None:
        """The LP with every ReLU binary at ``z`` (and the user columns at ``fix``,
        if given): its objective and point (the model's columns), None if not optimal
        in time. ``elastic``: the least total miss of the spec's rows instead."""
        left = deadline - time.perf_counter()
        if left <= 0.01:
            return None
        h = self.elastic if elastic else self.highs
        zc = np.concatenate([r.z for r in self.relus]) if self.relus else np.zeros(0, int)
        if zc.size:
            h.changeColsBounds(int(zc.size), zc.astype(np.int32), z[zc], z[zc])
        lo, hi = (self.lb, self.ub) if fix is None else (fix, fix)
        h.changeColsBounds(int(self.cols.size), self.cols.astype(np.int32),
                           np.asarray(lo, float), np.asarray(hi, float))
        if not _run(h, left):
            return None
        x = np.asarray(h.getSolution().col_value, dtype=float)[:self.milp.n]
        value = float(h.getInfo().objective_function_value)
        return (value if elastic else value * self.sense), x

    def rounded(self, x: np.ndarray, deadline: float) -> tuple[float, np.ndarray] | None:
        """A region LP's point ``x`` with the other integer columns (``extra``) set by
        the MILP over them, the user columns and the ReLU binaries fixed at ``x``'s:
        the LP's objective relaxes theirs (norm0's count becomes a weighted L1), so
        the point's true objective is this MILP's. Only for a model with them."""
        left = deadline - time.perf_counter()
        if left <= 0.01:
            return None
        h = self.exact
        zc = np.concatenate([r.z for r in self.relus] + [np.zeros(0, int)])
        fixed = np.concatenate([self.cols, zc]).astype(np.int32)
        values = x[fixed].copy()
        values[self.cols.size:] = np.round(values[self.cols.size:])
        h.changeColsBounds(int(fixed.size), fixed, values, values)
        if not _run(h, left):
            return None
        y = np.asarray(h.getSolution().col_value, dtype=float)[:self.milp.n]
        ints = self.milp.integer_columns()
        y[ints] = np.round(y[ints])  # within HiGHS's tolerance: a count stays a whole number
        return float(self.milp.objective.c @ y + self.milp.objective.constant), y


def _run(h: highspy.Highs, seconds: float) -> bool:
    """Run the reused LP object for at most ``seconds``; True if it ended optimal.

    An interior point run starts from a cleared solver state: HiGHS 1.16 kept the
    previous run's basis and solution across the bound changes, and an interior
    point run after one with every binary relaxed crashed the process with a
    segmentation fault (``tests/attack/replay_region_lps.py`` replays such a
    sequence). The interior point method does not start from a basis anyway; the
    simplex runs of smaller models keep theirs as their warm start."""
    set_time_limit(h, seconds)
    if h.getOptions().solver == "ipm":
        h.clearSolver()
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _lp_options(h: highspy.Highs, milp: MilpModel) -> None:
    """The region LPs differ from one another in bounds only; their dense weight rows
    made HiGHS's presolve and dual simplex slow on networks of a few hundred neurons
    per layer, where its interior point method (with crossover, for a vertex whose
    tight neurons the moves read) took seconds instead of tens of seconds."""
    h.setOptionValue("presolve", "off")
    if milp.nnz > IPM_NONZEROS:
        h.setOptionValue("solver", "ipm")


def _elastic(milp: MilpModel) -> MilpModel:
    """The model with a miss column on either side of each of the spec's rows,
    minimizing their sum (a phase-one LP)."""
    user = [r for r in milp.linear_rows() if r.role == "user"]
    m = sum(r.size for r in user)
    n = milp.n + 2 * m
    block = VarBlock("attack.miss", (2 * m,), "continuous", np.zeros(2 * m),
                     np.full(2 * m, np.inf), milp.n, "aux")
    rows, k = [], 0
    for r in milp.rows:
        A = r.A.copy()
        A.resize((r.size, n))
        if r in user:
            i = np.arange(r.size)
            A = A + sp.csr_matrix((np.concatenate([np.ones(r.size), -np.ones(r.size)]),
                                   (np.concatenate([i, i]),
                                    milp.n + np.concatenate([k + i, m + k + i]))),
                                  shape=(r.size, n))
            k += r.size
        rows.append(replace(r, A=sp.csr_matrix(A)))
    c = np.concatenate([np.zeros(milp.n), np.ones(2 * m)])
    return replace(milp, blocks=[*milp.blocks, block], rows=rows, n=n,
                   objective=LinearObjective("minimize", c), objective_cutoff=None, start=None)


def _relus(milp: MilpModel) -> list[Relu] | None:
    """Each ReLU layer's binaries (``NAME.z`` next to ``NAME.x``, one per unstable
    neuron, as :func:`nnlang.encode.bigm.relu_columns` makes them); None when some
    relu binary is not one of them."""
    by_name = {b.name: b for b in milp.blocks}
    out, seen = [], 0
    for a, enc in enumerate(milp.applications):
        for k, (block, (L, U)) in enumerate(zip(enc.layers, enc.pre_bounds)):
            if enc.network.layers[k].activation != "relu" or not block.name.endswith(".x"):
                continue
            zb = by_name.get(block.name[:-2] + ".z")
            iu = np.flatnonzero((L < 0) & (U > 0))
            if zb is None or zb.size != iu.size:
                return None
            out.append(Relu(a, k, np.arange(zb.offset, zb.offset + zb.size), iu))
            seen += zb.size
    if seen != sum(b.size for b in milp.blocks if b.role == "relu_binary"):
        return None
    return out


def checked(problem: Problem, x: np.ndarray) -> bool:
    """Whether the column values ``x`` pass the forward pass and the model's rows,
    and its integer columns are integral."""
    ints = problem.milp.integer_columns()
    if ints.size and np.max(np.abs(x[ints] - np.round(x[ints]))) > FEASIBILITY:
        return False
    r = Result("optimal")
    check_solution(problem.milp, x, r)
    return r.forward_gap <= FORWARD_GAP_WARN and r.max_violation <= FEASIBILITY


def finished(problem: Problem, got: tuple[float, np.ndarray] | None, deadline: float
             ) -> tuple[float, np.ndarray] | None:
    """A region LP's ``got`` as a checked point of the model with its true objective
    (the other integer columns set by :meth:`Problem.rounded`), or None."""
    if got is not None and problem.extra.size:
        # a second or so for the rounding MILP, whatever the LP left of the deadline
        got = problem.rounded(got[1], max(deadline, time.perf_counter() + 1.0))
    if got is None or not checked(problem, got[1]):
        return None
    return got


def complete(problem: Problem, u: np.ndarray, fix_user: bool, deadline: float | None = None
             ) -> tuple[float, np.ndarray] | None:
    """The LP over the region of the user point ``u`` (its forward pass's ReLU
    pattern), with the user columns fixed at ``u`` or free; None if that LP has no
    point that passes :func:`checked`."""
    if deadline is None:
        deadline = time.perf_counter() + 5.0
    u = np.clip(u, problem.lb, problem.ub)
    got = problem.region_lp(problem.pattern(u), u if fix_user else None, deadline)
    return finished(problem, got, deadline)


def reach(problem: Problem, z: np.ndarray, deadline: float) -> np.ndarray | None:
    """From the region ``z``: the elastic LP (the spec's rows' least total miss in
    the region), then moves across the faces its optimum lies on while the miss
    shrinks, until it is zero (a point of the spec: its columns) or stalls (None)."""
    got = problem.region_lp(z, None, deadline, elastic=True)
    for _ in range(REACH):
        if got is None:
            return None
        miss, x = got
        if miss <= MISS:
            return x
        flip = problem.tight(problem.user_of(x))
        if not flip.size or time.perf_counter() >= deadline:
            return None
        z = z.copy()
        z[flip] = 1.0 - z[flip]
        nxt = problem.region_lp(z, None, deadline, elastic=True)
        if nxt is None or nxt[0] >= miss - 1e-9 * (1.0 + miss):
            return None
        got = nxt
    return None


def descend(problem: Problem, u: np.ndarray, deadline: float
            ) -> tuple[float, np.ndarray] | None:
    """From the user point ``u``: the LP over its region, then moves to the
    neighbouring regions across the faces the optimum lies on while the LP's objective
    improves (module docstring). The best checked point, or None."""
    u = np.clip(u, problem.lb, problem.ub)
    z = problem.pattern(u)
    lp = problem.region_lp(z, None, deadline)
    if lp is None:  # no point of the spec in u's region
        found = reach(problem, z, deadline)
        if found is None:
            return None
        u = problem.user_of(found)
        z = problem.pattern(u)
        lp = problem.region_lp(z, None, deadline)
    best = finished(problem, lp, deadline)
    if best is None:
        # the region LP drifted off (tolerances): the point itself, completed
        return complete(problem, u, fix_user=True, deadline=deadline)
    for _ in range(FLIPS):
        if time.perf_counter() >= deadline:
            break
        flip = problem.tight(problem.user_of(lp[1]))
        if not flip.size:
            break
        z = z.copy()
        z[flip] = 1.0 - z[flip]
        got = problem.region_lp(z, None, deadline)
        if got is None or not problem.better(got[0], lp[0]):
            break
        point = finished(problem, got, deadline)
        if point is None:
            break
        lp = got
        if problem.better(point[0], best[0]):
            best = point
    return best
