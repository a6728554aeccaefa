"""Optimization-based bound tightening over the LP relaxation (one HiGHS model per layer).

For layer k, the model holds the input box and layers ``0 .. k-1`` encoded with
their bounds as in ``nnlang.encode.bigm`` (``p = x - s``, ``x <= U z``,
``s <= -L (1 - z)``; stable neurons without ``s, z``; the pre-activation of a stably
inactive neuron kept in ``[L, U]`` by a ranged row). With ``0 <= z <= 1`` this is
the triangle relaxation of every unstable ReLU. Each unstable neuron of layer k
(every neuron of a linear layer) is minimized and maximized over it by changing
the objective only, so HiGHS warm-starts from the previous basis.

Soundness: a value is taken only from an optimal solve, and not the solver's
objective but a *safe dual bound* recomputed from its row duals ``y``: for any
``y``, ``min c'x >= sum_i min(y_i rlo_i, y_i rhi_i) + sum_j min(r_j l_j, r_j u_j)``
with ``r = c - A'y`` (weak duality; every column is bounded). A small margin
covers the rounding of those sums. Each layer starts from symbolic bounds
computed from the already tightened earlier layers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.bounds.symbolic import (
    Bounds,
    BoundsResult,
    check_box,
    ordered,
    symbolic_bounds,
    symbolic_layer,
)
from nnlang.highs_objects import highs_from_matrix, set_time_limit
from nnlang.networks.network import Network

MARGIN = 1e-9  # relative to the magnitude of the safe-bound terms, plus absolute


@dataclass
class LayerModel:
    """``row_lo <= A v <= row_hi``, ``col_lo <= v <= col_hi``; ``out`` indexes layer k-1's
    outputs (the input for k = 0); ``integer`` indexes the binaries ``z``."""

    A: sp.csr_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    out: np.ndarray
    integer: np.ndarray


def _coo(vals, rows, cols, shape) -> sp.coo_matrix:
    return sp.coo_matrix((vals, (rows, cols)), shape=shape)


def _layer_rows(W: np.ndarray, b: np.ndarray, L: np.ndarray, U: np.ndarray, relu: bool,
                prev: int, x: int, n_cols: int):
    """Rows and column bounds of one layer with inputs at column ``prev``.

    Its columns are ``x`` (outputs), then ``s`` and ``z`` (one per unstable ReLU).

    Returns:
        ``(rows, row_lo, row_hi, col_lo, col_hi, z_columns)``.
    """
    n_out = W.shape[0]
    inactive = relu & (U <= 0)
    iu = np.flatnonzero(relu & (L < 0) & (U > 0))
    nu, r = iu.size, np.arange(iu.size)
    s, z = x + n_out, x + n_out + iu.size
    pre = sp.coo_matrix(W)
    # W x_prev - x + s = -b (s on unstable ReLUs; x = 0 and L - b <= W x_prev <= U - b if
    # stably inactive), x - U z <= 0, s - L z <= -L.
    eq = (_coo(pre.data, pre.row, pre.col + prev, (n_out, n_cols))
          + _coo(-np.ones(n_out), np.arange(n_out), x + np.arange(n_out), (n_out, n_cols))
          + _coo(np.ones(nu), iu, s + r, (n_out, n_cols)))
    big_x = _coo(np.r_[np.ones(nu), -U[iu]], np.r_[r, r], np.r_[x + iu, z + r], (nu, n_cols))
    big_s = _coo(np.r_[np.ones(nu), -L[iu]], np.r_[r, r], np.r_[s + r, z + r], (nu, n_cols))
    rows = sp.vstack([eq, big_x, big_s])
    row_lo = np.r_[np.where(inactive, L - b, -b), np.full(2 * nu, -np.inf)]
    row_hi = np.r_[np.where(inactive, U - b, -b), np.zeros(nu), -L[iu]]
    if relu:
        xlo, xhi = np.maximum(L, 0.0), np.where(inactive, 0.0, np.maximum(U, 0.0))
    else:
        xlo, xhi = L, U
    col_lo = np.r_[xlo, np.zeros(2 * nu)]
    col_hi = np.r_[xhi, -L[iu], np.ones(nu)]
    return rows, row_lo, row_hi, col_lo, col_hi, z + r


def build_model(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: Bounds, k: int
                ) -> LayerModel:
    """The big-M model of the input box and layers ``0 .. k-1`` with their ``bounds``.

    Columns: the input, then per layer its outputs ``x``, slacks ``s`` and binaries
    ``z`` (``s`` and ``z`` for unstable ReLUs only).
    """
    layers = network.layers[:k]
    n_unstable = [int(np.sum((L < 0) & (U > 0))) if layer.activation == "relu" else 0
                  for layer, (L, U) in zip(layers, bounds)]
    n_cols = network.n_in + sum(layer.n_out + 2 * nu for layer, nu in zip(layers, n_unstable))
    parts = []
    prev, x = 0, network.n_in
    for layer, (L, U), nu in zip(layers, bounds, n_unstable):
        parts.append(_layer_rows(layer.W, layer.b, L, U, layer.activation == "relu", prev, x,
                                 n_cols))
        prev, x = x, x + layer.n_out + 2 * nu
    empty = np.zeros(0)
    A = sp.vstack([p[0] for p in parts]).tocsr() if parts else sp.csr_matrix((0, n_cols))
    return LayerModel(
        A,
        np.concatenate([empty] + [p[1] for p in parts]),
        np.concatenate([empty] + [p[2] for p in parts]),
        np.concatenate([lo] + [p[3] for p in parts]),
        np.concatenate([hi] + [p[4] for p in parts]),
        np.arange(prev, prev + network.layers[k].n_in),
        np.concatenate([np.zeros(0, np.int64)] + [p[5] for p in parts]).astype(np.int64))


def highs_model(model: LayerModel, integer: bool = False) -> highspy.Highs:
    """A quiet HiGHS instance holding ``model`` (zero objective, minimize)."""
    h = highs_from_matrix(model.A, model.col_lo, model.col_hi, model.row_lo, model.row_hi)
    if integer and model.integer.size:
        kind = np.full(model.integer.size, int(highspy.HighsVarType.kInteger), np.uint8)
        h.changeColsIntegrality(model.integer.size, model.integer.astype(np.int32), kind)
    return h


def safe_lower(model: LayerModel, cost: np.ndarray, y: np.ndarray) -> float:
    """A rigorous lower bound of ``min cost'v`` over ``model`` from any row duals ``y``
    (``-inf`` where a column with a nonzero reduced cost is unbounded that way)."""
    y = np.where(((y > 0) & ~np.isfinite(model.row_lo)) | ((y < 0) & ~np.isfinite(model.row_hi)),
                 0.0, y)
    r = cost - model.A.T @ y
    t_rows = np.where(y > 0, y * np.nan_to_num(model.row_lo, neginf=0.0),
                      y * np.nan_to_num(model.row_hi, posinf=0.0))
    with np.errstate(invalid="ignore"):  # 0 * inf where r = 0: that column adds nothing
        t_cols = np.where(r > 0, r * model.col_lo, np.where(r < 0, r * model.col_hi, 0.0))
    value = float(np.sum(t_rows) + np.sum(t_cols))
    return value - MARGIN * (1.0 + float(np.sum(np.abs(t_rows)) + np.sum(np.abs(t_cols))))


def lp_minimum(h: highspy.Highs, model: LayerModel, w: np.ndarray,
               cols: np.ndarray | None = None) -> float | None:
    """A sound lower bound of ``min w' v[cols]`` over the LP relaxation, or None if
    HiGHS gave no optimal duals or the bound is not finite. ``cols``: the outputs
    ``model.out`` by default (whose costs the next call overwrites); other columns
    get their costs back to 0 afterwards.

    Raises:
        ValueError: HiGHS proved the relaxation infeasible (so the input box is empty).
    """
    own = cols is not None
    cols = (np.asarray(cols) if own else model.out).astype(np.int32)
    h.changeColsCost(cols.size, cols, np.asarray(w, dtype=np.float64))
    try:
        h.run()
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise ValueError("the LP relaxation of the network over the input box is "
                             "infeasible: the input box is empty")
        solution = h.getSolution()
        if status != highspy.HighsModelStatus.kOptimal or not solution.dual_valid:
            return None
        cost = np.zeros(model.A.shape[1])
        cost[cols] = w
        value = safe_lower(model, cost, np.asarray(solution.row_dual, dtype=np.float64))
        return value if np.isfinite(value) else None
    finally:
        if own:
            h.changeColsCost(cols.size, cols, np.zeros(cols.size))


def targets(activation: str, L: np.ndarray, U: np.ndarray) -> np.ndarray:
    """Neurons worth tightening: unstable ReLUs, or every neuron of a linear layer."""
    if activation == "relu":
        return np.flatnonzero((L < 0) & (U > 0))
    return np.arange(L.size)


def lp_tighten_layer(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: Bounds, k: int,
                     L: np.ndarray, U: np.ndarray, info: dict, deadline: float = math.inf,
                     warm: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Tighten ``(L, U)`` of layer ``k`` by LP over layers ``< k`` with their ``bounds``.

    Counts solves in ``info["lps"]`` and non-optimal ones in ``info["lp_failures"]``.
    No LP starts after ``deadline`` (a ``time.perf_counter()`` value), and none runs
    beyond it; the neurons left keep their bounds (sound). ``warm``: primal simplex
    without presolve, so each LP starts from the previous basis (the verifier's
    choice, for many LPs under a deadline).
    """
    layer = network.layers[k]
    todo = targets(layer.activation, L, U)
    if k == 0 or todo.size == 0:  # layer 0 over a box: interval bounds are exact
        return L, U
    model = build_model(network, lo, hi, bounds, k)
    h = highs_model(model)
    if warm:
        h.setOptionValue("simplex_strategy", 4)  # primal: the basis stays primal feasible
        h.setOptionValue("presolve", "off")
    L, U = L.copy(), U.copy()
    for i in todo:
        for sign in (1.0, -1.0):
            if time.perf_counter() > deadline:
                return ordered(L, U)
            if math.isfinite(deadline):
                set_time_limit(h, deadline - time.perf_counter())
            v = lp_minimum(h, model, sign * layer.W[i])
            info["lps"] = info.get("lps", 0) + 1
            if v is None:
                info["lp_failures"] = info.get("lp_failures", 0) + 1
            elif sign > 0:
                L[i] = max(L[i], v + layer.b[i])
            else:
                U[i] = min(U[i], -v + layer.b[i])
    return ordered(L, U)


def lp_bounds(network: Network, lo: np.ndarray, hi: np.ndarray) -> BoundsResult:
    """Pre-activation bounds ``(L, U)`` of every layer by LP-based bound tightening.

    Layer by layer: symbolic bounds from the tightened earlier layers (intersected
    with plain ``symbolic_bounds``), then every unstable neuron (every neuron of a
    linear layer) minimized and maximized over the LP relaxation. Never looser than
    ``symbolic_bounds``.

    Raises:
        ValueError: the box is not finite and non-empty.
    """
    start = time.perf_counter()
    lo, hi = check_box(network, lo, hi)
    info: dict = {"method": "lp", "lps": 0, "lp_failures": 0}
    # Backward bounds are not monotone in the earlier layers' bounds (the lower line's
    # slope may flip), so the plain symbolic bounds are kept as well.
    plain = symbolic_bounds(network, lo, hi)
    bounds: Bounds = []
    for k, (sL, sU) in enumerate(plain):
        L, U = symbolic_layer(network, lo, hi, bounds, k)
        L, U = ordered(np.maximum(L, sL), np.minimum(U, sU))
        bounds.append(lp_tighten_layer(network, lo, hi, bounds, k, L, U, info))
    info["seconds"] = time.perf_counter() - start
    return BoundsResult(bounds, info)
