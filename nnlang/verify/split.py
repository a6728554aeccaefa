"""Input splitting for small input boxes: batched bounds and bisection.

For inputs of a few dimensions (ACAS Xu has 5) bounds over a box are loose
but cheap, and bisecting the box makes them tight. Boxes are processed in
batches:

- **Neuron bounds** by forward symbolic propagation (ReluVal / Neurify style):
  every neuron keeps a lower and an upper linear function of the input, the
  ReLUs relaxed by DeepPoly's lines; concretized over the box and intersected
  with interval arithmetic. It costs ``O(n_k n_{k-1} n_in)`` per layer, far
  less than back-substitution when ``n_in`` is small.
- **Output rows** ``a @ y <= d`` by back-substitution of the rows alone
  through those bounds (as in :func:`nnlang.verify.verify.row_lower_bounds`).
  A branch of the output condition with a row whose lower bound exceeds ``d``
  is dead in the box and in every sub-box; a box with no live branch is done.
- **Bisection** of each open box along the input with the largest
  ``|coefficient| * width`` in the bounds of its live branches' closest rows.
- The center of every box is run through the network: a counterexample ends
  the search.

Everything here is sound: a box is only closed by bounds that hold for all
its points (with a small relative tolerance against rounding).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnlang.bounds.backsub import backsub_batch
from nnlang.bounds.interval import affine_bounds
from nnlang.bounds.relaxation import relu_lines
from nnlang.networks.network import Network
from nnlang.verify.attack import Counterexample, check_point
from nnlang.verify.vnnlib import Case

TOL = 1e-9
MIN_WIDTH = 2.0 ** -20  # relative to the root box: narrower pieces are not bisected
WIDTH_WEIGHT = 2.0  # weight of the relative width vs the bounds' sensitivity (tuned: ACAS Xu)


@dataclass
class SplitOutcome:
    """``status``: ``unsat`` (every box closed), ``sat`` (``counterexample``) or
    ``open`` (``boxes`` left: (lo, hi, live-branch mask) triples)."""

    status: str
    counterexample: Counterexample | None = None
    boxes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    processed: int = 0
    # Boxes set aside because they became too small to be worth bisecting (the
    # bounds cannot settle them: typically a point where the output condition
    # is almost met); they are for the MILP. With status "unsat" this is empty.
    stuck: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)


def forward_symbolic(network: Network, lo: np.ndarray, hi: np.ndarray) -> list:
    """Pre-activation bounds ``(L, U)``, each (batch, n_k), for a batch of boxes,
    by forward propagation of linear bounds (cheap, looser than back-substitution)."""
    B, n = lo.shape
    # Linear functions of the input: value in [El x + cl, Eu x + cu], E (B, m, n).
    El = np.broadcast_to(np.eye(n), (B, n, n))
    Eu = El
    cl = np.zeros((B, n))
    cu = cl
    a, c = lo, hi  # interval bounds of the current layer's input
    out = []
    for layer in network.layers:
        W, b = layer.W, layer.b
        Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
        # p = W z + b: upper uses upper functions for W+ and lower ones for W-.
        PEu = np.matmul(Wp, Eu) + np.matmul(Wn, El)
        PEl = np.matmul(Wp, El) + np.matmul(Wn, Eu)
        pcu = cu @ Wp.T + cl @ Wn.T + b
        pcl = cl @ Wp.T + cu @ Wn.T + b
        U = _concrete_max(PEu, pcu, lo, hi)
        L = _concrete_min(PEl, pcl, lo, hi)
        L, U = _meet(L, U, a, c, W, b)
        out.append((L, U))
        if layer.activation == "relu":
            sl, su, tu = relu_lines(L, U)
            Eu = PEu * su[..., None]
            cu = pcu * su + tu
            El = PEl * sl[..., None]
            cl = pcl * sl
            a, c = np.maximum(L, 0.0), np.maximum(U, 0.0)
        else:
            Eu, cu, El, cl = PEu, pcu, PEl, pcl
            a, c = L, U
    return out


def backward_symbolic(network: Network, lo: np.ndarray, hi: np.ndarray,
                      prior: list | None = None) -> list:
    """Pre-activation bounds ``(L, U)`` for a batch of boxes by back-substitution
    (DeepPoly): each layer's bounds from linear bounds in the input, through the
    relaxations of the layers below.

    Only ReLU neurons that interval arithmetic (intersected with ``prior``,
    sound bounds such as the parent box's) leaves unstable in some box of the
    batch are back-substituted: the others need no tighter bounds, since a
    stable ReLU is exact whatever its bounds. A linear output layer keeps its
    interval bounds (the output rows are back-substituted separately).
    """
    out: list = []
    a, c = lo, hi
    for k, layer in enumerate(network.layers):
        W, b = layer.W, layer.b
        L, U = affine_bounds(W, b, a, c)
        if prior is not None:
            L, U = np.maximum(L, prior[k][0]), np.minimum(U, prior[k][1])
            L, U = np.minimum(L, U), np.maximum(L, U)
        rows = np.flatnonzero(np.any((L < 0) & (U > 0), axis=0)) \
            if layer.activation == "relu" and k > 0 else np.zeros(0, dtype=int)
        if rows.size:
            eye = np.eye(W.shape[0])[rows]
            low, _ = backsub_batch(network, out, lo, hi, k, np.vstack([eye, -eye]))
            L[:, rows] = np.maximum(L[:, rows], low[:, :rows.size])
            U[:, rows] = np.minimum(U[:, rows], -low[:, rows.size:])
            L, U = np.minimum(L, U), np.maximum(L, U)
        out.append((L, U))
        a, c = (np.maximum(L, 0.0), np.maximum(U, 0.0)) if layer.activation == "relu" \
            else (L, U)
    return out


def _meet(L, U, a, c, W, b):
    """Intersect with one interval step from the input bounds ``[a, c]``."""
    iL, iU = affine_bounds(W, b, a, c)
    L, U = np.maximum(L, iL), np.minimum(U, iU)
    return np.minimum(L, U), np.maximum(L, U)


def _concrete_max(E: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return (np.matmul(np.maximum(E, 0.0), hi[:, :, None])[..., 0]
            + np.matmul(np.minimum(E, 0.0), lo[:, :, None])[..., 0] + c)


def _concrete_min(E: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return (np.matmul(np.maximum(E, 0.0), lo[:, :, None])[..., 0]
            + np.matmul(np.minimum(E, 0.0), hi[:, :, None])[..., 0] + c)


def row_bounds(network: Network, pre: list, lo: np.ndarray, hi: np.ndarray, C: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Lower bounds of ``C @ y`` (batch, rows) and the input coefficients (batch, rows, n),
    by back-substitution (:func:`nnlang.bounds.backsub.backsub_batch`), intersected
    with the interval bound from the output layer's bounds."""
    C = np.asarray(C, dtype=float)
    lower, lam = backsub_batch(network, pre, lo, hi, len(network.layers) - 1, C, post=True)
    L, U = pre[-1]
    if network.layers[-1].activation == "relu":
        L, U = np.maximum(L, 0.0), np.maximum(U, 0.0)
    Cp, Cn = np.maximum(C, 0.0), np.minimum(C, 0.0)
    iv = L @ Cp.T + U @ Cn.T
    return np.maximum(lower, iv), lam


def split_search(network: Network, case: Case, deadline: float, max_boxes: int = 200_000,
                 batch: int = 256, on_batch=None, method: str = "backward",
                 boxes: list | None = None, max_stuck: int = 1000) -> SplitOutcome:
    """Bisect ``case``'s box until bounds close every piece, a center is a
    counterexample, or ``deadline`` (a ``time.perf_counter()`` value) passes.

    ``boxes``: resume from these open ``(lo, hi, live)`` boxes (a previous
    outcome's) instead of the whole box. Pieces narrower than ``MIN_WIDTH``
    times the root box along the input chosen for bisection are set aside
    (``SplitOutcome.stuck``); more than ``max_stuck`` of them stop the search.
    """
    conjs = case.output
    rows = [c.A for c in conjs if c.rows]
    nb = len(conjs)
    if any(c.rows == 0 for c in conjs):
        ce = check_point(network, case, (case.lo + case.hi) / 2, "split")
        if ce is not None:
            return SplitOutcome("sat", ce)
    C = np.vstack(rows) if rows else np.zeros((0, network.n_out))
    d = np.concatenate([c.d for c in conjs if c.rows]) if rows else np.zeros(0)
    owner = np.concatenate([np.full(c.rows, k) for k, c in enumerate(conjs) if c.rows]) \
        if rows else np.zeros(0, dtype=int)
    if boxes:
        stack_lo = [np.array([b[0] for b in boxes])]
        stack_hi = [np.array([b[1] for b in boxes])]
        stack_live = [np.array([b[2] for b in boxes], dtype=bool)]
    else:
        stack_lo = [case.lo[None, :]]
        stack_hi = [case.hi[None, :]]
        stack_live = [np.ones((1, nb), dtype=bool)]
    processed = 0
    pending = stack_lo[0].shape[0]
    stuck: list = []
    min_width = MIN_WIDTH * (case.hi - case.lo)
    while pending:
        if time.perf_counter() > deadline or pending > max_boxes:
            break
        # Pop up to `batch` boxes from the top of the stack (depth first).
        lo = np.concatenate(stack_lo)
        hi = np.concatenate(stack_hi)
        live = np.concatenate(stack_live)
        take = min(batch, lo.shape[0])
        stack_lo, stack_hi, stack_live = [lo[:-take]], [hi[:-take]], [live[:-take]]
        lo, hi, live = lo[-take:], hi[-take:], live[-take:]
        pending -= take
        processed += take
        # Counterexample at the centers?
        mid = (lo + hi) / 2
        Y = network.forward(mid)[-1]
        viol = np.min([c.violation(Y) for c in conjs], axis=0)
        for i in np.flatnonzero(viol <= 0):
            ce = check_point(network, Case(lo[i], hi[i], conjs), mid[i], "split")
            if ce is not None:
                return SplitOutcome("sat", ce, processed=processed)
        pre = (backward_symbolic if method == "backward" else forward_symbolic)(network, lo, hi)
        lower, lam = row_bounds(network, pre, lo, hi, C)
        slack = lower - d[None, :]
        dead_row = slack > TOL * (1.0 + np.abs(d)[None, :] + np.abs(lower))
        dead = np.zeros_like(live)
        for k in range(nb):
            if conjs[k].rows:
                dead[:, k] = np.any(dead_row[:, owner == k], axis=1)
        live = live & ~dead
        keep = np.any(live, axis=1)
        if on_batch is not None:
            on_batch(processed, pending)
        if not keep.any():
            continue
        lo, hi, live = lo[keep], hi[keep], live[keep]
        slack, lam = slack[keep], lam[keep]
        # Split dimension: the closest row of each live branch, |coef| * width, summed.
        width = hi - lo
        score = np.zeros_like(lo)
        for k in range(nb):
            sel = owner == k
            if not sel.any():
                continue
            r = np.flatnonzero(sel)[np.argmax(slack[:, sel], axis=1)]
            contrib = np.abs(lam[np.arange(lo.shape[0]), r]) * width
            score += np.where(live[:, k:k + 1], contrib, 0.0)
        none = ~np.any(score > 0, axis=1)
        score[none] = width[none]
        # Never pick an input that is already too narrow to bisect while another
        # one is still wide: the bounds' coefficients can point at a dimension
        # that no longer matters while the looseness comes from a wide one.
        splittable = width > min_width[None, :]
        rel = width / np.where(case.hi > case.lo, case.hi - case.lo, 1.0)[None, :]
        smax = score.max(axis=1, keepdims=True)
        score = np.where(splittable, score / smax + WIDTH_WEIGHT * rel, -1.0)
        dim = np.argmax(score, axis=1)
        idx = np.arange(lo.shape[0])
        m = 0.5 * (lo[idx, dim] + hi[idx, dim])
        ok = (m > lo[idx, dim]) & (m < hi[idx, dim]) & splittable[idx, dim]
        if not ok.all():  # too small to bisect further: set aside for the MILP
            stuck.extend((lo[i], hi[i], live[i]) for i in np.flatnonzero(~ok))
            lo, hi, live, dim, m, idx = lo[ok], hi[ok], live[ok], dim[ok], m[ok], idx[:ok.sum()]
        hi_a = hi.copy()
        hi_a[idx, dim] = m
        lo_b = lo.copy()
        lo_b[idx, dim] = m
        stack_lo.append(np.concatenate([lo, lo_b]))
        stack_hi.append(np.concatenate([hi_a, hi]))
        stack_live.append(np.concatenate([live, live]))
        pending += 2 * lo.shape[0]
        # Only stop after the children are on the stack: every piece of the box
        # must stay either open (returned) or stuck (returned), never dropped.
        if len(stuck) > max_stuck:
            break
    if pending == 0 and not stuck:
        return SplitOutcome("unsat", processed=processed)
    return SplitOutcome("open", boxes=_rest(stack_lo, stack_hi, stack_live), processed=processed,
                        stuck=stuck)


def _rest(stack_lo, stack_hi, stack_live) -> list:
    lo = np.concatenate(stack_lo)
    hi = np.concatenate(stack_hi)
    live = np.concatenate(stack_live)
    return [(lo[i], hi[i], live[i]) for i in range(lo.shape[0])]
