"""nnlang verify on small random ONNX networks, checked against a direct MILP and sampling.

For each network the maximum ``m`` of an output over the box is computed by an
independent nnlang spec (``maximize y[j]``) and checked by sampling. Then
``Y_j >= m + delta`` must be ``unsat`` (no input reaches it) and
``Y_j >= m - delta`` must be ``sat`` with a counterexample that really lies in
the box and meets the condition.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlang
from nnlang.networks.load import load_network
from nnlang.testing import pre_activations
from nnlang.verify import read_counterexample, verify
from nnlang.verify.vnnlib import parse_vnnlib

from .conftest import float32_network, vnnlib_text, write_onnx


def _setup(tmp_path, sizes, seed, normalise=False):
    net = float32_network(sizes, seed)
    path = write_onnx(net, tmp_path / f"net{seed}.onnx", normalise=normalise)
    net = load_network(path)  # the function the verifier sees (normalisation folded in)
    rng = np.random.default_rng(seed)
    c = rng.uniform(-0.5, 0.5, sizes[0])
    lo, hi = c - 0.5, c + 0.5
    return net, path, lo, hi


def _maximum(tmp_path, path, lo, hi, j: int) -> float:
    """max y[j] over the box by a separate nnlang spec (the direct MILP)."""
    np.savez(tmp_path / "box.npz", lo=lo, hi=hi)
    n = lo.size
    spec = tmp_path / "max.nnq"
    spec.write_text(f'network net = load("{path.name}")\n'
                    f'param lo[{n}] = data("box.npz", "lo")\n'
                    f'param hi[{n}] = data("box.npz", "hi")\n'
                    f"var x[{n}] in [lo, hi]\ny = net(x)\nmaximize y[{j}]\n")
    r = nnlang.compile(spec).solve(time_limit=30)
    assert r.status == "optimal"
    return float(r.objective)


def _check_ce(net, prop, result):
    ce = result.counterexample
    assert ce is not None
    case = next(c for c in prop.cases if c.in_box(ce.x))
    y = net.predict(ce.x)
    assert case.holds(y)
    # ce.y is onnxruntime's float32 output where onnxruntime is installed
    np.testing.assert_allclose(ce.y, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("split", [True, False])
def test_threshold_around_the_maximum(tmp_path, seed, split):
    sizes = [3, 10, 10, 2] if seed != 2 else [12, 12, 8, 2]
    net, path, lo, hi = _setup(tmp_path, sizes, seed, normalise=seed == 1)
    m = _maximum(tmp_path, path, lo, hi, 0)
    X = lo + (hi - lo) * np.random.default_rng(9).random((20000, lo.size))
    assert net.predict(X)[:, 0].max() <= m + 1e-6  # the MILP maximum is an upper bound
    delta = 1e-3 * (1 + abs(m))
    opts = dict(split_inputs=10 if split else 0, attack_time=0.2)
    unsat = parse_vnnlib(vnnlib_text(lo, hi, 2, f"(>= Y_0 {m + delta!r})"))
    r = verify(path, unsat, 30, **opts)
    assert r.status == "unsat", r.message
    sat = parse_vnnlib(vnnlib_text(lo, hi, 2, f"(>= Y_0 {m - delta!r})"))
    r = verify(path, sat, 30, **opts)
    assert r.status == "sat", r.message
    _check_ce(net, sat, r)


@pytest.mark.parametrize("per_branch", [False, True], ids=["one-milp", "per-branch"])
def test_disjunction_in_one_milp_or_one_per_branch(tmp_path, per_branch):
    net, path, lo, hi = _setup(tmp_path, [16, 12, 8, 3], 5)
    m0 = _maximum(tmp_path, path, lo, hi, 0)
    m2 = _maximum(tmp_path, path, lo, hi, 2)
    d0, d2 = 1e-3 * (1 + abs(m0)), 1e-3 * (1 + abs(m2))
    # the MILP path itself: with a binary per branch, or one MILP per branch
    opts = dict(split_inputs=0, attack_time=0.0, bab=False, per_branch=per_branch)
    text = vnnlib_text(lo, hi, 3, f"(or (and (>= Y_0 {m0 + d0!r})) (and (>= Y_2 {m2 + d2!r})))")
    r = verify(path, parse_vnnlib(text), 30, **opts)
    assert r.status == "unsat" and r.method in ("milp", "bounds")
    if r.method == "milp":  # both branches open after the bounds: one MILP or two
        assert r.stats["milps"] == (2 if per_branch else 1)
    prop = parse_vnnlib(vnnlib_text(lo, hi, 3, f"(or (>= Y_0 {m0 + d0!r}) (>= Y_2 {m2 - d2!r}))"))
    r = verify(path, prop, 30, **opts)
    assert r.status == "sat"
    _check_ce(net, prop, r)
    assert r.counterexample.y[2] >= m2 - d2


def test_or_of_boxes(tmp_path):
    net, path, lo, hi = _setup(tmp_path, [2, 8, 8, 1], 3)
    mid = float((lo[0] + hi[0]) / 2)
    left = (lo, np.array([mid, hi[1]]))
    far = (np.array([lo[0] - 5, lo[1]]), np.array([lo[0] - 4, hi[1]]))
    m_left = _maximum(tmp_path, path, *left, 0)
    m_far = _maximum(tmp_path, path, *far, 0)

    def box(b):
        return " ".join(f"(>= X_{i} {float(b[0][i])!r}) (<= X_{i} {float(b[1][i])!r})"
                        for i in range(2))

    head = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n"
    for target, want in ((max(m_left, m_far) + 1e-3, "unsat"), (max(m_left, m_far) - 1e-3, "sat")):
        prop = parse_vnnlib(head + f"(assert (or (and {box(left)}) (and {box(far)})))\n"
                            f"(assert (>= Y_0 {target!r}))\n")
        assert len(prop.cases) == 2
        r = verify(path, prop, 30, split_inputs=0, attack_time=0.0)
        assert r.status == want
        if want == "sat":
            _check_ce(net, prop, r)


def test_always_true_output_is_sat_and_false_formula_is_unsat(tmp_path):
    net, path, lo, hi = _setup(tmp_path, [2, 4, 1], 4)
    r = verify(path, parse_vnnlib(vnnlib_text(lo, hi, 1, "(and)")), 10)
    assert r.status == "sat"
    r = verify(path, parse_vnnlib(vnnlib_text(lo, hi, 1, "(or)")), 10)
    assert r.status == "unsat"


def test_result_file_round_trip(tmp_path):
    net, path, lo, hi = _setup(tmp_path, [3, 6, 2], 6)
    prop = parse_vnnlib(vnnlib_text(lo, hi, 2, "(>= Y_0 -1000)"))
    r = verify(path, prop, 10)
    assert r.status == "sat"
    f = tmp_path / "out.txt"
    f.write_text(r.vnncomp_text())
    status, x, y = read_counterexample(f)
    assert status == "sat" and x.size == 3 and y.size == 2
    np.testing.assert_array_equal(x, r.counterexample.x)
    assert prop.cases[0].in_box(x) and prop.cases[0].holds(net.predict(x))


def test_size_mismatch_is_an_error(tmp_path):
    from nnlang.errors import SemanticError

    net, path, lo, hi = _setup(tmp_path, [3, 6, 2], 7)
    with pytest.raises(SemanticError, match="declares 4 inputs"):
        verify(path, parse_vnnlib(vnnlib_text(np.zeros(4), np.ones(4), 2, "(>= Y_0 0)")), 5)


def test_small_cnn(tmp_path):
    """A convolutional network (Conv, Relu, AveragePool, Gemm) is verified like a dense one."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(12)
    inits = {"K": rng.normal(size=(3, 1, 3, 3)), "kb": rng.normal(size=3) * 0.1,
             "W": rng.normal(size=(2, 27)) * 0.3, "b": rng.normal(size=2) * 0.1}
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2], strides=[1, 1]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    path = tmp_path / "cnn.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
                     .SerializeToString())
    net = load_network(path)
    lo, hi = np.zeros(36), np.full(36, 0.3)
    m = _maximum(tmp_path, path, lo, hi, 1)
    for target, want in ((m + 1e-3, "unsat"), (m - 1e-3, "sat")):
        prop = parse_vnnlib(vnnlib_text(lo, hi, 2, f"(>= Y_1 {target!r})"))
        r = verify(path, prop, 30, attack_time=0.1)
        assert r.status == want
        if want == "sat":
            _check_ce(net, prop, r)


def test_obbt_bounds_are_sound_and_tighter(tmp_path):
    """LP tightening never cuts off a sampled point and never loosens a bound."""
    import time

    from nnlang.bounds import method
    from nnlang.verify.obbt import tighten

    net = float32_network([6, 16, 16, 16, 3], 21)
    lo, hi = -np.ones(6), np.ones(6)
    base = list(method("symbolic")(net, lo, hi))
    new, info = tighten(net, lo, hi, base, time.perf_counter() + 20)
    assert info["lps"] > 0
    X = lo + (hi - lo) * np.random.default_rng(0).random((20000, 6))
    for (L, U), (L0, U0), z in zip(new, base, pre_activations(net, X)):
        assert np.all(L >= L0 - 1e-12) and np.all(U <= U0 + 1e-12)
        assert np.all(z >= L - 1e-9) and np.all(z <= U + 1e-9)
    assert sum(float(np.sum(U - L)) for L, U in new) < sum(float(np.sum(U - L)) for L, U in base)


def test_verify_with_obbt(tmp_path):
    net, path, lo, hi = _setup(tmp_path, [12, 12, 10, 8, 2], 8)
    m = _maximum(tmp_path, path, lo, hi, 1)
    for target, want in ((m + 1e-3, "unsat"), (m - 1e-3, "sat")):
        prop = parse_vnnlib(vnnlib_text(lo, hi, 2, f"(>= Y_1 {target!r})"))
        r = verify(path, prop, 30, attack_time=0.0, obbt=0.5)
        assert r.status == want
