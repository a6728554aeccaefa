"""Pick a weight loader by file extension (``nnlang.registry.NETWORK_FORMATS``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from nnlang import registry
from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.network import Dense, Network


def load_network(path: str | Path, activations: list[str] | None = None,
                 output: str | None = None) -> Network:
    """Load ``.npz`` or ``.onnx`` weights; ``activations`` overrides the file's;
    ``output="logits"`` cuts an ONNX classifier's Softmax/Sigmoid/ArgMax head.

    The loader is imported when a file of its format is read (the ONNX reader loads
    the ``onnx`` package, which takes a second)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"weights file '{path}' not found")
    suffix = path.suffix.lower()
    if suffix not in registry.NETWORK_FORMATS:
        raise UnsupportedError(f"unknown weights format '{suffix}' for '{path}' (use "
                               f"{' or '.join(registry.NETWORK_FORMATS)})")
    loader = registry.load(registry.NETWORK_FORMATS[suffix])
    if suffix == ".npz":  # activations are part of how an npz file is read
        if output is not None:
            raise UnsupportedError(f"'{path}': output = \"{output}\" is for ONNX classifiers "
                                   "(an .npz network has no Softmax to cut)")
        return loader(path, activations)
    net = loader(path, output)
    if activations is not None:
        if len(activations) != len(net.layers):
            raise DataError(f"'{path}' has {len(net.layers)} layers, "
                            f"the declaration lists {len(activations)}")
        layers = tuple(Dense(l.W, l.b, a) for l, a in zip(net.layers, activations))
        net = dataclasses.replace(net, layers=layers)
    return net
