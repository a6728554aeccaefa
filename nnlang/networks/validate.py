"""Shape and value checks shared by every weight loader."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnlang.errors import DataError
from nnlang.networks.network import Dense


def check_layers(layers: Sequence[Dense], source: str) -> None:
    """Raise ``DataError`` for mismatched shapes or non-finite weights."""
    if not layers:
        raise DataError(f"network '{source}' has no layers")
    for k, layer in enumerate(layers):
        if layer.W.ndim != 2:
            raise DataError(f"network '{source}': layer {k} weight matrix has shape "
                            f"{layer.W.shape}, expected 2 dimensions")
        if layer.b.shape != (layer.W.shape[0],):
            raise DataError(f"network '{source}': layer {k} has {layer.W.shape[0]} outputs "
                            f"but a bias of shape {layer.b.shape}")
        if k > 0 and layer.n_in != layers[k - 1].n_out:
            raise DataError(f"network '{source}': layer {k} expects {layer.n_in} inputs but "
                            f"layer {k - 1} has {layers[k - 1].n_out} outputs")
        for what, arr in (("weights", layer.W), ("biases", layer.b)):
            bad = ~np.isfinite(arr)
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                raise DataError(f"network '{source}': layer {k} {what} contain "
                                f"{int(bad.sum())} NaN/inf value(s), first at index {idx}")
