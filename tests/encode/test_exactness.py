"""The big-M encoding is exact: property tests on random small networks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.testing import network_strategy, output_range, spec_vector, write_network

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


_fmt = spec_vector


def networks(max_inputs=4, max_width=6, max_layers=3):
    return network_strategy(max_inputs, max_width, max_layers)


@SETTINGS
@given(net=networks(), seed=st.integers(0, 1000))
def test_fixed_input_reproduces_forward_pass(tmp_path, net, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-1, 1, size=net.n_in)
    path = write_network(net, tmp_path / "net.npz")
    spec = (f'network net = load("{path.name}")\n'
            f"param x0[{net.n_in}] = {_fmt(x0)}\n"
            f"var x[{net.n_in}] in [-1, 1]\n"
            f"subject to\n    fix: x == x0\n"
            f"y = net(x)\nmaximize sum(y)\n")
    (tmp_path / "s.nnq").write_text(spec)
    r = nnlang.compile(tmp_path / "s.nnq").solve()
    assert r.status == "optimal"
    fwd = net.forward(x0)
    layers = r.networks["y"].layers
    for k in range(1, len(fwd)):
        np.testing.assert_allclose(layers[k], fwd[k], atol=1e-6, rtol=1e-6)
    assert r.forward_gap < 1e-6


def _brute_force_max(net, lo, hi, j):
    """Max of output j over the box by enumerating activation patterns (one LP each)."""
    return float(output_range(net, lo, hi)[1][j])


@SETTINGS
@given(net=networks(max_inputs=3, max_width=3, max_layers=2), seed=st.integers(0, 1000))
def test_maximizing_an_output_matches_brute_force(tmp_path, net, seed):
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-2, 0, size=net.n_in)
    hi = lo + rng.uniform(0.1, 2, size=net.n_in)
    j = int(rng.integers(net.n_out))
    path = write_network(net, tmp_path / "net.npz")
    spec = (f'network net = load("{path.name}")\n'
            f"var x[{net.n_in}] in [{_fmt(lo)}, {_fmt(hi)}]\n"
            f"y = net(x)\nmaximize y[{j}]\n")
    (tmp_path / "s.nnq").write_text(spec)
    r = nnlang.compile(tmp_path / "s.nnq").solve()
    assert r.status == "optimal"
    samples = rng.uniform(lo, hi, size=(1000, net.n_in))
    best_sample = net.predict(samples)[:, j].max()
    assert r.objective >= best_sample - 1e-7
    assert r.objective == pytest.approx(_brute_force_max(net, lo, hi, j), rel=1e-6, abs=1e-6)
    # the solution really attains the objective
    assert net.predict(r.values["x"])[j] == pytest.approx(r.objective, rel=1e-6, abs=1e-6)


@SETTINGS
@given(net=networks(max_inputs=6, max_width=8, max_layers=3), seed=st.integers(0, 1000))
def test_maximizing_beats_random_samples(tmp_path, net, seed):
    rng = np.random.default_rng(seed)
    j = int(rng.integers(net.n_out))
    path = write_network(net, tmp_path / "net.npz")
    spec = (f'network net = load("{path.name}")\n'
            f"var x[{net.n_in}] in [-1, 1]\n"
            f"y = net(x)\nmaximize y[{j}]\n")
    (tmp_path / "s.nnq").write_text(spec)
    r = nnlang.compile(tmp_path / "s.nnq").solve()
    samples = rng.uniform(-1, 1, size=(1000, net.n_in))
    assert r.objective >= net.predict(samples)[:, j].max() - 1e-7
    assert r.forward_gap < 1e-6


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=networks(max_inputs=4, max_width=6, max_layers=3), seed=st.integers(0, 1000))
def test_every_bound_method_gives_the_same_optimum(tmp_path, monkeypatch, net, seed):
    monkeypatch.setenv("NNLANG_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, size=net.n_in)
    j = int(rng.integers(net.n_out))
    path = write_network(net, tmp_path / "net.npz")
    spec = (f'network net = load("{path.name}")\nparam c[{net.n_in}] = {_fmt(c)}\n'
            f"var x[{net.n_in}] in [-1, 1]\ny = net(x)\n"
            f"minimize norm1(x - c) - y[{j}]\n")
    (tmp_path / "s.nnq").write_text(spec)
    objectives = []
    for bounds in ("interval", "symbolic", "lp", "milp"):
        for tighten in (False, True):
            r = nnlang.compile(tmp_path / "s.nnq", bounds=bounds).solve(tighten=tighten)
            assert r.status == "optimal"
            objectives.append(r.objective)
    assert max(objectives) - min(objectives) < 1e-6 * (1 + abs(objectives[0]))
