"""Bounds over a box intersected with a norm ball: exact maxima (L1, L0, L∞),
sound ones (L2), and symbolic bounds containing every sampled point of the region."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nnlang.bounds.interval import interval_bounds
from nnlang.bounds.region import Ball, l1_greedy, linear_max, shrink_box
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.testing import pre_activations, random_network


def _case(seed: int, n: int, free_share: float = 0.2):
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-1, 0.5, n)
    hi = lo + rng.uniform(0, 1.5, n)
    centre = rng.uniform(lo - 0.3, hi + 0.3)  # sometimes outside the box
    centre[rng.uniform(size=n) < free_share] = np.nan
    A = rng.normal(size=(5, n))
    return rng, lo, hi, centre, A


def _l1_lp_max(a, lo, hi, centre, r):
    """max a.x s.t. lo <= x <= hi, sum |x_S - c_S| <= r, as an LP in (x, t)."""
    n = a.size
    m = np.isfinite(centre)
    S = np.flatnonzero(m)
    # variables x (n), t (|S|): x_S - t <= c, -x_S - t <= -c, sum t <= r
    k = S.size
    rows, rhs = [], []
    for j, i in enumerate(S):
        r1 = np.zeros(n + k); r1[i] = 1; r1[n + j] = -1; rows.append(r1); rhs.append(centre[i])
        r2 = np.zeros(n + k); r2[i] = -1; r2[n + j] = -1; rows.append(r2); rhs.append(-centre[i])
    budget = np.zeros(n + k); budget[n:] = 1; rows.append(budget); rhs.append(r)
    res = linprog(-np.concatenate([a, np.zeros(k)]), A_ub=np.array(rows), b_ub=rhs,
                  bounds=[(l, h) for l, h in zip(lo, hi)] + [(0, None)] * k, method="highs")
    return None if res.status == 2 else -res.fun


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), r=st.floats(0.0, 3.0))
def test_l1_max_is_the_lp_optimum(seed, n, r):
    _, lo, hi, centre, A = _case(seed, n)
    ball = Ball("norm1", centre, r)
    box = shrink_box(lo, hi, ball)
    expected = [_l1_lp_max(a, lo, hi, centre, r) for a in A]
    if box is None:
        assert all(e is None for e in expected)
        return
    got = linear_max(A, *box, ball)
    assert np.allclose(got, expected, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), k=st.integers(0, 4))
def test_l0_max_is_exact(seed, n, k):
    """Brute force: choose which coordinates leave the centre, each then at its best end."""
    _, lo, hi, _, A = _case(seed, n, free_share=0.0)
    centre = np.random.default_rng(seed).uniform(lo, hi)  # inside the box
    centre[0] = np.nan if n > 2 else centre[0]
    ball = Ball("norm0", centre, float(k))
    box = shrink_box(lo, hi, ball)
    got = linear_max(A, *box, ball)
    m = np.isfinite(centre)
    for a, g in zip(A, got):
        best = -np.inf
        for chosen in itertools.product([0, 1], repeat=n):
            chosen = np.array(chosen, bool)
            if np.sum(chosen & m) > k:
                continue
            x = np.where(chosen | ~m, np.where(a > 0, hi, lo), centre)
            best = max(best, a @ x)
        assert g == pytest.approx(best, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 6), r=st.floats(0.0, 2.0),
       norm=st.sampled_from(["norm1", "norm2", "norminf", "norm0"]))
def test_max_bounds_every_sampled_point(seed, n, r, norm):
    rng, lo, hi, centre, A = _case(seed, n)
    ball = Ball(norm, centre, r if norm != "norm0" else float(round(r)))
    box = shrink_box(lo, hi, ball)
    x = _sample_region(rng, lo, hi, ball, 3000)
    if box is None:
        assert x.shape[0] == 0
        return
    got = linear_max(A, *box, ball)
    if x.shape[0]:
        assert np.all(x @ A.T <= got + 1e-9)


def _sample_region(rng, lo, hi, ball: Ball, count: int) -> np.ndarray:
    """Random points of [lo, hi] ∩ ball (rejection from mixtures near the centre)."""
    m = ball.mask
    c = np.where(m, ball.center, 0.0)
    pts = []
    for scale in (0.05, 0.3, 1.0, 3.0):
        d = rng.laplace(scale=scale * max(ball.radius, 1e-3) / max(m.sum(), 1),
                        size=(count, lo.size))
        sparse = rng.uniform(size=(count, lo.size)) < 0.5
        x = np.clip(np.where(m, c + np.where(sparse, 0.0, d), rng.uniform(lo, hi,
                    size=(count, lo.size))), lo, hi)
        pts.append(x)
    x = np.vstack(pts)
    diff = (x - c)[:, m]
    dist = {"norm1": np.abs(diff).sum(1), "norm2": np.sqrt((diff ** 2).sum(1)),
            "norminf": np.abs(diff).max(1, initial=0.0), "norm0": (diff != 0).sum(1)}[ball.norm]
    return x[dist <= ball.radius]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       r=st.floats(0.0, 2.0), norm=st.sampled_from(["norm1", "norm2", "norminf", "norm0"]))
def test_symbolic_region_bounds_are_sound_and_inside_interval_bounds(seed, sizes, r, norm):
    net = random_network(sizes, seed=seed)
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-1, 0, net.n_in)
    hi = lo + rng.uniform(0.1, 2, net.n_in)
    centre = rng.uniform(lo, hi)
    centre[rng.uniform(size=net.n_in) < 0.2] = np.nan
    ball = Ball(norm, centre, r if norm != "norm0" else float(round(r)))
    region = symbolic_bounds(net, lo, hi, ball)
    # (not always inside the box's symbolic bounds: DeepPoly's lower line may flip)
    full = interval_bounds(net, lo, hi)
    for (L, U), (fL, fU) in zip(region, full):
        assert np.all(L >= fL - 1e-9) and np.all(U <= fU + 1e-9)
    x = _sample_region(rng, lo, hi, ball, 2000)
    for (L, U), pre in zip(region, pre_activations(net, x)):
        assert np.all(pre >= L - 1e-8) and np.all(pre <= U + 1e-8)


def test_region_that_misses_the_box_is_refused():
    lo, hi = np.zeros(3), np.ones(3)
    ball = Ball("norm1", np.array([3.0, 0.5, 0.5]), 1.0)  # 2 away from the box
    assert shrink_box(lo, hi, ball) is None
    with pytest.raises(ValueError, match="do not meet"):
        symbolic_bounds(random_network([3, 2, 1]), lo, hi, ball)


def test_ball_checks_its_arguments():
    with pytest.raises(ValueError):
        Ball("norm3", np.zeros(2), 1.0)
    with pytest.raises(ValueError):
        Ball("norm1", np.zeros(2), -1.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 7), r=st.floats(0.0, 3.0),
       norm=st.sampled_from(["norm1", "norm0", "norminf"]))
def test_min_point_lies_in_the_region_and_attains_the_minimum(seed, n, r, norm):
    from nnlang.bounds.region import linear_min_point

    _, lo, hi, centre, A = _case(seed, n)
    if norm == "norm0":
        centre = np.where(np.isfinite(centre), np.clip(centre, lo, hi), np.nan)
    ball = Ball(norm, centre, r if norm != "norm0" else float(round(r)))
    box = shrink_box(lo, hi, ball)
    if box is None:
        return
    value, X = linear_min_point(A, *box, ball)
    assert np.allclose(np.einsum("ij,ij->i", A, X), value, atol=1e-9)
    assert np.all(X >= box[0] - 1e-12) and np.all(X <= box[1] + 1e-12)
    m = ball.mask
    d = (X - np.where(m, centre, 0.0))[:, m]
    dist = {"norm1": np.abs(d).sum(1), "norminf": np.abs(d).max(1, initial=0.0),
            "norm0": (np.abs(d) > 1e-12).sum(1)}[norm]
    assert np.all(dist <= ball.radius + 1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), sizes=st.lists(st.integers(1, 6), min_size=3, max_size=4),
       r=st.floats(0.05, 2.0), norm=st.sampled_from(["norm1", "norm0", "norminf"]))
def test_optimized_slopes_over_a_ball_stay_sound(seed, sizes, r, norm):
    import time

    from nnlang.bounds.alpha import tighten_alpha

    net = random_network(sizes, seed=seed)
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-1, 0, net.n_in)
    hi = lo + rng.uniform(0.1, 2, net.n_in)
    ball = Ball(norm, rng.uniform(lo, hi), r if norm != "norm0" else float(round(r)))
    base = symbolic_bounds(net, lo, hi, ball)
    slo, shi = shrink_box(lo, hi, ball)
    tight, _ = tighten_alpha(net, slo, shi, list(base), time.perf_counter() + 5, ball=ball)
    x = _sample_region(rng, lo, hi, ball, 2000)
    for (L, U), (bL, bU), pre in zip(tight, base, pre_activations(net, x)):
        assert np.all(L >= bL - 1e-9) and np.all(U <= bU + 1e-9)
        assert np.all(pre >= L - 1e-8) and np.all(pre <= U + 1e-8)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), k0=st.integers(1, 8),
       budget=st.floats(0.0, 50.0))
def test_l1_greedy_with_partial_sort_equals_full_sort(seed, n, k0, budget):
    """The top-k selection gives the knapsack value of sorting every coordinate,
    also where caps are zero, tied or too small to hold the budget."""
    rng = np.random.default_rng(seed)
    gain = np.abs(rng.normal(size=(6, n))).round(rng.integers(0, 3))  # ties when rounded
    cap = rng.uniform(0, 1, size=(6, n)) * (rng.uniform(size=(6, n)) < 0.7)
    order = np.argsort(-gain, axis=1)
    g, cp = np.take_along_axis(gain, order, axis=1), np.take_along_axis(cap, order, axis=1)
    full = (g * np.clip(budget - (np.cumsum(cp, axis=1) - cp), 0.0, cp)).sum(axis=1)
    assert np.allclose(l1_greedy(gain, cap, budget, k0), full, rtol=1e-12, atol=1e-9)
