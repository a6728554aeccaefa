"""The programs of Goebbels' (2021) training against brute force and the forward pass.

On tiny instances the weight MILP (eqs. 1-6) is compared with a brute force over
activation patterns: for every pattern of the m samples an LP with that pattern
fixed (active: o = a >= 0; inactive: a <= 0, o = 0); the MILP's optimum is the
smallest of them.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from nnlang.ir.options import Options
from nnlang.training import layers, problems

OPTS = Options()


def brute_force_neuron(X, t, lo, hi):
    """min over patterns of sum |o_k - t_k| for one ReLU neuron, weights in [lo, hi]."""
    m, d = X.shape
    best = np.inf
    A1 = np.hstack([X, np.ones((m, 1))])  # a = A1 @ theta
    for pattern in itertools.product((0, 1), repeat=m):
        on = np.array(pattern, bool)
        # variables: theta (d+1), e (m) with e >= |o - t|
        n = d + 1 + m
        c = np.concatenate([np.zeros(d + 1), np.ones(m)])
        A_ub, b_ub = [], []
        for k in range(m):
            ek = np.zeros(m)
            ek[k] = -1.0
            if on[k]:  # o = a >= 0: a - t <= e, t - a <= e, -a <= 0
                A_ub += [np.concatenate([A1[k], ek]), np.concatenate([-A1[k], ek]),
                         np.concatenate([-A1[k], np.zeros(m)])]
                b_ub += [t[k], -t[k], 0.0]
            else:  # o = 0, a <= 0, e >= |t|
                A_ub += [np.concatenate([A1[k], np.zeros(m)])]
                b_ub += [0.0]
                row = np.zeros(n)
                row[d + 1 + k] = -1.0
                A_ub.append(row)
                b_ub.append(-abs(t[k]))
        bounds = list(zip(lo, hi)) + [(0, None)] * m
        res = linprog(c, A_ub=np.array(A_ub), b_ub=np.array(b_ub), bounds=bounds,
                      method="highs")
        if res.status == 0:
            best = min(best, res.fun)
    return best


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 5), d=st.integers(1, 3))
def test_weight_milp_equals_brute_force_over_activation_patterns(seed, m, d):
    rng = np.random.default_rng(seed)
    X = rng.random((m, d)) * 2
    t = np.where(rng.random(m) < 0.3, 0.0, rng.random(m) * 3)
    params = layers.dense(1, d, 1.0)
    solved = problems.group_weights(X, t[:, None], params, problems.L1, OPTS)
    assert solved.status == "optimal"
    assert np.all(solved.value >= -1 - 1e-9) and np.all(solved.value <= 1 + 1e-9)
    # the weights reproduce the reported objective by a numpy forward pass
    W, b = params.weights(solved.value)
    out = np.maximum(X @ W.T + b, 0.0)[:, 0]
    assert solved.objective == pytest.approx(np.abs(out - t).sum(), abs=1e-9)
    assert solved.objective == pytest.approx(brute_force_neuron(X, t, params.lo, params.hi),
                                             abs=1e-5)


def test_two_neurons_split_into_independent_programs_with_the_same_optimum():
    rng = np.random.default_rng(3)
    X = rng.random((5, 3))
    T = rng.random((5, 2)) * 2
    params = layers.dense(2, 3, 1.0)
    groups = params.groups()
    assert [g.tolist() for g in groups] == [[0], [1]]
    joint = problems.group_weights(X, T, params, problems.L1, OPTS)
    split = 0.0
    for g in groups:
        sub, _ = params.restricted(g)
        split += problems.group_weights(X, T[:, g], sub, problems.L1, OPTS).objective
    assert joint.objective == pytest.approx(split, abs=1e-5)


def test_output_lp_is_eqs_7_8_and_post_lp_allows_049():
    rng = np.random.default_rng(5)
    X = rng.random((30, 4))
    labels = rng.integers(0, 2, 30)
    T = np.eye(2)[labels]
    params = layers.dense(2, 4, 1.0)
    for kind in (problems.OUTPUT, problems.POST):
        solved = problems.group_weights(X, T, params, kind, OPTS)
        W, b = params.weights(solved.value)
        pre = X @ W.T + b
        delta = np.where(T > 0.5, np.abs(pre - T), np.maximum(pre - T, 0.0))
        want = delta.sum() if kind == problems.OUTPUT else np.maximum(delta - 0.49, 0).sum()
        assert solved.objective == pytest.approx(want, abs=1e-9)
        # an LP optimum: no random weights in the box do better
        for _ in range(50):
            Wr, br = rng.uniform(-1, 1, (2, 4)), rng.uniform(-1, 1, 2)
            assert problems.error(kind, X @ Wr.T + br, T) >= solved.objective - 1e-7


def test_tied_weights_of_a_convolution_are_one_program():
    params = layers.conv(5, 5, 3, 3, 0.0, 1.0)
    assert len(params.groups()) == 1
    rng = np.random.default_rng(1)
    k = rng.random(9)
    X = rng.random((8, 25))
    W, b = params.weights(k)
    T = np.maximum(X @ W.T + b, 0.0)
    solved = problems.group_weights(X, T, params, problems.L1, OPTS)
    assert solved.objective == pytest.approx(0.0, abs=1e-6)


def test_pruned_weights_stay_zero():
    mask = np.array([[1, 0, 1], [0, 1, 0]])
    params = layers.dense(2, 3, 1.0, mask=mask)
    rng = np.random.default_rng(2)
    X, T = rng.random((6, 3)), rng.random((6, 2))
    solved = problems.group_weights(X, T, params, problems.L1, OPTS)
    W, _ = params.weights(solved.value)
    assert np.all(W[mask == 0] == 0)


def brute_force_inputs(W, b, lo, hi, t):
    """min over patterns of sum |relu(W x + b) - t| with lo <= x <= hi."""
    n, d = W.shape
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=n):
        on = np.array(pattern, bool)
        c = np.concatenate([np.zeros(d), np.ones(n)])
        A_ub, b_ub = [], []
        for j in range(n):
            ej = np.zeros(n)
            ej[j] = -1.0
            if on[j]:
                A_ub += [np.concatenate([W[j], ej]), np.concatenate([-W[j], ej]),
                         np.concatenate([-W[j], np.zeros(n)])]
                b_ub += [t[j] - b[j], b[j] - t[j], b[j]]
            else:
                A_ub += [np.concatenate([W[j], np.zeros(n)])]
                b_ub += [-b[j]]
                row = np.zeros(d + n)
                row[d + j] = -1.0
                A_ub.append(row)
                b_ub.append(-abs(t[j]))
        res = linprog(c, A_ub=np.array(A_ub), b_ub=np.array(b_ub),
                      bounds=list(zip(lo, hi)) + [(0, None)] * n, method="highs")
        if res.status == 0:
            best = min(best, res.fun)
    return best


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 4), d=st.integers(1, 4))
def test_input_proposal_respects_eq9_and_equals_brute_force(seed, n, d):
    rng = np.random.default_rng(seed)
    W, b = rng.uniform(-1, 1, (n, d)), rng.uniform(-1, 1, n)
    x_now = rng.random(d) * 2
    t = np.where(rng.random(n) < 0.4, 0.0, rng.random(n) * 2)
    solved = problems.layer_inputs(W, b, x_now, t, problems.L1, OPTS)
    lo, hi = np.maximum(0, 0.9 * x_now - 0.1), 1.1 * x_now + 0.1
    assert np.all(solved.value >= lo - 1e-9) and np.all(solved.value <= hi + 1e-9)
    out = np.maximum(W @ solved.value + b, 0.0)
    assert solved.objective == pytest.approx(np.abs(out - t).sum(), abs=1e-9)
    assert solved.objective == pytest.approx(brute_force_inputs(W, b, lo, hi, t), abs=1e-5)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), r=st.floats(0.0, 0.9), a=st.floats(0.0, 1.0))
def test_a_wider_proposal_box_is_respected_and_never_fits_worse(seed, r, a):
    rng = np.random.default_rng(seed)
    W, b = rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, 3)
    x_now, t = rng.random(3) * 2, rng.random(3) * 2
    box = (0.1 + r, 0.1 + a)  # contains eq. 9's box
    wide = problems.layer_inputs(W, b, x_now, t, problems.L1, OPTS, box)
    lo, hi = np.maximum(0, (0.9 - r) * x_now - 0.1 - a), (1.1 + r) * x_now + 0.1 + a
    assert np.all(wide.value >= lo - 1e-9) and np.all(wide.value <= hi + 1e-9)
    assert wide.objective == pytest.approx(brute_force_inputs(W, b, lo, hi, t), abs=1e-5)
    eq9 = problems.layer_inputs(W, b, x_now, t, problems.L1, OPTS)
    assert wide.objective <= eq9.objective + 1e-6


def test_exact_per_sample_bounds_are_never_looser_than_the_reports_constant():
    rng = np.random.default_rng(0)
    X = (rng.random((20, 30)) < 0.2) * rng.random((20, 30))
    model, _ = problems.weight_model(X, rng.random((20, 1)), layers.dense(1, 30, 1.0),
                                     problems.L1, OPTS)
    d, M_tilde = X.shape[1], X.max()
    M = d * (1.1 * M_tilde + 0.1) + 1
    x_block = next(b for b in model.blocks if b.name == "o.x")
    assert np.all(x_block.ub <= M) and np.all(x_block.ub < M / 3)
