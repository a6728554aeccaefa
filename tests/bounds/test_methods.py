"""Symbolic, LP and MILP bounds: sound, nested, and (MILP without time limit) exact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlang.bounds import method
from nnlang.bounds.interval import interval_bounds
from nnlang.bounds.lp import lp_bounds
from nnlang.bounds.milp import milp_bounds
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.networks.network import Dense, Network
from nnlang.testing import exact_range, random_network

NETS = {
    "sizes": st.lists(st.integers(1, 8), min_size=2, max_size=5),
    "seed": st.integers(0, 10_000),
    "relu_out": st.booleans(),
}


def _box(net: Network, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    lo = rng.uniform(-3, 1, size=net.n_in)
    hi = lo + rng.uniform(0, 2, size=net.n_in)
    return lo, hi


def _samples(net: Network, lo: np.ndarray, hi: np.ndarray, seed: int) -> list[np.ndarray]:
    """Pre-activations of 2,000 random inputs and 64 random box corners, per layer."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=(2000, net.n_in))
    corners = np.where(rng.integers(0, 2, size=(64, net.n_in)) == 1, hi, lo)
    a, pres = np.vstack([x, corners, lo, hi]), []
    for layer in net.layers:
        pres.append(a @ layer.W.T + layer.b)
        a = np.maximum(pres[-1], 0) if layer.activation == "relu" else pres[-1]
    return pres


def _assert_contains(bounds, pres, tol=1e-9):
    for (L, U), pre in zip(bounds, pres):
        assert L.dtype == np.float64 and U.dtype == np.float64
        assert np.all(pre >= L - tol) and np.all(pre <= U + tol)


def _assert_inside(inner, outer, tol):
    for (L, U), (oL, oU) in zip(inner, outer):
        assert np.all(L >= oL - tol) and np.all(U <= oU + tol)


@settings(max_examples=40, deadline=None)
@given(**NETS)
def test_bounds_contain_samples_and_nest(sizes, seed, relu_out):
    net = random_network(sizes, seed=seed, relu_output=relu_out)
    lo, hi = _box(net, seed)
    pres = _samples(net, lo, hi, seed)
    box = interval_bounds(net, lo, hi)
    sym = symbolic_bounds(net, lo, hi)
    lp = lp_bounds(net, lo, hi)
    milp = milp_bounds(net, lo, hi, time_limit=1.0)
    for bounds in (box, sym, lp, milp):
        assert len(bounds) == len(net.layers)
        _assert_contains(bounds, pres)
    _assert_inside(sym, box, 1e-9)
    _assert_inside(lp, box, 1e-9)
    _assert_inside(milp, box, 1e-9)
    _assert_inside(lp, sym, 1e-7)
    _assert_inside(milp, lp, 1e-6)


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 3), min_size=3, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_milp_without_time_limit_is_exact(sizes, seed):
    net = random_network(sizes, seed=seed, relu_output=True)
    lo, hi = _box(net, seed)
    milp = milp_bounds(net, lo, hi)
    assert milp.info["milp_timeouts"] == 0
    for k, (L, U) in enumerate(milp):
        lower, upper = exact_range(net, lo, hi, k)
        tol = 1e-5 * (1 + np.abs(lower) + np.abs(upper))
        assert np.all(L <= lower + tol) and np.all(U >= upper - tol)  # sound
        unstable = (lower < -tol) & (upper > tol)
        assert np.all(((L < 0) & (U > 0)) | ~unstable)  # exactly unstable stays unstable
        assert np.all((L >= 0) | (lower <= tol))  # exactly active is found active
        assert np.all((U <= 0) | (upper >= -tol))  # exactly inactive is found inactive
        np.testing.assert_allclose(L[unstable], lower[unstable], atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(U[unstable], upper[unstable], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_milp_is_exact_on_a_one_input_network_by_grid(seed):
    """A lower check: a dense grid's extremes lie within, and close to, the bounds."""
    net = random_network([1, 6, 6, 4], seed=seed, relu_output=True)
    lo, hi = np.array([-2.0]), np.array([2.0])
    x = np.linspace(lo, hi, 200_001)
    a = x
    for layer, (L, U) in zip(net.layers, milp_bounds(net, lo, hi)):
        pre = a @ layer.W.T + layer.b
        a = np.maximum(pre, 0)
        unstable = (L < 0) & (U > 0)
        assert np.all(pre >= L - 1e-9) and np.all(pre <= U + 1e-9)
        np.testing.assert_allclose(L[unstable], pre.min(axis=0)[unstable], atol=1e-3)
        np.testing.assert_allclose(U[unstable], pre.max(axis=0)[unstable], atol=1e-3)


def test_linear_hidden_layer_and_output():
    rng = np.random.default_rng(3)
    layers = (Dense(rng.normal(size=(5, 3)), rng.normal(size=5), "linear"),
              Dense(rng.normal(size=(4, 5)), rng.normal(size=4), "relu"),
              Dense(rng.normal(size=(2, 4)), rng.normal(size=2), "linear"))
    net = Network(layers)
    lo, hi = -np.ones(3), np.ones(3)
    pres = _samples(net, lo, hi, 0)
    for name in ("symbolic", "lp", "milp"):
        _assert_contains(method(name)(net, lo, hi), pres)
    # a linear network's symbolic bounds are exact
    lin = Network((layers[0], Dense(rng.normal(size=(2, 5)), rng.normal(size=2), "linear")))
    _, (L2, U2) = symbolic_bounds(lin, lo, hi)
    Weff = lin.layers[1].W @ lin.layers[0].W
    beff = lin.layers[1].W @ lin.layers[0].b + lin.layers[1].b
    np.testing.assert_allclose(U2, np.abs(Weff).sum(axis=1) + beff)
    np.testing.assert_allclose(L2, -np.abs(Weff).sum(axis=1) + beff)


def test_degenerate_boxes_and_errors():
    net = random_network([3, 4, 4, 2], seed=5)
    x = np.array([0.3, -0.2, 0.5])
    point = net.forward(x)
    for name in ("symbolic", "lp", "milp"):
        bounds = method(name)(net, x, x)
        for (L, U), layer, a in zip(bounds, net.layers, point[:-1]):
            pre = layer.W @ a + layer.b
            assert np.all(L <= pre + 1e-9) and np.all(pre <= U + 1e-9)
        with pytest.raises(ValueError, match="empty"):
            method(name)(net, x, x - 1)
        with pytest.raises(ValueError, match="finite"):
            method(name)(net, x, np.full(3, np.inf))
    with pytest.raises(ValueError, match="time_limit"):
        milp_bounds(net, x, x + 1, time_limit=0.0)


def test_milp_time_limit_reports_and_stays_sound():
    net = random_network([6, 8, 8, 8, 3], seed=11)
    lo, hi = -np.ones(6), np.ones(6)
    tiny = milp_bounds(net, lo, hi, time_limit=1e-3)
    exact = milp_bounds(net, lo, hi, time_limit=math.inf)
    assert tiny.info["seconds"] > 0 and tiny.info["milps"] > 0
    _assert_contains(tiny, _samples(net, lo, hi, 0))
    _assert_inside(exact, tiny, 1e-6)


def test_milp_budget_stops_the_solves_and_keeps_lp_bounds():
    net = random_network([6, 8, 8, 8, 3], seed=11)
    lo, hi = -np.ones(6), np.ones(6)
    spent = milp_bounds(net, lo, hi, budget=1e-9)  # nothing left after the LP start
    lp = lp_bounds(net, lo, hi)
    assert spent.info["milps"] == 0 and spent.info["budget_skipped"] > 0
    _assert_contains(spent, _samples(net, lo, hi, 0))
    _assert_inside(spent, lp, 1e-6)
    full = milp_bounds(net, lo, hi, budget=math.inf)
    assert full.info["budget_skipped"] == 0
    _assert_inside(full, spent, 1e-6)
    with pytest.raises(ValueError, match="budget"):
        milp_bounds(net, lo, hi, budget=0.0)
