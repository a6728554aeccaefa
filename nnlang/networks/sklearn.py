"""A fitted scikit-learn model as a ``Network``, read from its arrays (no file).

Accepted: ``MLPRegressor``, ``MLPClassifier`` (hidden activation ``relu`` or
``identity``), and a ``Pipeline`` of ``StandardScaler`` / ``MinMaxScaler`` /
``MaxAbsScaler`` steps ending in one of them; the scalers fold into the first layer.
scikit-learn itself is never imported: the model's fitted attributes are read as they
are, so importing nnlang never needs it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlang.errors import UnsupportedError
from nnlang.networks.network import Dense, Network

HIDDEN = {"relu": "relu", "identity": "linear"}
SCALERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler")
MLPS = ("MLPRegressor", "MLPClassifier")


def from_sklearn(obj: Any, output: str | None = None) -> Network:
    """The network of a fitted MLP or scaler pipeline; ``output="logits"`` for a
    classifier (its softmax/logistic output is cut, as for ONNX files)."""
    steps = [s for _, s in obj.steps] if hasattr(obj, "steps") else [obj]
    steps = [s for s in steps if s not in (None, "passthrough")]
    *scalers, mlp = steps
    kind = type(mlp).__name__
    if kind not in MLPS:
        raise UnsupportedError(f"Network.from_sklearn: the last step is a {kind}; expected "
                               f"one of {', '.join(MLPS)}")
    if not hasattr(mlp, "coefs_"):
        raise UnsupportedError(f"Network.from_sklearn: the {kind} is not fitted")
    scale, shift = input_map(scalers, mlp.coefs_[0].shape[0])
    act = HIDDEN.get(mlp.activation)
    if act is None:
        raise UnsupportedError(f"Network.from_sklearn: hidden activation '{mlp.activation}' "
                               f"is not piecewise linear (use {' or '.join(HIDDEN)})")
    layers = []
    n = len(mlp.coefs_)
    for k, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        W = np.asarray(W, dtype=float).T
        b = np.asarray(b, dtype=float)
        if k == 0:
            W, b = W * scale, b + W @ shift
        layers.append(Dense(W, b, act if k < n - 1 else "linear"))
    classifier = kind == "MLPClassifier"
    if classifier and output != "logits":
        head = "softmax" if mlp.out_activation_ == "softmax" else "logistic (sigmoid)"
        raise UnsupportedError(
            f"Network.from_sklearn: the {kind} ends in a {head}: class probabilities are "
            "not piecewise linear; pass output=\"logits\" to use the scores before it "
            "(class order is the same; a margin on probabilities is not a margin on logits)")
    if not classifier and output is not None:
        raise UnsupportedError(f"Network.from_sklearn: output=\"{output}\" is for classifiers; "
                               f"a {kind} has no softmax to cut")
    classes = tuple(c.item() if hasattr(c, "item") else c for c in mlp.classes_) \
        if classifier else ()
    return Network(tuple(layers), name=kind, source=f"scikit-learn {type(obj).__name__}",
                   input_shape=(len(scale),), kind="classifier" if classifier else "regression",
                   classes=classes)


def input_map(scalers: list[Any], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The scalers as one per-feature map ``x -> scale * x + shift``."""
    scale, shift = np.ones(n), np.zeros(n)
    for s in scalers:
        name = type(s).__name__
        if name == "StandardScaler":
            a = 1.0 / s.scale_ if s.scale_ is not None else np.ones(n)
            c = -s.mean_ * a if s.mean_ is not None else np.zeros(n)
        elif name == "MinMaxScaler":
            if s.clip:
                raise UnsupportedError("Network.from_sklearn: MinMaxScaler(clip=True) clips "
                                       "its output; refit with clip=False")
            a, c = s.scale_, s.min_
        elif name == "MaxAbsScaler":
            a, c = 1.0 / s.scale_, np.zeros(n)
        else:
            raise UnsupportedError(f"Network.from_sklearn: pipeline step {name} is not "
                                   f"supported (scalers: {', '.join(SCALERS)}, then an MLP)")
        a, c = np.asarray(a, dtype=float), np.asarray(c, dtype=float)
        scale, shift = scale * a, shift * a + c
    return scale, shift
