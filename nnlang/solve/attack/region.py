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

import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.highs_objects import relax_integers, set_time_limit
from nnlang.ir.milp import MilpModel
from nnlang.solve.answer import check_solution
from nnlang.solve.backends.highs import milp_to_highs
from nnlang.solve.results import FORWARD_GAP_WARN, Result

# a checked point may break a row or a bound by at most this (absolute)
FEASIBILITY = 1e-6
# a pre-activation this close to zero (relative to the layer's largest) is on a face
TIGHT = 1e-6
FLIPS = 50  # region moves per descent at most


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

    @classmethod
    def build(cls, milp: MilpModel) -> Problem | None:
        """None for a model the attacks do not take: no network application,
        integer user variables or other integers than ReLU binaries, a quadratic
        objective, conditional rows or variable weights."""
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
        relus = _relus(milp)
        if relus is None:
            return None
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
        lb, ub = milp.column_bounds()
        sense = -1.0 if milp.objective.sense == "maximize" else 1.0
        return cls(milp, cols, lb[cols], ub[cols], inputs, relus, R, lo, hi, layer_cols,
                   sense, h)

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

    def violation(self, U: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
        """How far each point misses the spec's rows (with ``margin`` inside), and the
        gradient of that sum with respect to the user columns (exact almost
        everywhere: the networks are piecewise linear)."""
        X, pres = self.columns(U)
        r = (self.rows @ X.T).T
        eq = self.lo == self.hi
        under = np.where(eq, self.lo - r, self.lo + margin - r)
        over = np.where(eq, r - self.hi, r - self.hi + margin)
        with np.errstate(invalid="ignore"):
            loss = np.sum(np.maximum(np.nan_to_num(under, nan=0.0, neginf=0.0), 0.0)
                          + np.maximum(np.nan_to_num(over, nan=0.0, neginf=0.0), 0.0), axis=1)
            dr = (np.nan_to_num(over, neginf=0.0) > 0).astype(float) \
                - (np.nan_to_num(under, neginf=0.0) > 0).astype(float)
        G = (self.rows.T @ dr.T).T  # d loss / d column values
        grad = G[:, self.cols].copy()
        for enc, (A, _), lcols, pre_app in zip(self.milp.applications, self.inputs,
                                                self.layer_cols, pres):
            g = np.zeros((U.shape[0], enc.network.n_out))
            for layer, lc, p in zip(reversed(enc.network.layers), reversed(lcols),
                                    reversed(pre_app)):
                g = g + G[:, lc]
                if layer.activation == "relu":
                    g = g * (p > 0)
                g = g @ layer.W
            grad += (A.T @ g.T).T
        return loss, grad

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

    def region_lp(self, z: np.ndarray, fix: np.ndarray | None, deadline: float
                  ) -> tuple[float, np.ndarray] | None:
        """The LP with every ReLU binary at ``z`` (and the user columns at ``fix``,
        if given): its objective and point, None if not optimal in time."""
        left = deadline - time.perf_counter()
        if left <= 0.01:
            return None
        h = self.highs
        zc = np.concatenate([r.z for r in self.relus]) if self.relus else np.zeros(0, int)
        if zc.size:
            h.changeColsBounds(int(zc.size), zc.astype(np.int32), z[zc], z[zc])
        lo, hi = (self.lb, self.ub) if fix is None else (fix, fix)
        h.changeColsBounds(int(self.cols.size), self.cols.astype(np.int32),
                           np.asarray(lo, float), np.asarray(hi, float))
        set_time_limit(h, left)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(h.getSolution().col_value, dtype=float)
        value = float(h.getInfo().objective_function_value) * self.sense
        return value, x


def _relus(milp: MilpModel) -> list[Relu] | None:
    """Each ReLU layer's binaries (``NAME.z`` next to ``NAME.x``, one per unstable
    neuron, as :func:`nnlang.encode.bigm.relu_columns` makes them); None when some
    integer column is not one of them."""
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
    if seen != milp.num_integer:
        return None
    return out


def checked(problem: Problem, x: np.ndarray) -> bool:
    """Whether the column values ``x`` pass the forward pass and the model's rows."""
    r = Result("optimal")
    check_solution(problem.milp, x, r)
    return r.forward_gap <= FORWARD_GAP_WARN and r.max_violation <= FEASIBILITY


def complete(problem: Problem, u: np.ndarray, fix_user: bool, deadline: float | None = None
             ) -> tuple[float, np.ndarray] | None:
    """The LP over the region of the user point ``u`` (its forward pass's ReLU
    pattern), with the user columns fixed at ``u`` or free; None if that LP has no
    point that passes :func:`checked`."""
    if deadline is None:
        deadline = time.perf_counter() + 5.0
    u = np.clip(u, problem.lb, problem.ub)
    got = problem.region_lp(problem.pattern(u), u if fix_user else None, deadline)
    if got is None or not checked(problem, got[1]):
        return None
    return got


def descend(problem: Problem, u: np.ndarray, deadline: float
            ) -> tuple[float, np.ndarray] | None:
    """From the user point ``u``: the LP over its region, then moves to the
    neighbouring regions across the faces the optimum lies on while the objective
    improves (module docstring). The best checked point, or None."""
    u = np.clip(u, problem.lb, problem.ub)
    best = complete(problem, u, fix_user=False, deadline=deadline)
    if best is None:
        # the region LP drifted off (tolerances): the point itself, completed
        return complete(problem, u, fix_user=True, deadline=deadline)
    z = problem.pattern(u)  # the region the LP was over
    for _ in range(FLIPS):
        if time.perf_counter() >= deadline:
            break
        u = problem.user_of(best[1])
        flip = problem.tight(u)
        if not flip.size:
            break
        z = z.copy()
        z[flip] = 1.0 - z[flip]
        got = problem.region_lp(z, None, deadline)
        if got is None or not problem.better(got[0], best[0]) or not checked(problem, got[1]):
            break
        best = got
    return best
