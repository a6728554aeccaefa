"""Exact MILP encodings of abs, norm1, norminf and norm0 (seed 000, eqs. 4.22-4.27).

Each is valid where the enclosing problem wants the value small (minimized,
or bounded above): an epigraph variable ``t >= |e|`` for abs/norm1/norminf,
and for norm0 one binary ``r_i`` per entry with ``l_i r_i <= e_i <= u_i r_i``
(``l, u`` sound bounds of ``e``), so ``r_i = 0`` forces ``e_i = 0``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.encode.affine import Aff, interval
from nnlang.errors import SemanticError, Span


def _epigraph_rows(builder, name: str, e: Aff, t_cols: np.ndarray, span: Span) -> None:
    """Rows ``e_i - t_{k(i)} <= 0`` and ``-e_i - t_{k(i)} <= 0``."""
    n = builder.n
    m = e.size
    T = sp.csr_matrix((np.ones(m), (np.arange(m), t_cols)), shape=(m, n))
    A = e.padded(n).A
    inf = np.full(m, -np.inf)
    builder.add_rows(f"{name}.pos", (A - T).tocsr(), inf, -e.c, "aux", span)
    builder.add_rows(f"{name}.neg", (-A - T).tocsr(), inf, e.c, "aux", span)


def _abs_bound(builder, e: Aff) -> np.ndarray:
    lb, ub = builder.column_bounds()
    lo, hi = interval(e.padded(builder.n), lb, ub)
    return np.maximum(np.abs(lo), np.abs(hi))


def encode_abs(builder, e: Aff, span: Span) -> Aff:
    """Elementwise ``t >= |e|``; returns t."""
    name = builder.fresh("abs", span)
    t = builder.add_block(name, e.shape, "continuous", np.zeros(e.size),
                          _abs_bound(builder, e), "aux", span)
    _epigraph_rows(builder, name, e, t.offset + np.arange(e.size), span)
    return Aff.columns(t.offset, t.size, builder.n, e.shape)


def encode_norminf(builder, e: Aff, span: Span) -> Aff:
    """Scalar ``t >= |e_i|`` for all i; returns t."""
    name = builder.fresh("norminf", span)
    bound = _abs_bound(builder, e)
    t = builder.add_block(name, (), "continuous", np.zeros(1),
                          np.array([bound.max(initial=0.0)]), "aux", span)
    _epigraph_rows(builder, name, e, np.full(e.size, t.offset), span)
    return Aff.columns(t.offset, 1, builder.n, ())


def encode_norm0(builder, e: Aff, span: Span) -> Aff:
    """Count of nonzero entries via binaries; returns sum(r)."""
    lb, ub = builder.column_bounds()
    lo, hi = interval(e.padded(builder.n), lb, ub)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise SemanticError("norm0() needs an argument with finite bounds: give the variables "
                            "in it bounds (var x[...] in [lo, hi])", span)
    name = builder.fresh("norm0", span)
    m = e.size
    r = builder.add_block(name, e.shape, "binary", np.zeros(m), np.ones(m), "aux", span)
    n = builder.n
    A = e.padded(n).A
    rows = np.arange(m)
    # e - hi r <= 0 and e - lo r >= 0
    R_hi = sp.csr_matrix((-hi, (rows, r.offset + rows)), shape=(m, n))
    R_lo = sp.csr_matrix((-lo, (rows, r.offset + rows)), shape=(m, n))
    inf = np.full(m, np.inf)
    builder.add_rows(f"{name}.up", (A + R_hi).tocsr(), -inf, -e.c, "aux", span)
    builder.add_rows(f"{name}.down", (A + R_lo).tocsr(), -e.c, inf, "aux", span)
    total = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=int), r.offset + rows)),
                          shape=(1, n))
    return Aff(total, np.zeros(1), ())
