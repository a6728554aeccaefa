"""The ONNX operators on 2-D images (``[1, C, H, W]``): ``Conv``, ``AveragePool`` and
``GlobalAveragePool`` fold into the current layer (affine), ``MaxPool`` becomes exact
ReLU layers (``nnlang.networks.maxpool``). Their entries are in ``ops.OPS``."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from nnlang.networks.maxpool import max_layers, pool_windows
from nnlang.networks.onnx.affine import (
    Affine,
    conv2d,
)
from nnlang.networks.onnx.graph import depth, node_attrs, node_name

# Shape-only operators -------------------------------------------------


# Convolutions and pooling (affine, folded like Gemm) -------------------


def image(w, node: Any, name: str) -> Affine:
    aff = w.value(node, name)
    if len(aff.shape) != 4 or aff.shape[0] != 1:
        raise w.unsupported(node, f"input has shape {aff.shape}; only 2-D images "
                                     "(shape [1, C, H, W]) are supported")
    return aff


def apply_linear(w, aff: Affine, fn, bias: np.ndarray | None = None) -> Affine:
    """``fn`` (linear, on a batch (B, C, H, W)) applied to the affine image ``aff``."""
    C, H, W = aff.shape[1:]
    cols = np.moveaxis(aff.tensor_W().reshape(C, H, W, aff.n), -1, 0)  # (n, C, H, W)
    out_W = fn(cols)
    out_b = fn(aff.tensor_b().reshape(1, C, H, W))
    if bias is not None:
        out_b = out_b + bias.reshape(1, -1, 1, 1)
    shape = (1,) + out_W.shape[1:]
    W_out = np.moveaxis(out_W, 0, -1).reshape(-1, aff.n)
    return aff.replaced(W_out, out_b.ravel(), shape)


def window(w, node: Any, attrs: dict, spatial: tuple[int, int],
            kernel: tuple[int, int]) -> tuple[list[int], list[int], list[int]]:
    """(strides, dilations, pads [top, left, bottom, right]) of a Conv or pooling node."""
    strides = [int(v) for v in attrs.get("strides", [1, 1])]
    dil = [int(v) for v in attrs.get("dilations", [1, 1])]
    pads = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])]
    if len(strides) != 2 or len(dil) != 2 or len(pads) != 4:
        raise w.data_error(node, "strides, dilations and pads must be for 2 "
                                    "spatial axes")
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else str(auto)
    if auto == "VALID":
        pads = [0, 0, 0, 0]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for a in range(2):
            eff = (kernel[a] - 1) * dil[a] + 1
            out = -(-spatial[a] // strides[a])
            total = max((out - 1) * strides[a] + eff - spatial[a], 0)
            small, big = total // 2, total - total // 2
            pads[a], pads[a + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto != "NOTSET":
        raise w.data_error(node, f"unknown auto_pad '{auto}'")
    return strides, dil, pads


def op_Conv(w, node: Any) -> None:
    aff = image(w, node, node.input[0])
    K = w.const(node, node.input[1])
    bias = w.const(node, node.input[2]) if len(node.input) > 2 and node.input[2] \
        else None
    attrs = node_attrs(node)
    group = int(attrs.get("group", 1))
    C = aff.shape[1]
    if K.ndim != 4:
        raise w.unsupported(node, f"kernel of shape {K.shape}; only 2-D "
                                     "convolutions are supported")
    if C % group or K.shape[0] % group or K.shape[1] * group != C:
        raise w.data_error(node, f"kernel {K.shape} does not fit {C} input channels "
                                    f"in {group} group(s)")
    strides, dil, pads = window(w, node, attrs, aff.shape[2:], K.shape[2:])
    fn = lambda X: conv2d(X, K, strides, dil, pads, group)
    try:
        out = apply_linear(w, aff, fn, bias)
    except ValueError as exc:
        raise w.data_error(node, str(exc)) from None
    w.set_value(node.output[0], out)


def pool_window(w, node: Any, aff, attrs: dict) -> tuple:
    """``(kernel, strides, dilations, pads)`` of a 2-D pooling node (ceil_mode refused)."""
    if int(attrs.get("ceil_mode", 0)):
        raise w.unsupported(node, "ceil_mode=1 is not supported")
    kernel = tuple(int(v) for v in attrs.get("kernel_shape", []))
    if len(kernel) != 2:
        raise w.unsupported(node, "only 2-D pooling is supported")
    return (kernel, *window(w, node, attrs, aff.shape[2:], kernel))


def op_AveragePool(w, node: Any) -> None:
    aff = image(w, node, node.input[0])
    attrs = node_attrs(node)
    kernel, strides, dil, pads = pool_window(w, node, aff, attrs)
    C = aff.shape[1]
    K = np.ones((C, 1) + kernel)
    if int(attrs.get("count_include_pad", 0)) or not any(pads):
        count = np.full((1, 1), float(np.prod(kernel)))
    else:
        ones = np.ones((1, 1) + tuple(aff.shape[2:]))
        count = conv2d(ones, np.ones((1, 1) + kernel), strides, dil, pads, 1)[0, 0]
    fn = lambda X: conv2d(X, K, strides, dil, pads, C) / count
    w.set_value(node.output[0], apply_linear(w, aff, fn))


def op_GlobalAveragePool(w, node: Any) -> None:
    aff = image(w, node, node.input[0])
    fn = lambda X: X.mean(axis=(2, 3), keepdims=True)
    w.set_value(node.output[0], apply_linear(w, aff, fn))


def op_MaxPool(w, node: Any) -> None:
    """Max pooling as ``ceil(log2 k)`` exact ReLU layers (``nnlang.networks.maxpool``)."""
    aff = image(w, node, node.input[0])
    attrs = node_attrs(node)
    if any(o for o in node.output[1:]):
        raise w.unsupported(node, "its Indices output is used")
    kernel, strides, dil, pads = pool_window(w, node, aff, attrs)
    C = aff.shape[1]
    try:
        windows, (Ho, Wo) = pool_windows(aff.shape[1:], kernel, strides, dil, pads)
    except ValueError as exc:
        raise w.data_error(node, str(exc)) from None
    # Which entries are >= 0 for sure: the variables of a layer after the
    # first are ReLU outputs, so a row with nonnegative coefficients and bias is.
    if aff.W is None:
        T, nonneg = sp.eye_array(aff.n, format="csr"), aff.b >= 0
    elif aff.W.ndim == 1:
        T, nonneg = sp.diags_array(aff.W, format="csr"), (aff.W >= 0) & (aff.b >= 0)
    else:
        T, nonneg = aff.W, (aff.W >= 0).all(axis=1) & (aff.b >= 0)
    if aff.epoch == 0:
        nonneg = np.zeros(aff.size, dtype=bool)
    if depth(kernel[0]) + depth(kernel[1]) == depth(kernel[0] * kernel[1]):
        windows = windows.reshape(len(windows), kernel[0], kernel[1])  # rows first
    layers, W, b = max_layers(T, aff.b, nonneg, windows)
    shape = (1, C, Ho, Wo)
    if not layers:  # 1x1 windows: a selection, still affine
        w.set_value(node.output[0], aff.replaced(W, b, shape))
        return
    w.layers.extend(layers)
    w.last_relu_node = node_name(node)
    w.set_value(node.output[0], Affine(shape, W, b, W.shape[1], len(w.layers)))


# ---------------------------------------------------------------------- helpers
