"""Optimized-slope bounds and branch and bound over ReLU splits: soundness on random
small networks (sampled points always inside the bounds), exact gradients, and
verdicts that agree with a direct MILP."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlang.bounds import method
from nnlang.bounds.alpha import init_alpha, optimize_rows, tighten_alpha
from nnlang.bounds.backsub import backsub
from nnlang.networks.network import Dense, Network
from nnlang.testing import random_network
from nnlang.verify import verify
from nnlang.verify.bab import Domain, bab, refresh, split_pre
from nnlang.verify.vnnlib import Case, Conjunction, parse_vnnlib

from .conftest import float32_network, vnnlib_text, write_onnx
from .test_verify import _maximum


@st.composite
def problems(draw):
    """A random network with a linear output layer, a box, and a seed for the rest."""
    n_in = draw(st.integers(1, 5))
    hidden = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    n_out = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 10_000))
    net = random_network([n_in, *hidden, n_out], seed=seed)
    rng = np.random.default_rng(seed + 1)
    c = rng.uniform(-1, 1, n_in)
    w = rng.uniform(0.0, 1.5, n_in)
    return net, c - w, c + w, rng


def _samples(lo, hi, rng, n=4000):
    X = lo + (hi - lo) * rng.random((n, lo.size))
    return np.vstack([X, lo, hi])


def _pre_acts(net: Network, X: np.ndarray) -> list[np.ndarray]:
    out, a = [], X
    for layer in net.layers:
        z = a @ layer.W.T + layer.b
        out.append(z)
        a = np.maximum(z, 0.0) if layer.activation == "relu" else z
    return out


def _tol(v) -> float:
    return 1e-9 * (1.0 + float(np.max(np.abs(v), initial=0.0)))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_tighten_alpha_contains_samples_and_never_loosens(p):
    net, lo, hi, rng = p
    base = list(method("symbolic")(net, lo, hi))
    new, _ = tighten_alpha(net, lo, hi, base, time.perf_counter() + 5, iters=10)
    zs = _pre_acts(net, _samples(lo, hi, rng))
    for z, (L, U), (L0, U0) in zip(zs, new, base):
        assert np.all(L >= L0 - 1e-12) and np.all(U <= U0 + 1e-12)
        assert np.all(z >= L - _tol(z)) and np.all(z <= U + _tol(z))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_optimized_rows_are_lower_bounds(p):
    net, lo, hi, rng = p
    pre = list(method("symbolic")(net, lo, hi))
    k = len(net.layers) - 1
    C = rng.normal(size=(4, net.n_out))
    lower = optimize_rows(net, pre, lo, hi, k, C, iters=15)
    y = _pre_acts(net, _samples(lo, hi, rng))[-1]
    v = y @ C.T
    assert np.all(v >= lower[None, :] - _tol(v))
    # Any slopes in [0, 1] give a valid bound too (not only the optimized ones).
    alphas = [rng.random(a.shape) for a in init_alpha(pre, k, C.shape[0])]
    any_lower = backsub(net, pre, lo, hi, k, C, alphas)[0]
    assert np.all(v >= any_lower[None, :] - _tol(v))


def _random_splits(net, pre, rng, rows):
    """Split signs (rows, n_j) on some unstable neurons, the same for every row."""
    signs = []
    for L, U in pre[:-1]:
        s = np.zeros(L.size, dtype=np.int8)
        unstable = np.flatnonzero((L < 0) & (U > 0))
        pick = unstable[rng.random(unstable.size) < 0.5]
        s[pick] = rng.choice([-1, 1], size=pick.size)
        signs.append(np.broadcast_to(s, (rows, L.size)).copy())
    return signs


def _meets(zs, signs) -> np.ndarray:
    ok = np.ones(zs[0].shape[0], dtype=bool)
    for z, s in zip(zs, signs):
        s = s[0]
        ok &= np.all((s[None, :] * z) >= 0, axis=1)
    return ok


@settings(max_examples=80, deadline=None)
@given(problems())
def test_split_bounds_contain_every_point_meeting_the_splits(p):
    """Bounds with split constraints (exact split relaxations, any alphas in [0, 1] and
    betas >= 0, and re-bounded intermediate layers) hold at every sampled point that
    meets the splits."""
    net, lo, hi, rng = p
    pre = list(method("symbolic")(net, lo, hi))
    k = len(net.layers) - 1
    R = 3
    C = rng.normal(size=(R, net.n_out))
    signs = _random_splits(net, pre, rng, R)
    rpre = split_pre([(L[None, :], U[None, :]) for L, U in pre[:k]], signs)
    alphas = [rng.random((R, L.size)) for L, _ in pre[:k]]
    betas = [rng.exponential(1.0, (R, L.size)) * (rng.random((R, L.size)) < 0.7)
             for L, _ in pre[:k]]
    lower = backsub(net, rpre, lo, hi, k, C, alphas, betas=betas, signs=signs)[0]
    zs = _pre_acts(net, _samples(lo, hi, rng, 20000))
    ok = _meets(zs[:k], signs)
    v = zs[-1][ok] @ C.T
    assert np.all(v >= lower[None, :] - _tol(v))
    # The domain's re-bounded intermediate layers.
    dom = Domain([s[0] for s in signs], np.arange(R),
                 [(L[0].copy(), U[0].copy()) for L, U in rpre], stale=0)
    refresh(net, dom, lo, hi)
    for z, (L, U) in zip(zs[:k], dom.pre):
        z = z[ok]
        assert np.all(z >= L - _tol(z)) and np.all(z <= U + _tol(z))


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    net = random_network([5, 8, 7, 3], seed=4)
    lo, hi = -np.ones(5), np.ones(5)
    pre = list(method("symbolic")(net, lo, hi))
    k, R = 2, 3
    C = rng.normal(size=(R, 3))
    signs = _random_splits(net, pre, rng, R)
    rpre = split_pre([(L[None, :], U[None, :]) for L, U in pre[:k]], signs)
    alphas = [rng.random((R, L.size)) for L, _ in pre[:k]]
    betas = [rng.random((R, L.size)) for L, _ in pre[:k]]
    f, (ga, gb), _ = backsub(net, rpre, lo, hi, k, C, alphas, grad=True, betas=betas,
                             signs=signs)
    eps = 1e-6
    for params, grads in ((alphas, ga), (betas, gb)):
        for j in range(k):
            for idx in np.ndindex(params[j].shape):
                old = params[j][idx]
                params[j][idx] = old + eps
                f2 = backsub(net, rpre, lo, hi, k, C, alphas, betas=betas, signs=signs)[0]
                params[j][idx] = old
                num = (f2[idx[0]] - f[idx[0]]) / eps
                assert abs(num - grads[j][idx]) < 1e-4


def _threshold_case(net, lo, hi, j, t):
    """Case ``y[j] >= t`` written as the row ``-y[j] <= -t``."""
    a = np.zeros((1, net.n_out))
    a[0, j] = -1.0
    return Case(lo, hi, (Conjunction(a, np.array([-t])),))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_bab_agrees_with_the_milp_maximum(tmp_path, seed):
    net = float32_network([12, 12, 10, 2], seed)
    path = write_onnx(net, tmp_path / f"net{seed}.onnx")
    rng = np.random.default_rng(seed)
    c = rng.uniform(-0.5, 0.5, 12)
    lo, hi = c - 0.5, c + 0.5
    m = _maximum(tmp_path, path, lo, hi, 0)
    pre = list(method("symbolic")(net, lo, hi))
    # Never a wrong answer close to the maximum ...
    delta = 1e-3 * (1 + abs(m))
    above = bab(net, _threshold_case(net, lo, hi, 0, m + delta), pre, time.perf_counter() + 10)
    assert above.status in ("unsat", "open")
    # ... and decided a little further from it.
    far = bab(net, _threshold_case(net, lo, hi, 0, m + 0.05 * (1 + abs(m))), pre,
              time.perf_counter() + 20)
    assert far.status == "unsat"
    below = bab(net, _threshold_case(net, lo, hi, 0, m - delta), pre, time.perf_counter() + 20)
    assert below.status in ("sat", "open")
    if below.status == "sat":
        assert net.predict(below.counterexample.x)[0] >= m - delta
        assert np.all(below.counterexample.x >= lo) and np.all(below.counterexample.x <= hi)


@pytest.mark.parametrize("seed", [5, 6])
def test_verify_with_bab_only(tmp_path, seed):
    """Without the MILP's time (bab gets it all): the same verdicts."""
    import importlib

    vv = importlib.import_module("nnlang.verify.verify")  # the module, not the function

    net = float32_network([14, 8, 8, 3], seed)
    path = write_onnx(net, tmp_path / f"net{seed}.onnx")
    lo, hi = -0.4 * np.ones(14), 0.4 * np.ones(14)
    m = _maximum(tmp_path, path, lo, hi, 2)
    old = vv.BAB_SHARE
    vv.BAB_SHARE = 0.95
    try:
        for target, want in ((m + 1e-3, "unsat"), (m - 1e-3, "sat")):
            prop = parse_vnnlib(vnnlib_text(lo, hi, 3, f"(>= Y_2 {target!r})"))
            r = verify(path, prop, 30, attack_time=0.0, split_inputs=0)
            assert r.status == want, r.message
            if want == "sat":
                assert net.predict(r.counterexample.x)[2] >= target
    finally:
        vv.BAB_SHARE = old


def test_bab_leaves_non_relu_hidden_layers_open():
    W = np.eye(2)
    net = Network((Dense(W, np.zeros(2), "linear"), Dense(W, np.zeros(2), "linear")))
    case = _threshold_case(net, -np.ones(2), np.ones(2), 0, 5.0)
    pre = list(method("symbolic")(net, case.lo, case.hi))
    assert bab(net, case, pre, time.perf_counter() + 1).status == "open"
