"""What of a layer is trained: its free parameters, and how they make the weights.

A layer's weights ``W`` (n x d) and bias ``b`` (n) are ``[vec(W); b] = T @ theta``
for a parameter vector ``theta`` with bounds: ``T`` is the identity for a dense
layer, drops the rows of edges fixed at zero (pruning) and of biases fixed at
zero, and repeats a column for weights tied equal (Goebbels (2021) §1: "the
equality of weights can be specified"; a convolution is a dense layer whose
weights are tied this way). Neurons that share no parameter are independent
programs (the report's split of a layer's MILP into one MILP per neuron).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from nnlang.networks.ties import conv_tie_matrix


@dataclass
class LayerParams:
    """``[vec(W); b] = T @ theta``; ``theta`` in ``[lo, hi]``."""

    n_out: int
    n_in: int
    T: sp.csr_matrix  # (n_out * n_in + n_out, p)
    lo: np.ndarray
    hi: np.ndarray

    @property
    def size(self) -> int:
        return int(self.T.shape[1])

    def weights(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = self.T @ np.asarray(theta, float)
        k = self.n_out * self.n_in
        return flat[:k].reshape(self.n_out, self.n_in), flat[k:]

    def theta_of(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The parameters closest (least squares) to ``W, b``: exact for weights
        this layer can express."""
        flat = np.concatenate([np.ravel(W), np.ravel(b)])
        T = self.T.tocsc()
        counts = np.asarray((T != 0).sum(axis=0)).ravel()
        theta = (T.T @ flat) / np.maximum(counts, 1)  # T has 0/1 entries: the mean
        return np.clip(theta, self.lo, self.hi)

    def groups(self) -> list[np.ndarray]:
        """The neurons that share parameters, as index arrays (one per program)."""
        neuron_of_row = np.concatenate([np.repeat(np.arange(self.n_out), self.n_in),
                                        np.arange(self.n_out)])
        coo = self.T.tocoo()
        # a bipartite graph neurons - parameters
        n, p = self.n_out, self.size
        G = sp.csr_matrix((np.ones(coo.nnz), (neuron_of_row[coo.row], n + coo.col)),
                          shape=(n + p, n + p))
        _, label = connected_components(G, directed=False)
        return [np.flatnonzero(label[:n] == g) for g in np.unique(label[:n])]

    def restricted(self, neurons: np.ndarray) -> tuple[LayerParams, np.ndarray]:
        """The layer of the ``neurons`` only, over the parameters they use; returns it
        and those parameters' indices in ``theta``."""
        k = self.n_out * self.n_in
        w_rows = (neurons[:, None] * self.n_in + np.arange(self.n_in)[None, :]).ravel()
        rows = np.concatenate([w_rows, k + neurons])
        T = self.T.tocsr()[rows]
        used = np.unique(T.tocoo().col)
        return (LayerParams(neurons.size, self.n_in, T[:, used].tocsr(), self.lo[used],
                            self.hi[used]), used)


def dense(n_out: int, n_in: int, bound: float, bias: bool = True,
          mask: np.ndarray | None = None) -> LayerParams:
    """A dense layer with weights in ``[-bound, bound]``; ``mask`` (n_out x n_in, 0/1)
    fixes the zero entries' weights at zero; ``bias=False`` fixes the bias at zero."""
    keep_w = np.ones(n_out * n_in, bool) if mask is None else np.asarray(mask).ravel() != 0
    keep = np.concatenate([keep_w, np.full(n_out, bias)])
    rows = np.flatnonzero(keep)
    T = sp.csr_matrix((np.ones(rows.size), (rows, np.arange(rows.size))),
                      shape=(keep.size, rows.size))
    return LayerParams(n_out, n_in, T, np.full(rows.size, -bound), np.full(rows.size, bound))


def conv(in_h: int, in_w: int, kh: int, kw: int, lo: float, hi: float,
         bias: bool = False) -> LayerParams:
    """One feature map of a ``kh x kw`` convolution (stride 1, no padding) on an
    ``in_h x in_w`` image as a dense layer with tied weights; kernel entries in
    ``[lo, hi]``, one shared bias (or none: Goebbels' offsets set to zero)."""
    M = conv_tie_matrix(in_h, in_w, kh, kw)
    n_out = (in_h - kh + 1) * (in_w - kw + 1)
    p = kh * kw
    B = sp.csr_matrix((np.ones(n_out), (np.arange(n_out), np.zeros(n_out, dtype=int))),
                      shape=(n_out, 1))
    if bias:
        T = sp.bmat([[M, None], [None, B]], format="csr")
        p += 1
    else:
        T = sp.vstack([M, sp.csr_matrix((n_out, p))], format="csr")
    return LayerParams(n_out, in_h * in_w, T, np.full(p, float(lo)), np.full(p, float(hi)))
