"""The ONNX operators nnlang reads on the network value: ``OPS`` maps an operator's
name to ``handler(walker, node)``. Adding an operator is one function here and one
entry in ``OPS``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlang.networks.network import Dense
from nnlang.networks.onnx.affine import (
    Affine,
    broadcast_W,
    matmul_left,
    matmul_right,
    scale_affine,
    transpose_affine,
)
from nnlang.networks.onnx.exporter_ops import op_Cast, op_Scaler
from nnlang.networks.onnx.graph import node_attrs, node_name
from nnlang.networks.onnx.image_ops import (
    op_AveragePool,
    op_Conv,
    op_GlobalAveragePool,
    op_MaxPool,
)

# Shape-only operators -------------------------------------------------


def op_Identity(w, node: Any) -> None:
    w.set_value(node.output[0], w.value(node, node.input[0]))


def op_Dropout(w, node: Any) -> None:
    if len(node.input) > 2 and node.input[2]:
        training = w.const(node, node.input[2], dtype=None)
        if bool(np.asarray(training).ravel()[0]):
            raise w.unsupported(node, "training_mode is true")
    if len(node.output) > 1 and node.output[1]:
        raise w.unsupported(node, "its mask output is used")
    op_Identity(w, node)


def op_Flatten(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    r = len(aff.shape)
    axis = int(node_attrs(node).get("axis", 1))
    if axis < 0:
        axis += r
    if not 0 <= axis <= r:
        raise w.data_error(node, f"axis {axis} out of range for rank {r}")
    shape = (math.prod(aff.shape[:axis]), math.prod(aff.shape[axis:]))
    w.set_value(node.output[0], aff.with_shape(shape))


def op_Reshape(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    attrs = node_attrs(node)
    if len(node.input) > 1 and node.input[1]:
        target = [int(v) for v in w.const(node, node.input[1], dtype=np.int64).ravel()]
    elif "shape" in attrs:
        target = [int(v) for v in attrs["shape"]]
    else:
        raise w.data_error(node, "no target shape")
    allowzero = int(attrs.get("allowzero", 0))
    out = []
    for k, d in enumerate(target):
        if d == 0 and not allowzero:
            if k >= len(aff.shape):
                raise w.data_error(node, f"dimension {k} of {target} copies a "
                                            f"dimension the input {aff.shape} lacks")
            out.append(aff.shape[k])
        else:
            out.append(d)
    if out.count(-1) > 1 or any(d < -1 for d in out):
        raise w.data_error(node, f"invalid target shape {target}")
    if -1 in out:
        rest = math.prod(d for d in out if d != -1)
        if rest == 0 or aff.size % rest:
            raise w.data_error(node, f"cannot reshape {aff.shape} to {target}")
        out[out.index(-1)] = aff.size // rest
    if math.prod(out) != aff.size:
        raise w.data_error(node, f"cannot reshape {aff.shape} to {target}")
    w.set_value(node.output[0], aff.with_shape(tuple(out)))


def axes_of(w, node: Any) -> list[int] | None:
    if len(node.input) > 1 and node.input[1]:
        return [int(v) for v in w.const(node, node.input[1], dtype=np.int64).ravel()]
    axes = node_attrs(node).get("axes")
    return None if axes is None else [int(a) for a in axes]


def op_Squeeze(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    r = len(aff.shape)
    axes = axes_of(w, node)
    if axes is None:
        drop = {k for k, d in enumerate(aff.shape) if d == 1}
    else:
        drop = {a + r if a < 0 else a for a in axes}
        if any(not 0 <= a < r or aff.shape[a] != 1 for a in drop):
            raise w.data_error(node, f"cannot squeeze axes {axes} of shape {aff.shape}")
    shape = tuple(d for k, d in enumerate(aff.shape) if k not in drop)
    w.set_value(node.output[0], aff.with_shape(shape))


def op_Unsqueeze(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    axes = axes_of(w, node)
    if not axes:
        raise w.data_error(node, "no axes")
    r = len(aff.shape) + len(axes)
    norm = sorted(a + r if a < 0 else a for a in axes)
    if len(set(norm)) != len(norm) or any(not 0 <= a < r for a in norm):
        raise w.data_error(node, f"invalid axes {axes} for output rank {r}")
    shape = list(aff.shape)
    for a in norm:
        shape.insert(a, 1)
    w.set_value(node.output[0], aff.with_shape(tuple(shape)))


def op_Transpose(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    r = len(aff.shape)
    perm = node_attrs(node).get("perm")
    perm = list(range(r))[::-1] if perm is None else [int(p) for p in perm]
    if sorted(perm) != list(range(r)):
        raise w.data_error(node, f"perm {perm} is not a permutation of rank {r}")
    w.set_value(node.output[0], transpose_affine(aff, perm))


def op_Shape(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    shape = np.array(aff.shape, dtype=np.int64)
    attrs = node_attrs(node)
    r = len(aff.shape)
    start = int(attrs.get("start", 0))
    end = attrs.get("end")
    start = min(max(start + r if start < 0 else start, 0), r)
    if end is None:
        end = r
    else:
        end = int(end)
        end = min(max(end + r if end < 0 else end, 0), r)
    w.set_const(node, node.output[0], shape[start:end])


# Affine operators ------------------------------------------------------


def op_Relu(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    if aff.is_identity and w.layers and w.layers[-1].activation == "relu":
        # Relu of a Relu output: a no-op.
        w.set_value(node.output[0], aff)
        return
    w.layers.append(Dense(aff.dense_W(), aff.b.copy(), "relu"))
    w.last_relu_node = node_name(node)
    n = aff.size
    w.set_value(node.output[0], Affine(aff.shape, None, np.zeros(n), n, len(w.layers)))


def op_LeakyRelu(w, node: Any) -> None:
    """``leaky(z) = relu(z) - alpha relu(-z)``, exactly: a ReLU layer of two neurons per
    entry (``z`` and ``-z``) whose combination ``[I, -alpha I]`` folds into the next
    layer, so every encoding and bound method takes it as it takes ReLUs."""
    aff = w.value(node, node.input[0])
    alpha = float(node_attrs(node).get("alpha", np.float32(0.01)))  # ONNX floats are 32-bit
    W = aff.dense_W()
    w.layers.append(Dense(np.vstack([W, -W]), np.concatenate([aff.b, -aff.b]), "relu"))
    w.last_relu_node = node_name(node)
    n = aff.size
    combine = np.hstack([np.eye(n), -alpha * np.eye(n)])
    w.set_value(node.output[0], Affine(aff.shape, combine, np.zeros(n), 2 * n, len(w.layers)))


def op_Neg(w, node: Any) -> None:
    aff = w.value(node, node.input[0])
    W = -aff.diag() if aff.is_diagonal else -aff.W
    w.set_value(node.output[0], aff.replaced(W, -aff.b, aff.shape))


def op_Add(w, node: Any) -> None:
    add_sub(w, node, +1.0)


def op_Sub(w, node: Any) -> None:
    add_sub(w, node, -1.0)


def op_Sum(w, node: Any) -> None:
    acc: Affine | np.ndarray | None = None
    for name in node.input:
        term = w.consts[name] if w.is_const(name) else w.value(node, name)
        acc = term if acc is None else combine(w, node, acc, term, 1.0)
    assert isinstance(acc, Affine)
    w.set_value(node.output[0], acc)


def add_sub(w, node: Any, sign: float) -> None:
    if len(node.input) != 2:
        raise w.data_error(node, f"expected 2 inputs, got {len(node.input)}")
    a, b = (w.consts[i] if w.is_const(i) else w.value(node, i) for i in node.input)
    w.set_value(node.output[0], combine(w, node, a, b, sign))


def combine(w, node: Any, a: Any, b: Any, sign: float) -> Any:
    """``a + sign * b`` for affine values and/or constants."""
    if not isinstance(a, Affine) and not isinstance(b, Affine):
        return np.asarray(a, dtype=float) + sign * np.asarray(b, dtype=float)
    if isinstance(a, Affine) and isinstance(b, Affine):
        out_shape = np.broadcast_shapes(a.shape, b.shape)
        Wa = broadcast_W(a, out_shape)
        Wb = broadcast_W(b, out_shape)
        bias = np.broadcast_to(a.tensor_b(), out_shape) + sign * b.tensor_b()
        return a.replaced(Wa + sign * Wb, bias, out_shape)
    if isinstance(a, Affine):
        c = np.asarray(b, dtype=float)
        bias = a.tensor_b() + sign * c
        W = a.W if bias.shape == a.shape else broadcast_W(a, bias.shape)
        return a.replaced(W, bias, bias.shape)
    # constant (+|-) affine
    c = np.asarray(a, dtype=float)
    bias = c + sign * b.tensor_b()
    if bias.shape != b.shape:
        W = sign * broadcast_W(b, bias.shape)
    elif sign > 0:
        W = b.W
    else:
        W = -b.diag() if b.is_diagonal else -b.W
    return b.replaced(W, bias, bias.shape)


def product_inputs(w, node: Any) -> tuple[str, str]:
    """The two inputs of a product (``Mul``, ``MatMul``), at least one constant."""
    if len(node.input) != 2:
        raise w.data_error(node, f"expected 2 inputs, got {len(node.input)}")
    x, y = node.input
    if not w.is_const(x) and not w.is_const(y):
        raise w.unsupported(node, "it multiplies two values that depend on the "
                                     "network input, which is not affine")
    return x, y


def op_Mul(w, node: Any) -> None:
    x, y = product_inputs(w, node)
    if w.is_const(x):
        x, y = y, x
    aff = w.value(node, x)
    w.set_value(node.output[0], scale_affine(aff, w.const(node, y), divide=False))


def op_Div(w, node: Any) -> None:
    if len(node.input) != 2:
        raise w.data_error(node, f"expected 2 inputs, got {len(node.input)}")
    x, y = node.input
    if not w.is_const(y):
        raise w.unsupported(node, "it divides by a value that depends on the network "
                                     "input, which is not affine")
    c = w.const(node, y)
    if not np.all(c != 0):
        raise w.data_error(node, f"divides by zero (constant '{y}')")
    w.set_value(node.output[0], scale_affine(w.value(node, x), c, divide=True))


def op_MatMul(w, node: Any) -> None:
    x, y = product_inputs(w, node)
    try:
        if w.is_const(y):
            out = matmul_right(w.value(node, x), w.const(node, y))
        else:
            out = matmul_left(w.const(node, x), w.value(node, y))
    except ValueError as exc:
        raise w.data_error(node, f"shapes do not match ({exc})") from None
    w.set_value(node.output[0], out)


def op_Gemm(w, node: Any) -> None:
    attrs = node_attrs(node)
    alpha = float(attrs.get("alpha", 1.0))
    beta = float(attrs.get("beta", 1.0))
    trans_a = int(attrs.get("transA", 0))
    trans_b = int(attrs.get("transB", 0))
    if len(node.input) < 2:
        raise w.data_error(node, "expected at least 2 inputs")
    a, b = node.input[0], node.input[1]
    if not w.is_const(a) and not w.is_const(b):
        raise w.unsupported(node, "it multiplies two values that depend on the "
                                     "network input, which is not affine")
    try:
        if w.is_const(b):
            A = w.value(node, a)
            if len(A.shape) != 2:
                raise w.data_error(node, f"input A has shape {A.shape}, expected 2-D")
            if trans_a:
                A = transpose_affine(A, [1, 0])
            B = w.const(node, b)
            B = B.T if trans_b else B
            out = matmul_right(A, alpha * B)
        else:
            Bv = w.value(node, b)
            if len(Bv.shape) != 2:
                raise w.data_error(node, f"input B has shape {Bv.shape}, expected 2-D")
            if trans_b:
                Bv = transpose_affine(Bv, [1, 0])
            Ac = w.const(node, a)
            Ac = Ac.T if trans_a else Ac
            out = matmul_left(alpha * Ac, Bv)
    except ValueError as exc:
        raise w.data_error(node, f"shapes do not match ({exc})") from None
    if len(node.input) > 2 and node.input[2]:
        C = beta * w.const(node, node.input[2])
        try:
            bias = np.broadcast_to(C, out.shape)
        except ValueError:
            raise w.data_error(node, f"bias C of shape {C.shape} does not broadcast "
                                        f"to {out.shape}") from None
        out = out.replaced(out.W, out.b + bias.ravel(), out.shape)
    w.set_value(node.output[0], out)


def op_BatchNormalization(w, node: Any) -> None:
    attrs = node_attrs(node)
    training = int(attrs.get("training_mode", 0))
    if w.opset < 7 and not int(attrs.get("is_test", 0)):
        training = 1
    if training or any(o for o in node.output[1:]):
        raise w.unsupported(node, "only inference mode (one output) is supported")
    aff = w.value(node, node.input[0])
    if len(node.input) < 5:
        raise w.data_error(node, "expected 5 inputs")
    scale, bias, mean, var = (w.const(node, i) for i in node.input[1:5])
    eps = float(attrs.get("epsilon", 1e-5))
    if len(aff.shape) < 2:
        raise w.data_error(node, f"input has shape {aff.shape}, expected rank >= 2")
    # Channels are axis 1: y = (x - mean) * scale / sqrt(var + eps) + bias.
    expand = (aff.shape[1],) + (1,) * (len(aff.shape) - 2)
    factor = (scale / np.sqrt(var + eps)).reshape(expand)
    shift = (bias - mean * (scale / np.sqrt(var + eps))).reshape(expand)
    out = scale_affine(aff, factor, divide=False)
    w.set_value(node.output[0], combine(w, node, out, shift, 1.0))


OPS = {
    "Identity": op_Identity,
    "Dropout": op_Dropout,
    "Flatten": op_Flatten,
    "Reshape": op_Reshape,
    "Squeeze": op_Squeeze,
    "Unsqueeze": op_Unsqueeze,
    "Transpose": op_Transpose,
    "Shape": op_Shape,
    "Relu": op_Relu,
    "LeakyRelu": op_LeakyRelu,
    "Neg": op_Neg,
    "Add": op_Add,
    "Sub": op_Sub,
    "Sum": op_Sum,
    "Mul": op_Mul,
    "Div": op_Div,
    "MatMul": op_MatMul,
    "Gemm": op_Gemm,
    "BatchNormalization": op_BatchNormalization,
    "Conv": op_Conv,
    "AveragePool": op_AveragePool,
    "GlobalAveragePool": op_GlobalAveragePool,
    "MaxPool": op_MaxPool,
    "Cast": op_Cast,
    # operators of another domain are keyed "domain.Name"
    "ai.onnx.ml.Scaler": op_Scaler,
}
