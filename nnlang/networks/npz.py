"""Load a network from an ``.npz`` file.

Key layout (documented in docs/language.md):

- ``W0, b0, W1, b1, ..., W{K-1}, b{K-1}``: layer k maps layer k to layer k+1;
  ``Wk`` has shape (n_{k+1}, n_k) (PyTorch's ``Linear.weight`` layout) and
  ``bk`` shape (n_{k+1},).
- ``activations`` (optional): K strings, each ``relu`` or ``linear``. Without
  it every hidden layer is ReLU and the output layer is linear.
- ``input_shape`` (optional): integer array, e.g. [28, 28].
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

from nnlang.errors import DataError
from nnlang.networks.network import ACTIVATIONS, Dense, Network
from nnlang.networks.validate import check_layers

_ZIP, _NPY = b"PK\x03\x04", b"\x93NUMPY"


def read_npz(path: Path, what: str = "file", span=None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``; a located DataError, naming what is
    wrong, for a file that is empty, not an npz archive (text, a pickle), truncated or
    corrupt. ``what`` says what the file is for ("weights file", "data file")."""
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as exc:
        raise DataError(f"cannot read {what} '{path}': {exc.strerror or exc}", span) from None
    if not head:
        raise DataError(f"{what} '{path}' is empty", span)
    if not head.startswith(_ZIP):
        kind = "a single .npy array" if head.startswith(_NPY) else "not an .npz archive"
        raise DataError(f"{what} '{path}' is {kind}: an .npz file is a zip archive of "
                        "named arrays (numpy.savez)", span)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{what} '{path}' is truncated or corrupt ({exc})", span) from None
    except (OSError, ValueError) as exc:  # e.g. an array of Python objects
        raise DataError(f"cannot read {what} '{path}': {exc}", span) from None


def _numeric(arr: np.ndarray, path: Path, key: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise DataError(f"weights file '{path}': '{key}' is not numeric (dtype {arr.dtype})")
    return np.asarray(arr, dtype=float)


def load_npz(path: Path, activations: list[str] | None = None) -> Network:
    """Read ``path`` (see the module docstring for the key layout)."""
    arrays = read_npz(path, "weights file")
    w_keys = sorted(
        (int(m.group(1)) for k in arrays if (m := re.fullmatch(r"W(\d+)", k))),
    )
    if not w_keys:
        raise DataError(
            f"weights file '{path}' has no layer arrays: expected keys W0, b0, W1, b1, ... "
            f"(found: {', '.join(sorted(arrays)) or 'none'})"
        )
    if w_keys != list(range(len(w_keys))):
        raise DataError(f"weights file '{path}': layer keys must be W0..W{len(w_keys) - 1}, "
                        f"found {', '.join(f'W{k}' for k in w_keys)}")
    n_layers = len(w_keys)
    for k in range(n_layers):
        if f"b{k}" not in arrays:
            raise DataError(f"weights file '{path}': key 'W{k}' has no matching bias 'b{k}'")
    if activations is None and "activations" in arrays:
        activations = [str(a) for a in np.asarray(arrays["activations"]).ravel()]
    if activations is None:
        activations = ["relu"] * (n_layers - 1) + ["linear"]
    if len(activations) != n_layers:
        raise DataError(
            f"weights file '{path}': {len(activations)} activations for {n_layers} layers"
        )
    for act in activations:
        if act not in ACTIVATIONS:
            raise DataError(f"weights file '{path}': unknown activation '{act}' "
                            f"(expected one of {', '.join(ACTIVATIONS)})")
    layers = []
    for k in range(n_layers):
        W = _numeric(arrays[f"W{k}"], path, f"W{k}")
        b = _numeric(arrays[f"b{k}"], path, f"b{k}").ravel()
        layers.append(Dense(W, b, activations[k]))
    check_layers(layers, str(path))
    input_shape: tuple[int, ...] = ()
    if "input_shape" in arrays:
        shape = np.asarray(arrays["input_shape"]).ravel()
        if shape.dtype.kind not in "iu" or np.any(shape < 1):
            raise DataError(f"weights file '{path}': 'input_shape' must be positive whole "
                            f"numbers, got {shape.tolist()}")
        input_shape = tuple(int(v) for v in shape)
    return Network(tuple(layers), name=path.stem, source=str(path), input_shape=input_shape)


def save_npz(network: Network, path: Path) -> None:
    """Write ``network`` in the layout ``load_npz`` reads."""
    arrays: dict[str, np.ndarray] = {}
    for k, layer in enumerate(network.layers):
        arrays[f"W{k}"] = layer.W.astype(np.float64)
        arrays[f"b{k}"] = layer.b.astype(np.float64)
    arrays["activations"] = np.array([layer.activation for layer in network.layers])
    if network.input_shape:
        arrays["input_shape"] = np.array(network.input_shape, dtype=np.int64)
    np.savez_compressed(path, **arrays)
