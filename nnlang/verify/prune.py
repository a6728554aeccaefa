"""Which branches of a property's output condition bounds rule out on a box: the
output rows bounded below by back-substitution (and by optimized slopes)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnlang import registry
from nnlang.bounds.alpha import optimize_rows
from nnlang.errors import SemanticError
from nnlang.networks.network import Network
from nnlang.verify.split import row_bounds
from nnlang.verify.vnnlib import Conjunction

BOUND_TOL = 1e-9  # relative slack before a bound is trusted to rule out a row
ALPHA_ITERS = 30  # gradient steps on the slopes of the output rows




def bound_method(name: str | None = None) -> tuple[str, Callable]:
    """``(name, function)`` of the neuron-bounds method (``nnlang.registry.BOUND_METHODS``):
    ``name``, or ``symbolic`` by default."""
    name = "symbolic" if name is None else name
    if name not in registry.BOUND_METHODS:
        raise SemanticError(f"unknown bounds method '{name}' (available: "
                            f"{', '.join(sorted(registry.BOUND_METHODS))})")
    return name, registry.load(registry.BOUND_METHODS[name])


def row_lower_bounds(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray,
                     C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds of ``C @ y`` over the box, and their input coefficients.

    Back-substitution of the rows of ``C`` through the layers, each ReLU
    replaced by lines valid on its pre-activation bounds ``pre[k] = (L, U)``;
    intersected with the plain interval bound of ``C @ y``. Returns
    ``(lower, Lam)``: ``Lam`` (rows, n_in) are the final input coefficients,
    whose size times the box width says which input matters most.
    """
    batch = [(L[None, :], U[None, :]) for L, U in pre]
    lower, lam = row_bounds(network, batch, lo[None, :], hi[None, :], np.asarray(C, float))
    return lower[0], lam[0]


def prune_alpha(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray,
                output: tuple[Conjunction, ...], keep: list[int], deadline: float) -> list[int]:
    """The branches of ``keep`` that optimized-slope bounds of their rows cannot rule out."""
    live = [k for k in keep if output[k].rows]
    if not live:
        return keep
    C = np.vstack([output[k].A for k in live])
    d = np.concatenate([output[k].d for k in live])
    owner = np.concatenate([np.full(output[k].rows, k) for k in live])
    lower = optimize_rows(network, pre, lo, hi, len(network.layers) - 1, C,
                          iters=ALPHA_ITERS, deadline=deadline)
    lower = np.maximum(lower, row_lower_bounds(network, pre, lo, hi, C)[0])
    dead_row = lower - d > BOUND_TOL * (1.0 + np.abs(d) + np.abs(lower))
    dead = set(owner[dead_row].tolist())
    return [k for k in keep if k not in dead]


def prune(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray,
          output: tuple[Conjunction, ...]) -> tuple[list[int], list[np.ndarray]]:
    """The branches bounds cannot rule out, and for each a sensitivity per input."""
    keep, sens = [], []
    for k, conj in enumerate(output):
        if conj.rows == 0:
            keep.append(k)
            sens.append(np.zeros(lo.size))
            continue
        lower, lam = row_lower_bounds(network, pre, lo, hi, conj.A)
        slack = lower - conj.d
        if np.any(slack > BOUND_TOL * (1.0 + np.abs(conj.d) + np.abs(lower))):
            continue
        keep.append(k)
        r = int(np.argmax(slack))  # the row closest to being ruled out
        sens.append(np.abs(lam[r]) * (hi - lo))
    return keep, sens
