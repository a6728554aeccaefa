"""Tests for nnlang.networks.onnx: ONNX graphs -> dense ReLU networks.

Every supported construct is checked against ``onnx.reference.ReferenceEvaluator``
(and onnxruntime when it is installed) on random inputs.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.load import load_network
from nnlang.networks.onnx import load_onnx

SHARED = Path(__file__).resolve().parents[3] / "shared"
DATA = SHARED / "data"
MNISTFC = DATA / "vnncomp-mnistfc" / "onnx" / "mnist-net_256x2.onnx"
ACASXU = DATA / "vnncomp-acasxu" / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"
ERAN = DATA / "vnncomp-eran-mnist" / "onnx" / "mnist_relu_9_200.onnx"
MNIST_IMAGES = DATA / "mnist" / "t10k-images-idx3-ubyte.gz"

F64 = TensorProto.DOUBLE
F32 = TensorProto.FLOAT


# --------------------------------------------------------------------- helpers


def _init(name: str, arr, dtype=np.float64) -> TensorProto:
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def build(path: Path, nodes, inits: dict, in_shape, *, in_name="x", out_name="y",
          elem=F64, opset=13, check=True, extra_inputs=()) -> Path:
    """Write a single-input ONNX model and return its path."""
    initializers = [
        v if isinstance(v, TensorProto) else
        _init(k, v, np.float64 if elem == F64 else np.float32)
        for k, v in inits.items()
    ]
    for t, (k, v) in zip(initializers, inits.items()):
        t.name = k
    graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info(in_name, elem, list(in_shape)), *extra_inputs],
        [helper.make_tensor_value_info(out_name, elem, None)],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if check:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _input_info(model):
    inits = {i.name for i in model.graph.initializer}
    (inp,) = [i for i in model.graph.input if i.name not in inits]
    shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1
             for d in inp.type.tensor_type.shape.dim]
    dtype = np.float64 if inp.type.tensor_type.elem_type == F64 else np.float32
    return inp.name, shape, dtype


def reference_outputs(path: Path, xs: list[np.ndarray]) -> list[np.ndarray]:
    model = onnx.load(str(path))
    name, shape, dtype = _input_info(model)
    ref = ReferenceEvaluator(model)
    return [np.asarray(ref.run(None, {name: x.reshape(shape).astype(dtype)})[0], dtype=float)
            for x in xs]


def random_inputs(path: Path, count=6, seed=0, low=-1.0, high=1.0) -> list[np.ndarray]:
    _, shape, dtype = _input_info(onnx.load(str(path)))
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, shape).astype(dtype) for _ in range(count)]


def assert_matches(path: Path, xs=None, rtol=1e-9, atol=1e-12):
    """load_onnx(path) computes what the ONNX graph computes."""
    net = load_onnx(path)
    xs = random_inputs(path) if xs is None else xs
    for x, want in zip(xs, reference_outputs(path, xs)):
        got = net.forward(np.asarray(x, dtype=float).reshape(net.input_shape))[-1]
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want.ravel(), rtol=rtol, atol=atol * scale)
        # also through the flattened input
        got_flat = net.forward(np.asarray(x, dtype=float).ravel())[-1]
        np.testing.assert_allclose(got_flat, got, rtol=0, atol=0)
    return net


def rand(rng, *shape):
    return rng.normal(size=shape)


# ----------------------------------------------------------- supported graphs


def test_gemm_transb_relu_chain(tmp_path):
    rng = np.random.default_rng(1)
    W0, b0, W1, b1 = rand(rng, 6, 4), rand(rng, 6), rand(rng, 3, 6), rand(rng, 3)
    nodes = [
        helper.make_node("Gemm", ["x", "W0", "b0"], ["h0"], transB=1, name="g0"),
        helper.make_node("Relu", ["h0"], ["r0"], name="relu0"),
        helper.make_node("Gemm", ["r0", "W1", "b1"], ["y"], transB=1, name="g1"),
    ]
    path = build(tmp_path / "gemm.onnx", nodes, dict(W0=W0, b0=b0, W1=W1, b1=b1), [1, 4])
    net = assert_matches(path)
    assert net.sizes == [4, 6, 3]
    assert [l.activation for l in net.layers] == ["relu", "linear"]
    assert net.input_shape == (4,)
    assert net.name == "gemm" and net.source == str(path)
    np.testing.assert_array_equal(net.layers[0].W, W0)
    np.testing.assert_array_equal(net.layers[1].b, b1)


@pytest.mark.parametrize("alpha", [0.01, 0.2, None])
def test_leaky_relu_is_two_relus_per_neuron(tmp_path, alpha):
    rng = np.random.default_rng(3)
    W0, b0, W1, b1 = rand(rng, 5, 4), rand(rng, 5), rand(rng, 3, 5), rand(rng, 3)
    leaky = (helper.make_node("LeakyRelu", ["h0"], ["r0"], alpha=alpha, name="leaky")
             if alpha is not None else helper.make_node("LeakyRelu", ["h0"], ["r0"]))
    nodes = [helper.make_node("Gemm", ["x", "W0", "b0"], ["h0"], transB=1, name="g0"), leaky,
             helper.make_node("Gemm", ["r0", "W1", "b1"], ["y"], transB=1, name="g1")]
    path = build(tmp_path / "leaky.onnx", nodes, dict(W0=W0, b0=b0, W1=W1, b1=b1), [1, 4])
    net = assert_matches(path, random_inputs(path, count=20, low=-3, high=3))
    assert net.sizes == [4, 10, 3]
    assert [l.activation for l in net.layers] == ["relu", "linear"]


def test_gemm_alpha_beta_transb0_and_broadcast_bias(tmp_path):
    rng = np.random.default_rng(2)
    B0, C0, B1 = rand(rng, 4, 5), rand(rng, 1, 5), rand(rng, 5, 2)
    nodes = [
        helper.make_node("Gemm", ["x", "B0", "C0"], ["h"], alpha=0.5, beta=-2.0),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "B1"], ["y"], alpha=3.0),  # no bias C
    ]
    path = build(tmp_path / "gemm2.onnx", nodes, dict(B0=B0, C0=C0, B1=B1), [1, 4])
    net = assert_matches(path)
    assert net.sizes == [4, 5, 2]
    np.testing.assert_allclose(net.layers[0].W, 0.5 * B0.T)
    np.testing.assert_allclose(net.layers[1].b, np.zeros(2))


def test_gemm_scalar_bias(tmp_path):
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("Gemm", ["x", "B", "C"], ["y"], beta=0.25)]
    path = build(tmp_path / "gs.onnx", nodes, dict(B=rand(rng, 3, 2), C=np.array(2.0)), [1, 3])
    net = assert_matches(path)
    np.testing.assert_allclose(net.layers[0].b, [0.5, 0.5])


def test_matmul_add_with_bias_first(tmp_path):
    rng = np.random.default_rng(4)
    nodes = [
        helper.make_node("MatMul", ["x", "W0"], ["m0"]),
        helper.make_node("Add", ["b0", "m0"], ["a0"]),  # constant on the left
        helper.make_node("Relu", ["a0"], ["r0"]),
        helper.make_node("MatMul", ["r0", "W1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["y"]),
    ]
    inits = dict(W0=rand(rng, 3, 7), b0=rand(rng, 7), W1=rand(rng, 7, 2), b1=rand(rng, 2))
    path = build(tmp_path / "mm.onnx", nodes, inits, [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 7, 2]
    np.testing.assert_array_equal(net.layers[0].W, inits["W0"].T)


def test_matmul_on_a_1d_input(tmp_path):
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]),
             helper.make_node("Relu", ["m"], ["y"])]
    path = build(tmp_path / "vec.onnx", nodes, dict(W=rand(rng, 4, 3)), [4])
    net = assert_matches(path)
    assert net.sizes == [4, 3] and net.layers[-1].activation == "relu"


def test_matmul_with_constant_on_the_left(tmp_path):
    # y = relu(A @ x + c) on a column-vector input of shape [5, 1].
    rng = np.random.default_rng(6)
    nodes = [
        helper.make_node("MatMul", ["A", "x"], ["m"]),
        helper.make_node("Add", ["m", "c"], ["a"]),
        helper.make_node("Relu", ["a"], ["r"]),
        helper.make_node("MatMul", ["A2", "r"], ["y"]),
    ]
    inits = dict(A=rand(rng, 4, 5), c=rand(rng, 4, 1), A2=rand(rng, 2, 4))
    path = build(tmp_path / "left.onnx", nodes, inits, [5, 1])
    net = assert_matches(path)
    assert net.sizes == [5, 4, 2]
    assert net.input_shape == (5,)


def test_matmul_batched_constant_and_matrix_valued_input(tmp_path):
    # x of shape [3, 4] (not a vector): x @ W and then W' @ (.) both stay affine.
    rng = np.random.default_rng(7)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["m"]),         # [3, 2]
        helper.make_node("MatMul", ["L", "m"], ["l"]),         # [2, 5, 2] (batched L)
        helper.make_node("MatMul", ["l", "v"], ["y"]),         # [2, 5]
    ]
    inits = dict(W=rand(rng, 4, 2), L=rand(rng, 2, 5, 3), v=rand(rng, 2))
    path = build(tmp_path / "batched.onnx", nodes, inits, [3, 4])
    net = assert_matches(path)
    assert net.sizes == [12, 10]
    assert net.input_shape == (3, 4)


def test_sub_div_normalization_is_folded(tmp_path):
    rng = np.random.default_rng(8)
    mean, std = rand(rng, 1, 4), rng.uniform(0.5, 2.0, size=(1, 4))
    W0, b0, W1 = rand(rng, 4, 6), rand(rng, 6), rand(rng, 6, 2)
    nodes = [
        helper.make_node("Sub", ["x", "mean"], ["s"]),
        helper.make_node("Div", ["s", "std"], ["d"]),
        helper.make_node("MatMul", ["d", "W0"], ["m0"]),
        helper.make_node("Add", ["m0", "b0"], ["a0"]),
        helper.make_node("Relu", ["a0"], ["r0"]),
        helper.make_node("MatMul", ["r0", "W1"], ["y"]),
    ]
    path = build(tmp_path / "norm.onnx", nodes,
                 dict(mean=mean, std=std, W0=W0, b0=b0, W1=W1), [1, 4])
    net = assert_matches(path)
    assert net.sizes == [4, 6, 2]          # no extra layer for the normalisation
    np.testing.assert_allclose(net.layers[0].W, W0.T / std)
    np.testing.assert_allclose(net.layers[0].b, b0 - ((mean / std) @ W0).ravel())


def test_scalar_normalization_constant_nodes_and_flatten(tmp_path):
    # Like the ERAN net: Constant Sub 0.1307, Constant Div 0.3081, Flatten of [1,1,4,4].
    rng = np.random.default_rng(9)
    W, b = rand(rng, 5, 16), rand(rng, 5)
    mk = lambda name, v: helper.make_node(
        "Constant", [], [name], value=_init(name, v))
    nodes = [
        mk("mu", 0.1307), helper.make_node("Sub", ["x", "mu"], ["s"]),
        mk("sd", 0.3081), helper.make_node("Div", ["s", "sd"], ["d"]),
        helper.make_node("Flatten", ["d"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "W", "b"], ["g"], transB=1),
        helper.make_node("Relu", ["g"], ["y"]),
    ]
    path = build(tmp_path / "flat.onnx", nodes, dict(W=W, b=b), [1, 1, 4, 4])
    net = assert_matches(path, xs=random_inputs(tmp_path / "flat.onnx", low=0, high=1))
    assert net.input_shape == (4, 4)
    assert net.sizes == [16, 5]
    assert net.layers[0].activation == "relu"
    # a 4x4 image goes straight in
    x = np.random.default_rng(0).uniform(size=(4, 4))
    np.testing.assert_allclose(net.forward(x)[-1],
                               np.maximum(W @ ((x.ravel() - 0.1307) / 0.3081) + b, 0))


def test_constant_minus_x_mul_vector_neg(tmp_path):
    rng = np.random.default_rng(10)
    nodes = [
        helper.make_node("Sub", ["c", "x"], ["s"]),      # c - x
        helper.make_node("Mul", ["s", "scale"], ["m"]),  # * vector
        helper.make_node("Mul", ["two", "m"], ["m2"]),   # scalar * (constant first)
        helper.make_node("Neg", ["m2"], ["n"]),
        helper.make_node("Div", ["n", "three"], ["d"]),
        helper.make_node("MatMul", ["d", "W"], ["y"]),
    ]
    inits = dict(c=rand(rng, 4), scale=rand(rng, 4), two=np.array(2.0),
                 three=np.array([3.0]), W=rand(rng, 4, 3))
    path = build(tmp_path / "arith.onnx", nodes, inits, [1, 4])
    net = assert_matches(path)
    assert net.sizes == [4, 3] and net.layers[0].activation == "linear"


def test_identity_and_relu_of_relu(tmp_path):
    rng = np.random.default_rng(11)
    nodes = [
        helper.make_node("Identity", ["x"], ["i0"]),
        helper.make_node("Gemm", ["i0", "W0", "b0"], ["g0"], transB=1),
        helper.make_node("Relu", ["g0"], ["r0"]),
        helper.make_node("Relu", ["r0"], ["r1"]),        # folded: a no-op
        helper.make_node("Identity", ["r1"], ["i1"]),
        helper.make_node("Gemm", ["i1", "W1", "b1"], ["g1"], transB=1),
        helper.make_node("Identity", ["g1"], ["y"]),
    ]
    inits = dict(W0=rand(rng, 5, 3), b0=rand(rng, 5), W1=rand(rng, 2, 5), b1=rand(rng, 2))
    path = build(tmp_path / "ident.onnx", nodes, inits, [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 5, 2]
    assert [l.activation for l in net.layers] == ["relu", "linear"]


def test_relu_after_shifted_relu_is_a_new_layer(tmp_path):
    # relu(relu(h) + c) is not relu(h) + c: it must not be folded away.
    rng = np.random.default_rng(12)
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["m"]),
        helper.make_node("Relu", ["m"], ["r0"]),
        helper.make_node("Add", ["r0", "c"], ["a"]),
        helper.make_node("Relu", ["a"], ["y"]),
    ]
    path = build(tmp_path / "rr.onnx", nodes, dict(W=rand(rng, 3, 4), c=-np.ones(4)), [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 4, 4]
    np.testing.assert_array_equal(net.layers[1].W, np.eye(4))


def test_relu_on_the_input_and_identity_network(tmp_path):
    path = build(tmp_path / "r.onnx", [helper.make_node("Relu", ["x"], ["y"])], {}, [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 3] and net.layers[0].activation == "relu"
    path = build(tmp_path / "id.onnx", [helper.make_node("Identity", ["x"], ["y"])], {}, [2, 2])
    net = assert_matches(path)
    assert net.sizes == [4, 4] and net.layers[0].activation == "linear"
    np.testing.assert_array_equal(net.layers[0].W, np.eye(4))


def test_trailing_relu_gives_no_linear_layer(tmp_path):
    rng = np.random.default_rng(13)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("Reshape", ["r", "shape"], ["y"])]
    inits = dict(W=rand(rng, 6, 3), b=rand(rng, 6),
                 shape=_init("shape", [2, 3], np.int64))
    path = build(tmp_path / "tr.onnx", nodes, inits, [1, 3])
    net = assert_matches(path)
    assert [l.activation for l in net.layers] == ["relu"]


@pytest.mark.parametrize("opset", [11, 13])
def test_reshape_squeeze_unsqueeze(tmp_path, opset):
    rng = np.random.default_rng(14)
    if opset >= 13:
        sq = helper.make_node("Squeeze", ["u", "ax0"], ["s"])
        unsq = helper.make_node("Unsqueeze", ["m", "ax0"], ["u"])
    else:
        sq = helper.make_node("Squeeze", ["u"], ["s"], axes=[0])
        unsq = helper.make_node("Unsqueeze", ["m"], ["u"], axes=[0])
    nodes = [
        helper.make_node("Reshape", ["x", "shp"], ["r"]),    # [1,2,3,1] -> [1, 6] (0 copies)
        helper.make_node("MatMul", ["r", "W"], ["m"]),       # [1, 4]
        unsq,                                                # [1, 1, 4]
        sq,                                                  # [1, 4]
        helper.make_node("Squeeze", ["s"], ["s2"]),          # all size-1 axes: [4]
        helper.make_node("Relu", ["s2"], ["y"]),
    ]
    inits = dict(W=rand(rng, 6, 4), shp=_init("shp", [0, -1], np.int64),
                 ax0=_init("ax0", [0], np.int64))
    path = build(tmp_path / f"shape{opset}.onnx", nodes, inits, [1, 2, 3, 1], opset=opset)
    net = assert_matches(path)
    assert net.input_shape == (2, 3)
    assert net.sizes == [6, 4]


def test_pytorch_style_flatten_with_shape_gather_concat(tmp_path):
    # x.view(x.size(0), -1) as exported by torch: Shape -> Gather -> Unsqueeze -> Concat.
    rng = np.random.default_rng(15)
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["x", "newshape"], ["f"]),
        helper.make_node("Transpose", ["Wt"], ["W"], perm=[1, 0]),   # constant-folded
        helper.make_node("MatMul", ["f", "W"], ["m"]),
        helper.make_node("Relu", ["m"], ["y"]),
    ]
    inits = dict(zero=_init("zero", 0, np.int64), ax0=_init("ax0", [0], np.int64),
                 minus1=_init("minus1", [-1], np.int64), Wt=rand(rng, 5, 12))
    # (shape inference cannot type the output here, so skip the checker)
    path = build(tmp_path / "torchflat.onnx", nodes, inits, ["N", 3, 4], check=False)
    net = assert_matches(path)
    assert net.input_shape == (3, 4)
    assert net.sizes == [12, 5]


def test_transpose_of_the_value(tmp_path):
    # NHWC-style data reordering: transpose then flatten.
    rng = np.random.default_rng(16)
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Flatten", ["t"], ["f"]),
        helper.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1),
    ]
    path = build(tmp_path / "tp.onnx", nodes,
                 dict(W=rand(rng, 3, 24), b=rand(rng, 3)), [1, 2, 3, 4])
    net = assert_matches(path)
    assert net.input_shape == (2, 3, 4)


def test_gemm_trans_a_and_value_as_second_operand(tmp_path):
    rng = np.random.default_rng(17)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"]),                 # [4, 1]
        helper.make_node("Gemm", ["xt", "B", "C"], ["g"], transA=1),  # [1, 3]
        helper.make_node("Relu", ["g"], ["r"]),
        helper.make_node("Gemm", ["A", "r", "C2"], ["y"], transB=1),  # A @ r^T: [2, 1]
    ]
    inits = dict(B=rand(rng, 4, 3), C=rand(rng, 3), A=rand(rng, 2, 3), C2=rand(rng, 2, 1))
    path = build(tmp_path / "ta.onnx", nodes, inits, [1, 4])
    net = assert_matches(path)
    assert net.sizes == [4, 3, 2]


def test_batch_normalization_and_dropout(tmp_path):
    rng = np.random.default_rng(18)
    nodes = [
        helper.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1),
        helper.make_node("BatchNormalization", ["g", "sc", "bi", "mu", "var"], ["bn"],
                         epsilon=1e-3),
        helper.make_node("Dropout", ["bn"], ["dr"]),
        helper.make_node("Relu", ["dr"], ["y"]),
    ]
    inits = dict(W=rand(rng, 5, 3), b=rand(rng, 5), sc=rand(rng, 5), bi=rand(rng, 5),
                 mu=rand(rng, 5), var=rng.uniform(0.5, 2, 5))
    # opset 15: onnx.reference computes opset-9..13 BatchNormalization with batch
    # statistics (training mode), which is not what the spec says for one output.
    path = build(tmp_path / "bn.onnx", nodes, inits, [1, 3], opset=15)
    net = assert_matches(path)
    assert net.sizes == [3, 5]


def test_two_affine_branches_of_one_layer_merge(tmp_path):
    # relu(x @ W1 + x @ W2 - x @ W3): a diamond inside one affine block is fine.
    rng = np.random.default_rng(19)
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["a"]),
        helper.make_node("MatMul", ["x", "W2"], ["b"]),
        helper.make_node("MatMul", ["x", "W3"], ["c"]),
        helper.make_node("Add", ["a", "b"], ["ab"]),
        helper.make_node("Sub", ["ab", "c"], ["abc"]),
        helper.make_node("Sum", ["abc", "a", "bias"], ["s"]),
        helper.make_node("Relu", ["s"], ["y"]),
    ]
    inits = dict(W1=rand(rng, 3, 4), W2=rand(rng, 3, 4), W3=rand(rng, 3, 4), bias=rand(rng, 4))
    path = build(tmp_path / "diamond.onnx", nodes, inits, [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 4]


def test_unused_nodes_are_ignored(tmp_path):
    rng = np.random.default_rng(20)
    nodes = [
        helper.make_node("Relu", ["x"], ["dead"]),       # not on the path to the output
        helper.make_node("Sigmoid", ["dead"], ["dead2"]),
        helper.make_node("MatMul", ["x", "W"], ["y"]),
    ]
    path = build(tmp_path / "dead.onnx", nodes, dict(W=rand(rng, 3, 2)), [1, 3])
    net = assert_matches(path)
    assert net.sizes == [3, 2]


def test_float32_model(tmp_path):
    rng = np.random.default_rng(21)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("Gemm", ["r", "W1", "b1"], ["y"], transB=1)]
    inits = dict(W=rand(rng, 8, 4), b=rand(rng, 8), W1=rand(rng, 2, 8), b1=rand(rng, 2))
    path = build(tmp_path / "f32.onnx", nodes, inits, [1, 4], elem=F32)
    net = assert_matches(path, rtol=1e-5, atol=1e-5)
    assert net.layers[0].W.dtype == np.float64
    np.testing.assert_array_equal(net.layers[0].W, inits["W"].astype(np.float32))


def test_initializers_listed_as_graph_inputs(tmp_path):
    # IR version 3 style (like the ACAS Xu files): weights also appear as graph inputs.
    rng = np.random.default_rng(22)
    W = rand(rng, 3, 2)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"])]
    extra = [helper.make_tensor_value_info("W", F64, [3, 2])]
    path = build(tmp_path / "ir3.onnx", nodes, dict(W=W), [1, 3], extra_inputs=extra)
    net = assert_matches(path)
    assert net.sizes == [3, 2]


@pytest.mark.parametrize("shape, expected", [
    ([1, 1, 28, 28], (28, 28)),
    ([1, 784, 1], (784,)),
    ([1, 5], (5,)),
    (["batch", 3, 4], (3, 4)),
    ([1, 1], (1,)),
])
def test_input_shape(tmp_path, shape, expected):
    path = build(tmp_path / "s.onnx", [helper.make_node("Flatten", ["x"], ["f"]),
                                       helper.make_node("Relu", ["f"], ["y"])], {}, shape)
    net = load_onnx(path)
    assert net.input_shape == expected
    assert net.n_in == int(np.prod(expected))


def test_load_network_dispatches_to_onnx(tmp_path):
    rng = np.random.default_rng(23)
    nodes = [helper.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("Gemm", ["r", "W1", "b1"], ["y"], transB=1)]
    inits = dict(W=rand(rng, 4, 3), b=rand(rng, 4), W1=rand(rng, 2, 4), b1=rand(rng, 2))
    path = build(tmp_path / "disp.onnx", nodes, inits, [1, 3])
    net = load_network(path)
    assert net.sizes == [3, 4, 2]
    net2 = load_network(str(path), ["relu", "relu"])
    assert [l.activation for l in net2.layers] == ["relu", "relu"]


@st.composite
def dense_chains(draw):
    """A random MLP written with a random mix of ONNX spellings."""
    n_layers = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 6), min_size=n_layers + 1, max_size=n_layers + 1))
    style = draw(st.lists(st.sampled_from(["gemmT", "gemm", "matmul_add", "matmul"]),
                          min_size=n_layers, max_size=n_layers))
    relu_last = draw(st.booleans())
    normalize = draw(st.booleans())
    seed = draw(st.integers(0, 2**31 - 1))
    return widths, style, relu_last, normalize, seed


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dense_chains())
def test_random_dense_chains(tmp_path, chain):
    widths, style, relu_last, normalize, seed = chain
    rng = np.random.default_rng(seed)
    nodes, inits = [], {}
    cur = "x"
    if normalize:
        inits["mean"], inits["std"] = rand(rng, widths[0]), rng.uniform(0.2, 3, widths[0])
        nodes += [helper.make_node("Sub", ["x", "mean"], ["xs"]),
                  helper.make_node("Div", ["xs", "std"], ["xn"])]
        cur = "xn"
    for k, how in enumerate(style):
        n_in, n_out = widths[k], widths[k + 1]
        W, b = rand(rng, n_out, n_in), rand(rng, n_out)
        out = f"a{k}"
        if how == "gemmT":
            inits[f"W{k}"], inits[f"b{k}"] = W, b
            nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"b{k}"], [out], transB=1))
        elif how == "gemm":
            inits[f"W{k}"], inits[f"b{k}"] = W.T, b
            nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"b{k}"], [out]))
        elif how == "matmul_add":
            inits[f"W{k}"], inits[f"b{k}"] = W.T, b
            nodes += [helper.make_node("MatMul", [cur, f"W{k}"], [f"m{k}"]),
                      helper.make_node("Add", [f"m{k}", f"b{k}"], [out])]
        else:
            inits[f"W{k}"] = W.T
            nodes.append(helper.make_node("MatMul", [cur, f"W{k}"], [out]))
        cur = out
        if k < len(style) - 1 or relu_last:
            nodes.append(helper.make_node("Relu", [cur], [f"r{k}"]))
            cur = f"r{k}"
    nodes.append(helper.make_node("Identity", [cur], ["y"]))
    path = build(tmp_path / f"chain{seed}.onnx", nodes, inits, [1, widths[0]])
    net = assert_matches(path, xs=random_inputs(path, count=4, seed=seed, low=-3, high=3))
    assert net.sizes == widths
    acts = ["relu"] * (len(style) - 1) + ["relu" if relu_last else "linear"]
    assert [l.activation for l in net.layers] == acts


ELEMENTWISE = ["add", "sub", "rsub", "mul", "div", "neg", "identity", "reshape",
               "transpose", "self_sum", "relu"]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(1, 5), m=st.integers(1, 4),
       ops=st.lists(st.tuples(st.sampled_from(ELEMENTWISE),
                              st.sampled_from(["scalar", "vector", "row"])), max_size=7),
       seed=st.integers(0, 2**31 - 1))
def test_random_elementwise_pipelines(tmp_path, k, m, ops, seed):
    """Random chains of elementwise and shape ops on a [1, k] value, then a MatMul."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], {}
    cur = "x"
    for j, (op, cshape) in enumerate(ops):
        c = f"c{j}"
        shape = {"scalar": (), "vector": (k,), "row": (1, k)}[cshape]
        value = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        out = f"t{j}"
        if op in ("add", "sub", "mul", "div"):
            inits[c] = value
            name = op.capitalize()
            args = [c, cur] if (op in ("add", "mul") and rng.random() < 0.5) else [cur, c]
            nodes.append(helper.make_node(name, args, [out]))
        elif op == "rsub":
            inits[c] = value
            nodes.append(helper.make_node("Sub", [c, cur], [out]))
        elif op == "neg":
            nodes.append(helper.make_node("Neg", [cur], [out]))
        elif op == "identity":
            nodes.append(helper.make_node("Identity", [cur], [out]))
        elif op == "reshape":  # [1, k] -> [k, 1] -> [1, k]
            inits[c] = _init(c, [k, 1], np.int64)
            inits[c + "b"] = _init(c + "b", [1, -1], np.int64)
            nodes += [helper.make_node("Reshape", [cur, c], [out + "r"]),
                      helper.make_node("Reshape", [out + "r", c + "b"], [out])]
        elif op == "transpose":  # [1, k] -> [k, 1] -> [1, k]
            nodes += [helper.make_node("Transpose", [cur], [out + "t"]),
                      helper.make_node("Transpose", [out + "t"], [out])]
        elif op == "self_sum":  # v + 2 v, an affine diamond
            inits[c] = np.array(2.0)
            nodes += [helper.make_node("Mul", [cur, c], [out + "m"]),
                      helper.make_node("Add", [cur, out + "m"], [out])]
        else:
            nodes.append(helper.make_node("Relu", [cur], [out]))
        cur = out
    inits["W"] = rand(rng, k, m)
    nodes.append(helper.make_node("MatMul", [cur, "W"], ["y"]))
    path = build(tmp_path / f"pipe{seed}.onnx", nodes, inits, [1, k])
    net = assert_matches(path, xs=random_inputs(path, count=4, seed=seed, low=-2, high=2))
    assert net.n_in == k and net.n_out == m


def test_matches_onnxruntime_when_installed(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(24)
    nodes = [helper.make_node("Sub", ["x", "mean"], ["s"]),
             helper.make_node("Flatten", ["s"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "b"], ["g"], transB=1),
             helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("MatMul", ["r", "W1"], ["y"])]
    inits = dict(mean=rand(rng, 1, 2, 2), W=rand(rng, 5, 4), b=rand(rng, 5), W1=rand(rng, 5, 3))
    path = build(tmp_path / "ort.onnx", nodes, inits, [1, 2, 2], elem=F32)
    net = load_onnx(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for x in random_inputs(path):
        want = sess.run(None, {"x": x})[0].ravel()
        np.testing.assert_allclose(net.forward(x.reshape(-1))[-1], want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- errors


def test_a_hidden_sigmoid_is_unsupported(tmp_path):
    # a Sigmoid at the end is a classifier's head (tests/surrogate/test_onnx_exports.py)
    rng = np.random.default_rng(30)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"], name="mm"),
             helper.make_node("Sigmoid", ["m"], ["s"], name="act1"),
             helper.make_node("MatMul", ["s", "W2"], ["y"], name="mm2")]
    path = build(tmp_path / "sig.onnx", nodes, dict(W=rand(rng, 3, 2), W2=rand(rng, 2, 2)),
                 [1, 3])
    with pytest.raises(UnsupportedError) as err:
        load_onnx(path)
    assert str(err.value) == f"unsupported ONNX operator 'Sigmoid' at node 'act1' in '{path}'"


# Conv and MaxPool are supported since issue 6 (tests/networks/test_onnx_conv.py,
# test_onnx_maxpool.py).
@pytest.mark.parametrize("op, extra", [("LpPool", {"kernel_shape": [2, 2]}), ("Softplus", {})])
def test_other_unsupported_operators(tmp_path, op, extra):
    inputs = ["x", "K"] if op == "Conv" else ["x"]
    inits = {"K": np.ones((1, 1, 2, 2))} if op == "Conv" else {}
    nodes = [helper.make_node(op, inputs, ["y"], name="bad", **extra)]
    path = build(tmp_path / f"{op}.onnx", nodes, inits, [1, 1, 4, 4])
    with pytest.raises(UnsupportedError, match=rf"unsupported ONNX operator '{op}' at node "
                                               rf"'bad' in '.*{op}\.onnx'"):
        load_onnx(path)


def test_unnamed_node_is_named_by_its_output(tmp_path):
    path = build(tmp_path / "tanh.onnx", [helper.make_node("Tanh", ["x"], ["y"])], {}, [1, 3])
    with pytest.raises(UnsupportedError, match="operator 'Tanh' at node 'y'"):
        load_onnx(path)


def test_product_of_two_values_is_unsupported(tmp_path):
    nodes = [helper.make_node("Mul", ["x", "x"], ["y"], name="sq")]
    path = build(tmp_path / "sq.onnx", nodes, {}, [1, 3])
    with pytest.raises(UnsupportedError, match="'Mul' at node 'sq'.*not affine"):
        load_onnx(path)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"]),
             helper.make_node("MatMul", ["xt", "x"], ["y"], name="outer")]
    path = build(tmp_path / "outer.onnx", nodes, {}, [1, 3])
    with pytest.raises(UnsupportedError, match="'MatMul' at node 'outer'"):
        load_onnx(path)
    nodes = [helper.make_node("Div", ["one", "x"], ["y"], name="inv")]
    path = build(tmp_path / "inv.onnx", nodes, dict(one=np.ones(3)), [1, 3])
    with pytest.raises(UnsupportedError, match="'Div' at node 'inv'"):
        load_onnx(path)


def test_skip_connection_is_unsupported(tmp_path):
    rng = np.random.default_rng(31)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]),
             helper.make_node("Relu", ["m"], ["r"], name="relu1"),
             helper.make_node("Add", ["r", "m"], ["y"], name="res")]
    path = build(tmp_path / "skip.onnx", nodes, dict(W=rand(rng, 3, 3)), [1, 3])
    with pytest.raises(UnsupportedError, match="not a simple chain.*'res'.*'relu1'"):
        load_onnx(path)


def test_several_graph_inputs_are_unsupported(tmp_path):
    nodes = [helper.make_node("Add", ["x", "z"], ["y"])]
    extra = [helper.make_tensor_value_info("z", F64, [1, 3])]
    path = build(tmp_path / "two.onnx", nodes, {}, [1, 3], extra_inputs=extra)
    with pytest.raises(UnsupportedError, match="2 graph inputs"):
        load_onnx(path)


def test_symbolic_data_dimension_is_unsupported(tmp_path):
    path = build(tmp_path / "sym.onnx", [helper.make_node("Relu", ["x"], ["y"])], {},
                 [1, 3, "n"])
    with pytest.raises(UnsupportedError, match="symbolic dimension 'n'"):
        load_onnx(path)


def test_output_independent_of_input(tmp_path):
    nodes = [helper.make_node("Identity", ["c"], ["y"])]
    path = build(tmp_path / "const.onnx", nodes, dict(c=np.ones(2)), [1, 3])
    with pytest.raises(DataError, match="does not depend on the graph input"):
        load_onnx(path)


@pytest.mark.parametrize("content", [b"", b"this is not an onnx file\n", b"\xff" * 64])
def test_malformed_file(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"bad\.onnx"):
        load_onnx(path)


def test_truncated_file(tmp_path):
    rng = np.random.default_rng(32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"])]
    good = build(tmp_path / "good.onnx", nodes, dict(W=rand(rng, 30, 20)), [1, 30])
    bad = tmp_path / "trunc.onnx"
    bad.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"trunc\.onnx"):
        load_onnx(bad)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_network(tmp_path / "nope.onnx")
    with pytest.raises(DataError, match=r"nope\.onnx"):
        load_onnx(tmp_path / "nope.onnx")


def test_undefined_tensor(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"])]
    path = build(tmp_path / "undef.onnx", nodes, {}, [1, 3], check=False)
    with pytest.raises(DataError, match="'W' is used but never defined"):
        load_onnx(path)


def test_nan_weights(tmp_path):
    W = np.ones((3, 2))
    W[1, 0] = np.nan
    path = build(tmp_path / "nan.onnx", [helper.make_node("MatMul", ["x", "W"], ["m"]),
                                         helper.make_node("Relu", ["m"], ["y"])],
                 dict(W=W), [1, 3])
    with pytest.raises(DataError, match=r"nan\.onnx.*NaN/inf"):
        load_onnx(path)


def test_division_by_zero(tmp_path):
    path = build(tmp_path / "div0.onnx", [helper.make_node("Div", ["x", "s"], ["y"])],
                 dict(s=np.array([1.0, 0.0, 2.0])), [1, 3])
    with pytest.raises(DataError, match="divides by zero"):
        load_onnx(path)


def test_shape_mismatch(tmp_path):
    path = build(tmp_path / "mis.onnx", [helper.make_node("MatMul", ["x", "W"], ["y"])],
                 dict(W=np.ones((4, 2))), [1, 3], check=False)
    with pytest.raises(DataError, match="shapes do not match"):
        load_onnx(path)


# ------------------------------------------------------------ VNN-COMP networks


def _mnist_images(count: int) -> list[np.ndarray]:
    if not MNIST_IMAGES.exists():
        return []
    with gzip.open(MNIST_IMAGES, "rb") as fh:
        raw = fh.read(16 + 784 * count)
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 784)
    return [p.astype(np.float32) / 255.0 for p in pixels]


def _skip_missing(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not available")


def test_vnncomp_mnistfc_256x2():
    _skip_missing(MNISTFC)
    net = load_onnx(MNISTFC)
    assert net.sizes == [784, 256, 256, 10]
    assert [l.activation for l in net.layers] == ["relu", "relu", "linear"]
    assert net.input_shape == (784,)
    assert net.name == "mnist-net_256x2"
    xs = [x.reshape(1, 784, 1) for x in _mnist_images(5)]
    xs += random_inputs(MNISTFC, count=2, low=0, high=1)
    assert_matches(MNISTFC, xs=xs, rtol=1e-4, atol=1e-5)


def test_vnncomp_acasxu():
    _skip_missing(ACASXU)
    net = load_onnx(ACASXU)
    assert net.sizes == [5, 50, 50, 50, 50, 50, 50, 5]
    assert [l.activation for l in net.layers] == ["relu"] * 6 + ["linear"]
    assert net.input_shape == (5,)
    assert_matches(ACASXU, xs=random_inputs(ACASXU, count=6, low=-0.5, high=0.5),
                   rtol=1e-4, atol=1e-6)


def test_vnncomp_eran_mnist_relu_9_200():
    _skip_missing(ERAN)
    net = load_onnx(ERAN)
    assert len(net.layers) == 9
    assert net.sizes == [784] + [200] * 8 + [10]
    assert all(l.activation == "relu" for l in net.layers)   # the output has a ReLU too
    assert net.input_shape == (28, 28)
    xs = [x.reshape(1, 1, 28, 28) for x in _mnist_images(5)]
    xs += random_inputs(ERAN, count=2, low=0, high=1)
    assert_matches(ERAN, xs=xs, rtol=1e-4, atol=1e-5)


def test_nodes_out_of_order_are_sorted(tmp_path):
    rng = np.random.default_rng(40)
    nodes = [helper.make_node("MatMul", ["r", "W1"], ["y"]),
             helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("MatMul", ["x", "W0"], ["m"])]
    inits = dict(W0=rand(rng, 3, 4), W1=rand(rng, 4, 2))
    path = build(tmp_path / "order.onnx", nodes, inits, [1, 3], check=False)
    net = load_onnx(path)   # (onnx.reference needs sorted nodes, so compare by hand)
    assert net.sizes == [3, 4, 2]
    x = rng.normal(size=3)
    np.testing.assert_allclose(net.predict(x),
                               np.maximum(x @ inits["W0"], 0) @ inits["W1"], rtol=1e-12)


def test_cycle_is_a_data_error(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"]),
             helper.make_node("Add", ["a", "y"], ["b"]),
             helper.make_node("Relu", ["b"], ["y"])]
    path = build(tmp_path / "cycle.onnx", nodes, {}, [1, 3], check=False)
    with pytest.raises(DataError, match="cycle"):
        load_onnx(path)
