"""A cheap falsifier: sampling and projected gradient descent on the DNF violation.

The networks are piecewise linear, so the gradient of an output row ``a @ y``
with respect to the input is exact almost everywhere: back-propagate ``a``
through the dense layers, multiplying by the ReLU activation pattern.

The loss of a point for one branch (conjunction ``A y <= d``) is
``sum(max(A y - d + margin, 0))``: zero exactly when every row holds with the
margin. Each branch is attacked separately (targeted), with several random
restarts per branch; sign-gradient steps (L-infinity PGD) are projected back
onto the box. Any candidate is only returned after the exact check of
:func:`check_point` (float32 input inside the box, float64 forward pass).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nnlang.networks.network import Network
from nnlang.verify.vnnlib import Case, Conjunction


@dataclass
class Counterexample:
    """An input inside the box (float32-representable) and the network's output there."""

    x: np.ndarray
    y: np.ndarray
    branch: int  # index of the conjunction that holds
    source: str = ""  # "sampling", "pgd", "milp", ...


def to_float32_in_box(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """``x`` rounded to float32 values that still lie in ``[lo, hi]`` (as float64).

    ONNX networks take float32 inputs, so a counterexample must be one. Returns
    None if some interval holds no float32 value.
    """
    x = np.clip(np.asarray(x, dtype=np.float64).ravel(), lo, hi)
    x32 = x.astype(np.float32)
    up = x32.astype(np.float64) > hi
    x32[up] = np.nextafter(x32[up], np.float32(-np.inf))
    down = x32.astype(np.float64) < lo
    x32[down] = np.nextafter(x32[down], np.float32(np.inf))
    x64 = x32.astype(np.float64)
    if np.any(x64 < lo) or np.any(x64 > hi):
        return None
    return x64


def satisfied_branch(case: Case, y: np.ndarray) -> int | None:
    """The first conjunction of ``case`` that ``y`` satisfies exactly, or None."""
    for k, conj in enumerate(case.output):
        if conj.holds(y):
            return k
    return None


def check_point(network: Network, case: Case, x: np.ndarray, source: str = ""
                ) -> Counterexample | None:
    """A counterexample at ``x`` (moved to float32 inside the box) if the forward
    pass there satisfies the output condition exactly, else None."""
    x32 = to_float32_in_box(x, case.lo, case.hi)
    if x32 is None:
        return None
    y = network.forward(x32)[-1]
    k = satisfied_branch(case, y)
    if k is None:
        return None
    # ONNX runtimes compute in float32: the point must pass in float32 as well.
    if satisfied_branch(case, forward_float32(network, x32)) is None:
        return None
    return Counterexample(x32, y, k, source)


def forward_float32(network: Network, x: np.ndarray) -> np.ndarray:
    """The output for one input computed in float32 (as ONNX runtimes do)."""
    a = np.asarray(x, dtype=np.float32).ravel()
    for layer in network.layers:
        a = layer.W.astype(np.float32) @ a + layer.b.astype(np.float32)
        if layer.activation == "relu":
            a = np.maximum(a, np.float32(0.0))
    return a.astype(np.float64)


def _forward_all(network: Network, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outputs for a batch and the ReLU masks (pre-activation > 0) per layer."""
    a = X
    masks = []
    for layer in network.layers:
        p = a @ layer.W.T + layer.b
        if layer.activation == "relu":
            m = p > 0
            a = np.where(m, p, 0.0)
        else:
            m = None
            a = p
        masks.append(m)
    return a, masks


def _input_grad(network: Network, G: np.ndarray, masks: list) -> np.ndarray:
    """Back-propagate output gradients ``G`` (batch, n_out) to the input."""
    g = G
    for layer, m in zip(reversed(network.layers), reversed(masks)):
        if m is not None:
            g = g * m
        g = g @ layer.W
    return g


def _branch_loss(conj: Conjunction, Y: np.ndarray, margin: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Loss per row of ``Y`` and its gradient with respect to ``Y``."""
    ex = Y @ conj.A.T - conj.d + margin  # (batch, rows)
    active = ex > 0
    loss = np.sum(np.where(active, ex, 0.0), axis=1)
    grad = active.astype(float) @ conj.A
    return loss, grad


def sample_points(case: Case, rng: np.random.Generator, count: int) -> np.ndarray:
    """The center, random corners (all of them when there are few) and uniform points."""
    lo, hi = case.lo, case.hi
    n = lo.size
    pts = [(lo + hi) / 2]
    if n <= 10:
        bits = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        pts.extend(np.where(bits == 1, hi, lo))
    else:
        bits = rng.integers(0, 2, size=(max(count // 8, 1), n))
        pts.extend(np.where(bits == 1, hi, lo))
    pts.extend(lo + (hi - lo) * rng.random((count, n)))
    return np.array(pts)


def attack(network: Network, case: Case, time_limit: float = 2.0, restarts: int = 16,
           steps: int = 100, seed: int = 0) -> Counterexample | None:
    """Look for a counterexample in ``case``; None when none was found in time.

    1. Sampling (center, corners, uniform points; batches of them for up to a
       third of the time, since on small inputs the violating region can be
       tiny and the loss flat around it).
    2. For every branch of the output condition, from the best samples for that
       branch and from random points: Polyak steps (``x -= loss / |g|^2 g``,
       which solve a linear piece in one step) for half of the starts and
       sign-gradient (L-infinity PGD) steps for the other half, projected onto
       the box; repeated with new random starts while time is left.
    """
    start = time.perf_counter()
    deadline = start + time_limit
    rng = np.random.default_rng(seed)
    lo, hi = case.lo, case.hi
    width = hi - lo
    if not case.output:
        return None
    # Per-sample work is about the number of weights: size batches to ~50M multiply-adds.
    work = sum(layer.W.size for layer in network.layers)
    batch = int(min(max(5e7 / max(work, 1), 64), 8192))
    pools: list[list[tuple[float, np.ndarray]]] = [[] for _ in case.output]
    first = True
    scale = 1.0
    # Sampling pays off on small inputs only: in many dimensions the violating
    # region is a thin corner that uniform points miss.
    sample_share = 1 / 3 if lo.size <= 10 else 0.0
    while first or (time.perf_counter() - start < time_limit * sample_share
                    and np.any(width > 0)):
        X = sample_points(case, rng, batch) if first else lo + width * rng.random((batch, lo.size))
        first = False
        Y, _ = _forward_all(network, X)
        scale = max(scale, float(np.max(np.abs(Y))))
        for k, conj in enumerate(case.output):
            v = conj.violation(Y)
            for i in np.argsort(v)[:restarts]:
                if v[i] <= 0:
                    found = check_point(network, case, X[i], "sampling")
                    if found is not None:
                        return found
                pools[k].append((float(v[i]), X[i]))
            pools[k] = sorted(pools[k], key=lambda t: t[0])[:restarts]
    if not np.any(width > 0):
        return None
    round_ = 0
    while time.perf_counter() < deadline:
        margin = 1e-6 * scale * (10.0 ** min(round_, 3))
        for k, conj in enumerate(case.output):
            starts = lo + width * rng.random((restarts, lo.size))
            if round_ == 0 and pools[k]:
                best = np.array([x for _, x in pools[k]])
                starts = np.concatenate([best, starts[: max(restarts - len(best), 0)]])
            found = _pgd(network, case, conj, starts, steps, margin, deadline)
            if found is not None:
                return found
            if time.perf_counter() > deadline:
                break
        round_ += 1
    return None


def _pgd(network: Network, case: Case, conj: Conjunction, X: np.ndarray, steps: int,
         margin: float, deadline: float) -> Counterexample | None:
    lo, hi = case.lo, case.hi
    width = hi - lo
    polyak = np.arange(X.shape[0]) % 2 == 0
    for t in range(steps):
        Y, masks = _forward_all(network, X)
        loss, gY = _branch_loss(conj, Y, margin)
        done = loss <= 0
        if done.any():
            for i in np.flatnonzero(done):
                found = check_point(network, case, X[i], "pgd")
                if found is not None:
                    return found
        if t % 10 == 9 and time.perf_counter() > deadline:
            return None
        g = _input_grad(network, gY, masks)
        # Sign steps decay from a quarter of the box to about 1/1000 of it.
        alpha = 0.25 * (0.002 ** (t / max(steps - 1, 1)))
        step = alpha * width * np.sign(g)
        gn = np.sum(g * g, axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            pstep = np.where(gn > 0, 0.8 * (loss[:, None] + margin) / gn * g, 0.0)
        step[polyak] = pstep[polyak]
        X = np.clip(X - step, lo, hi)
    Y, _ = _forward_all(network, X)
    for i in np.argsort(conj.violation(Y))[:2]:
        found = check_point(network, case, X[i], "pgd")
        if found is not None:
            return found
    return None


def polish(network: Network, case: Case, x: np.ndarray, time_limit: float = 1.0,
           steps: int = 200) -> Counterexample | None:
    """A counterexample near ``x`` (e.g. a MILP solution that misses the output
    condition by a rounding error): small PGD steps on every branch."""
    found = check_point(network, case, x, "milp")
    if found is not None:
        return found
    deadline = time.perf_counter() + time_limit
    width = case.hi - case.lo
    y = network.forward(x)[-1]
    scale = max(float(np.max(np.abs(y))), 1.0)
    for conj in sorted(case.output, key=lambda c: float(c.violation(y[None])[0])):
        X = np.clip(x[None, :], case.lo, case.hi)
        for t in range(steps):
            Y, masks = _forward_all(network, X)
            loss, gY = _branch_loss(conj, Y, 1e-7 * scale)
            if loss[0] <= 0:
                found = check_point(network, case, X[0], "milp")
                if found is not None:
                    return found
            g = _input_grad(network, gY, masks)
            X = np.clip(X - 1e-6 * (2.0 ** min(t, 20)) * width * np.sign(g), case.lo, case.hi)
            if time.perf_counter() > deadline:
                return None
    return None
