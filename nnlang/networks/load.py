"""Pick a weight loader by file extension."""

from __future__ import annotations

from pathlib import Path

from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.network import Network


def load_network(path: str | Path, activations: list[str] | None = None) -> Network:
    """Load ``.npz`` or ``.onnx`` weights; ``activations`` overrides the file's."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"weights file '{path}' not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from nnlang.networks.npz import load_npz

        return load_npz(path, activations)
    if suffix == ".onnx":
        from nnlang.networks.onnx import load_onnx

        net = load_onnx(path)
        if activations is not None:
            from nnlang.networks.network import Dense

            if len(activations) != len(net.layers):
                raise DataError(f"'{path}' has {len(net.layers)} layers, "
                                f"the declaration lists {len(activations)}")
            layers = tuple(Dense(l.W, l.b, a) for l, a in zip(net.layers, activations))
            net = Network(layers, net.name, net.source, net.input_shape)
        return net
    raise UnsupportedError(f"unknown weights format '{suffix}' for '{path}' (use .npz or .onnx)")
