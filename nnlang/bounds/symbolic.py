"""Symbolic (backward linear-relaxation) bounds, in the DeepPoly / CROWN family.

Every pre-activation of layer k is bounded above and below by a linear function of
the input, obtained by substituting backwards through the earlier layers, each
ReLU replaced by two lines valid on its (already computed) bounds ``[L, U]``:

- stable active (``L >= 0``): ``relu(p) = p``; stable inactive (``U <= 0``): ``0``;
- unstable: the triangle's upper line ``relu(p) <= U (p - L) / (U - L)`` and the
  lower line ``relu(p) >= p`` if ``U > -L`` else ``relu(p) >= 0`` (the smaller-area
  choice of DeepPoly, which is also CROWN-Ada's).

The substitution is :func:`nnlang.bounds.backsub.backsub` with ``C = [I; -I]``; the
linear functions are concretized over the input box and intersected with one
interval-arithmetic step from the previous layer's bounds (the WBO master's thesis,
eqs. 4.7-4.14), so the result is never looser than interval bounds.
"""

from __future__ import annotations

import time

import numpy as np

from nnlang.bounds.backsub import backsub
from nnlang.bounds.interval import affine_bounds
from nnlang.bounds.region import Ball, shrink_box
from nnlang.networks.network import Network

Bounds = list[tuple[np.ndarray, np.ndarray]]


class BoundsResult(list):
    """A list of ``(L, U)`` pairs, one per layer, with run statistics in ``info``."""

    def __init__(self, bounds: Bounds, info: dict | None = None):
        super().__init__(bounds)
        self.info = dict(info or {})


def check_box(network: Network, lo: np.ndarray, hi: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """``lo, hi`` as flat float64 arrays; ValueError unless a finite, non-empty box."""
    lo = np.asarray(lo, dtype=np.float64).ravel()
    hi = np.asarray(hi, dtype=np.float64).ravel()
    if lo.shape != (network.n_in,) or hi.shape != (network.n_in,):
        raise ValueError(f"input box has sizes {lo.size}/{hi.size}, the network expects "
                         f"{network.n_in}")
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ValueError("the input box must be finite")
    if np.any(lo > hi):
        raise ValueError(f"the input box is empty (lo > hi at {int(np.sum(lo > hi))} inputs)")
    return lo, hi


def ordered(L: np.ndarray, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sound enclosures intersected can cross by rounding only: uncross them."""
    return np.minimum(L, U), np.maximum(L, U)


def post_bounds(activation: str, L: np.ndarray, U: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of a layer's output from its pre-activation bounds."""
    if activation == "relu":
        return np.maximum(L, 0.0), np.maximum(U, 0.0)
    return L, U


def symbolic_layer(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: Bounds, k: int,
                   ball: Ball | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pre-activation bounds of layer ``k`` (0-based) from sound bounds of layers ``< k``.

    Args:
        network: the network.
        lo, hi: the input box (flat, finite, ``lo <= hi``).
        bounds: ``(L, U)`` of layers ``0 .. k-1`` (more entries are ignored).
        k: the layer to bound.
        ball: if given, the input region is ``[lo, hi] ∩ ball`` (``lo, hi`` already
            shrunk by :func:`nnlang.bounds.region.shrink_box`).

    Returns:
        ``(L, U)``: the backward linear bounds intersected with one interval step.
    """
    eye = np.eye(network.layers[k].n_out)
    # the lower bounds of p_k and of -p_k, in two passes of the same shape as one
    # would make for either (so both come out with the same rounding)
    L = backsub(network, bounds, lo, hi, k, eye, None, ball=ball)[0]
    U = -backsub(network, bounds, lo, hi, k, -eye, None, ball=ball)[0]
    if k == 0:
        a, c = lo, hi
    else:
        a, c = post_bounds(network.layers[k - 1].activation, *bounds[k - 1])
    iL, iU = affine_bounds(network.layers[k].W, network.layers[k].b, a, c)
    return ordered(np.maximum(L, iL), np.minimum(U, iU))


def symbolic_bounds(network: Network, lo: np.ndarray, hi: np.ndarray,
                    ball: Ball | None = None) -> BoundsResult:
    """Pre-activation bounds ``(L, U)`` of every layer for inputs in ``[lo, hi]``
    (intersected with ``ball`` if given).

    Layer by layer, each layer bounded by :func:`symbolic_layer` from the bounds
    already computed. Never looser than ``interval_bounds``. ValueError if the
    region is empty.
    """
    start = time.perf_counter()
    lo, hi = check_box(network, lo, hi)
    if ball is not None:
        shrunk = shrink_box(lo, hi, ball)
        if shrunk is None:
            raise ValueError(f"the input box and the {ball.norm} ball of radius "
                             f"{ball.radius:g} do not meet")
        lo, hi = shrunk
    bounds: Bounds = []
    for k in range(len(network.layers)):
        bounds.append(symbolic_layer(network, lo, hi, bounds, k, ball))
    return BoundsResult(bounds, {"method": "symbolic", "seconds": time.perf_counter() - start})
