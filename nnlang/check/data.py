"""Load parameter data from ``.npz``, ``.npy`` and CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnlang.errors import DataError, Span
from nnlang.networks.npz import read_npz


def load_data(path: Path, key: str | None, span: Span) -> np.ndarray:
    """Read one array; ``key`` selects an array inside an ``.npz`` file."""
    try:
        found = path.exists()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise DataError(f"cannot read data file '{path}': {exc.strerror or exc}", span) from None
    if not found:
        raise DataError(f"data file '{path}' not found", span)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            arrays = read_npz(path, "data file", span)
            names = list(arrays)
            if key is None:
                if len(names) != 1:
                    raise DataError(f"'{path}' holds several arrays "
                                    f"({', '.join(names)}): name one, "
                                    f"e.g. data(\"{path.name}\", \"{names[0]}\")", span)
                key = names[0]
            if key not in arrays:
                raise DataError(f"'{path}' has no array '{key}' "
                                f"(it has: {', '.join(names)})", span)
            value = arrays[key]
        elif suffix == ".npy":
            value = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            value = _load_csv(path, span)
        else:
            raise DataError(f"unknown data format '{suffix}' for '{path}' "
                            "(use .npz, .npy or .csv)", span)
    except DataError:
        raise
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file '{path}': {exc}", span) from None
    if suffix != ".npz" and key is not None:
        raise DataError(f"a key ('{key}') only applies to .npz files", span)
    if value.dtype.kind not in "biuf":
        raise DataError(f"data '{path}'{f' [{key}]' if key else ''} is not numeric "
                        f"(dtype {value.dtype})", span)
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise DataError(f"data '{path}'{f' [{key}]' if key else ''} contains NaN or inf", span)
    if value.dtype.kind == "b":
        value = value.astype(np.int64)
    return value


def _load_csv(path: Path, span: Span) -> np.ndarray:
    text = path.read_text().splitlines()
    rows = [line for line in text if line.strip()]
    if not rows:
        raise DataError(f"CSV file '{path}' is empty", span)
    skip = 0
    try:
        [float(v) for v in rows[0].split(",")]
    except ValueError:
        skip = 1  # a header row
    value = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=1)
    if np.all(value == np.round(value)):
        value = value.astype(np.int64)
    return value
