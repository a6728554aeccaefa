"""LP bound tightening (OBBT) of the unstable neurons, for the verifier's MILP.

Layer by layer, every neuron that the current bounds leave unstable is
minimized and maximized over the LP relaxation of the layers below it (the
input box, the affine layers, and for every earlier ReLU its exact form when
stable or the triangle ``a >= 0, a >= z, a <= U (z - L) / (U - L)`` when not).
One HiGHS model per layer; only the objective changes between neurons, so the
basis is reused (primal simplex).

Soundness does not rest on the LP solver's accuracy: each new bound is the
weak-duality bound of the row duals HiGHS returns (valid for *any* duals),
computed in float64 and moved outwards by a small relative margin. After a
layer is tightened, the later layers are re-bounded by back-substitution with
the tighter bounds, and everything is intersected with the bounds given.

The result is passed to the encoder as ``bound_overrides`` (smaller big-M
constants and fewer binaries in the MILP).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from nnlang.highs_objects import highs_from_matrix, set_time_limit
from nnlang.networks.network import Network

SAFETY = 1e-9  # relative outward margin on every LP bound
STRATEGY = 4  # HiGHS simplex strategy: primal (the basis stays primal feasible)


def _layer_lp(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: list, k: int):
    """Columns ``[x, z_1, a_1, ..., z_{k-1}, a_{k-1}]`` and rows of the relaxation of the
    layers below layer ``k`` (0-based ``k`` >= 1); returns (A, row_lo, row_hi, col_lo,
    col_hi, offset of a_{k-1})."""
    blocks_A: list = []
    rlo: list = []
    rhi: list = []
    clo = [lo]
    chi = [hi]
    ncols = lo.size
    prev = 0  # offset of the previous post-activation block (x at first)
    prev_n = lo.size
    for j in range(k):
        layer = network.layers[j]
        L, U = bounds[j]
        n = layer.n_out
        z0 = ncols
        a0 = ncols + n
        ncols += 2 * n
        clo += [L, np.maximum(L, 0.0) if layer.activation == "relu" else L]
        chi += [U, np.maximum(U, 0.0) if layer.activation == "relu" else U]
        # z = W a_prev + b
        W = sp.csr_matrix(layer.W)
        blocks_A.append((sp.hstack([sp.csr_matrix((n, prev)), -W,
                                    sp.csr_matrix((n, z0 - prev - prev_n)),
                                    sp.identity(n, format="csr")]), n))
        rlo.append(layer.b)
        rhi.append(layer.b)
        eye = sp.identity(n, format="csr")
        if layer.activation != "relu":
            rows = sp.hstack([sp.csr_matrix((n, z0)), eye, -eye])
            blocks_A.append((rows, n))
            rlo.append(np.zeros(n))
            rhi.append(np.zeros(n))
        else:
            active = L >= 0
            unstable = (L < 0) & (U > 0)
            # a - z = 0 (active) / a - z >= 0 (unstable); inactive: a in [0, 0] already
            sel = np.flatnonzero(active | unstable)
            if sel.size:
                S = sp.csr_matrix((np.ones(sel.size), (np.arange(sel.size), sel)),
                                  shape=(sel.size, n))
                blocks_A.append((sp.hstack([sp.csr_matrix((sel.size, z0)), -S, S]), sel.size))
                rlo.append(np.zeros(sel.size))
                rhi.append(np.where(active[sel], 0.0, np.inf))
            us = np.flatnonzero(unstable)
            if us.size:
                s = U[us] / (U[us] - L[us])
                Sz = sp.csr_matrix((-s, (np.arange(us.size), us)), shape=(us.size, n))
                Sa = sp.csr_matrix((np.ones(us.size), (np.arange(us.size), us)),
                                   shape=(us.size, n))
                blocks_A.append((sp.hstack([sp.csr_matrix((us.size, z0)), Sz, Sa]), us.size))
                rlo.append(np.full(us.size, -np.inf))
                rhi.append(-s * L[us])
        prev, prev_n = a0, n
    A = sp.vstack([sp.hstack([b, sp.csr_matrix((b.shape[0], ncols - b.shape[1]))])
                   if b.shape[1] < ncols else b for b, _ in blocks_A], format="csc")
    return (A, np.concatenate(rlo), np.concatenate(rhi), np.concatenate(clo),
            np.concatenate(chi), prev)


def _safe_min(c: np.ndarray, A: sp.csc_matrix, rlo, rhi, clo, chi, y: np.ndarray) -> float:
    """Weak-duality lower bound of ``min c'v`` over the LP, valid for any row duals ``y``."""
    # A row dual may only be used on the side that has a finite bound.
    y = np.where((y > 0) & ~np.isfinite(rlo), 0.0, y)
    y = np.where((y < 0) & ~np.isfinite(rhi), 0.0, y)
    r = c - A.T @ y  # reduced costs
    row_part = np.sum(np.where(y > 0, y * np.where(np.isfinite(rlo), rlo, 0.0),
                               y * np.where(np.isfinite(rhi), rhi, 0.0)))
    col_part = np.sum(np.where(r > 0, r * clo, r * chi))
    return float(row_part + col_part)


def tighten(network: Network, lo: np.ndarray, hi: np.ndarray, bounds: list,
            deadline: float, log=None) -> tuple[list, dict]:
    """Tighter pre-activation bounds (a new list; ``bounds`` is not changed)."""

    from nnlang.verify.split import backward_symbolic

    bounds = [(L.copy(), U.copy()) for L, U in bounds]
    info = {"lps": 0, "seconds": 0.0, "layers": 0}
    t0 = time.perf_counter()
    for k in range(1, len(network.layers)):
        layer = network.layers[k]
        if layer.activation != "relu":
            break  # the output layer: its rows are handled by the MILP itself
        L, U = bounds[k]
        todo = np.flatnonzero((L < 0) & (U > 0))
        if not todo.size or time.perf_counter() > deadline:
            continue
        A, rlo, rhi, clo, chi, a_off = _layer_lp(network, lo, hi, bounds, k)
        h = highs_from_matrix(A, clo, chi, rlo, rhi)
        h.setOptionValue("simplex_strategy", STRATEGY)
        h.setOptionValue("presolve", "off")
        n_prev = network.layers[k - 1].n_out
        cols = np.arange(a_off, a_off + n_prev, dtype=np.int32)
        stopped = False
        for i in todo:
            for sense in (1.0, -1.0):  # minimize, then maximize (minimize the negation)
                if time.perf_counter() > deadline:
                    stopped = True
                    break
                w = sense * layer.W[i]
                h.changeColsCost(n_prev, cols, w)
                set_time_limit(h, deadline - time.perf_counter())
                h.run()
                info["lps"] += 1
                sol = h.getSolution()
                if not sol.dual_valid:
                    continue
                c = np.zeros(A.shape[1])
                c[a_off:a_off + n_prev] = w
                v = _safe_min(c, A, rlo, rhi, clo, chi, np.asarray(sol.row_dual)) \
                    + sense * layer.b[i]
                v -= SAFETY * (1.0 + abs(v))
                if sense > 0:
                    L[i] = max(L[i], v)
                else:
                    U[i] = min(U[i], -v)
                h.changeColsCost(n_prev, cols, np.zeros(n_prev))
            if stopped:
                break
        L, U = np.minimum(L, U), np.maximum(L, U)
        bounds[k] = (L, U)
        info["layers"] += 1
        # Re-bound the later layers by back-substitution through the tighter ones.
        prior = [(b[0][None, :], b[1][None, :]) for b in bounds]
        again = backward_symbolic(network, lo[None, :], hi[None, :], prior)
        for j in range(k + 1, len(bounds)):
            nL = np.maximum(bounds[j][0], again[j][0][0])
            nU = np.minimum(bounds[j][1], again[j][1][0])
            bounds[j] = (np.minimum(nL, nU), np.maximum(nL, nU))
        if log:
            left = [int(((b[0] < 0) & (b[1] > 0)).sum()) for b in bounds[:-1]]
            log(f"obbt: layer {k + 1}, {info['lps']} LPs, unstable now {left} "
                f"({time.perf_counter() - t0:.2f} s)")
        if stopped:
            break
    info["seconds"] = time.perf_counter() - t0
    return bounds, info
