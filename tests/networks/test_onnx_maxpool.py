"""ONNX MaxPool imported as exact ReLU layers: forward passes against onnx.reference,
layer counts, refusals, and MILP optima against independent references."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import nnlang
from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.maxpool import pool_windows
from nnlang.networks.onnx import load_onnx


def build(path: Path, nodes, inits: dict, in_shape, dtype=np.float64) -> Path:
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, path.stem, [helper.make_tensor_value_info("x", elem, list(in_shape))],
        [helper.make_empty_tensor_value_info("y")],
        initializer=[numpy_helper.from_array(_cast(v, dtype), k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _cast(v, dtype) -> np.ndarray:
    v = np.asarray(v)
    return v if v.dtype.kind == "i" else v.astype(dtype)


def reference(path: Path):
    ref = ReferenceEvaluator(onnx.load(str(path)))
    return lambda x: np.asarray(ref.run(None, {"x": x})[0]).ravel()


def naive_maxpool(x: np.ndarray, kernel, strides=(1, 1), dil=(1, 1), pads=(0, 0, 0, 0)):
    """MaxPool by its definition (pad with -inf, a loop over the output positions).

    onnx.reference 1.23 is no oracle for one case: with all strides and dilations 1
    and any explicit pads it reads them as [top, bottom, left, right] instead of
    ONNX's [top, left, bottom, right] (e.g. pads [0, 0, 1, 1] on 3x3 gives a 2x4
    output), and often crashes (e.g. pads [0, 1, 0, 1], kernel 1x2 on 1x1). Probed
    exhaustively on small shapes: every other stride/dilation/pads case agrees.
    """
    C, H, W = x.shape[-3:]
    xp = np.pad(x.reshape(C, H, W), ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])),
                constant_values=-np.inf)
    eh, ew = (kernel[0] - 1) * dil[0] + 1, (kernel[1] - 1) * dil[1] + 1
    Ho, Wo = (xp.shape[1] - eh) // strides[0] + 1, (xp.shape[2] - ew) // strides[1] + 1
    out = np.empty((C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            r, c = i * strides[0], j * strides[1]
            out[:, i, j] = xp[:, r:r + eh:dil[0], c:c + ew:dil[1]].max(axis=(1, 2))
    return out.ravel()


def pooled_size(tmp_path: Path, attrs: dict, in_shape) -> int:
    probe = build(tmp_path / "probe.onnx", [helper.make_node("MaxPool", ["x"], ["y"], **attrs)],
                  {}, in_shape)
    return reference(probe)(np.zeros(in_shape)).size


def assert_matches(path: Path, in_shape, seed=0, n=10, scale=1.0):
    net = load_onnx(path)
    ref = reference(path)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-scale, scale, (n,) + tuple(in_shape))
    got = net.predict(X.reshape(n, -1))
    want = np.stack([ref(x) for x in X])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    return net


def levels(attrs: dict) -> int:
    k = math.prod(attrs["kernel_shape"])
    return math.ceil(math.log2(k)) if k > 1 else 0


POOLS = [
    {"kernel_shape": [2, 2]},
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 1]},
    {"kernel_shape": [3, 2], "strides": [1, 2]},
    {"kernel_shape": [2, 2], "dilations": [2, 2]},
    {"kernel_shape": [3, 2], "auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"kernel_shape": [2, 3], "auto_pad": "SAME_LOWER"},
    {"kernel_shape": [2, 2], "auto_pad": "VALID", "strides": [2, 1]},
    {"kernel_shape": [1, 1]},
    {"kernel_shape": [1, 1], "strides": [2, 2]},
]


@pytest.mark.parametrize("attrs", POOLS, ids=[str(a) for a in POOLS])
def test_conv_relu_maxpool_gemm(tmp_path, attrs):
    rng = np.random.default_rng(1)
    in_shape = [1, 1, 7, 7]
    size = pooled_size(tmp_path, attrs, [1, 2, 5, 5])
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], **attrs),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    inits = {"K": rng.normal(size=(2, 1, 3, 3)), "kb": rng.normal(size=2),
             "W": rng.normal(size=(4, size)), "b": rng.normal(size=4)}
    net = assert_matches(build(tmp_path / "m.onnx", nodes, inits, in_shape), in_shape)
    # conv layer, the pooling levels, and the Gemm folded into one linear output layer
    assert [layer.activation for layer in net.layers] == \
        ["relu"] * (1 + levels(attrs)) + ["linear"]
    assert net.n_out == 4


@pytest.mark.parametrize("attrs", POOLS, ids=[str(a) for a in POOLS])
def test_conv_maxpool_relu_gemm(tmp_path, attrs):
    """MaxPool before the Relu: the pooled values can be negative."""
    rng = np.random.default_rng(2)
    in_shape = [1, 1, 7, 7]
    size = pooled_size(tmp_path, attrs, [1, 3, 5, 5])
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"]),
             helper.make_node("MaxPool", ["c"], ["p"], **attrs),
             helper.make_node("Relu", ["p"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("MatMul", ["f", "W"], ["y"])]
    inits = {"K": rng.normal(size=(3, 1, 3, 3)), "kb": rng.normal(size=3),
             "W": rng.normal(size=(size, 3))}
    net = assert_matches(build(tmp_path / "m.onnx", nodes, inits, in_shape), in_shape, seed=3)
    assert [layer.activation for layer in net.layers] == \
        ["relu"] * (levels(attrs) + 1) + ["linear"]


def test_layer_widths_with_and_without_a_relu_before(tmp_path):
    """2x2 windows, stride 2, on a 4x4 image: 4 windows, 3 binaries-worth pairs each.

    After a Relu a value is passed through a ReLU as itself (one neuron); on the raw
    input it needs relu(v) - relu(-v) (two neurons).
    """
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
    after = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], **attrs)]
    net = assert_matches(build(tmp_path / "a.onnx", after, {}, [1, 1, 4, 4]), [1, 1, 4, 4])
    # relu(x); level 1: 2 differences + 2 pass-throughs per window; level 2: 1 + 1
    assert net.sizes == [16, 16, 16, 8, 4]
    raw = [helper.make_node("MaxPool", ["x"], ["y"], **attrs)]
    net = assert_matches(build(tmp_path / "b.onnx", raw, {}, [1, 1, 4, 4]), [1, 1, 4, 4])
    # level 1: 2 differences + 2 x 2 pass-throughs; level 2: the terms max(a, b) of the
    # raw input may be negative: 1 + 2 per window
    assert net.sizes == [16, 24, 12, 4]
    assert [layer.activation for layer in net.layers] == ["relu", "relu", "linear"]


def test_one_by_one_pooling_is_a_selection_with_no_layer(tmp_path):
    nodes = [helper.make_node("Gemm", ["x", "W"], ["g"], transB=1),
             helper.make_node("Reshape", ["g", "s"], ["i"]),
             helper.make_node("MaxPool", ["i"], ["p"], kernel_shape=[1, 1], strides=[2, 3]),
             helper.make_node("Flatten", ["p"], ["y"])]
    rng = np.random.default_rng(4)
    inits = {"W": rng.normal(size=(2 * 5 * 7, 6)), "s": np.array([1, 2, 5, 7])}
    net = assert_matches(build(tmp_path / "s.onnx", nodes, inits, [1, 6]), [1, 6])
    assert [layer.activation for layer in net.layers] == ["linear"]
    assert net.sizes == [6, 2 * 3 * 3]


def test_overlapping_windows_share_neurons(tmp_path):
    """3x3 windows with stride 1 on 6x6: 16 windows of 9 entries, 4 levels. Rows are
    reduced first, and a row segment shared by 3 windows is computed once: 24 segments
    x 2 differences, then 16 windows x 2, instead of 16 x 8 differences."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[3, 3])]
    net = assert_matches(build(tmp_path / "o.onnx", nodes, {}, [1, 1, 6, 6]), [1, 1, 6, 6])
    assert len(net.layers) == 1 + 4 + 1
    # a difference neuron relu(a - b) has a negative coefficient, a pass-through none
    n_diff = sum(int(np.sum((layer.W < 0).any(axis=1))) for layer in net.layers[1:-1])
    assert n_diff == 6 * 4 * 2 + 16 * 2


def test_two_pools_and_a_conv_in_between(tmp_path):
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Sub", ["x", "mean"], ["xs"]),
             helper.make_node("MaxPool", ["xs"], ["p1"], kernel_shape=[2, 2]),
             helper.make_node("Conv", ["p1", "K"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p2"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["p2", "scale"], ["ps"]),
             helper.make_node("Flatten", ["ps"], ["f"]),
             helper.make_node("Gemm", ["f", "W"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["y"])]
    inits = {"mean": np.array(0.3), "K": rng.normal(size=(2, 2, 3, 3)),
             "scale": rng.uniform(0.5, 2, (2, 1, 1)), "W": rng.normal(size=(3, 2 * 3 * 3))}
    assert_matches(build(tmp_path / "t.onnx", nodes, inits, [1, 2, 6, 6]), [1, 2, 6, 6])


def test_maxpool_is_the_graph_output_on_float32(tmp_path):
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[1, 2],
                              pads=[1, 0, 0, 1])]
    path = build(tmp_path / "f.onnx", nodes, {}, [1, 2, 4, 5], dtype=np.float32)
    net = load_onnx(path)
    ref = reference(path)
    x = np.random.default_rng(6).uniform(-1, 1, (1, 2, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(net.predict(x.ravel().astype(float)), ref(x), rtol=0, atol=1e-6)


def test_padded_entries_are_replaced_by_a_real_entry_of_the_window():
    windows, out = pool_windows((1, 2, 2), (2, 2), [1, 1], [1, 1], [1, 1, 0, 0])
    assert out == (2, 2)
    assert windows.tolist() == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 2], [0, 1, 2, 3]]


@pytest.mark.parametrize("attrs,error,match", [
    ({"kernel_shape": [2, 2], "ceil_mode": 1}, UnsupportedError, "ceil_mode"),
    ({"kernel_shape": [2, 2], "pads": [2, 2, 2, 2]}, DataError, "entirely in the padding"),
    ({"kernel_shape": [9, 9]}, DataError, "larger than the padded input"),
])
def test_refusals(tmp_path, attrs, error, match):
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="pool1", **attrs)]
    path = build(tmp_path / "r.onnx", nodes, {}, [1, 1, 4, 4])
    with pytest.raises(error, match=match):
        load_onnx(path)


def test_indices_output_and_1d_pooling_are_refused(tmp_path):
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "idx"], name="pool1", kernel_shape=[2, 2])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 4, 4])],
        [helper.make_empty_tensor_value_info("y"), helper.make_empty_tensor_value_info("idx")])
    path = tmp_path / "i.onnx"
    # only "y" is the graph output, but the node still computes Indices
    graph.output.pop()
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(UnsupportedError, match="'MaxPool' at node 'pool1'.*Indices"):
        load_onnx(path)
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="p1d", kernel_shape=[2])]
    path = build(tmp_path / "d.onnx", nodes, {}, [1, 1, 5])
    with pytest.raises(UnsupportedError, match="'MaxPool' at node 'p1d'"):
        load_onnx(path)


@st.composite
def pool_cases(draw):
    C = draw(st.integers(1, 3))
    H, W = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    attrs = {"kernel_shape": kernel,
             "strides": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
             "dilations": [draw(st.integers(1, 2)), draw(st.integers(1, 2))]}
    pads = [draw(st.integers(0, kernel[i % 2] - 1)) for i in range(4)]
    if draw(st.booleans()):
        attrs["pads"] = pads
    relu_first = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return C, H, W, attrs, relu_first, seed


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pool_cases())
def test_random_pools_match_the_reference(tmp_path, case):
    C, H, W, attrs, relu_first, seed = case
    pads = attrs.get("pads", [0, 0, 0, 0])
    for a in range(2):
        eff = (attrs["kernel_shape"][a] - 1) * attrs["dilations"][a] + 1
        assume((H, W)[a] + pads[a] + pads[a + 2] >= eff)
    nodes = [helper.make_node("Relu", ["x"], ["r"])] if relu_first else []
    nodes.append(helper.make_node("MaxPool", ["r" if relu_first else "x"], ["y"], **attrs))
    path = build(tmp_path / "h.onnx", nodes, {}, [1, C, H, W])
    try:
        net = load_onnx(path)
    except DataError as exc:  # a window wholly in the padding: ONNX would give -inf
        assert "padding" in str(exc)
        return
    onnx_ok = attrs["strides"] != [1, 1] or attrs["dilations"] != [1, 1] \
        or not any(pads)  # see naive_maxpool
    rng = np.random.default_rng(seed)
    for _ in range(3):
        x = rng.normal(size=(1, C, H, W))
        got = net.predict(x.ravel())
        want = naive_maxpool(np.maximum(x, 0) if relu_first else x, attrs["kernel_shape"],
                             attrs["strides"], attrs["dilations"], pads)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        if onnx_ok:
            np.testing.assert_allclose(got, reference(path)(x), rtol=1e-12, atol=1e-12)


def test_asymmetric_pads_at_stride_one(tmp_path):
    """The case onnx.reference gets wrong (see naive_maxpool), against the definition."""
    attrs = {"kernel_shape": [2, 2], "pads": [0, 0, 1, 1]}
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], **attrs)]
    net = load_onnx(build(tmp_path / "a.onnx", nodes, {}, [1, 2, 3, 3]))
    x = np.random.default_rng(11).normal(size=(2, 3, 3))
    assert net.n_out == 2 * 3 * 3
    np.testing.assert_allclose(net.predict(x.ravel()), naive_maxpool(x, [2, 2], pads=[0, 0, 1, 1]),
                               rtol=0, atol=1e-12)


def test_naive_reference_agrees_with_onnx_reference(tmp_path):
    x = np.random.default_rng(12).normal(size=(1, 2, 5, 6))
    for attrs in ({"kernel_shape": [2, 3]}, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
                  {"kernel_shape": [2, 2], "strides": [2, 1], "pads": [0, 1, 1, 0]},
                  {"kernel_shape": [2, 2], "dilations": [2, 1], "pads": [1, 0, 0, 1]}):
        path = build(tmp_path / "n.onnx", [helper.make_node("MaxPool", ["x"], ["y"], **attrs)],
                     {}, x.shape)
        want = naive_maxpool(x, attrs["kernel_shape"], attrs.get("strides", (1, 1)),
                             attrs.get("dilations", (1, 1)), attrs.get("pads", (0, 0, 0, 0)))
        np.testing.assert_allclose(reference(path)(x), want, rtol=0, atol=0)


# ---------------------------------------------------------------------- MILP


def _spec(tmp_path: Path, onnx_name: str, shape, body: str) -> Path:
    dims = ", ".join(map(str, shape))
    spec = tmp_path / "s.nnq"
    spec.write_text(f'network net = load("{onnx_name}")\n'
                    f'param lo[{dims}] = data("box.npz", "lo")\n'
                    f'param hi[{dims}] = data("box.npz", "hi")\n'
                    f"var x[{dims}] in [lo, hi]\ny = net(x)\n{body}\n")
    return spec


def test_milp_on_a_convex_pooling_network_equals_vertex_and_lp_optima(tmp_path):
    """y = c . maxpool(x) + d with c >= 0 is convex in x: its maximum over a box is at
    a vertex (brute force over all 512), its minimum is an LP (scipy linprog)."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(7)
    windows, _ = pool_windows((1, 3, 3), (2, 2), [1, 1], [1, 1], [0, 0, 0, 0])
    c = rng.uniform(0.2, 1.0, len(windows))
    d = -0.3
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "c", "d"], ["y"], transB=1)]
    path = build(tmp_path / "cv.onnx", nodes, {"c": c[None, :], "d": np.array([d])},
                 [1, 1, 3, 3])
    lo, hi = rng.uniform(-1, 0, (3, 3)), rng.uniform(0, 1, (3, 3))
    np.savez(tmp_path / "box.npz", lo=lo, hi=hi)
    ref = reference(path)

    vertices = np.array(list(itertools.product([0, 1], repeat=9)), dtype=float)
    points = lo.ravel() + vertices * (hi - lo).ravel()
    brute = max(float(ref(p.reshape(1, 1, 3, 3))[0]) for p in points)
    r = nnlang.compile(_spec(tmp_path, path.name, (3, 3), "maximize y[0]")).solve()
    assert r.status == "optimal"
    assert r.objective == pytest.approx(brute, abs=1e-6)
    assert float(ref(r.values["x"].reshape(1, 1, 3, 3))[0]) == pytest.approx(brute, abs=1e-6)

    # min sum_w c_w t_w + d  s.t.  t_w >= x_i for i in window w, lo <= x <= hi
    n_w = len(windows)
    rows = np.repeat(np.arange(n_w * 4), 1)
    A = np.zeros((n_w * 4, 9 + n_w))
    A[rows, windows.ravel()] = 1.0
    A[rows, 9 + np.repeat(np.arange(n_w), 4)] = -1.0
    lp = linprog(np.concatenate([np.zeros(9), c]), A_ub=A, b_ub=np.zeros(n_w * 4),
                 bounds=[(a, b) for a, b in zip(lo.ravel(), hi.ravel())] + [(None, None)] * n_w,
                 method="highs")
    r = nnlang.compile(_spec(tmp_path, path.name, (3, 3), "minimize y[0]")).solve()
    assert r.status == "optimal"
    assert r.objective == pytest.approx(lp.fun + d, abs=1e-6)


@pytest.fixture
def small_cnn(tmp_path):
    """Conv(2 maps, 2x2) -> Relu -> MaxPool(2x2, stride 1, padded) -> Gemm on 4x4 images."""
    rng = np.random.default_rng(8)
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    inits = {"K": rng.normal(size=(2, 1, 2, 2)), "kb": rng.normal(size=2) * 0.3,
             "W": rng.normal(size=(3, 32)), "b": rng.normal(size=3)}
    path = build(tmp_path / "cnn.onnx", nodes, inits, [1, 1, 4, 4], dtype=np.float32)
    lo, hi = np.zeros((4, 4)), np.ones((4, 4))
    np.savez(tmp_path / "box.npz", lo=lo, hi=hi)
    return path, lo, hi


def test_milp_with_the_input_fixed_gives_the_forward_pass(tmp_path, small_cnn):
    path, _, _ = small_cnn
    ref = reference(path)
    x0 = np.random.default_rng(9).uniform(0, 1, (4, 4))
    np.savez(tmp_path / "x0.npz", x0=x0)
    want = ref(x0.reshape(1, 1, 4, 4).astype(np.float32))
    for j in range(3):
        spec = tmp_path / "fixed.nnq"
        spec.write_text(f'network net = load("{path.name}")\n'
                        'param x0[4, 4] = data("x0.npz", "x0")\n'
                        f"var x[4, 4] = x0\ny = net(x)\nmaximize y[{j}]\n")
        r = nnlang.compile(spec).solve()
        assert r.status == "optimal"
        assert r.objective == pytest.approx(float(want[j]), abs=1e-5)


def test_milp_maximum_beats_every_sample_and_is_attained(tmp_path, small_cnn):
    path, lo, hi = small_cnn
    ref = reference(path)
    rng = np.random.default_rng(10)
    samples = np.concatenate([rng.uniform(0, 1, (800, 1, 4, 4)),
                              rng.integers(0, 2, (200, 1, 4, 4))]).astype(np.float32)
    sampled = float(ref(samples).reshape(len(samples), 3)[:, 1].max())  # one batch
    r = nnlang.compile(_spec(tmp_path, path.name, (4, 4), "maximize y[1]")).solve()
    assert r.status == "optimal"
    assert r.objective >= sampled - 1e-6
    x = r.values["x"]
    assert np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)
    # the optimum is attained: the reference evaluator agrees at the MILP's input
    assert float(ref(x.reshape(1, 1, 4, 4))[1]) == pytest.approx(r.objective, abs=1e-5)
    assert r.forward_gap < 1e-5


def test_verify_around_the_maximum(tmp_path, small_cnn):
    from nnlang.verify import verify

    path = small_cnn[0]
    top = nnlang.compile(_spec(tmp_path, path.name, (4, 4), "maximize y[2]")).solve().objective
    lines = [f"(declare-const X_{i} Real)" for i in range(16)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(3)]
    for i in range(16):
        lines += [f"(assert (>= X_{i} 0.0))", f"(assert (<= X_{i} 1.0))"]
    for threshold, want in ((top + 1e-3, "unsat"), (top - 1e-3, "sat")):
        prop = tmp_path / "p.vnnlib"
        prop.write_text("\n".join(lines + [f"(assert (>= Y_2 {threshold!r}))"]) + "\n")
        result = verify(path, prop, timeout=10)
        assert result.status == want
        if want == "sat":
            x = np.asarray(result.counterexample.x, dtype=np.float32).reshape(1, 1, 4, 4)
            assert float(reference(path)(x)[2]) >= threshold
