"""Weights tied equal: one feature map of a convolution as a dense layer.

A ``kh x kw`` kernel (stride 1, no padding) on an ``in_h x in_w`` image is the
dense layer ``W = reshape(M @ k, out_h * out_w, in_h * in_w)`` for the 0/1 matrix
``M`` of :func:`conv_tie_matrix`: every weight is one kernel entry (Goebbels
(2021) §1 realizes convolutional layers by equal weights; its 49-25-10 network).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def conv_tie_matrix(in_h: int, in_w: int, kh: int, kw: int) -> sp.csr_matrix:
    """``(out_h * out_w * in_h * in_w, kh * kw)``: row ``neuron * in_h * in_w + pixel``
    has a one in the column of the kernel entry that weighs that pixel."""
    oh, ow = in_h - kh + 1, in_w - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"a {kh}x{kw} kernel does not fit a {in_h}x{in_w} image")
    oy, ox, ky, kx = np.meshgrid(np.arange(oh), np.arange(ow), np.arange(kh), np.arange(kw),
                                 indexing="ij")
    neuron = (oy * ow + ox).ravel()
    pixel = ((oy + ky) * in_w + (ox + kx)).ravel()
    rows = neuron * (in_h * in_w) + pixel
    cols = (ky * kw + kx).ravel()
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)),
                         shape=(oh * ow * in_h * in_w, kh * kw))
