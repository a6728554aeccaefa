"""Write a ``Network`` as an ONNX graph (``Gemm`` and ``Relu`` nodes) that
onnxruntime, nnlang's own loader and other tools read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nnlang.networks.network import Network

OPSET = 13


def to_onnx(network: Network) -> onnx.ModelProto:
    """The graph ``input -> [Flatten] -> Gemm (-> Relu) -> ... -> output`` (float32)."""
    nodes, inits = [], []
    shape = list(network.input_shape) if network.input_shape else [network.n_in]
    current = "input"
    if len(shape) > 1:
        nodes.append(helper.make_node("Flatten", [current], ["flat"], axis=1, name="flatten"))
        current = "flat"
    for k, layer in enumerate(network.layers):
        W = numpy_helper.from_array(layer.W.astype(np.float32), f"W{k}")
        b = numpy_helper.from_array(layer.b.astype(np.float32), f"b{k}")
        inits += [W, b]
        last = k == len(network.layers) - 1
        out = "output" if last and layer.activation != "relu" else f"z{k}"
        nodes.append(helper.make_node("Gemm", [current, f"W{k}", f"b{k}"], [out], transB=1,
                                      name=f"dense{k}"))
        if layer.activation == "relu":
            out_relu = "output" if last else f"h{k}"
            nodes.append(helper.make_node("Relu", [out], [out_relu], name=f"relu{k}"))
            out = out_relu
        current = out
    graph = helper.make_graph(
        nodes, network.name or "net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", network.n_out])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="nnlang")
    model.ir_version = 8  # read by onnxruntime releases of the last years
    onnx.checker.check_model(model)
    return model


def save_onnx(network: Network, path: Path) -> None:
    onnx.save(to_onnx(network), str(path))
