"""Helpers for the verification tests: random networks written as ONNX, property text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlang.networks.network import Network
from nnlang.testing import random_network

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def write_onnx(network: Network, path: Path, normalise: bool = False) -> Path:
    """``network`` as an ONNX graph of Gemm (transB) and Relu nodes, input [1, n] float32.

    ``normalise``: start with ``Sub`` 0.5 and ``Div`` 2 on the input, and fold
    the inverse into the first layer, so that the function is unchanged.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    cur = "x"
    if normalise:
        inits += [numpy_helper.from_array(np.array(0.5, np.float32), "mean"),
                  numpy_helper.from_array(np.array(2.0, np.float32), "std")]
        nodes += [helper.make_node("Sub", ["x", "mean"], ["xs"]),
                  helper.make_node("Div", ["xs", "std"], ["xn"])]
        cur = "xn"
    for k, layer in enumerate(network.layers):
        W, b = layer.W, layer.b
        if normalise and k == 0:
            # W x + b == (2 W) ((x - 0.5) / 2) + (b + 0.5 W 1)
            W, b = 2.0 * W, b + 0.5 * W.sum(axis=1)
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{k}"),
                  numpy_helper.from_array(b.astype(np.float32), f"b{k}")]
        out = f"g{k}"
        nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"b{k}"], [out], transB=1))
        cur = out
        if layer.activation == "relu":
            nodes.append(helper.make_node("Relu", [cur], [f"r{k}"]))
            cur = f"r{k}"
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    graph = helper.make_graph(
        nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, network.n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, network.n_out])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path.write_bytes(model.SerializeToString())
    return path


def float32_network(sizes: list[int], seed: int) -> Network:
    """A random network whose weights are float32 values (as an ONNX file stores them)."""
    from nnlang.networks.network import Dense

    net = random_network(sizes, seed=seed)
    layers = tuple(Dense(l.W.astype(np.float32).astype(float),
                         l.b.astype(np.float32).astype(float), l.activation)
                   for l in net.layers)
    return Network(layers, name="random")


def vnnlib_text(lo, hi, n_out: int, output: str) -> str:
    """A VNN-LIB property: the box ``[lo, hi]`` and the output formula ``output``."""
    n_in = len(lo)
    lines = [f"(declare-const X_{i} Real)" for i in range(n_in)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    for i in range(n_in):
        lines += [f"(assert (>= X_{i} {float(lo[i])!r}))", f"(assert (<= X_{i} {float(hi[i])!r}))"]
    lines.append(f"(assert {output})")
    return "\n".join(lines) + "\n"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared/data)")
    return path
