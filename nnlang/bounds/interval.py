"""Interval arithmetic through a network (the WBO master's thesis, eqs. 4.7-4.14)."""

from __future__ import annotations

import numpy as np

from nnlang.networks.network import Network


def affine_bounds(W: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``W @ x + b`` for ``lo <= x <= hi``: W+ and W- split. ``lo, hi`` of
    shape ``(n,)``, or ``(batch, n)`` for a batch of boxes (then ``(batch, m)``)."""
    Wp = np.maximum(W, 0.0)
    Wn = np.minimum(W, 0.0)
    if np.ndim(lo) == 1:
        return Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b
    return lo @ Wp.T + hi @ Wn.T + b, hi @ Wp.T + lo @ Wn.T + b


def interval_bounds(network: Network, lo: np.ndarray, hi: np.ndarray
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pre-activation bounds ``(L, U)`` of every layer for inputs in ``[lo, hi]``.

    ``lo`` and ``hi`` must be finite. Layer k's post-activation bounds are
    ``(max(L, 0), max(U, 0))`` for ReLU layers and ``(L, U)`` for linear ones.
    """
    out = []
    a, c = np.asarray(lo, float), np.asarray(hi, float)
    for layer in network.layers:
        L, U = affine_bounds(layer.W, layer.b, a, c)
        out.append((L, U))
        if layer.activation == "relu":
            a, c = np.maximum(L, 0.0), np.maximum(U, 0.0)
        else:
            a, c = L, U
    return out
