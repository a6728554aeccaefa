"""LP bound tightening (OBBT) of the unstable neurons, for the verifier's MILP.

Layer by layer, every neuron that the current bounds leave unstable is minimized
and maximized over the LP relaxation of the layers below it, with the bound
methods' own LP (:func:`nnlang.bounds.lp.lp_tighten_layer`: the triangle relaxation
of every unstable ReLU, each new bound the weak-duality bound of HiGHS's row duals),
warm-started from the previous basis and stopped at a deadline. After a layer is
tightened, the later layers are re-bounded by back-substitution with the tighter
bounds, and everything is intersected with the bounds given.

The result is passed to the encoder as ``bound_overrides`` (smaller big-M constants
and fewer binaries in the MILP).
"""

from __future__ import annotations

import time

import numpy as np

from nnlang.bounds.lp import lp_tighten_layer
from nnlang.networks.network import Network
from nnlang.verify.split import backward_symbolic


def tighten(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: list,
            deadline: float, log=None) -> tuple[list, dict]:
    """Tighter pre-activation bounds (a new list; ``bounds`` is not changed)."""
    bounds = [(L.copy(), U.copy()) for L, U in bounds]
    info = {"lps": 0, "seconds": 0.0, "layers": 0}
    t0 = time.perf_counter()
    for k in range(1, len(network.layers)):
        if network.layers[k].activation != "relu":
            break  # the output layer: its rows are handled by the MILP itself
        L, U = bounds[k]
        if not np.any((L < 0) & (U > 0)) or time.perf_counter() > deadline:
            continue
        bounds[k] = lp_tighten_layer(network, lo, hi, bounds, k, L, U, info, deadline,
                                     warm=True)
        info["layers"] += 1
        # Re-bound the later layers by back-substitution through the tighter ones.
        prior = [(b[0][None, :], b[1][None, :]) for b in bounds]
        again = backward_symbolic(network, lo[None, :], hi[None, :], prior)
        for j in range(k + 1, len(bounds)):
            nL = np.maximum(bounds[j][0], again[j][0][0])
            nU = np.minimum(bounds[j][1], again[j][1][0])
            bounds[j] = (np.minimum(nL, nU), np.maximum(nL, nU))
        if log:
            left = [int(((b[0] < 0) & (b[1] > 0)).sum()) for b in bounds[:-1]]
            log(f"obbt: layer {k + 1}, {info['lps']} LPs, unstable now {left} "
                f"({time.perf_counter() - t0:.2f} s)")
        if time.perf_counter() > deadline:
            break
    info["seconds"] = time.perf_counter() - t0
    return bounds, info
