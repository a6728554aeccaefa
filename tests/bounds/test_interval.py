"""Interval bounds are sound: sampled pre-activations always fall inside."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlang.bounds.interval import interval_bounds
from nnlang.testing import random_network


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=2, max_size=5),
    seed=st.integers(0, 10_000),
    relu_out=st.booleans(),
)
def test_interval_bounds_contain_samples(sizes, seed, relu_out):
    net = random_network(sizes, seed=seed, relu_output=relu_out)
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-3, 1, size=net.n_in)
    hi = lo + rng.uniform(0, 2, size=net.n_in)
    bounds = interval_bounds(net, lo, hi)
    x = rng.uniform(lo, hi, size=(2000, net.n_in))
    corners = np.where(rng.integers(0, 2, size=(64, net.n_in)) == 1, hi, lo)
    a = np.vstack([x, corners])
    for layer, (L, U) in zip(net.layers, bounds):
        pre = a @ layer.W.T + layer.b
        assert np.all(pre >= L - 1e-9) and np.all(pre <= U + 1e-9)
        a = np.maximum(pre, 0) if layer.activation == "relu" else pre


def test_interval_bounds_are_exact_for_one_layer():
    net = random_network([3, 4], seed=1)
    lo, hi = np.zeros(3), np.ones(3)
    (L, U), = interval_bounds(net, lo, hi)
    W, b = net.layers[0].W, net.layers[0].b
    corners = np.array(np.meshgrid(*[[0, 1]] * 3)).reshape(3, -1).T
    pre = corners @ W.T + b
    np.testing.assert_allclose(L, pre.min(axis=0))
    np.testing.assert_allclose(U, pre.max(axis=0))
