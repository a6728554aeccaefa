"""The network model every loader returns, and its numpy forward pass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnlang import registry

ACTIVATIONS = ("relu", "linear")


@dataclass(frozen=True)
class Dense:
    """One affine layer ``act(W @ x + b)``; ``W`` has shape (n_out, n_in)."""

    W: np.ndarray
    b: np.ndarray
    activation: str = "relu"

    @property
    def n_in(self) -> int:
        return int(self.W.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.W.shape[0])


@dataclass(frozen=True)
class Network:
    """A feed-forward ReLU network: a list of dense layers.

    ``input_shape`` is the shape users see (e.g. (28, 28)); the network itself
    works on the flattened input of size ``n_in``.
    """

    layers: tuple[Dense, ...]
    name: str = "net"
    source: str = ""
    input_shape: tuple[int, ...] = field(default=())
    # "regression", "classifier" (the output is the logits; one logit: class 1 when
    # positive) or "" (not known: results show the arg-max and the output)
    kind: str = ""
    classes: tuple = ()  # class labels by output index, when the source names them

    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    @property
    def sizes(self) -> list[int]:
        """Layer sizes, input first: e.g. [784, 32, 16, 10]."""
        return [self.n_in] + [layer.n_out for layer in self.layers]

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """All layer values for one input (or a batch, last axis = features).

        Returns ``[x0, x1, ..., xK]`` where ``x0`` is the flattened input and
        ``xk`` the post-activation values of layer k.
        """
        a = np.asarray(x, dtype=float)
        nd = len(self.input_shape)
        if nd > 1 and a.ndim >= nd and a.shape[a.ndim - nd:] == self.input_shape:
            a = a.reshape(a.shape[: a.ndim - nd] + (-1,))
        values = [a]
        for layer in self.layers:
            a = a @ layer.W.T + layer.b
            if layer.activation == "relu":
                a = np.maximum(a, 0.0)
            values.append(a)
        return values

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output layer for an input or a batch."""
        return self.forward(x)[-1]

    @classmethod
    def from_sklearn(cls, obj: Any, output: str | None = None) -> Network:
        """A fitted ``MLPRegressor``/``MLPClassifier`` or a ``Pipeline`` of
        ``StandardScaler``/``MinMaxScaler``/``MaxAbsScaler`` steps ending in one (the
        scalers fold into the first layer). A classifier needs ``output="logits"``: its
        softmax is cut, never dropped silently.

        Example:
            >>> net = nnlang.Network.from_sklearn(pipeline)  # doctest: +SKIP
            >>> net.predict(X)  # == pipeline.predict(X)     # doctest: +SKIP
        """
        return registry.load(registry.NETWORK_OBJECTS["sklearn"])(obj, output)

    @classmethod
    def from_torch(cls, module: Any, input_shape: tuple[int, ...] | int,
                   output: str | None = None) -> Network:
        """A ``torch.nn.Module`` (e.g. ``nn.Sequential`` of ``Linear``/``ReLU``), read
        through the ONNX reader; ``input_shape`` is one sample's shape, without the batch
        dimension. A trailing ``Softmax``/``LogSoftmax`` needs ``output="logits"``."""
        return registry.load(registry.NETWORK_OBJECTS["torch"])(module, input_shape, output)

    @classmethod
    def from_onnx(cls, path: str | Path, output: str | None = None) -> Network:
        """An ``.onnx`` file, as ``load("file.onnx", output = ...)`` reads it in a spec."""
        return registry.load(registry.NETWORK_FORMATS[".onnx"])(Path(path), output)
