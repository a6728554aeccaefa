"""Optimized-slope (alpha-CROWN style) linear bounds, in numpy.

Back-substitution (DeepPoly / CROWN; :func:`nnlang.bounds.backsub.backsub`) bounds a
linear function ``C @ z_k`` of a
layer's pre-activations by replacing every earlier unstable ReLU with two
lines: the upper chord of the triangle, and a lower line ``relu(p) >= alpha p``
for *any* slope ``alpha`` in ``[0, 1]``. DeepPoly fixes ``alpha`` to 0 or 1;
here every row of ``C`` gets its own slopes, improved by a few projected
gradient (Adam) steps on the bound itself (Xu et al., "Fast and complete",
ICLR 2021). The bound is a piecewise-linear function of the slopes whose
gradient is computed exactly by reverse mode over the back-substitution.

Soundness does not depend on the optimization: every slope vector in
``[0, 1]`` gives a valid bound, so the best bound seen over the iterations is
valid too. Slopes are clipped to ``[0, 1]`` before every evaluation.

Entry points:

- :func:`row_bounds_alpha`: lower bounds of ``C @ z_k`` (``k`` = the output
  layer for the property's rows).
- :func:`tighten_alpha`: tighter pre-activation bounds of the unstable
  neurons of every hidden layer (layer by layer, each from the improved
  bounds below it), for the MILP's big-M constants and for the rows.

Split constraints (branch and bound over ReLUs) enter through the
pre-activation bounds: a ReLU split active has ``L = max(L, 0)``, inactive
``U = min(U, 0)``; the bounds are then sound for the part of the box where
the split holds (``split_bounds``).
"""

from __future__ import annotations

import time

import numpy as np

from nnlang.bounds.backsub import backsub
from nnlang.bounds.interval import affine_bounds
from nnlang.networks.network import Network

BETAS = (0.9, 0.999)


def init_alpha(pre: list, k: int, rows: int) -> list[np.ndarray]:
    """DeepPoly's slopes (1 where ``U > -L``, else 0) for the ReLUs of layers
    ``0 .. k-1``, one copy per row: arrays (rows, n_j)."""
    out = []
    for j in range(k):
        L, U = pre[j]
        out.append(np.broadcast_to((U > -L).astype(float), (rows, L.size)).copy())
    return out


def optimize_rows(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray, k: int,
                  C: np.ndarray, iters: int = 20, lr: float = 0.5,
                  deadline: float | None = None, ball=None) -> np.ndarray:
    """The best lower bounds of ``C @ z_k`` over ``iters`` Adam steps on the slopes
    (never worse than DeepPoly's, which is the starting point)."""
    R = C.shape[0]
    if R == 0:
        return np.zeros(0)
    alphas = init_alpha(pre, k, R)
    best = backsub(network, pre, lo, hi, k, C, None, ball=ball)[0]
    if k == 0 or not any(((L < 0) & (U > 0)).any() for L, U in pre[:k]):
        return best
    m = [np.zeros_like(a) for a in alphas]
    v = [np.zeros_like(a) for a in alphas]
    for t in range(1, iters + 1):
        if deadline is not None and time.perf_counter() > deadline:
            break
        lower, (grads, _), _ = backsub(network, pre, lo, hi, k, C, alphas, grad=True,
                                       ball=ball)
        best = np.maximum(best, lower)
        step = lr * (0.98 ** t)
        for j, gj in enumerate(grads):
            if gj is None:
                continue
            m[j] = BETAS[0] * m[j] + (1 - BETAS[0]) * gj
            v[j] = BETAS[1] * v[j] + (1 - BETAS[1]) * gj * gj
            mh = m[j] / (1 - BETAS[0] ** t)
            vh = v[j] / (1 - BETAS[1] ** t)
            alphas[j] = np.clip(alphas[j] + step * mh / (np.sqrt(vh) + 1e-12), 0.0, 1.0)
    lower = backsub(network, pre, lo, hi, k, C, alphas, ball=ball)[0]
    return np.maximum(best, lower)


def tighten_alpha(network: Network, lo: np.ndarray, hi: np.ndarray, pre: list,
                  deadline: float, iters: int = 20, chunk: int = 512, log=None,
                  ball=None) -> tuple[list, dict]:
    """Pre-activation bounds of the hidden layers improved by optimized slopes.

    Layer by layer from the second one (the first layer's bounds over a box are
    exact), the unstable neurons' lower and upper bounds are optimized and
    intersected with ``pre``; each layer uses the improved bounds of the layers
    below. Stops improving (returning what it has, still sound) at ``deadline``.
    ``ball``: the input region is ``[lo, hi] ∩ ball`` (``lo, hi`` shrunk).
    """
    t0 = time.perf_counter()
    bounds = [(np.array(L, dtype=float), np.array(U, dtype=float)) for L, U in pre]
    info = {"layers": 0, "before": _unstable(bounds), "seconds": 0.0}
    for k in range(1, len(network.layers)):
        if network.layers[k].activation != "relu":
            break
        L, U = bounds[k]
        todo = np.flatnonzero((L < 0) & (U > 0))
        if not todo.size:
            continue
        if time.perf_counter() > deadline:
            break
        n = L.size
        for s in range(0, todo.size, max(chunk // 2, 1)):
            part = todo[s:s + max(chunk // 2, 1)]
            E = np.zeros((2 * part.size, n))
            E[np.arange(part.size), part] = 1.0
            E[part.size + np.arange(part.size), part] = -1.0
            low = optimize_rows(network, bounds, lo, hi, k, E, iters, deadline=deadline,
                                ball=ball)
            nL = np.maximum(L[part], low[:part.size])
            nU = np.minimum(U[part], -low[part.size:])
            L[part], U[part] = np.minimum(nL, nU), np.maximum(nL, nU)
        bounds[k] = (L, U)
        info["layers"] += 1
        _propagate_interval(network, bounds, k)
        if log:
            log(f"alpha: layer {k + 1}, unstable now {_unstable(bounds)} "
                f"({time.perf_counter() - t0:.2f} s)")
    info["after"] = _unstable(bounds)
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return bounds, info


def _unstable(bounds: list) -> list[int]:
    return [int(((L < 0) & (U > 0)).sum()) for L, U in bounds[:-1]]


def _propagate_interval(network: Network, bounds: list, k: int) -> None:
    """Intersect the bounds of layers after ``k`` with one interval step from
    layer ``k``'s (in place; keeps them sound and no looser)."""
    for j in range(k + 1, len(bounds)):
        a, c = bounds[j - 1]
        if network.layers[j - 1].activation == "relu":
            a, c = np.maximum(a, 0.0), np.maximum(c, 0.0)
        iL, iU = affine_bounds(network.layers[j].W, network.layers[j].b, a, c)
        L, U = np.maximum(bounds[j][0], iL), np.minimum(bounds[j][1], iU)
        bounds[j] = (np.minimum(L, U), np.maximum(L, U))


def split_bounds(pre: list, splits: dict[tuple[int, int], bool]) -> list:
    """``pre`` with ReLU splits applied: ``(layer, neuron) -> True`` (active,
    ``z >= 0``) or False (inactive, ``z <= 0``). Sound for the points of the box
    where every split holds."""
    out = [(L.copy(), U.copy()) for L, U in pre]
    for (j, i), act in splits.items():
        L, U = out[j]
        if act:
            L[i] = max(L[i], 0.0)
            U[i] = max(U[i], 0.0)
        else:
            U[i] = min(U[i], 0.0)
            L[i] = min(L[i], 0.0)
    return out
