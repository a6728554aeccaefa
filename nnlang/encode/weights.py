"""A dense layer whose weights are variables, applied to constant inputs.

With the inputs ``X`` (m samples, d features) fixed, the pre-activation
``p[k, j] = sum_i X[k, i] W[j, i] + b[j]`` is linear in the weights, so the layer
is encoded exactly like any other: its rows are handed to the ReLU formulation
of the options (Goebbels (2021), eqs. 3-6, with big-M constants). The bounds are
the exact range of each ``p[k, j]`` over the weights' box, one per sample and
neuron: never looser than Goebbels' constant ``M = d (1.1 M~ + 0.1) + 1``, and
usually much tighter (a zero pixel contributes nothing).

This is the one encoding of a variable-weight layer: a spec's ``dense ... weights W, b``
lines and the training algorithms (``nnlang.training``) both build on it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang import registry
from nnlang.encode.affine import Aff, interval
from nnlang.encode.layers import ReluLayer
from nnlang.ir.milp import VarBlock, WeightAppEncoding


def pre_activation(X: np.ndarray, W: Aff, b: Aff, n: int) -> Aff:
    """``X @ W.T + b`` as an affine expression over the model's ``n`` columns, shape
    ``(m, n_out)`` row-major (sample-major): ``W`` has shape ``(n_out, d)``, ``b``
    ``(n_out,)``, both affine in the columns (variables, tied or fixed entries)."""
    X = np.asarray(X, dtype=float)
    m, d = X.shape
    n_out = W.shape[0]
    WA = W.padded(n).A.tocsr()
    # kron(I_n_out, X) @ W gives the rows neuron-major (j, k); reorder to (k, j)
    K = sp.kron(sp.identity(n_out, format="csr"), sp.csr_matrix(X), format="csr")
    P = (K @ WA).tocsr()
    order = (np.arange(n_out)[None, :] * m + np.arange(m)[:, None]).ravel()
    P = P[order]
    B = b.padded(n).A.tocsr()[np.tile(np.arange(n_out), m)]
    c = (X @ W.c.reshape(n_out, d).T + b.c[None, :]).ravel()
    A = (P + B).tocsr()
    A.eliminate_zeros()
    return Aff(A, c, (m, n_out))


def encode_activation(builder, name: str, pre: Aff, activation: str,
                      big_m: float | None = None) -> tuple[VarBlock, tuple[np.ndarray, np.ndarray]]:
    """Encode ``act(pre)`` for an affine ``pre`` bounded over the column bounds (or
    by ``-big_m <= pre <= big_m``, a constant the caller proves, for comparisons);
    returns the post-activation block (``pre``'s shape) and the bounds ``(L, U)``
    of ``pre`` it was encoded with."""
    lb, ub = builder.column_bounds()
    L, U = interval(pre.padded(builder.n), lb, ub)
    if big_m is not None:
        L, U = np.full(L.shape, -float(big_m)), np.full(U.shape, float(big_m))
    if not (np.isfinite(L).all() and np.isfinite(U).all()):
        raise ValueError("the pre-activation needs finite bounds")
    shape = pre.shape
    if activation == "relu":
        encode_relu = registry.load(registry.FORMULATIONS[builder.options.encoding]).encode_relu
        block = encode_relu(builder, name, ReluLayer(pre.padded(builder.n).A, pre.c, L, U))
        block.shape = shape
        return block, (L, U)
    block = builder.add_block(f"{name}.x", shape, "continuous", L, U, "layer")
    size = pre.size
    eye = sp.csr_matrix((-np.ones(size), (np.arange(size), block.offset + np.arange(size))),
                        shape=(size, builder.n))
    A = pre.padded(builder.n).A
    builder.add_rows(f"{name}.eq", (A + eye).tocsr(), -pre.c, -pre.c, "relu")
    return block, (L, U)


def encode_weight_layer(builder, name: str, X: np.ndarray, W: Aff, b: Aff, activation: str,
                        big_m: float | None = None) -> tuple[VarBlock, tuple[np.ndarray, np.ndarray]]:
    """Encode ``act(X @ W.T + b)``; returns the post-activation block (shape
    ``(m, n_out)``) and the pre-activation bounds ``(L, U)`` it was encoded with."""
    return encode_activation(builder, name, pre_activation(X, W, b, builder.n), activation,
                             big_m)


def encode_on_data(builder, app, lower) -> tuple[WeightAppEncoding, list[Aff]]:
    """A network with variable weights in one layer applied to constant samples (the
    checker refuses more than one such layer, or a variable input): the layers before
    it are numbers, it is :func:`encode_weight_layer`, the layers after it are
    constant layers on variable values. ``lower(expr)`` lowers the weight
    expressions. Returns the encoding and every layer (0 = the samples) as ``Aff``."""
    net = app.net
    network = net.network
    X = np.asarray(app.arg.value, float).reshape(max(app.batch, 1), network.n_in)
    m = X.shape[0]
    shape_of = (lambda w: (m, w)) if app.batch else (lambda w: (w,))
    (k0, (W_expr, b_expr)), = net.variable.items()
    values = network.forward(X)
    layers = [Aff.const(v.reshape(shape_of(v.shape[1])), builder.n) for v in values[: k0 + 1]]
    W, b = lower(W_expr).padded(builder.n), lower(b_expr).padded(builder.n)
    weights = {k0: (W.A, W.c, b.A, b.c)}
    layer = network.layers[k0]
    block, _ = encode_weight_layer(builder, f"{app.label}.L{k0 + 1}", values[k0], W, b,
                                   layer.activation)
    cur = Aff.columns(block.offset, block.size, builder.n, (m, layer.n_out))
    layers.append(Aff(cur.A, cur.c, shape_of(layer.n_out)))
    for k in range(k0 + 1, len(network.layers)):
        nxt = network.layers[k]
        M = sp.kron(sp.identity(m, format="csr"), sp.csr_matrix(nxt.W), format="csr")
        pre = Aff((M @ cur.padded(builder.n).A).tocsr(), M @ cur.c + np.tile(nxt.b, m),
                  (m, nxt.n_out))
        block, _ = encode_activation(builder, f"{app.label}.L{k + 1}", pre, nxt.activation)
        cur = Aff.columns(block.offset, block.size, builder.n, (m, nxt.n_out))
        layers.append(Aff(cur.A, cur.c, shape_of(nxt.n_out)))
    enc = WeightAppEncoding(app.label, network, X, weights,
                            [(a.padded(builder.n).A, a.c) for a in layers], app.batch)
    return enc, layers
