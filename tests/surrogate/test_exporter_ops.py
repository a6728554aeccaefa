"""The operators exporters write around a network (float ``Cast``, ``ai.onnx.ml``
``Scaler``), each against ``onnx.reference`` on hand-built graphs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import nnlang
from nnlang.errors import UnsupportedError
from nnlang.networks.network import Network


def graph(tmp_path, nodes, inits, n_in=3, name="g"):
    model = helper.make_model(
        helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          initializer=[numpy_helper.from_array(v.astype(np.float32), k)
                                       for k, v in inits.items()]),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("offset, scale", [([0.5, -1.0, 2.0], [2.0, 0.25, -1.0]),
                                           ([1.0], [0.5])])
def test_scaler_and_float_casts_fold_into_the_first_layer(tmp_path, offset, scale):
    rng = np.random.default_rng(4)
    W = rng.normal(size=(3, 2)).round(3)
    nodes = [helper.make_node("Scaler", ["x"], ["s"], domain="ai.onnx.ml", offset=offset,
                              scale=scale),
             helper.make_node("Cast", ["s"], ["c"], to=TensorProto.DOUBLE),
             helper.make_node("Cast", ["c"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["f", "W"], ["m"]),
             helper.make_node("Relu", ["m"], ["y"])]
    path = graph(tmp_path, nodes, {"W": W})
    net = Network.from_onnx(path)
    X = rng.normal(size=(6, 3)).astype(np.float32)
    ref = ReferenceEvaluator(str(path))
    want = np.vstack([ref.run(None, {"x": X[i:i + 1]})[0] for i in range(6)])
    np.testing.assert_allclose(net.predict(X.astype(float)), want, rtol=1e-5, atol=1e-6)


def test_a_cast_to_an_integer_is_refused(tmp_path):
    nodes = [helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64, name="toint"),
             helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)]
    path = graph(tmp_path, nodes, {})
    with pytest.raises(UnsupportedError, match="'Cast' at node 'toint'.*INT64"):
        Network.from_onnx(path)


def test_a_scaler_of_the_wrong_size_is_a_data_error(tmp_path):
    nodes = [helper.make_node("Scaler", ["x"], ["y"], domain="ai.onnx.ml", offset=[1.0, 2.0],
                              scale=[1.0], name="sc")]
    with pytest.raises(nnlang.NnlangError, match="offset has 2 entries for 3 features"):
        Network.from_onnx(graph(tmp_path, nodes, {}))


def test_an_unknown_output_option_is_named(tmp_path):
    nodes = [helper.make_node("Softmax", ["x"], ["y"])]
    path = graph(tmp_path, nodes, {})
    with pytest.raises(UnsupportedError, match="unknown network output 'probabilities'"):
        Network.from_onnx(path, output="probabilities")
    spec = 'network g = load("g.onnx", outputs = "logits")\nvar x[3] in [0, 1]\n'
    with pytest.raises(nnlang.NnlangError, match="load\\(\\) takes one option") as err:
        nnlang.compile(tmp_path / "s.nnq", text=spec)
    assert err.value.render().startswith(f"{tmp_path / 's.nnq'}:1:")
