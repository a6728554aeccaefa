"""MILP bound tightening (Fischetti and Jo 2018; Zhu (2021), section 3.1).

Starting from ``lp`` bounds, layer by layer, each layer's bounds are first tightened
again by symbolic and LP bounds from the MILP-tightened earlier layers; then every
still unstable ReLU is maximized and minimized over the 0-1 MILP of the network up
to that layer (big-M with the current bounds; one HiGHS model per layer, only the
objective changes). Each solve stops after ``time_limit`` seconds and contributes
its proven *dual* bound (``mip_dual_bound``), never the incumbent, so the result is
sound for any time limit: ``inf`` gives the exact bounds, a short limit (1 s in
Zhu (2021), Table 2) the "weaker" ones. A neuron proven stably inactive by its first
solve (the maximization) skips the second. Linear layers keep their LP bounds (they
carry no binary).
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np

from nnlang.bounds.lp import build_model, highs_model, lp_bounds, lp_tighten_layer, targets
from nnlang.bounds.symbolic import Bounds, BoundsResult, check_box, ordered, symbolic_layer
from nnlang.highs_objects import set_time_limit
from nnlang.networks.network import Network

MARGIN = 1e-6  # relative and absolute, outward on MILP dual bounds (LP tolerances)

# Only the dual bound counts: no primal heuristics (sub-MIPs cost most of the time
# on these small models) and no presolve (it gave looser root bounds when the time
# limit hits at the root, as on MNIST over [0, 1]^784).
MIP_OPTIONS = {"mip_rel_gap": 0.0, "mip_abs_gap": 0.0, "presolve": "off",
               "mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False,
               "mip_heuristic_run_rens": False, "mip_heuristic_run_feasibility_jump": False}


def _milp_minimum(h: highspy.Highs, cols: np.ndarray, w: np.ndarray, info: dict
                  ) -> float | None:
    """The proven lower bound of ``min w' x_out`` after one (time-limited) solve, or None."""
    h.changeColsCost(cols.size, cols, np.asarray(w, dtype=np.float64))
    h.run()
    info["milps"] += 1
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise ValueError("the MILP of the network over the input box is infeasible: "
                         "the input box is empty")
    if status == highspy.HighsModelStatus.kTimeLimit:
        info["milp_timeouts"] += 1
    bound = h.getInfo().mip_dual_bound
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit) \
            or not math.isfinite(bound):
        return None
    return bound - MARGIN * (1.0 + abs(bound))


def milp_tighten_layer(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: Bounds,
                       k: int, L: np.ndarray, U: np.ndarray, time_limit: float, info: dict,
                       deadline: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """Tighten the unstable ReLUs of layer ``k`` by MILP over layers ``< k``; no
    solve starts after ``deadline`` (a ``time.perf_counter()`` value) and none is
    given a limit beyond it."""
    layer = network.layers[k]
    todo = targets(layer.activation, L, U)
    if k == 0 or layer.activation != "relu" or todo.size == 0:
        return L, U
    model = build_model(network, lo, hi, bounds, k)
    if model.integer.size == 0:  # no binary: the LP bounds are already exact
        return L, U
    h = highs_model(model, integer=True)
    for name, value in MIP_OPTIONS.items():
        h.setOptionValue(name, value)
    cols = model.out.astype(np.int32)
    L, U = L.copy(), U.copy()

    def limit() -> bool:
        """Set the next solve's limit; False when the budget is spent."""
        left = deadline - time.perf_counter()
        if left <= 0:
            info["budget_skipped"] = info.get("budget_skipped", 0) + 1
            return False
        if math.isfinite(min(time_limit, left)):
            set_time_limit(h, min(time_limit, left))
        return True

    for i in todo:
        if not limit():
            continue  # the LP bounds stay (sound)
        v = _milp_minimum(h, cols, -layer.W[i], info)
        if v is not None:
            U[i] = min(U[i], -v + layer.b[i])
        if U[i] <= 0 or not limit():
            continue
        v = _milp_minimum(h, cols, layer.W[i], info)
        if v is not None:
            L[i] = max(L[i], v + layer.b[i])
    return ordered(L, U)


def milp_bounds(network: Network, lo: np.ndarray, hi: np.ndarray,
                time_limit: float = math.inf, budget: float = math.inf) -> BoundsResult:
    """Pre-activation bounds ``(L, U)`` of every layer by MILP bound tightening.

    Args:
        network: the network.
        lo, hi: the input box (flat, finite, ``lo <= hi``).
        time_limit: seconds per MILP solve (two per unstable neuron at most);
            ``inf`` for exact bounds of the unstable ReLUs.
        budget: seconds for the MILPs of the whole method (wall clock; HiGHS can
            overrun ``time_limit`` inside one solve, so a budget is what bounds
            the total); neurons left when it is spent keep their LP bounds.
            ``info["budget_skipped"]`` counts the solves skipped.

    Returns:
        The bounds, with ``info`` holding ``seconds`` (and ``layer_seconds``: the
        ``lp`` start, then each layer), ``lps``, ``milps`` and ``milp_timeouts``.
        Never looser than ``lp_bounds``.
    """
    start = time.perf_counter()
    time_limit = float(time_limit)
    budget = float(budget)
    if not time_limit > 0:
        raise ValueError(f"milp bounds: time_limit must be positive, got {time_limit}")
    if not budget > 0:
        raise ValueError(f"milp bounds: budget must be positive, got {budget}")
    lo, hi = check_box(network, lo, hi)
    info: dict = {"method": "milp", "time_limit": time_limit, "budget": budget, "lps": 0,
                  "lp_failures": 0, "milps": 0, "milp_timeouts": 0, "budget_skipped": 0}
    start_bounds = lp_bounds(network, lo, hi)
    info["lps"] = start_bounds.info["lps"]
    bounds: Bounds = []
    info["layer_seconds"] = [time.perf_counter() - start]  # the lp start, then per layer
    for k, (sL, sU) in enumerate(start_bounds):
        layer_start = time.perf_counter()
        L, U = symbolic_layer(network, lo, hi, bounds, k)
        L, U = ordered(np.maximum(L, sL), np.minimum(U, sU))
        L, U = lp_tighten_layer(network, lo, hi, bounds, k, L, U, info)
        bounds.append(milp_tighten_layer(network, lo, hi, bounds, k, L, U, time_limit, info,
                                         start + budget))
        info["layer_seconds"].append(time.perf_counter() - layer_start)
    info["seconds"] = time.perf_counter() - start
    return BoundsResult(bounds, info)
