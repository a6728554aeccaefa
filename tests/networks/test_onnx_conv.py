"""ONNX Conv / AveragePool / GlobalAveragePool import, checked against onnx.reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from nnlang.errors import UnsupportedError
from nnlang.networks.onnx import load_onnx


def build(path: Path, nodes, inits: dict, in_shape, opset=13) -> Path:
    graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, list(in_shape))],
        [helper.make_empty_tensor_value_info("y")],
        initializer=[numpy_helper.from_array(np.asarray(v, np.float64), k)
                     for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def assert_matches(path: Path, in_shape, seed=0):
    net = load_onnx(path)
    ref = ReferenceEvaluator(onnx.load(str(path)))
    rng = np.random.default_rng(seed)
    for _ in range(4):
        x = rng.uniform(-1, 1, in_shape)
        want = np.asarray(ref.run(None, {"x": x})[0]).ravel()
        np.testing.assert_allclose(net.forward(x.ravel())[-1], want, rtol=1e-9, atol=1e-10)
    return net


@pytest.mark.parametrize("attrs", [
    {},
    {"strides": [2, 2]},
    {"pads": [1, 1, 1, 1]},
    {"pads": [0, 1, 2, 1], "strides": [2, 1]},
    {"dilations": [2, 2]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
    {"auto_pad": "SAME_LOWER"},
    {"auto_pad": "VALID"},
])
def test_conv_relu_gemm(tmp_path, attrs):
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Conv", ["x", "K", "kb"], ["c"], **attrs),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("MatMul", ["f", "W"], ["y"])]
    # the flattened size depends on the attributes: infer it with the reference evaluator
    probe = build(tmp_path / "probe.onnx", [helper.make_node("Conv", ["x", "K", "kb"], ["y"], **attrs)],
                  {"K": np.ones((3, 2, 3, 3)), "kb": np.ones(3)}, [1, 2, 7, 7])
    size = np.asarray(ReferenceEvaluator(onnx.load(str(probe))).run(
        None, {"x": np.zeros((1, 2, 7, 7))})[0]).size
    inits = {"K": rng.normal(size=(3, 2, 3, 3)), "kb": rng.normal(size=3),
             "W": rng.normal(size=(size, 4))}
    path = build(tmp_path / "conv.onnx", nodes, inits, [1, 2, 7, 7])
    net = assert_matches(path, (1, 2, 7, 7))
    assert [layer.activation for layer in net.layers] == ["relu", "linear"]


def test_grouped_conv_scale_shift_and_pools(tmp_path):
    rng = np.random.default_rng(2)
    nodes = [helper.make_node("Sub", ["x", "mean"], ["s"]),
             helper.make_node("Conv", ["s", "K"], ["c"], group=2, pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["c", "g"], ["cg"]),      # a folded batch norm
             helper.make_node("Add", ["cg", "bb"], ["n"]),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2],
                              pads=[0, 0, 1, 1]),
             helper.make_node("Conv", ["p", "K2"], ["c2"]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("GlobalAveragePool", ["r2"], ["ga"]),
             helper.make_node("Flatten", ["ga"], ["y"])]
    inits = {"mean": np.array(0.1), "K": rng.normal(size=(4, 1, 3, 3)),
             "g": rng.uniform(0.5, 2, (4, 1, 1)), "bb": rng.normal(size=(4, 1, 1)),
             "K2": rng.normal(size=(3, 4, 2, 2))}
    path = build(tmp_path / "cnn.onnx", nodes, inits, [1, 2, 7, 7])
    net = assert_matches(path, (1, 2, 7, 7))
    assert net.sizes[0] == 98 and net.n_out == 3


def test_average_pool_count_include_pad(tmp_path):
    nodes = [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1], count_include_pad=1)]
    assert_matches(build(tmp_path / "ap.onnx", nodes, {}, [1, 1, 5, 5]), (1, 1, 5, 5))


def test_max_pool_ceil_mode_is_refused_with_the_node_name(tmp_path):
    # MaxPool itself is supported (tests/networks/test_onnx_maxpool.py), ceil_mode is not
    nodes = [helper.make_node("MaxPool", ["x"], ["y"], name="pool1", kernel_shape=[2, 2],
                              ceil_mode=1)]
    path = build(tmp_path / "mp.onnx", nodes, {}, [1, 1, 4, 4])
    with pytest.raises(UnsupportedError, match="'MaxPool' at node 'pool1'.*ceil_mode"):
        load_onnx(path)


def test_conv1d_is_refused(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "K"], ["y"], name="c1")]
    path = build(tmp_path / "c1.onnx", nodes, {"K": np.ones((1, 1, 2))}, [1, 1, 5])
    with pytest.raises(UnsupportedError, match="'Conv' at node 'c1'"):
        load_onnx(path)
