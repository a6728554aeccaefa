"""The partition-based ReLU formulation (Tsay et al. 2021; Kronqvist et al. 2021), on top of big-M.

For an unstable neuron with pre-activation ``p = sum_n alpha_n + c`` where the
terms ``a_ij x_j`` of ``A x`` are split into ``P`` groups ``alpha_1 .. alpha_P``
with sound bounds ``LB_n <= alpha_n <= UB_n``, the formulation disaggregates
each group into its part on the active branch, ``v_n`` (``= z alpha_n`` at an
integer ``z``):

- ``x = sum_n v_n + c z``                       (the output is the active part)
- ``LB_n z <= v_n <= UB_n z``                   (``v_n = 0`` when inactive)
- ``LB_n (1 - z) <= alpha_n - v_n <= UB_n (1 - z)``  (``v_n = alpha_n`` when active)

``P = 1`` is big-M; one group per input is the extended (convex hull)
formulation of Anderson et al. 2020 for a single neuron. In between, splitting a
group can only tighten the LP relaxation (with additive interval group bounds the
coarse rows are sums of the fine ones), at a cost of ``P`` continuous variables and
``4 P + 1`` rows per unstable neuron.

The rows are *added to* the big-M rows of ``nnlang.encode.bigm`` (same ``x``,
``s``, ``z`` blocks, ``z = 1`` active), so that:

- the LP relaxation is never looser than big-M's, even when ``L, U`` (from
  ``symbolic``/``lp``/``milp`` bounds) are tighter than the sum of the group
  bounds, which come from interval arithmetic over the column bounds. Where they
  are not (every unstable neuron of the layer has ``sum UB_n <= U - c`` and
  ``sum LB_n >= L - c``), the big-M rows are sums of the partition rows and are
  left out: HiGHS's tree was several times slower with them (docs/benchmarks.md,
  "Partition formulation vs OMLT's"), and the partition rows alone are exact;
- everything that reads the big-M layout (the forward check, ``api``'s
  ``relu_binary`` test, tightening, the emitters' layer names) still finds it;
  the extra columns (role ``aux``) and rows (role ``relu``) are generic.

Groups: the terms of a row are sorted by their signed contribution range
``a_ij * (ub_j - lb_j)`` and cut into ``P`` groups of (nearly) equal size,
Tsay et al.'s "equal-size" strategy; with ``P = 2`` on a nonnegative input
this puts the positive and the negative weights apart. Group bounds are then
intersected with what ``L <= p <= U`` implies
(``alpha_n <= U - c - sum_{m != n} LB_m``), which is sound wherever ``L, U`` are.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.encode import bigm
from nnlang.encode.layers import ReluLayer

# the group bounds' sums may exceed the neuron's by this (relative) and the big-M
# rows still count as implied: a row left out only loosens the relaxation, never
# the model, which the partition rows keep exact
IMPLIED = 1e-9


def encode_relu(builder, name: str, layer: ReluLayer):
    """Big-M for ``layer`` plus ``options.partition_parts`` partition groups per
    unstable neuron."""
    return encode_relu_parts(builder, name, layer, builder.options.partition_parts)


def encode_relu_parts(builder, name: str, layer: ReluLayer, parts: int):
    """Add the big-M rows of ``layer`` and the partition rows with ``parts`` groups."""
    L, U = layer.L, layer.U
    iu = np.flatnonzero((L < 0) & (U > 0))
    if iu.size == 0 or parts < 2:
        return bigm.encode_relu(builder, name, layer)
    lb, ub = builder.column_bounds()  # the layer's inputs: its own columns come after
    A = layer.A[iu].tocsr()
    A.sum_duplicates()
    A.eliminate_zeros()
    lo, hi = L[iu] - layer.c[iu], U[iu] - layer.c[iu]
    group, LB, UB = _groups(A, lb, ub, lo, hi, parts)
    keep = np.isfinite(LB).all(axis=1) & np.isfinite(UB).all(axis=1) & (np.diff(A.indptr) > 0)
    if not keep.any():
        return bigm.encode_relu(builder, name, layer)
    with np.errstate(invalid="ignore"):
        implied = keep.all() and bool(np.all(UB.sum(axis=1) <= hi + IMPLIED * (1.0 + np.abs(hi)))
                                      and np.all(LB.sum(axis=1) >= lo - IMPLIED * (1.0 + np.abs(lo))))
    if implied:
        x = bigm.relu_columns(builder, name, layer)[0]
    else:
        x = bigm.encode_relu(builder, name, layer)
    z = next(b for b in reversed(builder.blocks) if b.name == f"{name}.z")
    rows = np.flatnonzero(keep)
    group = group[np.repeat(keep, np.diff(A.indptr))]
    A, LB, UB = A[rows], LB[rows], UB[rows]
    iu, zc = iu[rows], z.offset + rows
    nu = rows.size
    v = builder.add_block(f"{name}.v", (nu, parts), "continuous",
                          np.minimum(LB, 0.0), np.maximum(UB, 0.0), "aux")
    n = builder.n
    r = np.arange(nu)
    c = layer.c[iu]

    # x - sum_n v_n - c z = 0
    vcols = v.offset + (r[:, None] * parts + np.arange(parts)).ravel()
    link = sp.csr_matrix(
        (np.concatenate([np.ones(nu), -np.ones(nu * parts), -c]),
         (np.concatenate([r, np.repeat(r, parts), r]),
          np.concatenate([x.offset + iu, vcols, zc]))), shape=(nu, n))
    builder.add_rows(f"{name}.part_link", link, np.zeros(nu), np.zeros(nu), "relu")

    # Row i of A split by group: alpha_{i,n} = A_n[i] @ cols.
    A.resize((nu, n))
    row_of_nz = np.repeat(r, np.diff(A.indptr))
    inf = np.full(nu, np.inf)
    for g in range(parts):
        sel = group == g
        alpha = sp.csr_matrix((A.data[sel], (row_of_nz[sel], A.indices[sel])), shape=(nu, n))
        vg = v.offset + r * parts + g
        lo_g, hi_g = LB[:, g], UB[:, g]
        # v - UB z <= 0 and v - LB z >= 0
        vz_hi = sp.csr_matrix((np.concatenate([np.ones(nu), -hi_g]),
                               (np.concatenate([r, r]), np.concatenate([vg, zc]))),
                              shape=(nu, n))
        vz_lo = sp.csr_matrix((np.concatenate([np.ones(nu), -lo_g]),
                               (np.concatenate([r, r]), np.concatenate([vg, zc]))),
                              shape=(nu, n))
        builder.add_rows(f"{name}.part{g}_on_hi", vz_hi, -inf, np.zeros(nu), "relu")
        builder.add_rows(f"{name}.part{g}_on_lo", vz_lo, np.zeros(nu), inf, "relu")
        # alpha - v + UB z <= UB and alpha - v + LB z >= LB
        minus_v = sp.csr_matrix((-np.ones(nu), (r, vg)), shape=(nu, n))
        off_hi = alpha + minus_v + sp.csr_matrix((hi_g, (r, zc)), shape=(nu, n))
        off_lo = alpha + minus_v + sp.csr_matrix((lo_g, (r, zc)), shape=(nu, n))
        builder.add_rows(f"{name}.part{g}_off_hi", off_hi.tocsr(), -inf, hi_g, "relu")
        builder.add_rows(f"{name}.part{g}_off_lo", off_lo.tocsr(), lo_g, inf, "relu")
    return x


def _groups(A: sp.csr_matrix, lb: np.ndarray, ub: np.ndarray, lo: np.ndarray, hi: np.ndarray,
            parts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group of each nonzero of ``A``, LB, UB) with LB/UB of shape (rows, parts).

    ``lo <= A @ cols <= hi`` (the neuron bounds minus ``c``) tightens the groups.
    """
    m = A.shape[0]
    counts = np.diff(A.indptr)
    row = np.repeat(np.arange(m), counts)
    a, lj, uj = A.data, lb[A.indices], ub[A.indices]
    with np.errstate(invalid="ignore"):  # 0 * inf: the term is exactly 0
        t1 = np.where(a == 0, 0.0, a * lj)
        t2 = np.where(a == 0, 0.0, a * uj)
        key = np.where(np.isfinite(uj - lj), a * (uj - lj), a)
    order = np.lexsort((key, row))  # by row, then by signed contribution range
    rank = np.empty(row.size, dtype=np.int64)
    rank[order] = np.arange(row.size) - A.indptr[row[order]]
    group = np.minimum(rank * parts // np.maximum(counts[row], 1), parts - 1)
    LB = np.zeros((m, parts))
    UB = np.zeros((m, parts))
    np.add.at(LB, (row, group), np.minimum(t1, t2))
    np.add.at(UB, (row, group), np.maximum(t1, t2))
    with np.errstate(invalid="ignore"):
        tot_lo, tot_hi = LB.sum(axis=1, keepdims=True), UB.sum(axis=1, keepdims=True)
        cap_hi = hi[:, None] - (tot_lo - LB)
        cap_lo = lo[:, None] - (tot_hi - UB)
    # a relative margin keeps the caps sound under rounding in the sums
    cap_hi = cap_hi + 1e-9 * (1.0 + np.abs(cap_hi))
    cap_lo = cap_lo - 1e-9 * (1.0 + np.abs(cap_lo))
    UB = np.where(np.isfinite(cap_hi), np.minimum(UB, cap_hi), UB)
    LB = np.where(np.isfinite(cap_lo), np.maximum(LB, cap_lo), LB)
    UB = np.maximum(UB, LB)  # an empty group range only from rounding: keep it a point
    return group, LB, UB

