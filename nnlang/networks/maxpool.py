"""Max pooling written exactly as dense ReLU layers.

The network model has affine layers and ReLUs only, and that is enough:

    max(a, b) = b + relu(a - b)

so one ReLU layer halves the number of candidates of every pooling window,
and a window of ``k`` entries needs ``ceil(log2 k)`` layers. A ``kh x kw``
window is reduced row by row first when that takes no more layers
(``ceil(log2 kw) + ceil(log2 kh) == ceil(log2 k)``: 2x2, 3x3, 2x3, 4x4, ...),
so that windows that overlap vertically share their row maxima. A layer also has
to carry ``b`` (and an unpaired last entry) through its ReLU: ``relu(b)`` is
``b`` when ``b`` is known to be nonnegative (the outputs of a ReLU, or a max
involving one), otherwise ``b = relu(b) - relu(-b)`` takes two neurons. Both
are exact, so the MILP that encodes these layers is exact too; only the
``relu(a - b)`` neurons can be unstable (need a binary): ``k - 1`` per window
at most, fewer where overlapping windows share a pair or a row.

A candidate (a *term*) is an affine map of the current layer's variables,
``T @ z + t``. Terms are shared: a pair ``(a, b)`` that occurs in several
windows, and an entry passed through for several windows, each become one
neuron (``numpy.unique`` over index arrays, no loop over coefficients).

ONNX pads ``MaxPool`` with ``-inf``: a padded entry of a window is replaced by
a real entry of the same window, which leaves the maximum unchanged.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.networks.network import Dense


def pool_windows(shape: tuple[int, int, int], kernel: tuple[int, int], strides: list[int],
                 dil: list[int], pads: list[int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Flat indices into a (C, H, W) tensor of every 2-D pooling window.

    Args:
        shape: (C, H, W) of the input.
        kernel: (kh, kw).
        strides, dil: per spatial axis.
        pads: [top, left, bottom, right] (ONNX order).

    Returns:
        (windows, (Ho, Wo)): ``windows`` has shape (C * Ho * Wo, kh * kw), rows in
        the order of the flattened (C, Ho, Wo) output; padded positions hold a
        real entry of the same window.

    Raises:
        ValueError: the kernel does not fit, or a window lies in the padding only.

    >>> w, out = pool_windows((1, 2, 2), (2, 2), [1, 1], [1, 1], [0, 0, 0, 0])
    >>> w.tolist(), out
    ([[0, 1, 2, 3]], (1, 1))
    """
    from numpy.lib.stride_tricks import sliding_window_view

    C, H, W = shape
    kh, kw = kernel
    grid = np.arange(C * H * W).reshape(C, H, W)
    padded = np.pad(grid, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])),
                    constant_values=-1)
    eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    if padded.shape[1] < eh or padded.shape[2] < ew:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded input "
                         f"{padded.shape[1:]}")
    win = sliding_window_view(padded, (eh, ew), axis=(1, 2))
    win = win[:, ::strides[0], ::strides[1], ::dil[0], ::dil[1]]  # (C, Ho, Wo, kh, kw)
    Ho, Wo = int(win.shape[1]), int(win.shape[2])
    win = win.reshape(C * Ho * Wo, kh * kw)
    real = win >= 0
    if not real.any(axis=1).all():
        raise ValueError("a pooling window lies entirely in the padding")
    first = win[np.arange(len(win)), real.argmax(axis=1)]
    return np.where(real, win, first[:, None]), (Ho, Wo)


def max_layers(T: np.ndarray | sp.sparray, t: np.ndarray, nonneg: np.ndarray,
               windows: np.ndarray) -> tuple[list[Dense], np.ndarray, np.ndarray]:
    """ReLU layers that compute the maximum of each window.

    Args:
        T, t: the terms ``T @ z + t``, ``T`` of shape (m, n) (dense or sparse).
        nonneg: (m,) bool, terms known to be >= 0 for every admissible ``z``.
        windows: (p, k) indices into the terms, or (p, r, k): then the maxima of
            the rows ``windows[i, j]`` come first and the max of those after, so
            that overlapping windows share their row maxima.

    Returns:
        (layers, W, b): the ReLU layers (none when every window has one entry),
        and the ``p`` maxima as ``W @ u + b`` of the last layer's outputs ``u``
        (or of ``z`` when there is no layer).
    """
    windows = np.asarray(windows, dtype=np.int64)
    if windows.ndim == 2:
        windows = windows[:, None, :]
    nonneg = np.asarray(nonneg, dtype=bool)
    t = np.asarray(t, dtype=float)
    layers: list[Dense] = []
    p, r, k = windows.shape
    while k > 1:
        layer, T, t, nonneg, rows = _level(T, t, nonneg, windows.reshape(p * r, k))
        layers.append(layer)
        k = rows.shape[1]
        windows = rows.reshape(p, r, k)
    windows = windows[:, :, 0]
    while r > 1:
        layer, T, t, nonneg, windows = _level(T, t, nonneg, windows)
        layers.append(layer)
        r = windows.shape[1]
    sel = windows[:, 0]
    W = T[sel, :]
    W = W.toarray() if sp.issparse(W) else np.asarray(W)
    return layers, W, t[sel]


def _level(T, t, nonneg, windows):
    """One ReLU layer that pairs up the entries of every window: (layer, T, t, nonneg,
    windows) of the new terms, windows of ceil(k / 2) entries."""
    k = windows.shape[1]
    h = k // 2
    a, b = windows[:, 0:2 * h:2], windows[:, 1:2 * h:2]
    # Pass the nonnegative one of a pair through: one neuron instead of two.
    swap = nonneg[a] & ~nonneg[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    if k % 2:  # the unpaired last entry is carried as the pair (e, e): max(e, e) = e
        a = np.hstack([a, windows[:, -1:]])
        b = np.hstack([b, windows[:, -1:]])
    pairs, inverse = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0,
                               return_inverse=True)
    pa, pb = pairs[:, 0], pairs[:, 1]
    has_diff = pa != pb
    passed, pass_of_pair = np.unique(pb, return_inverse=True)
    neg = ~nonneg[passed]
    n_diff, n_pass, n_neg = int(has_diff.sum()), len(passed), int(neg.sum())
    size = n_diff + n_pass + n_neg

    # Neurons: relu(a - b) per distinct pair, relu(b) per passed term, and
    # relu(-b) for a passed term that may be negative.
    d_rows = np.arange(n_diff)
    rows = np.concatenate([d_rows, d_rows, n_diff + np.arange(n_pass),
                           n_diff + n_pass + np.arange(n_neg)])
    cols = np.concatenate([pa[has_diff], pb[has_diff], passed, passed[neg]])
    vals = np.concatenate([np.ones(n_diff), -np.ones(n_diff), np.ones(n_pass),
                           -np.ones(n_neg)])
    S = sp.csr_array((vals, (rows, cols)), shape=(size, len(t)))
    W = S @ T
    W = W.toarray() if sp.issparse(W) else np.asarray(W)
    layer = Dense(W, S @ t, "relu")

    # New terms, one per distinct pair: relu(a - b) + relu(b) [- relu(-b)].
    diff_id = np.cumsum(has_diff) - 1
    neg_id = np.cumsum(neg) - 1
    pair_neg = neg[pass_of_pair]
    ids = np.arange(len(pairs))
    rows = np.concatenate([ids[has_diff], ids, ids[pair_neg]])
    cols = np.concatenate([diff_id[has_diff], n_diff + pass_of_pair,
                           n_diff + n_pass + neg_id[pass_of_pair[pair_neg]]])
    vals = np.concatenate([np.ones(n_diff), np.ones(len(pairs)),
                           -np.ones(int(pair_neg.sum()))])
    T_new = sp.csr_array((vals, (rows, cols)), shape=(len(pairs), size))
    # max(a, b) >= 0 as soon as one of them is.
    nonneg_new = nonneg[pa] | nonneg[pb]
    return layer, T_new, np.zeros(len(pairs)), nonneg_new, inverse.reshape(a.shape)
