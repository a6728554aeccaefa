"""The big-M ReLU encoding with x, s, z (Linkola (2023), eqs. 3b-3d).

For a layer with pre-activation ``p = A x + c`` and sound bounds ``L <= p <= U``:

- stably inactive (U <= 0): ``x = 0``, no row and no binary;
- stably active (L >= 0): ``x = p``, one equality row, no binary;
- otherwise: ``p = x - s``, ``x <= U z``, ``s <= -L (1 - z)``,
  ``x, s >= 0``, ``z`` binary.

All rows of a layer are built at once from sparse matrices.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.encode.layers import ReluLayer


def relu_columns(builder, name: str, layer: ReluLayer):
    """The x, s, z blocks and the rows ``p = x - s`` shared by every formulation.

    Returns ``(x, s, z, iu)``: ``s`` and ``z`` have one entry per unstable
    neuron, whose indices in the layer are ``iu``.
    """
    L, U = layer.L, layer.U
    m = L.size
    active = L >= 0
    inactive = (U <= 0) & ~active
    unstable = ~(active | inactive)
    ub = np.maximum(U, 0.0)
    ub[inactive] = 0.0
    x = builder.add_block(f"{name}.x", (m,), "continuous", np.maximum(L, 0.0), ub, "layer")
    iu = np.flatnonzero(unstable)
    nu = iu.size
    s = builder.add_block(f"{name}.s", (nu,), "continuous", np.zeros(nu), -L[iu], "slack")
    z = builder.add_block(f"{name}.z", (nu,), "binary", np.zeros(nu), np.ones(nu), "relu_binary")
    n = builder.n

    # p - x + s = 0 on active and unstable neurons (s only on unstable ones).
    rows = np.flatnonzero(active | unstable)
    pos_in_rows = np.searchsorted(rows, iu)
    pre = layer.A[rows]
    pre.resize((rows.size, n))
    ex = sp.csr_matrix((-np.ones(rows.size), (np.arange(rows.size), x.offset + rows)),
                       shape=(rows.size, n))
    es = sp.csr_matrix((np.ones(nu), (pos_in_rows, s.offset + np.arange(nu))),
                       shape=(rows.size, n))
    rhs = -layer.c[rows]
    builder.add_rows(f"{name}.eq", (pre + ex + es).tocsr(), rhs, rhs, "relu")
    return x, s, z, iu


def encode_relu(builder, name: str, layer: ReluLayer):
    """Add the variables and rows of one ReLU layer; returns the x block."""
    L, U = layer.L, layer.U
    x, s, z, iu = relu_columns(builder, name, layer)
    nu, n = iu.size, builder.n

    # x - U z <= 0 and s - L z <= -L on unstable neurons.
    r = np.arange(nu)
    big_x = sp.csr_matrix(
        (np.concatenate([np.ones(nu), -U[iu]]),
         (np.concatenate([r, r]), np.concatenate([x.offset + iu, z.offset + r]))),
        shape=(nu, n))
    builder.add_rows(f"{name}.bigm_x", big_x, np.full(nu, -np.inf), np.zeros(nu), "relu")
    big_s = sp.csr_matrix(
        (np.concatenate([np.ones(nu), -L[iu]]),
         (np.concatenate([r, r]), np.concatenate([s.offset + r, z.offset + r]))),
        shape=(nu, n))
    builder.add_rows(f"{name}.bigm_s", big_s, np.full(nu, -np.inf), -L[iu], "relu")
    return x
