"""Exact MILP encodings of abs, norm1, norminf and norm0 (the WBO master's thesis, eqs. 4.22-4.27).

Each is valid where the enclosing problem wants the value small (minimized,
or bounded above): ``e = up - down`` with ``up, down >= 0`` standing for ``|e| = up +
down`` for abs/norm1, an epigraph variable ``t >= |e_i|`` for norminf, and for norm0 one binary ``r_i`` per entry with ``l_i r_i <= e_i <= u_i r_i``
(``l, u`` sound bounds of ``e``), so ``r_i = 0`` forces ``e_i = 0``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.encode.affine import Aff, interval
from nnlang.errors import SemanticError, Span
from nnlang.ir.milp import entry_suffixes
from nnlang.registry import HIGHS_DEFAULTS, HIGHS_PROBING

# HiGHS's presolve_rule_off for the lambda form: nnlang's rules off and probing
LAMBDA_RULES_OFF = HIGHS_DEFAULTS["presolve_rule_off"] | HIGHS_PROBING


def _epigraph_rows(builder, name: str, e: Aff, t_cols: np.ndarray, span: Span,
                   entries: list[str] | None = None) -> None:
    """Rows ``e_i - t_{k(i)} <= 0`` and ``-e_i - t_{k(i)} <= 0`` (``entries``: the
    index of each row's entry as the spec writes it, e.g. ``[4]``)."""
    n = builder.n
    m = e.size
    T = sp.csr_matrix((np.ones(m), (np.arange(m), t_cols)), shape=(m, n))
    A = e.padded(n).A
    inf = np.full(m, -np.inf)
    for tag, M, hi in (("pos", A - T, -e.c), ("neg", -A - T, e.c)):
        labels = None if entries is None else [f"{name}.{tag}{i}" for i in entries]
        builder.add_rows(f"{name}.{tag}", M.tocsr(), inf, hi, "aux", span, labels)


def _range(builder, e: Aff) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds of each entry of ``e`` over the column bounds."""
    lb, ub = builder.column_bounds()
    return interval(e.padded(builder.n), lb, ub)


def _abs_bound(builder, e: Aff) -> np.ndarray:
    lo, hi = _range(builder, e)
    return np.maximum(np.abs(lo), np.abs(hi))


def encode_abs(builder, e: Aff, span: Span) -> Aff:
    """Elementwise ``|e|``: ``e`` itself (or ``-e``) where its bounds fix the sign,
    else ``up + down`` with ``e = up - down``, ``0 <= up <= max(hi, 0)`` and
    ``0 <= down <= max(-lo, 0)``: one equality row per entry.

    The sign-fixed entries are exact, not relaxed (``|e| = e`` for ``e >= 0``): for a
    distance to an image whose pixels sit at a bound of the box (MNIST's zeros) most
    entries need neither a column nor a row. The split form has the same LP
    relaxation as the epigraph ``t >= e, t >= -e`` (``t = up + down``), but HiGHS's
    tree searched it several times faster on the MNIST distance problems, big-M and
    partition alike (docs/benchmarks.md, "Partition formulation vs OMLT's")."""
    lo, hi = _range(builder, e)
    sign = np.where(lo >= 0, 1.0, np.where(hi <= 0, -1.0, 0.0))
    free = np.flatnonzero(sign == 0)
    if free.size == 0:
        return e.scaled(sign.reshape(e.shape))
    name = builder.fresh("abs", span)
    k = free.size
    # the columns and rows keep the entries' own indices: abs_L19.up[4] is e[4]'s part
    # above zero
    entries = entry_suffixes(e.shape, e.size)
    entries = [entries[i] for i in free.tolist()]
    up = builder.add_block(f"{name}.up", (k,), "continuous", np.zeros(k),
                           np.maximum(hi[free], 0.0), "aux", span,
                           [f"{name}.up{s}" for s in entries])
    down = builder.add_block(f"{name}.down", (k,), "continuous", np.zeros(k),
                             np.maximum(-lo[free], 0.0), "aux", span,
                             [f"{name}.down{s}" for s in entries])
    n = builder.n
    r = np.arange(k)
    part = e.rows(free, (k,)).padded(n)
    split = part.A + sp.csr_matrix(
        (np.concatenate([-np.ones(k), np.ones(k)]),
         (np.concatenate([r, r]), np.concatenate([up.offset + r, down.offset + r]))),
        shape=(k, n))
    builder.add_rows(f"{name}.split", split.tocsr(), -part.c, -part.c, "aux", span,
                     [f"{name}.split{s}" for s in entries])
    fixed = e.padded(n).scaled(sign.reshape(e.shape))  # zero rows where free
    T = sp.csr_matrix((np.ones(2 * k), (np.concatenate([free, free]),
                                        np.concatenate([up.offset + r, down.offset + r]))),
                      shape=(e.size, n))
    A = (fixed.A + T).tocsr()
    A.eliminate_zeros()
    return Aff(A, fixed.c, e.shape)


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
    lo, hi = _range(builder, e)
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


def _pwl_segment_columns(builder, name: str, e: Aff, b: np.ndarray, lo: np.ndarray,
                         hi: np.ndarray, t_cols: np.ndarray, span: Span) -> None:
    """``t_j`` at least the interpolant at ``|e_j|`` by segment columns: each
    segment ``[b_k, b_k+1]`` of ``|e_j|``'s axis that ``e_j``'s range reaches is a
    column ``0 <= delta <= length`` on the positive and one on the negative side,
    ``e_j = sum(delta+) - sum(delta-)`` and ``t_j = sum(slope_k * delta)``. The
    slopes (``b_k + b_k+1``) grow outwards, so a minimizing LP fills the segments in
    order and pays the interpolant exactly; any other filling pays more. No ``|e|``
    column, and 2 rows per entry instead of ``n - 1``."""
    m = b.shape[0]
    start, end = b[:, :-1], b[:, 1:]  # (m, n-1) segments of the magnitude axis
    slope = start + end
    sides = []
    for sign, reach in ((1.0, np.maximum(hi, 0.0)), (-1.0, np.maximum(-lo, 0.0))):
        length = np.clip(np.minimum(end, reach[:, None]) - start, 0.0, None)
        j, k = np.nonzero(length > 0)
        sides.append((np.full(j.size, sign), j, length[j, k], slope[j, k]))
    sign = np.concatenate([s[0] for s in sides])
    rows = np.concatenate([s[1] for s in sides])
    length = np.concatenate([s[2] for s in sides])
    cost = np.concatenate([s[3] for s in sides])
    k = rows.size
    seg = builder.add_block(f"{name}.segments", (k,), "continuous", np.zeros(k), length, "aux",
                            span)
    cols = seg.offset + np.arange(k)
    N = builder.n
    eA = e.padded(N).A.tocsr()
    # e_j - sum(sign * delta) = -c_j
    link = (eA + sp.csr_matrix((-sign, (rows, cols)), shape=(m, N))).tocsr()
    builder.add_rows(f"{name}.sum", link, -e.c, -e.c, "aux", span)
    # t_j - sum(slope * delta) = 0
    value = sp.csr_matrix((np.concatenate([np.ones(m), -cost]),
                           (np.concatenate([np.arange(m), rows]), np.concatenate([t_cols, cols]))),
                          shape=(m, N))
    builder.add_rows(f"{name}.value", value, np.zeros(m), np.zeros(m), "aux", span)


def encode_sumsq_pwl(builder, e: Aff, n: int, form: str, span: Span) -> Aff:
    """Piecewise-linear over-approximation of ``sum(e**2)`` (Zhu (2021), section 4.2).

    ``d_j >= |e_j|`` and ``t_j >= interp(d_j)``, where ``interp`` interpolates
    ``d**2`` at ``n`` uniform breakpoints on ``[0, D_j]`` (``D_j`` the largest
    ``|e_j|`` the bounds allow). ``form = "epigraph"``: since ``d**2`` is convex
    its interpolant is the max of its segment lines, so ``n - 1`` rows and no
    binaries. ``form = "lambda"``: the lambda-formulation, convex weights on the
    breakpoints with SOS2 enforced by one binary per segment. Returns sum(t).
    """
    lo, hi = _range(builder, e)
    D = np.maximum(np.abs(lo), np.abs(hi))
    if not np.isfinite(D).all():
        raise SemanticError("sumsq(...) approx pwl needs a bounded argument: give the "
                            "variables in it bounds", span)
    m = e.size
    frac = np.linspace(0.0, 1.0, n)
    b = D[:, None] * frac[None, :]  # (m, n) breakpoints
    f = b ** 2
    if form == "epigraph":  # segment columns (one row per segment line was slower,
        # docs/benchmarks.md)
        name = builder.fresh("pwl", span)
        t = builder.add_block(f"{name}.t", (m,), "continuous", np.zeros(m), D ** 2, "aux", span)
        _pwl_segment_columns(builder, name, e, b, lo, hi, t.offset + np.arange(m), span)
        builder.approximations.append((name, e, t))
        total = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=int), t.offset + np.arange(m))),
                              shape=(1, builder.n))
        return Aff(total, np.zeros(1), ())
    d = encode_abs(builder, e, span)  # an epigraph column, or +-e where the sign is fixed
    name = builder.fresh("pwl", span)
    t = builder.add_block(f"{name}.t", (m,), "continuous", np.zeros(m), D ** 2, "aux", span)
    t_cols = t.offset + np.arange(m)
    dA = d.padded(builder.n).A.tocsr()
    # HiGHS's presolve probes every binary, and this form has one per segment and
    # entry: probing alone overran time limits by minutes (docs/benchmarks.md)
    builder.solver_args.setdefault("HIGHS", {})["presolve_rule_off"] = LAMBDA_RULES_OFF
    lam = builder.add_block(f"{name}.lambda", (m, n), "continuous", np.zeros(m * n),
                            np.ones(m * n), "aux", span)
    seg = builder.add_block(f"{name}.segment", (m, n - 1), "binary", np.zeros(m * (n - 1)),
                            np.ones(m * (n - 1)), "aux", span)
    N = builder.n
    lam_cols = lam.offset + np.arange(m * n).reshape(m, n)
    seg_cols = seg.offset + np.arange(m * (n - 1)).reshape(m, n - 1)
    r = np.repeat(np.arange(m), n)
    ones = np.ones(m * n)
    # sum_i lam = 1; sum_i b_i lam_i - d = 0; sum_i f_i lam_i - t = 0; sum_k seg = 1
    conv = sp.csr_matrix((ones, (r, lam_cols.ravel())), shape=(m, N))
    dA.resize((m, N))
    pos = sp.csr_matrix((b.ravel(), (r, lam_cols.ravel())), shape=(m, N)) - dA
    val = sp.csr_matrix((np.concatenate([f.ravel(), -np.ones(m)]),
                         (np.concatenate([r, np.arange(m)]),
                          np.concatenate([lam_cols.ravel(), t_cols]))), shape=(m, N))
    rs = np.repeat(np.arange(m), n - 1)
    one_seg = sp.csr_matrix((np.ones(m * (n - 1)), (rs, seg_cols.ravel())), shape=(m, N))
    eq = sp.vstack([conv, pos, val, one_seg], format="csr")
    rhs = np.concatenate([np.ones(m), d.c, np.zeros(m), np.ones(m)])
    builder.add_rows(f"{name}.lambda", eq, rhs, rhs, "aux", span)
    # SOS2: lam_i <= seg_{i-1} + seg_i (missing neighbours at the ends)
    rows_l, cols_l, vals_l = [], [], []
    idx = np.arange(m * n).reshape(m, n)
    rows_l.append(idx.ravel())
    cols_l.append(lam_cols.ravel())
    vals_l.append(np.ones(m * n))
    left = idx[:, 1:]  # lam_i for i >= 1 uses seg_{i-1}
    rows_l.append(left.ravel())
    cols_l.append(seg_cols.ravel())
    vals_l.append(-np.ones(left.size))
    right = idx[:, :-1]  # lam_i for i <= n-2 uses seg_i
    rows_l.append(right.ravel())
    cols_l.append(seg_cols.ravel())
    vals_l.append(-np.ones(right.size))
    sos = sp.csr_matrix((np.concatenate(vals_l), (np.concatenate(rows_l),
                                                  np.concatenate(cols_l))), shape=(m * n, N))
    builder.add_rows(f"{name}.sos2", sos, np.full(m * n, -np.inf), np.zeros(m * n), "aux",
                     span)
    builder.approximations.append((name, e, t))
    total = sp.csr_matrix((np.ones(m), (np.zeros(m, dtype=int), t_cols)), shape=(1, builder.n))
    return Aff(total, np.zeros(1), ())
