"""Branch and bound over ReLU splits with optimized (alpha, beta) bounds.

A sub-domain is the input box plus split constraints on some unstable ReLUs:
``z >= 0`` (active) or ``z <= 0`` (inactive). Its output rows ``a @ y <= d``
are bounded by back-substitution (:func:`nnlang.bounds.backsub.backsub`) with

- the split neurons' relaxations made exact (``L = 0`` or ``U = 0``),
- every split constraint added with a Lagrange multiplier ``beta >= 0``
  (beta-CROWN, Wang et al. 2021), so the constraint also restricts the input,
- the lower slopes ``alpha`` and the ``beta``s improved by a few projected
  gradient steps; any ``alpha`` in [0, 1] and ``beta >= 0`` give a valid bound.

A row whose lower bound exceeds ``d`` (with a small relative slack) is dead in
the sub-domain; a sub-domain with every row dead is closed. An open one is
split on the unstable neuron whose upper-chord intercepts cost its rows most
(the BaBSR "intercept" score). Both children together cover the parent, so
nothing is ever dropped: the search ends with every sub-domain closed
(``unsat``), a counterexample (the minimizer of a lower bound's linear function
that the forward pass confirms: ``sat``), or the open sub-domains at the
deadline.

The intermediate neuron bounds are the root's (sound on every sub-domain);
only the split neurons' own bounds change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nnlang.bounds.alpha import BETAS
from nnlang.bounds.backsub import backsub
from nnlang.bounds.relaxation import relu_lines
from nnlang.networks.network import Network
from nnlang.verify.attack import Counterexample, check_point
from nnlang.verify.vnnlib import Case

TOL = 1e-9


@dataclass
class Domain:
    """Split signs per hidden layer (n_j,) in {-1, 0, 1}; the live rows (indices into
    the stacked rows of the property); warm-start slopes and multipliers per live row."""

    signs: list[np.ndarray]
    rows: np.ndarray
    pre: list | None = None  # hidden layers' (L, U) on this domain, splits applied
    stale: int | None = None  # the layers after this one need re-bounding
    alphas: list[np.ndarray] | None = None
    betas: list[np.ndarray] | None = None
    lower: np.ndarray | None = None


@dataclass
class BabOutcome:
    status: str  # unsat | sat | open
    counterexample: Counterexample | None = None
    domains: int = 0
    open: int = 0
    depth: int = 0
    # Branches (indices into the case's output) still open in some sub-domain.
    branches: list[int] | None = None


def split_pre(pre: list, signs: list[np.ndarray]) -> list:
    """Per-row bounds with splits applied: ``signs[j]`` (rows, n_j); active splits get
    ``L >= 0``, inactive ones ``U <= 0`` (sound where the splits hold)."""
    out = []
    for (L, U), S in zip(pre, signs):
        Lr = np.where(S > 0, np.maximum(L, 0.0), L)
        Ur = np.where(S < 0, np.minimum(U, 0.0), U)
        Ur = np.where(S > 0, np.maximum(Ur, 0.0), Ur)
        Lr = np.where(S < 0, np.minimum(Lr, 0.0), Lr)
        out.append((Lr, Ur))
    return out


def bound_rows(network: Network, rpre: list, lo: np.ndarray, hi: np.ndarray, C: np.ndarray,
               signs: list[np.ndarray], alphas: list[np.ndarray], betas: list[np.ndarray],
               iters: int, lr: float = 0.3, d: np.ndarray | None = None):
    """Optimize slopes and multipliers for rows of ``C`` (each with its own hidden-layer
    bounds ``rpre[j]`` and splits ``signs[j]``, (rows, n_j), the splits already applied
    to the bounds); returns ``(best lower bounds, alphas, betas, hs, x)``,
    ``x`` the box point minimizing each row's final linear bound (a candidate).
    Rows whose bound already exceeds ``d`` stop improving (their bound is kept)."""
    k = len(network.layers) - 1
    best = np.full(C.shape[0], -np.inf)
    m = [np.zeros_like(a) for a in alphas] + [np.zeros_like(b) for b in betas]
    v = [np.zeros_like(a) for a in alphas] + [np.zeros_like(b) for b in betas]
    for t in range(1, iters + 1):
        lower, (ga, gb), _ = backsub(network, rpre, lo, hi, k, C, alphas, grad=True,
                                     betas=betas, signs=signs)
        best = np.maximum(best, lower)
        if d is not None and np.all(best > d):
            break
        step = lr * (0.95 ** t)
        params = alphas + betas
        for i, gr in enumerate(ga + gb):
            if gr is None:
                continue
            m[i] = BETAS[0] * m[i] + (1 - BETAS[0]) * gr
            v[i] = BETAS[1] * v[i] + (1 - BETAS[1]) * gr * gr
            upd = step * (m[i] / (1 - BETAS[0] ** t)) / (np.sqrt(v[i] / (1 - BETAS[1] ** t))
                                                         + 1e-12)
            hiclip = 1.0 if i < len(alphas) else np.inf
            params[i] = np.clip(params[i] + upd, 0.0, hiclip)
        alphas, betas = params[:len(alphas)], params[len(alphas):]
    lower, _, hs = backsub(network, rpre, lo, hi, k, C, alphas, betas=betas, signs=signs,
                           keep_h=True)
    best = np.maximum(best, lower)
    # The box point minimizing each row's last linear function: a candidate input.
    x = np.where(hs[-1] > 0, lo[None, :], hi[None, :])
    return best, alphas, betas, hs, x


def fixed_pattern_lp(network: Network, dom: Domain, lo: np.ndarray, hi: np.ndarray,
                     C: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of ``C @ y <= d`` ruled out on a domain where every ReLU is stable or split
    (the network is affine there), by one LP per row over the box and the split
    constraints. A row counts as ruled out when HiGHS finds the LP infeasible (as the
    MILP's ``unsat``) or when the weak-duality bound of its duals (valid for any duals)
    exceeds ``d``. Returns ``(closed mask, the LP minimizer of an open row or None)``."""
    from scipy.optimize import linprog

    n = lo.size
    A, c = np.eye(n), np.zeros(n)  # the current layer's input as an affine map of x
    G, h = [], []  # split rows: G x <= h
    for j, layer in enumerate(network.layers):
        A, c = layer.W @ A, layer.W @ c + layer.b
        if j == len(network.layers) - 1:
            break
        S = dom.signs[j]
        for i in np.flatnonzero(S):
            G.append(-S[i] * A[i])
            h.append(S[i] * c[i])
        L = dom.pre[j][0]
        on = (L >= 0).astype(float)
        A, c = A * on[:, None], c * on
    G = np.array(G) if G else np.zeros((0, n))
    h = np.array(h) if h else np.zeros(0)
    closed = np.zeros(C.shape[0], dtype=bool)
    cand = None
    for r in range(C.shape[0]):
        obj, off = C[r] @ A, float(C[r] @ c)
        res = linprog(obj, A_ub=G if G.size else None, b_ub=h if G.size else None,
                      bounds=list(zip(lo, hi)), method="highs")
        if res.status == 2:  # infeasible: the splits cannot all hold in the box
            closed[r] = True
            continue
        if res.status != 0:
            continue
        y = np.minimum(np.asarray(res.ineqlin.marginals), 0.0) if G.size else np.zeros(0)
        red = obj - G.T @ y
        safe = float(y @ h) + float(np.sum(np.where(red > 0, red * lo, red * hi))) + off
        if safe - d[r] > TOL * (1.0 + abs(d[r]) + abs(safe)):
            closed[r] = True
        elif cand is None:
            cand = np.asarray(res.x, dtype=float)
    return closed, cand


def refresh(network: Network, dom: Domain, lo: np.ndarray, hi: np.ndarray) -> None:
    """Re-bound the unstable neurons of the layers after ``dom.stale`` by
    back-substitution (DeepPoly slopes) through the domain's split-exact
    relaxations; intersected with the parent's bounds (in place)."""
    if dom.stale is None:
        return
    k = len(network.layers) - 1
    for m in range(dom.stale + 1, k):
        L, U = dom.pre[m]
        todo = np.flatnonzero((L < 0) & (U > 0))
        if not todo.size:
            continue
        E = np.zeros((2 * todo.size, L.size))
        E[np.arange(todo.size), todo] = 1.0
        E[todo.size + np.arange(todo.size), todo] = -1.0
        low = backsub(network, dom.pre, lo, hi, m, E, None)[0]
        nL = np.maximum(L[todo], low[:todo.size])
        nU = np.minimum(U[todo], -low[todo.size:])
        L, U = L.copy(), U.copy()
        L[todo], U[todo] = np.minimum(nL, nU), np.maximum(nL, nU)
        dom.pre[m] = (L, U)
    dom.stale = None


def bab(network: Network, case: Case, pre: list, deadline: float, batch: int = 64,
        iters: int = 20, max_domains: int = 200_000, log=None) -> BabOutcome:
    """Branch and bound on ``case`` (one box, its output branches) with sound neuron
    bounds ``pre`` over the box, until ``deadline`` (``time.perf_counter()``).

    Every hidden layer must be a ReLU layer; the last layer linear.
    """
    layers = network.layers
    k = len(layers) - 1
    if any(layer.activation != "relu" for layer in layers[:-1]) or \
            layers[-1].activation == "relu":
        return BabOutcome("open")
    conjs = case.output
    if any(c.rows == 0 for c in conjs):
        return BabOutcome("open")
    C = np.vstack([c.A for c in conjs])
    d = np.concatenate([c.d for c in conjs])
    owner = np.concatenate([np.full(c.rows, b) for b, c in enumerate(conjs)])
    lo, hi = case.lo, case.hi
    sizes = [layer.n_out for layer in layers[:-1]]
    root = Domain([np.zeros(n, dtype=np.int8) for n in sizes], np.arange(C.shape[0]),
                  [(np.asarray(L, float), np.asarray(U, float)) for L, U in pre[:k]])
    stack = [root]
    stuck: list[Domain] = []  # nothing left to split, bound not closed: for the MILP
    done = 0
    max_depth = 0
    t0 = time.perf_counter()
    while stack:
        if time.perf_counter() > deadline or len(stack) > max_domains:
            return _open(stack + stuck, owner, done, max_depth)
        take = []
        nrows = 0
        while stack and nrows < batch * max(1, C.shape[0] // 2):
            dom = stack.pop()
            take.append(dom)
            nrows += dom.rows.size
        for dom in take:
            refresh(network, dom, lo, hi)
        # Stack every domain's live rows.
        R_idx = np.concatenate([dom.rows for dom in take])
        dom_of = np.concatenate([np.full(dom.rows.size, i) for i, dom in enumerate(take)])
        signs = [np.stack([take[i].signs[j] for i in dom_of]) for j in range(k)]
        rpre = [(np.stack([take[i].pre[j][0] for i in dom_of]),
                 np.stack([take[i].pre[j][1] for i in dom_of])) for j in range(k)]
        alphas, betas = [], []
        for j in range(k):
            L, U = pre[j]
            a0 = np.broadcast_to((U > -L).astype(float), (R_idx.size, L.size))
            alphas.append(np.concatenate([
                dom.alphas[j] if dom.alphas is not None else a0[:dom.rows.size]
                for dom in take]).astype(float))
            betas.append(np.concatenate([
                dom.betas[j] if dom.betas is not None else np.zeros((dom.rows.size, L.size))
                for dom in take]).astype(float))
        Cr, dr = C[R_idx], d[R_idx]
        lower, alphas, betas, hs, xs = bound_rows(network, rpre, lo, hi, Cr, signs,
                                                  alphas, betas, iters, d=dr)
        done += len(take)
        dead = lower - dr > TOL * (1.0 + np.abs(dr) + np.abs(lower))
        # Candidates: the minimizers of the rows still open.
        open_rows = np.flatnonzero(~dead)
        if open_rows.size:
            Y = network.forward(xs[open_rows])[-1]
            Y = Y.reshape(open_rows.size, -1)
            for i, y in zip(open_rows, Y):
                if np.any(conjs[owner[R_idx[i]]].A @ y <= conjs[owner[R_idx[i]]].d):
                    ce = check_point(network, case, xs[i], "bab")
                    if ce is not None:
                        return BabOutcome("sat", ce, domains=done, open=len(stack),
                                          depth=max_depth)
        for i, dom in enumerate(take):
            sel = np.flatnonzero(dom_of == i)
            live = sel[~dead[sel]]
            # A branch (conjunction) is dead when any of its rows is.
            dead_br = set(owner[R_idx[sel[dead[sel]]]].tolist())
            live = np.array([r for r in live if owner[R_idx[r]] not in dead_br], dtype=int)
            if not live.size:
                continue
            # Split on the neuron with the largest intercept score over the live rows, in
            # the earliest layer with an unstable ReLU: a split there tightens every
            # later layer (docs/verification.md).
            best_score, pick = -1.0, None
            for j in range(k):
                L, U = rpre[j]
                Lr, Ur = L[live], U[live]
                unstable = (Lr < 0) & (Ur > 0) & (signs[j][live] == 0)
                if not unstable.any():
                    continue
                tu = np.where(unstable, relu_lines(Lr, Ur)[2], 0.0)
                score = np.sum(np.maximum(-hs[j][live], 0.0) * tu, axis=0)
                # A small share of the lower-line loss as well, for ties at 0.
                score += 1e-3 * np.sum(np.abs(hs[j][live]) * np.where(unstable, Ur - Lr, 0.0),
                                       axis=0)
                c = int(np.argmax(score))
                if score[c] > best_score:
                    best_score, pick = float(score[c]), (j, c)
                break
            if pick is None:
                # Every ReLU is fixed: the network is affine on the domain, an LP decides.
                rows = R_idx[live]
                closed, x = fixed_pattern_lp(network, dom, lo, hi, C[rows], d[rows])
                if x is not None:
                    ce = check_point(network, case, x, "bab")
                    if ce is not None:
                        return BabOutcome("sat", ce, domains=done, open=len(stack),
                                          depth=max_depth)
                if not closed.all():  # a counterexample missed by rounding: the MILP's
                    dom.rows = rows[~closed]
                    stuck.append(dom)
                continue
            j, c = pick
            rows = R_idx[live]
            for sgn in (1, -1):
                child_signs = [s.copy() for s in dom.signs]
                child_signs[j][c] = sgn
                child_pre = list(dom.pre)
                cL, cU = child_pre[j][0].copy(), child_pre[j][1].copy()
                if sgn > 0:
                    cL[c], cU[c] = max(cL[c], 0.0), max(cU[c], 0.0)
                else:
                    cL[c], cU[c] = min(cL[c], 0.0), min(cU[c], 0.0)
                child_pre[j] = (cL, cU)
                stack.append(Domain(child_signs, rows, child_pre, j,
                                    [a[live].copy() for a in alphas],
                                    [b[live].copy() for b in betas]))
            max_depth = max(max_depth, int(sum(np.count_nonzero(s) for s in dom.signs)) + 1)
        if log and done % (batch * 8) < len(take):
            log(f"bab: {done} domains, {len(stack)} open, depth {max_depth} "
                f"({time.perf_counter() - t0:.2f} s)")
    if stuck:
        return _open(stuck, owner, done, max_depth)
    return BabOutcome("unsat", domains=done, depth=max_depth)


def _open(domains: list[Domain], owner: np.ndarray, done: int, depth: int) -> BabOutcome:
    rows = np.unique(np.concatenate([dom.rows for dom in domains])) if domains else []
    return BabOutcome("open", domains=done, open=len(domains), depth=depth,
                      branches=sorted({int(owner[r]) for r in rows}))
