"""Encode one network application layer by layer (bounds, then a formulation)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nnlang import registry
from nnlang.bounds.cache import cached
from nnlang.encode.affine import Aff, interval
from nnlang.errors import SemanticError, SolverError, UnsupportedError
from nnlang.ir import nodes as ir
from nnlang.ir.milp import AppEncoding, LayerStats


@dataclass
class ReluLayer:
    """A layer's pre-activation ``A @ x + c`` and its bounds ``L <= . <= U``."""

    A: sp.csr_matrix
    c: np.ndarray
    L: np.ndarray
    U: np.ndarray


def _formulation(name: str):
    if name not in registry.FORMULATIONS:
        raise UnsupportedError(f"encoding '{name}' is not implemented")
    return registry.load(registry.FORMULATIONS[name]).encode_relu


def _unbounded_message(builder, app: ir.Apply, h0: Aff, lo, hi) -> str:
    bad_rows = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
    cols = np.unique(h0.A[bad_rows].indices)
    lb, ub = builder.column_bounds()
    cols = cols[~(np.isfinite(lb[cols]) & np.isfinite(ub[cols]))]
    names = []
    for block in builder.blocks:
        hit = (cols >= block.offset) & (cols < block.offset + block.size)
        if hit.any() and block.name not in names:
            names.append(block.name)
    who = ", ".join(f"'{n}'" for n in names) or "its input"
    return (f"the input of network '{app.net.name}' is unbounded: variable {who} needs finite "
            f"bounds (e.g. var x[...] in [lo, hi]) so that the ReLU encoding has sound big-M "
            f"constants")


def _columns_of(builder, h: Aff) -> int | None:
    """The offset if ``h`` is exactly the identity on a contiguous column range."""
    A = h.A
    if A.nnz != h.size or h.c.any() or not np.all(A.data == 1.0):
        return None
    if not np.array_equal(A.indptr, np.arange(h.size + 1)):
        return None
    start = int(A.indices[0]) if h.size else 0
    if np.array_equal(A.indices, np.arange(start, start + h.size)):
        return start
    return None


def encode_application(builder, app: ir.Apply, h0: Aff) -> AppEncoding:
    """Bound and encode every layer of ``app``; ``h0`` is its flattened input."""
    network = app.net.network
    opts = builder.options
    lb, ub = builder.column_bounds()
    lo, hi = interval(h0.padded(builder.n), lb, ub)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise SemanticError(_unbounded_message(builder, app, h0, lo, hi), app.span)
    start = time.perf_counter()
    entry = registry.BOUND_METHODS[opts.bounds]
    method = registry.load(entry)
    try:
        if entry.cached:  # costly: cached per network, box, method
            pre_bounds = cached(opts.bounds, opts.bounds_args, network, lo, hi,
                                lambda: method(network, lo, hi, **opts.bounds_args))
        else:
            pre_bounds = method(network, lo, hi, **opts.bounds_args)
    except ValueError as exc:  # an empty box, or numerical trouble in an LP
        raise SolverError(f"bounds method '{opts.bounds}' failed on network "
                          f"'{app.net.name}': {exc}", app.span) from None
    builder.bounds_seconds += time.perf_counter() - start
    tighter = builder.bound_overrides.get(app.label)
    if tighter is not None:  # sound bounds found by an earlier pass: intersect
        pre_bounds = [(np.maximum(L, tL), np.minimum(U, tU))
                      for (L, U), (tL, tU) in zip(pre_bounds, tighter)]
    encode_relu = _formulation(opts.encoding)
    h = h0.padded(builder.n)
    blocks, stats, pre_rows = [], [], []
    for k, (layer, (L, U)) in enumerate(zip(network.layers, pre_bounds), start=1):
        offset = _columns_of(builder, h)
        W = _drop_tiny(layer.W)
        if offset is not None:
            A = sp.csr_matrix((W.data, W.indices + offset, W.indptr),
                              shape=(W.shape[0], builder.n))
        else:
            A = (W @ h.padded(builder.n).A).tocsr()
        c = encoded_weights(layer.W) @ h.c + layer.b
        name = f"{app.label}.L{k}"
        pre_rows.append((A, c))
        if layer.activation == "relu":
            block = encode_relu(builder, name, ReluLayer(A, c, L, U))
        else:
            block = builder.add_block(f"{name}.x", (layer.n_out,), "continuous", L, U, "layer")
            A = A.copy()
            A.resize((A.shape[0], builder.n))
            eye = sp.csr_matrix((-np.ones(layer.n_out),
                                 (np.arange(layer.n_out), block.offset + np.arange(layer.n_out))),
                                shape=(layer.n_out, builder.n))
            builder.add_rows(f"{name}.eq", (A + eye).tocsr(), -c, -c, "relu")
        blocks.append(block)
        stats.append(_stats(L, U, layer.activation))
        h = Aff.columns(block.offset, block.size, builder.n, (block.size,))
    return AppEncoding(app.label, network, h0.A, h0.c, blocks, pre_bounds, stats, pre_rows)


TINY = 1e-12


def _drop_tiny(W: np.ndarray) -> sp.csr_matrix:
    """``W`` as CSR without the weights of magnitude below ``TINY``.

    Weight decay leaves weights like 1e-76 on always-blank MNIST border pixels;
    HiGHS drops matrix entries below 1e-9 on its own, while GLPK's simplex turns
    numerically unstable on them (and returned a wrong optimum). Dropping them
    changes a pre-activation by at most ``TINY`` times the input's L1 range,
    far below every solver's feasibility tolerance; the forward check after a
    solve still uses the exact weights.
    """
    return sp.csr_matrix(encoded_weights(W))


def encoded_weights(W: np.ndarray) -> np.ndarray:
    """Dense ``W`` as the encoding uses it (weights below ``TINY`` are zero)."""
    return np.where(np.abs(W) < TINY, 0.0, W)


def _stats(L: np.ndarray, U: np.ndarray, activation: str) -> LayerStats:
    if activation != "relu":
        return LayerStats(L.size, 0, 0, 0, float(np.mean(U - L)), activation)
    active = int(np.sum(L >= 0))
    inactive = int(np.sum((U <= 0) & (L < 0)))
    return LayerStats(L.size, active, inactive, L.size - active - inactive,
                      float(np.mean(U - L)), activation)
