"""Language features documented in docs/language.md behave as documented."""

from __future__ import annotations

import numpy as np
import pytest

import nnlang
from nnlang.testing import random_network, write_network


@pytest.fixture
def net(tmp_path):
    network = random_network([4, 5, 3], seed=2)
    write_network(network, tmp_path / "net.npz")
    return network


def _solve(tmp_path, text, **params):
    (tmp_path / "s.nnq").write_text(text)
    return nnlang.compile(tmp_path / "s.nnq", params=params or None).solve()


def test_slices_chains_matmul_and_families(tmp_path, net):
    text = """
param M = [[1, 2], [3, 4]]
var x[2, 3] in [0, 1]
var v[2] in [-5, 5]
maximize sum(x[:, 1]) + sum(M @ v) \\
    - sum(x[0, 0:2])
subject to
    0 <= v[0] <= 1
    v[1] == 0.5
    cols: x[i, j] <= x[i, j + 1] for i in 0..1 for j in 0..1 if j != 5
"""
    r = _solve(tmp_path, text)
    assert r.status == "optimal"
    # sum(M @ v) = 4 v0 + 6 v1 = 4 + 3; sum(x[:,1]) - sum(x[0, 0:2]) = x[1,1] - x[0,0]
    assert r.objective == pytest.approx(7 + 1)


def test_layers_constant_networks_and_set_expressions(tmp_path, net):
    text = """
network net = load("net.npz")
param image[4] = [0.1, 0.2, 0.3, 0.4]
param pred = argmax(net(image))
param shift = 0
var x[4] in [0, 1]
y = net(x)
maximize y.layer[1][0] + y[pred] + shift
subject to
    fix: y.layer[0] == image
"""
    r = _solve(tmp_path, text, shift="pred + 1")
    fwd = net.forward(np.array([0.1, 0.2, 0.3, 0.4]))
    pred = int(np.argmax(fwd[-1]))
    assert r.objective == pytest.approx(fwd[1][0] + fwd[-1][pred] + pred + 1)
    assert r.networks["y"].predicted == pred


def test_two_applications_and_inline_use(tmp_path, net):
    text = """
network net = load("net.npz")
var a[4] in [0, 1]
var b[4] in [0, 1]
ya = net(a)
maximize ya[0] - net(b)[0]
subject to
    same: a == b
"""
    r = _solve(tmp_path, text)
    assert r.status == "optimal" and r.objective == pytest.approx(0, abs=1e-6)
    assert len(r.networks) == 2


def test_fixed_input_classification(tmp_path, net):
    text = """
network net = load("net.npz")
param image[4] = [0.5, 0.1, 0.9, 0.3]
var x[4] = image
y = net(x)
maximize y[0]
"""
    r = _solve(tmp_path, text)
    np.testing.assert_allclose(r.networks["y"].layers[-1], net.predict(np.array([0.5, 0.1, 0.9, 0.3])),
                               atol=1e-7)


def test_inline_network_block_checks_sizes(tmp_path, net):
    good = 'network n {\n  input 4\n  dense 5 relu\n  dense 3\n  weights "net.npz"\n}\n'
    (tmp_path / "s.nnq").write_text(good)
    prog = nnlang.compile(tmp_path / "s.nnq").program
    assert [layer.activation for layer in prog.networks["n"].network.layers] == ["relu", "linear"]
    bad = good.replace("dense 5 relu", "dense 6 relu")
    (tmp_path / "s.nnq").write_text(bad)
    with pytest.raises(nnlang.NnlangError, match="declared with 6 units"):
        nnlang.compile(tmp_path / "s.nnq")


def test_norms_and_integer_domains(tmp_path):
    text = """
param c[3] = [0.5, -1.5, 2]
var x[3] integer in [-3, 3]
minimize norm1(x - c) + 2 * norminf(x - c)
subject to
    few: norm0(x) <= 1
"""
    r = _solve(tmp_path, text)
    # best: x = [0, 0, 2]: norm1 = 0.5 + 1.5 + 0 = 2, norminf = 1.5 -> 5
    assert r.objective == pytest.approx(5.0)
    assert np.count_nonzero(r.values["x"]) <= 1
