"""Exact sum-of-squares objectives with HiGHS: outer approximation.

HiGHS solves MILPs and convex QPs but not MIQPs. A minimized objective
``c x + sum_i w_i (Q_i x + q_i)^2`` (``w_i > 0``) over a MILP is solved exactly
by outer approximation (Duran and Grossmann 1986, with one cut per squared entry):

- the *master* MILP pays, for each squared entry ``r_i = Q_i x + q_i``, the
  envelope of tangent lines ``2 a r_i - a^2`` (each below ``r_i^2``, so the
  master's bound is a lower bound on the optimum). The envelope is convex and
  piecewise linear: it enters as bounded columns, one per piece (:class:`Envelope`);
- the master's solution, with the integer columns fixed, leaves a convex QP whose
  optimum is a feasible point (an upper bound); tangents there close off its
  integer assignment (by the QP's optimality, no point of that assignment has an
  envelope value below the QP's optimum);
- repeat, each master asked only for points better than the incumbent by more
  than the MIP gap, until none is left or the bounds meet.

The best point is re-checked with the forward pass like any solution.
``objective_cutoff`` (a radius step's ``objective <= v``) is a row over the
envelope and bounds each ``|r_i|`` by ``sqrt(v / w_i)``. Its times against SCIP's
MIQP: docs/reproductions.md ("L2 exact with HiGHS").
"""

from __future__ import annotations

import time

import clarabel
import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.encode.affine import Aff, interval
from nnlang.errors import SolverError
from nnlang.highs_objects import relax_integers, set_time_limit, use_threads
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import progress
from nnlang.solve.backends.highs import milp_to_highs
from nnlang.solve.results import Result, relative_gap

ROUNDS = 200  # master MILPs at most (each adds tangents)
ABS_GAP = 1e-6  # HiGHS's mip_abs_gap default
REL_GAP = 1e-4  # HiGHS's mip_rel_gap default, when the options give none
# a tangent is added where the envelope is below the square by more than this
# (times 1 + |incumbent|)
CUT_TOL = 1e-7
QP_SECONDS = 2.0  # a fixed-integer QP gets at least this long (10x the longest before)
# also the fixed-integer QPs of up to this many of a master's earlier improving
# solutions (other ReLU patterns): their tangents spare later masters the finding of
# those patterns (docs/reproductions.md, "L2 exact with HiGHS")
IMPROVING = 5
CLARABEL_SECONDS = 0.5  # at least this long for Clarabel after HiGHS's QP solver failed


class SquaresObjective:
    """``c x + const + sum_i w_i (Q x + q)_i^2`` as minimized (a maximized concave
    objective is negated; anything else is not convex)."""

    def __init__(self, model: MilpModel):
        obj = model.objective
        sign = -1.0 if obj.sense == "maximize" else 1.0
        self.sign = sign
        self.c = sign * np.asarray(obj.c, dtype=float)
        self.const = sign * float(obj.constant)
        terms = [q for q in obj.quad if q.A.shape[0]]
        if any(sign * q.coef < 0 for q in terms):
            raise SolverError("the objective's quadratic part is not convex "
                              "(a sum of squares must be minimized)")
        self.Q = sp.vstack([sp.csr_matrix(q.A) for q in terms], format="csr") if terms \
            else sp.csr_matrix((0, model.n))
        self.q = np.concatenate([np.asarray(q.c, dtype=float).ravel() for q in terms]) \
            if terms else np.zeros(0)
        self.w = np.concatenate([np.full(q.A.shape[0], sign * q.coef) for q in terms]) \
            if terms else np.zeros(0)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return self.Q @ x + self.q

    def value(self, x: np.ndarray) -> float:
        r = self.residuals(x)
        return float(self.c @ x + self.const + self.w @ np.square(r))

    def ranges(self, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interval of each residual over the column bounds."""
        lo, hi = interval(Aff(self.Q, self.q, self.q.shape), lb, ub)
        return np.nan_to_num(lo, nan=-np.inf), np.nan_to_num(hi, nan=np.inf)

    def qp_terms(self) -> tuple[sp.csc_matrix, np.ndarray, float]:
        """Hessian ``H`` (of ``1/2 x'Hx``), linear part and constant of the objective."""
        WQ = sp.diags(self.w) @ self.Q
        H = sp.csc_matrix(2.0 * (self.Q.T @ WQ))
        lin = self.c + 2.0 * (WQ.T @ self.q)
        return H, lin, self.const + float(self.w @ np.square(self.q))


class Envelope:
    """Tangent points of every residual's square, and the lower envelope they make
    (``max_a 2 a r - a^2``, with ``a = 0`` always in) as bounded segment columns.

    Around an anchor ``p_i`` in each residual's range, ``r_i = p_i + sum(right) -
    sum(left)``: each piece of the envelope between two breakpoints is a column
    ``0 <= delta <= length`` costing the envelope's slope there (minus it on the
    left). The slopes grow away from the anchor, so a minimizing LP fills the
    pieces in order and pays exactly the envelope.
    """

    def __init__(self, m: int):
        self.m = m
        self.started = False
        self.rows = np.arange(m, dtype=np.int64)
        self.points = np.zeros(m)

    @classmethod
    def for_model(cls, model: MilpModel) -> Envelope:
        """An empty envelope for the squared entries of ``model``'s objective."""
        return cls(sum(q.A.shape[0] for q in model.objective.quad if q.A.shape[0]))

    @property
    def count(self) -> int:
        return int(self.rows.size)

    def value(self, r: np.ndarray) -> np.ndarray:
        env = np.full(self.m, -np.inf)
        np.maximum.at(env, self.rows, 2.0 * self.points * r[self.rows] - np.square(self.points))
        return env

    def add(self, rows: np.ndarray, points: np.ndarray) -> int:
        keep = np.isfinite(points)
        self.rows = np.concatenate([self.rows, rows[keep]])
        self.points = np.concatenate([self.points, points[keep]])
        return int(keep.sum())

    def segments(self, lo: np.ndarray, hi: np.ndarray):
        """The pieces over the residual ranges ``[lo, hi]`` as arrays ``(row, sign,
        start, length, slope)`` (``sign`` +1 right of the anchor, -1 left; ``start``
        the end nearest the anchor), and the anchors."""
        anchor = np.clip(0.0, lo, hi)
        order = np.lexsort((self.points, self.rows))
        rows, pts = self.rows[order], self.points[order]
        dup = np.zeros(rows.size, bool)
        dup[1:] = (rows[1:] == rows[:-1]) & (pts[1:] - pts[:-1] <= 1e-12 * (1 + np.abs(pts[1:])))
        rows, pts = rows[~dup], pts[~dup]
        mid = 0.5 * (pts[1:] + pts[:-1])
        same = rows[1:] == rows[:-1]
        left = np.maximum(np.concatenate([[-np.inf], np.where(same, mid, -np.inf)]), lo[rows])
        right = np.minimum(np.concatenate([np.where(same, mid, np.inf), [np.inf]]), hi[rows])
        p = anchor[rows]
        r_start, l_start = np.maximum(left, p), np.minimum(right, p)
        on_r, on_l = right > r_start, l_start > left
        segs = (np.concatenate([rows[on_r], rows[on_l]]),
                np.concatenate([np.ones(on_r.sum()), -np.ones(on_l.sum())]),
                np.concatenate([r_start[on_r], l_start[on_l]]),
                np.concatenate([(right - r_start)[on_r], (l_start - left)[on_l]]),
                np.concatenate([2.0 * pts[on_r], 2.0 * pts[on_l]]))
        return segs, anchor

    @staticmethod
    def fill(segs, r: np.ndarray) -> np.ndarray:
        """The piece columns' values at residuals ``r``."""
        rows, sign, start, length, _ = segs
        return np.clip(sign * (r[rows] - start), 0.0, length)


def _fixed_qp(model: MilpModel, obj: SquaresObjective, x: np.ndarray | None, seconds: float,
              threads: int | None) -> np.ndarray | None:
    """The QP with the integer columns fixed at ``x``'s (rounded) values (relaxed to
    their bounds if ``x`` is None): its optimal point, or None (not solved in time).

    HiGHS's QP solver first; it sometimes stops with "Solve error" or stalls on the
    same pattern master after master (docs/reproductions.md): then Clarabel."""
    start = time.perf_counter()
    fixed = None if x is None else np.round(x[model.integer_columns()])
    point = _highs_qp(model, obj, fixed, seconds, threads)
    if point is not None:
        return point
    return _clarabel_qp(model, obj, fixed,
                        max(seconds - (time.perf_counter() - start), CLARABEL_SECONDS))


def _highs_qp(model: MilpModel, obj: SquaresObjective, fixed: np.ndarray | None, seconds: float,
              threads: int | None) -> np.ndarray | None:
    """The QP of :func:`_fixed_qp` with HiGHS: its optimal point, or None."""
    h, _ = milp_to_highs(model.without_objective(), False)
    relax_integers(h, model.integer_columns(), fixed)
    H, lin, const = obj.qp_terms()
    H = sp.tril(H, format="csc")
    H.sort_indices()
    h.changeColsCost(model.n, np.arange(model.n, dtype=np.int32), lin)
    h.changeObjectiveOffset(const)
    h.passHessian(model.n, int(H.nnz), int(highspy.HessianFormat.kTriangular),
                  H.indptr.astype(np.int32), H.indices.astype(np.int32), H.data)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    set_time_limit(h, seconds)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


def _clarabel_qp(model: MilpModel, obj: SquaresObjective, fixed: np.ndarray | None,
                 seconds: float) -> np.ndarray | None:
    """The QP of :func:`_fixed_qp` with Clarabel (integer columns at ``fixed``, or
    relaxed): its solution clipped into the column bounds, or None."""
    lb, ub = (b.copy() for b in model.column_bounds())
    ints = model.integer_columns()
    if fixed is not None and ints.size:
        lb[ints] = ub[ints] = fixed
    A, lo, hi = model.linear_system()
    eye = sp.identity(model.n, format="csr")
    eq, col_eq = lo == hi, lb == ub
    up, down = np.isfinite(hi) & ~eq, np.isfinite(lo) & ~eq
    col_up, col_down = np.isfinite(ub) & ~col_eq, np.isfinite(lb) & ~col_eq
    zero = sp.vstack([A[eq], eye[col_eq]], format="csc")
    nonneg = sp.vstack([A[up], -A[down], eye[col_up], -eye[col_down]], format="csc")
    M = sp.vstack([zero, nonneg], format="csc")
    b = np.concatenate([lo[eq], lb[col_eq], hi[up], -lo[down], ub[col_up], -lb[col_down]])
    H, lin, _ = obj.qp_terms()
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.time_limit = float(seconds)
    cones = [clarabel.ZeroConeT(zero.shape[0]), clarabel.NonnegativeConeT(nonneg.shape[0])]
    sol = clarabel.DefaultSolver(sp.triu(H, format="csc"), lin, M, b, cones, settings).solve()
    if str(sol.status) not in ("Solved", "AlmostSolved"):
        return None
    return np.clip(np.asarray(sol.x, dtype=float), lb, ub)


def _master(model: MilpModel, obj: SquaresObjective, env: Envelope, lo: np.ndarray,
            hi: np.ndarray, cutoff: float | None, options: Options):
    """The master MILP over ``[x, piece columns]`` (see :class:`Envelope`), with the
    objective at most ``cutoff``."""
    h, _ = milp_to_highs(model.without_objective(), options.verbose)
    n, m = model.n, obj.Q.shape[0]
    segs, anchor = env.segments(lo, hi)
    rows, sign, _, length, slope = segs
    k = rows.size
    base = float(obj.w @ env.value(anchor))
    cost = obj.w[rows] * sign * slope
    inf = highspy.kHighsInf
    h.addCols(k, cost, np.zeros(k), np.where(np.isfinite(length), length, inf), 0,
              np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), obj.c)
    h.changeObjectiveOffset(obj.const + base)
    link = sp.hstack([obj.Q, sp.csr_matrix((-sign, (rows, np.arange(k))), shape=(m, k))],
                     format="csr")
    _add_rows(h, link, anchor - obj.q, anchor - obj.q)
    if cutoff is not None:
        row = sp.csr_matrix(np.concatenate([obj.c, cost])[None, :])
        _add_rows(h, row, np.array([-inf]), np.array([cutoff - obj.const - base]))
    for key, value in options.solver_args.get("HIGHS", {}).items():
        h.setOptionValue(key, value)
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    return h


def _ranges(model: MilpModel, obj: SquaresObjective, cutoff: float | None):
    """Each residual's range over the column bounds, within ``sqrt(cutoff / w_i)``
    when the objective is at most ``cutoff`` (``w_i r_i^2 <= cutoff - the rest``)."""
    lb, ub = model.column_bounds()
    lo, hi = obj.ranges(lb, ub)
    if cutoff is not None:
        pos, neg = np.maximum(obj.c, 0), np.minimum(obj.c, 0)
        with np.errstate(invalid="ignore"):
            least = float(np.nan_to_num(pos @ lb + neg @ ub, nan=-np.inf)) + obj.const
        if np.isfinite(least):
            reach = np.sqrt(np.maximum(cutoff - least, 0.0) / obj.w)
            lo, hi = np.maximum(lo, -reach), np.minimum(hi, reach)
    return lo, hi


def solve(model: MilpModel, options: Options, model_at=None,
          envelope: Envelope | None = None) -> Result:
    """Solve a MILP with a convex sum-of-squares objective by outer approximation
    (module docstring) with HiGHS; the answer is checked with the forward pass.

    ``model_at(v)``, if given, returns the model restricted to objective values at
    most ``v`` (the radius search's ball of ``v``, with tighter neuron bounds): once
    a point of value ``u`` is known, each master is built over ``model_at(u)``.
    ``envelope``: tangents to start from and to add to (shared by the radius
    search's steps, whose models have the same squared entries). The best point goes
    to ``Result.point`` (checked by the caller).
    """
    start = time.perf_counter()
    deadline = None if options.time_limit is None else start + float(options.time_limit)
    rel_gap = REL_GAP if options.mip_gap is None else float(options.mip_gap)
    base_obj = SquaresObjective(model)
    sign = base_obj.sign
    limit = None if model.objective_cutoff is None else sign * model.objective_cutoff
    env = Envelope(base_obj.Q.shape[0]) if envelope is None else envelope
    if env.m != base_obj.Q.shape[0]:
        raise ValueError("the envelope is for another objective")
    if not env.started:
        lo, hi = _ranges(model, base_obj, limit)
        for end in (lo, hi):  # first tangents at the ends of each range
            keep = np.flatnonzero(np.isfinite(end) & (end != 0))
            env.add(keep, end[keep])
        env.started = True
    use_threads(options.threads)

    def within(value: float) -> bool:  # a point of this value is a solution of ``model``
        return bool(np.isfinite(value)) and (limit is None or value <= limit)

    best, upper, lower = None, np.inf, -np.inf  # best: (model, point)
    ball = None  # (incumbent value, model_at's model for it, its objective)
    rounds, nodes, qp_seconds, balls = 0, 0, 0.0, []
    qp_longest, qp_failed, masters = 0.0, 0, []
    status = "time_limit"
    S = highspy.HighsModelStatus
    improving = highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution
    while rounds < ROUNDS:
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0.01:
            break
        # only points better than the incumbent by more than the gap are of interest
        cutoff = limit
        if within(upper):
            cutoff = upper - max(ABS_GAP, rel_gap * abs(upper))
        current, obj = model, base_obj
        if model_at is not None and within(upper):
            if ball is None or ball[0] != upper:  # encode once per incumbent value
                at = model_at(sign * upper)
                ball = (upper, at, base_obj if at is model else SquaresObjective(at))
                balls.append(upper)
            _, current, obj = ball
        lo, hi = _ranges(current, obj, cutoff)
        if np.any(lo > hi + 1e-9):  # no point of value at most the cutoff
            status = "optimal" if within(upper) else "infeasible"
            lower = upper if within(upper) else lower
            break
        h = _master(current, obj, env, lo, np.maximum(hi, lo), cutoff, options)
        h.setOptionValue("mip_rel_gap", rel_gap)
        if left is not None:
            set_time_limit(h, left)
        found: list[np.ndarray] = []
        tick = progress.mip_ticker(f"outer approximation, master {rounds + 1}", sign)

        def callback(kind, message, out, into, data, n=current.n, found=found, tick=tick):
            if int(kind) == int(improving):
                if out.mip_solution is not None:
                    found.append(np.array(out.mip_solution[:n], dtype=float))
            elif tick is not None:
                tick(out)

        h.setCallback(callback, None)
        h.startCallback(improving)
        if tick is not None:
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
        t = time.perf_counter()
        h.run()
        rounds += 1
        info = h.getInfo()
        masters.append({"seconds": round(time.perf_counter() - t, 3),
                         "nodes": int(getattr(info, "mip_node_count", 0) or 0),
                         "pieces": h.getNumCol() - current.n,
                         "status": h.modelStatusToString(h.getModelStatus())})
        nodes += int(getattr(info, "mip_node_count", 0) or 0)
        ms = h.getModelStatus()
        if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
            what = (f"nothing better than {_show(sign * upper)}" if within(upper)
                    else "no point within the cutoff")
            progress.say(f"outer approximation, master {rounds}: {what} "
                         f"({masters[-1]['seconds']:.1f} s)")
            # nothing beats the incumbent by more than the gap (or meets the limit)
            status = "optimal" if within(upper) else "infeasible"
            lower = upper if within(upper) else lower
            break
        if np.isfinite(info.mip_dual_bound):
            lower = max(lower, float(info.mip_dual_bound))
        if int(getattr(info, "primal_solution_status", 0)) != 2:
            break  # out of time (or an error) without a point
        x = np.asarray(h.getSolution().col_value, dtype=float)[:current.n]
        points = [x]
        t = time.perf_counter()
        left = None if deadline is None else deadline - time.perf_counter()
        # HiGHS's QP solver can stall on a degenerate QP for the whole time limit: cap
        # it; the master's point still cuts
        cap = max(QP_SECONDS, 10.0 * qp_longest)
        xq = _fixed_qp(current, obj, x, cap if left is None else min(cap, left), options.threads)
        if xq is not None:
            points.append(xq)
            qp_longest = max(qp_longest, time.perf_counter() - t)
        else:
            qp_failed += 1
        if found:
            ints = current.integer_columns()
            seen = {tuple(np.round(x[ints]).astype(int))}
            for y in reversed(found[:-1] if len(found) > 1 else []):
                key = tuple(np.round(y[ints]).astype(int))
                if key in seen:
                    continue
                left = None if deadline is None else deadline - time.perf_counter()
                if len(seen) > IMPROVING or (left is not None and left <= 0.01):
                    break
                seen.add(key)
                yq = _fixed_qp(current, obj, y, cap if left is None else min(cap, left),
                               options.threads)
                if yq is not None:
                    points.append(yq)
            masters[-1]["improving"] = len(found)
        qp_seconds += time.perf_counter() - t
        for p in points:
            f = obj.value(p)
            if f < upper:
                upper, best = f, (current, p)
        masters[-1].update(lower=sign * lower if np.isfinite(lower) else None,
                           upper=sign * upper if np.isfinite(upper) else None)
        beyond = "" if within(upper) else " beyond the cutoff"
        progress.say(f"outer approximation, master {rounds}: bound {_show(sign * lower)}, "
                     f"best {_show(sign * upper)}{beyond} ({masters[-1]['seconds']:.1f} s)")
        if within(upper) and upper - lower <= max(ABS_GAP, rel_gap * abs(upper)):
            status = "optimal"
            break
        if limit is not None and lower > limit:
            status = "infeasible"
            break
        if ms != S.kOptimal:
            break  # out of time with a point: report it with the bound
        tol = CUT_TOL * (1.0 + abs(upper))
        added = 0
        for p in points:
            r = obj.residuals(p)
            rows = np.flatnonzero(obj.w * (np.square(r) - env.value(r)) > tol)
            added += env.add(rows, r[rows])
        if not added:  # nothing left to cut: the master's point is as good as it says
            status = "optimal" if within(upper) else "infeasible"
            lower = upper
            break

    result = Result(status, solver="highs", solve_seconds=time.perf_counter() - start,
                    nodes=nodes)
    if best is not None and within(upper) and status != "infeasible":
        result.objective = sign * upper
        if np.isfinite(lower):
            result.bound = sign * min(lower, upper)
            result.gap = relative_gap(result.objective, result.bound)
        result.point = best
    elif status == "time_limit":
        result.message = "no feasible solution found within the time limit"
        if np.isfinite(lower):
            result.bound = sign * lower
    note = (f"outer approximation: {rounds} master MILP{'s' if rounds != 1 else ''}, "
            f"{env.count} tangents, "
            f"fixed-integer QPs {qp_seconds:.2f} s")
    if qp_failed:
        note += f" ({qp_failed} not solved in time)"
    if balls:
        note += f", masters over balls of {len(balls)} values down to {min(balls):.6g}"
    result.notes.append(note)
    result.search = {"rounds": rounds, "tangents": env.count, "qp_seconds": qp_seconds,
                     "lower": sign * lower if np.isfinite(lower) else None,
                     "masters": masters}
    if np.isfinite(upper) and not within(upper):
        # a point of this value met the model's rows but not its cutoff: outside the
        # ball its neuron bounds may not hold, so it is a hint, not a solution
        result.candidate = (sign * upper, best[0], best[1])
    return result


def _show(value: float) -> str:
    return f"{value:.6g}" if np.isfinite(value) else "none"


def _add_rows(h, A: sp.spmatrix, lo: np.ndarray, hi: np.ndarray) -> None:
    A = sp.csr_matrix(A)
    A.sort_indices()
    h.addRows(int(A.shape[0]), lo.astype(float), hi.astype(float), int(A.nnz),
              A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(float))
