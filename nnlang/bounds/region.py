"""Input regions smaller than a box: a box intersected with a norm ball.

A minimal-distance problem (``minimize norm1(x - x0)``) with an incumbent of
value ``r`` only needs bounds that hold for inputs at least as close as the
incumbent: ``box ∩ {||x - x0|| <= r}``. Over that region far more ReLUs are
stable than over the box. ``Ball`` describes it per network input coordinate;
``linear_max`` bounds a linear function over it exactly (L1, L∞, L0) or by a
sound relaxation (L2), vectorized over the rows of a matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NORMS = ("norm1", "norminf", "norm0", "norm2")


@dataclass(frozen=True)
class Ball:
    """``{x : ||x[S] - center[S]||_norm <= radius}``, ``S`` where ``center`` is finite.

    Coordinates with a NaN centre are not constrained by the ball (free in
    the box). ``norm0`` counts entries that differ from the centre.
    """

    norm: str
    center: np.ndarray
    radius: float

    def __post_init__(self):
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm '{self.norm}' (one of {', '.join(NORMS)})")
        if not self.radius >= 0:
            raise ValueError(f"a ball's radius must be >= 0, not {self.radius}")

    @property
    def mask(self) -> np.ndarray:
        return np.isfinite(self.center)


def shrink_box(lo: np.ndarray, hi: np.ndarray, ball: Ball
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """The smallest box containing ``[lo, hi] ∩ ball``; None if that is empty."""
    lo, hi = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
    m = ball.mask
    c = ball.center[m]
    if ball.norm == "norm0":
        if ball.radius < 1.0:  # nothing may change
            lo[m], hi[m] = np.maximum(lo[m], c), np.minimum(hi[m], c)
    else:  # every coordinate moves at most the radius (for L1 and L2 too)
        lo[m], hi[m] = np.maximum(lo[m], c - ball.radius), np.minimum(hi[m], c + ball.radius)
    if np.any(lo > hi):
        return None
    if ball.norm in ("norm1", "norm2", "norm0") and _base_cost(lo, hi, ball) > ball.radius:
        return None
    return lo, hi


def _base_cost(lo, hi, ball: Ball) -> float:
    """The distance from the centre to the nearest point of the box."""
    m = ball.mask
    gap = ball.center[m] - np.clip(ball.center[m], lo[m], hi[m])
    if ball.norm == "norm1":
        return float(np.abs(gap).sum())
    if ball.norm == "norm2":
        return float(np.sqrt(np.square(gap).sum()))
    return float(np.count_nonzero(gap))


def linear_max(A: np.ndarray, lo: np.ndarray, hi: np.ndarray, ball: Ball | None
               ) -> np.ndarray:
    """Upper bounds of ``A @ x`` over ``[lo, hi] ∩ ball``, one per row of ``A``.

    ``[lo, hi]`` should already be shrunk (:func:`shrink_box`), non-empty.
    L1: a fractional knapsack per row, exact: starting from the box point
    nearest the centre, coordinates move towards the better end of the box
    in the order of ``|a_i|``, until the radius is spent. L0: the ``radius``
    coordinates with the largest gains, exact. L∞: the box. L2: the smaller
    of the box bound and ``a·z + radius ||a_S||``, sound.
    """
    A = np.asarray(A, dtype=np.float64)
    if np.ndim(lo) >= 2:  # a box per row or per batch entry (no ball), broadcast
        return np.sum(np.maximum(A, 0.0) * hi + np.minimum(A, 0.0) * lo, axis=-1)
    box = np.maximum(A, 0.0) @ hi + np.minimum(A, 0.0) @ lo
    if ball is None or ball.norm == "norminf":
        return box
    m = ball.mask
    z = np.clip(np.where(m, ball.center, 0.0), lo, hi)  # the nearest point (on S)
    Af, Am = A[:, ~m], A[:, m]
    free = np.maximum(Af, 0.0) @ hi[~m] + np.minimum(Af, 0.0) @ lo[~m]
    zm, lom, him = z[m], lo[m], hi[m]
    # how far each coordinate may move from z in the direction that raises a·x
    cap = np.where(Am > 0, him - zm, zm - lom)
    gain = np.abs(Am)
    budget = ball.radius - _base_cost(lo, hi, ball)
    base = Am @ zm
    if ball.norm == "norm2":  # ||x - z|| <= ||x - centre|| for x in the box (projection)
        return np.minimum(box, free + base + ball.radius * np.linalg.norm(Am, axis=1))
    if ball.norm == "norm0":
        k = int(np.floor(budget + 1e-9))
        full = gain * cap
        moved = zm != ball.center[m]  # outside the box: already counted, free to move
        base = base + full[:, moved].sum(axis=1)
        full = full[:, ~moved]
        if k <= 0:
            best = np.zeros(A.shape[0])
        elif k >= full.shape[1]:
            best = full.sum(axis=1)
        else:
            best = -np.partition(-full, k - 1, axis=1)[:, :k].sum(axis=1)
        return np.minimum(box, free + base + best)
    # norm1: greedy by |a_i|, each coordinate contributes min(cap, budget left)
    return np.minimum(box, free + base + l1_greedy(gain, cap, max(budget, 0.0)))


def l1_greedy(gain: np.ndarray, cap: np.ndarray, budget: float, k0: int = 64) -> np.ndarray:
    """Per row, the fractional knapsack ``max sum g_i t_i, 0 <= t_i <= cap_i,
    sum t_i <= budget``: coordinates in the order of their gain, each up to its cap.

    Only the ``k`` largest gains (among coordinates with room to move) are sorted,
    ``k`` growing from ``k0`` until they hold the budget: a radius step's budget is
    spent in a few dozen of 784 pixels, and a full sort per row and probe was 60 %
    of the ball bounds' time."""
    n = gain.shape[1]
    key = np.where(cap > 0, gain, -1.0)  # coordinates that cannot move go last
    room = np.count_nonzero(cap > 0, axis=1)
    k = min(n, k0)
    while True:
        if k >= n:
            order = np.argsort(-key, axis=1, kind="stable")
        else:
            top = np.argpartition(-key, k - 1, axis=1)[:, :k]
            sub = np.argsort(-np.take_along_axis(key, top, axis=1), axis=1, kind="stable")
            order = np.take_along_axis(top, sub, axis=1)
        cp = np.take_along_axis(cap, order, axis=1)
        if k < n and np.any((cp.sum(axis=1) < budget) & (room > k)):
            k = min(n, 4 * k)  # some row spends beyond its top k: widen
            continue
        g = np.take_along_axis(gain, order, axis=1)
        take = np.clip(budget - (np.cumsum(cp, axis=1) - cp), 0.0, cp)
        return (g * take).sum(axis=1)


def linear_bounds(A: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  ball: Ball | None) -> tuple[np.ndarray, np.ndarray]:
    """``(min, max)`` of ``A @ x + c`` over ``[lo, hi] ∩ ball``."""
    return c - linear_max(-A, lo, hi, ball), c + linear_max(A, lo, hi, ball)


def linear_min_point(A: np.ndarray, lo: np.ndarray, hi: np.ndarray, ball: Ball | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(min of A @ x, a minimizer per row)`` over ``[lo, hi] ∩ ball`` (box shrunk).

    The minimizer is the gradient of the minimum with respect to ``A`` (for
    optimizing relaxations over the region). Exact for L1, L0, L∞; for L2 the
    value is :func:`linear_max`'s sound bound and the point is the box's.
    """
    A = np.asarray(A, dtype=np.float64)
    value = -linear_max(-A, lo, hi, ball)
    X = np.where(A > 0, lo, hi)  # the box's minimizer
    if ball is None or ball.norm in ("norminf", "norm2"):
        return value, X
    m = ball.mask
    z = np.clip(np.where(m, ball.center, 0.0), lo, hi)
    Am = -A[:, m]  # maximize -A
    zm, lom, him = z[m], lo[m], hi[m]
    cap = np.where(Am > 0, him - zm, zm - lom)
    gain = np.abs(Am)
    budget = max(ball.radius - _base_cost(lo, hi, ball), 0.0)
    if ball.norm == "norm1":
        order = np.argsort(-gain, axis=1, kind="stable")
        cp = np.take_along_axis(cap, order, axis=1)
        take_sorted = np.clip(budget - (np.cumsum(cp, axis=1) - cp), 0.0, cp)
        take = np.empty_like(take_sorted)
        np.put_along_axis(take, order, take_sorted, axis=1)
    else:  # norm0: the k largest full moves (coordinates already off the centre move free)
        k = int(np.floor(budget + 1e-9))
        full = gain * cap
        moved = zm != ball.center[m]
        score = np.where(moved[None, :], np.inf, full)
        take = np.zeros_like(full)
        if k > 0:
            kk = min(k + int(moved.sum()), full.shape[1])
            top = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
            np.put_along_axis(take, top, np.take_along_axis(cap, top, axis=1), axis=1)
        take[:, moved] = cap[:, moved]
    X[:, m] = zm + np.sign(Am) * take
    return value, X
