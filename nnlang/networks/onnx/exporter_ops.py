"""Operators that exporters write around an ordinary network: the float ``Cast`` of
skl2onnx and the ``ai.onnx.ml`` ``Scaler`` of a scikit-learn pipeline's scaler. Both
are affine (a cast between float types is the identity in float64 arithmetic), so they
fold into the current layer like any other affine operator."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlang.networks.onnx.affine import scale_affine
from nnlang.networks.onnx.graph import FLOAT_TYPES, node_attrs, type_name


def op_Cast(w, node: Any) -> None:
    """A cast to a float type; nnlang computes in float64, so it changes nothing the
    encoding could see (an exporter's float32 -> float32 cast is a no-op anyway)."""
    to = int(node_attrs(node).get("to", 0))
    if to not in FLOAT_TYPES:
        raise w.unsupported(node, f"it casts the network value to {type_name(to)}, which is "
                                  "not a floating-point type")
    w.set_value(node.output[0], w.value(node, node.input[0]))


def op_Scaler(w, node: Any) -> None:
    """``ai.onnx.ml.Scaler``: ``y = (x - offset) * scale`` per feature (one value for all
    features, or one per feature), what skl2onnx writes for ``StandardScaler`` and
    ``MaxAbsScaler``."""
    aff = w.value(node, node.input[0])
    attrs = node_attrs(node)
    offset = np.asarray(attrs.get("offset", [0.0]), dtype=float)
    scale = np.asarray(attrs.get("scale", [1.0]), dtype=float)
    features = aff.shape[-1] if aff.shape else 1
    for what, arr in (("offset", offset), ("scale", scale)):
        if arr.size not in (1, features):
            raise w.data_error(node, f"{what} has {arr.size} entries for {features} features")
    shifted = aff.replaced(aff.W, (aff.tensor_b() - offset).ravel(), aff.shape)
    w.set_value(node.output[0], scale_affine(shifted, scale, divide=False))
