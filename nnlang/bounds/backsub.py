"""Back-substitution: the one implementation of linear bounds through a network.

A linear function ``C @ z_k`` of layer ``k``'s pre-activations is bounded below by
substituting backwards through layers ``k-1 .. 0``, each ReLU replaced by the lines
of :mod:`nnlang.bounds.relaxation` (a lower slope ``alpha`` per row and neuron when
given, DeepPoly's otherwise), and concretizing over the input box (or box and ball).
Symbolic bounds (``C = I`` and ``-I``), the optimized slopes of :mod:`nnlang.bounds.alpha`,
the verifier's branch and bound, and (through :func:`backsub_batch`, many boxes at
once) its input splitting and output rows all call :func:`backsub`.
"""

from __future__ import annotations

import numpy as np

from nnlang.bounds.region import linear_max, linear_min_point
from nnlang.bounds.relaxation import relu_lines
from nnlang.networks.network import Network


def backsub(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray, k: int,
            C: np.ndarray, alphas: list[np.ndarray] | None, grad: bool = False,
            betas: list | None = None, signs: list | None = None, keep_h: bool = False,
            ball=None):
    """Lower bound of ``C @ z_k`` over the box, ``z_k`` the pre-activation of layer
    ``k`` (0-based), through the relaxations of layers ``0 .. k-1`` with the given
    lower slopes (``alphas[j]``: (rows, n_j) in [0, 1]; None: DeepPoly's).

    ``pre[j]`` is ``(L, U)`` of shape (n_j,) or (rows, n_j) (a bound per row, e.g.
    rows of different sub-domains). ``signs[j]`` (rows, n_j) in {-1, 0, 1} are ReLU
    split constraints ``signs * z_j >= 0`` (beta-CROWN): each enters with a
    multiplier ``betas[j] >= 0`` (Lagrangian), valid for any ``betas >= 0``.
    Every layer ``j < k`` must be a ReLU layer or linear. With ``ball``
    (``nnlang.bounds.region.Ball``; ``lo, hi`` already shrunk by ``shrink_box``)
    the input region is ``[lo, hi] ∩ ball``. Returns
    ``(lower, grads, hs)``: ``grads`` = (d lower / d alphas[j], d lower / d betas[j])
    lists when ``grad``; ``hs[j]`` the coefficients on ``relu(z_j)`` when ``keep_h`` (``hs[-1]``: on the input).
    """
    layers = network.layers
    C = np.asarray(C, dtype=float)
    g = C
    const = np.zeros(C.shape[:-1])
    saved = []  # per layer j < k (top-down): (j, h, slope where h > 0, su, tu, unstable)
    for j in range(k, -1, -1):
        if betas is not None and j < k and betas[j] is not None:
            g = g - betas[j] * signs[j]
        const = const + g @ layers[j].b
        h = _times(g, layers[j].W)
        if j == 0:
            break
        prev = layers[j - 1]
        if prev.activation != "relu":
            saved.append((j - 1, None, None, None, None, None))
            g = h
            continue
        L, U = pre[j - 1]
        sl, su, tu = relu_lines(L, U)
        active, unstable = L >= 0, (L < 0) & (U > 0)
        if alphas is None:
            sl = np.broadcast_to(sl, h.shape)
        else:
            sl = np.where(unstable, np.clip(alphas[j - 1], 0.0, 1.0), active.astype(float))
        # one bound per neuron: a matrix-vector product, as symbolic bounds always
        # computed it (the same rounding, so the same bounds bit for bit)
        neg = np.minimum(h, 0.0)
        const = const + (neg @ tu if tu.ndim == 1 else np.sum(neg * tu, axis=-1))
        g = np.where(h > 0, h * sl, h * su)
        saved.append((j - 1, h, sl, su, tu, unstable))
    gx = h
    if ball is None:
        lower, point = const - linear_max(-gx, lo, hi, None), None
    else:
        low, point = linear_min_point(gx, lo, hi, ball)
        lower = const + low
    hs = {j: h for j, h, *_ in saved} if keep_h else None
    if keep_h:
        hs[-1] = gx
    if not grad:
        return lower, None, hs
    ga: list = [None] * k
    gb: list = [None] * k
    # d lower / d (coefficients on x): the minimizing input
    dh = np.where(gx > 0, lo[None, :], hi[None, :]) if point is None else point
    for j, h, sl, su, tu, unstable in reversed(saved):
        # dh: d lower / d (coefficients on layer j's input); to layer j's own.
        dg = dh @ layers[j].W.T + layers[j].b[None, :]
        if betas is not None and betas[j] is not None:
            gb[j] = -signs[j] * dg
        if h is None:  # linear layer j
            dh = dg
            continue
        pos = h > 0
        ga[j] = np.where(unstable & pos, dg * h, 0.0)
        dh = np.where(pos, dg * sl, dg * su) + np.where(h < 0, tu, 0.0)
    return lower, (ga, gb), hs


def _times(g: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``g @ W`` for ``g`` with any leading dimensions, as one matrix product."""
    if g.ndim == 2:
        return g @ W
    return (g.reshape(-1, g.shape[-1]) @ W).reshape(g.shape[:-1] + (W.shape[1],))


def backsub_batch(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray, k: int,
                  C: np.ndarray, post: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`backsub` for a batch of boxes: lower bounds of ``C @ z_k`` (``post``: of
    ``C @ act(z_k)``, layer ``k``'s own ReLU relaxed first) over each box.

    ``lo, hi``: (B, n); ``pre[j]``: (B, n_j) bounds of each box, for ``j < k`` (and
    ``k`` with ``post``); ``C``: (R, n_k). Returns the bounds (B, R) and the input
    coefficients (B, R, n) (which input weighs most in each row's bound). The rows of
    every box go through one back-substitution, each box's bounds broadcast to its
    rows.
    """
    B, R = lo.shape[0], C.shape[0]
    g = np.broadcast_to(np.asarray(C, dtype=np.float64), (B, R, C.shape[1]))
    const = np.zeros((B, R))
    if post and network.layers[k].activation == "relu":
        sl, su, tu = (v[:, None, :] for v in relu_lines(*pre[k]))
        const = const + np.sum(np.minimum(g, 0.0) * tu, axis=-1)
        g = np.where(g > 0, g * sl, g * su)
    rpre = [(L[:, None, :], U[:, None, :]) for L, U in pre[:k]]
    lower, _, hs = backsub(network, rpre, lo[:, None, :], hi[:, None, :], k, g, None,
                           keep_h=True)
    return lower + const, hs[-1]
