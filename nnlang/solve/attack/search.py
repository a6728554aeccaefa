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
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from nnlang.highs_objects import set_time_limit
from nnlang.solve.attack.region import Problem

STARTS = 8  # points moved at once
STEPS = 200  # steps per start
OVERSHOOT = 1.05  # beyond the linearized boundary: the network bends back
KEEP = 4  # points handed on


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
    mid = np.where(finite, 0.5 * (lo + hi), np.clip(0.0, lo, hi))
    ball = _ball(problem)
    centre = mid.copy()
    if ball is not None:
        centre[ball[0]] = np.clip(ball[1], lo[ball[0]], hi[ball[0]])
    sign = ball is not None and ball[2] == "norminf"
    found: list[np.ndarray] = []
    first = True
    while time.perf_counter() < deadline and len(found) < KEEP:
        if ball is not None:  # the centre and small perturbations of it
            noise = (0.0 if first else 0.05) * width * rng.standard_normal((STARTS, lo.size))
            noise[0] = 0.0 if first else noise[0]
            X = np.clip(centre + noise * (np.arange(STARTS) > 0)[:, None], lo, hi)
        else:
            X = np.clip(lo + width * rng.random((STARTS, lo.size)), lo, hi)
            if first:
                X[0] = centre
        first = False
        X = _steps(problem, X, sign, deadline, found, rng)
    if ball is not None and found:
        order = np.argsort(_distance(np.array(found), ball))
        found = [found[i] for i in order]
    return found[:KEEP]


def _steps(problem: Problem, X: np.ndarray, sign: bool, deadline: float,
           found: list, rng) -> np.ndarray:
    lo, hi = problem.lb, problem.ub
    scale = 1.0 + float(np.max(np.abs(problem.rows @ problem.columns(X[:1])[0][0]),
                               initial=0.0)) if problem.rows.shape[0] else 1.0
    margin = 1e-4 * scale
    alive = np.ones(X.shape[0], dtype=bool)
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
        if sign:
            norm = np.sum(np.abs(g), axis=1, keepdims=True)
            direction = np.sign(g)
        else:
            norm = np.sum(g * g, axis=1, keepdims=True)
            direction = g
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(norm > 0, OVERSHOOT * (loss[:, None] + margin) / norm, 0.0) \
                * direction
        stuck = norm[:, 0] <= 0
        if stuck.any():  # a flat point (every path dead): a random nudge
            step[stuck] = 0.01 * (hi - lo) * rng.standard_normal((int(stuck.sum()), lo.size))
        X[rows] = np.clip(x - step, lo, hi)
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
