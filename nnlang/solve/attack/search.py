"""The attacks of ``nnlang.registry.ATTACKS``: each returns user-column points, best
first, for :func:`nnlang.solve.attack.find` to complete, check and improve.

- ``pgd``: projected steps on the spec's rows from the objective's centre (the
  original input of a minimal-distance spec; else the box's centre and random
  points). Each step is the smallest move that would meet the violated rows if the
  network were linear around the point (DeepFool, Moosavi-Dezfooli et al. 2016): in
  the objective's norm (sign steps for L-infinity, Euclidean otherwise), projected
  onto the box, from several starts.
- ``lp``: the point of the model's LP relaxation (binaries in [0, 1]), repaired by
  the forward pass (its ReLU pattern's region, :mod:`nnlang.solve.attack.region`).
- ``centre``: the objective's centre itself, for the region moves alone: from the
  centre's ReLU pattern the phase-one LP and its moves reach the spec's rows, often
  in a few LPs where the network is small and nearly linear near the centre.
"""

from __future__ import annotations

import functools
import time

import highspy
import numpy as np

from nnlang.highs_objects import set_time_limit
from nnlang.solve.attack.region import Problem

STARTS = 8  # points moved at once
STEPS = 200  # steps per start
OVERSHOOT = 1.05  # beyond the linearized boundary: the network bends back
KEEP = 4  # points handed on
# a trust region: no step moves farther than this share of the box (per coordinate for
# sign steps, in the Euclidean norm otherwise); a linearization far from the point
# overshoots into regions where every ReLU is dead and the gradient vanishes
TRUST = 0.02
SHRINK = 0.8  # the next ball's radius, as a share of the best point's distance
ROUNDS = 6  # batches of starts at most (a spec no start reaches is likely infeasible)


def _ball(problem: Problem):
    """The objective's ball in user-column positions: (positions, centre, dist)."""
    ob = problem.milp.objective_ball
    if ob is None:
        return None
    pos = np.full(problem.milp.n, -1)
    pos[problem.cols] = np.arange(problem.cols.size)
    where = pos[np.asarray(ob.cols)]
    if np.any(where < 0):
        return None
    return where, np.asarray(ob.center, dtype=float), ob.dist


def _centre_point(problem: Problem, ball) -> np.ndarray:
    """The user point the attacks start from: the objective's centre where it has
    one (clipped to the box), the box's middle (or 0) elsewhere."""
    lo, hi = problem.lb, problem.ub
    u = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), np.clip(0.0, lo, hi))
    if ball is not None:
        u[ball[0]] = np.clip(ball[1], lo[ball[0]], hi[ball[0]])
    return u


def centre(problem: Problem, deadline: float) -> list[np.ndarray]:
    """The objective's centre: the region moves start there."""
    ball = _ball(problem)
    return [] if ball is None else [_centre_point(problem, ball)]


def _distance(U: np.ndarray, ball) -> np.ndarray:
    where, centre, dist = ball
    d = np.abs(U[:, where] - centre)
    return {"norm1": d.sum(axis=1), "norminf": d.max(axis=1, initial=0.0),
            "norm0": (d > 1e-9).sum(axis=1).astype(float),
            "sumsq": np.square(d).sum(axis=1)}[dist]


def pgd(problem: Problem, deadline: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lo, hi = problem.lb, problem.ub
    finite = np.isfinite(lo) & np.isfinite(hi)
    width = np.where(finite, hi - lo, 1.0)
    ball = _ball(problem)
    centre = _centre_point(problem, ball)
    sign = ball is not None and ball[2] == "norminf"
    found: list[np.ndarray] = []
    for k in range(ROUNDS):
        if k and (time.perf_counter() >= deadline or found):
            break  # the first batch always runs: its points are what a short limit returns
        if ball is not None:  # the centre and small perturbations of it
            noise = 0.02 * min(k, 1) * width * rng.standard_normal((STARTS, lo.size))
            noise[0] = 0.0
            X = np.clip(centre + noise, lo, hi)
        else:
            X = np.clip(lo + width * rng.random((STARTS, lo.size)), lo, hi)
            if k == 0:
                X[0] = centre
        X = _steps(problem, X, sign, deadline, found, rng)
    if not found:  # the points nearest to the spec's rows, for the region moves
        loss, _ = problem.violation(X, 0.0)
        return [X[i] for i in np.argsort(loss)[:2]] + [centre]
    if ball is None:
        return found[:KEEP]
    # shrink: projected steps inside balls smaller than the best point's distance
    best = min(found, key=lambda u: float(_distance(u[None], ball)[0]))
    d = float(_distance(best[None], ball)[0])
    r, fails = SHRINK * d, 0
    while fails < 2 and time.perf_counter() < deadline and r > 0:
        inner: list[np.ndarray] = []
        X = np.repeat(best[None], STARTS, axis=0)
        X[STARTS // 2:] = centre
        X[1:] += 0.01 * width * rng.standard_normal((STARTS - 1, lo.size))
        project = functools.partial(_project, ball=ball, radius=r, lo=lo, hi=hi)
        _steps(problem, project(X), sign, deadline, inner, rng, project)
        if inner:
            best = min(inner, key=lambda u: float(_distance(u[None], ball)[0]))
            found.append(best)
            d, fails = float(_distance(best[None], ball)[0]), 0
            r = SHRINK * d
        else:
            fails += 1
            r = 0.5 * (r + d)
    order = np.argsort(_distance(np.array(found), ball))
    return [found[i] for i in order[:KEEP]]


def _project(X: np.ndarray, ball, radius: float, lo, hi) -> np.ndarray:
    """``X`` moved into the objective's ball of ``radius`` (Euclidean projection for
    norm1 (Duchi et al. 2008) and norminf, scaling otherwise), then into the box
    (which contains the centre, so that clipping never leaves the ball)."""
    where, centre, dist = ball
    V = X[:, where] - centre
    if dist == "norminf":
        V = np.clip(V, -radius, radius)
    elif dist == "norm1":
        a = np.abs(V)
        over = a.sum(axis=1) > radius
        if over.any():
            u = -np.sort(-a[over], axis=1)
            css = np.cumsum(u, axis=1) - radius
            j = np.arange(1, u.shape[1] + 1)
            rho = np.sum(u - css / j > 0, axis=1)
            theta = css[np.arange(u.shape[0]), rho - 1] / rho
            V[over] = np.sign(V[over]) * np.maximum(a[over] - theta[:, None], 0.0)
    else:
        size = np.sqrt(np.sum(V * V, axis=1, keepdims=True))
        limit = radius if dist != "sumsq" else np.sqrt(radius)
        V = V * np.minimum(1.0, limit / np.maximum(size, 1e-300))
    X = X.copy()
    X[:, where] = centre + V
    return np.clip(X, lo, hi)


def _steps(problem: Problem, X: np.ndarray, sign: bool, deadline: float,
           found: list, rng, project=None) -> np.ndarray:
    """Half the starts take the smallest step to the linearized rows (DeepFool), half
    a normalized gradient step of decaying length (PGD): the first converges in few
    steps where the network is nearly linear, the second does not cycle between two
    regions where the first does."""
    lo, hi = problem.lb, problem.ub
    if project is None:
        def project(Y):
            return np.clip(Y, lo, hi)
    scale = 1.0 + float(np.max(np.abs(problem.rows @ problem.columns(X[:1])[0][0]),
                               initial=0.0)) if problem.rows.shape[0] else 1.0
    margin = 1e-4 * scale
    finite = np.isfinite(lo) & np.isfinite(hi)
    width = np.where(finite, hi - lo, 1.0)
    diameter = float(np.sqrt(np.sum(width * width)))
    alive = np.ones(X.shape[0], dtype=bool)
    polyak = np.arange(X.shape[0]) % 2 == 0
    for t in range(STEPS):
        if not alive.any() or (t % 5 == 0 and time.perf_counter() > deadline):
            break
        loss, g = problem.violation(X[alive], margin)
        idx = np.flatnonzero(alive)
        done = loss <= 0
        for i in idx[done]:
            found.append(X[i].copy())
        alive[idx[done]] = False
        keep = ~done
        if not keep.any():
            break
        loss, g = loss[keep], g[keep]
        rows = idx[keep]
        # the box's walls: no step along a coordinate pinned against its bound
        x = X[rows]
        g = np.where(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)), 0.0, g)
        decay = TRUST * (0.01 ** (t / (STEPS - 1)))
        if sign:
            norm = np.sum(np.abs(g), axis=1, keepdims=True)
            direction = np.sign(g)
        else:
            norm = np.sum(g * g, axis=1, keepdims=True)
            direction = g
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.where(norm > 0, OVERSHOOT * (loss[:, None] + margin) / norm, 0.0)
            length = size * (1.0 if sign else np.sqrt(norm))
            cap = np.where(polyak[rows, None], TRUST, decay)
            if sign:
                step = np.minimum(size, cap * width) * direction
            else:
                step = size * np.minimum(1.0, cap * diameter / np.maximum(length, 1e-300)) \
                    * direction
                plain = ~polyak[rows]
                step[plain] = (decay * diameter * direction[plain]
                               / np.maximum(np.sqrt(norm[plain]), 1e-300))
        stuck = norm[:, 0] <= 0
        if stuck.any():  # a flat point (every path dead): a random nudge
            step[stuck] = 0.01 * width * rng.standard_normal((int(stuck.sum()), lo.size))
        X[rows] = project(x - step)
    return X


def lp_relaxation(problem: Problem, deadline: float) -> list[np.ndarray]:
    h = problem.highs
    lb, ub = problem.milp.column_bounds()
    zc = np.concatenate([r.z for r in problem.relus]) if problem.relus else np.zeros(0, int)
    if zc.size:
        h.changeColsBounds(int(zc.size), zc.astype(np.int32), lb[zc], ub[zc])
    h.changeColsBounds(int(problem.cols.size), problem.cols.astype(np.int32),
                       problem.lb, problem.ub)
    left = deadline - time.perf_counter()
    if left <= 0.01:
        return []
    set_time_limit(h, left)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return []
    return [problem.user_of(np.asarray(h.getSolution().col_value, dtype=float))]
