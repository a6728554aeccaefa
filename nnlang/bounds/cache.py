"""An on-disk cache for bound computations (``lp`` and ``milp`` bounds can take minutes).

Entries live in ``$NNLANG_CACHE_DIR`` (default ``~/.cache/nnlang/bounds/``), one
``.npz`` per key: a sha256 of the method, its arguments, every layer's weights,
biases and activation, and the input box. Unreadable or inconsistent entries are
ignored and recomputed; failing to write one is not an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.bounds.symbolic import Bounds, BoundsResult
from nnlang.networks.network import Network

VERSION = 1  # bump when a method's results change


def cache_dir() -> Path:
    """The cache folder: ``$NNLANG_CACHE_DIR`` or ``~/.cache/nnlang/bounds``."""
    env = os.environ.get("NNLANG_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "nnlang" / "bounds"


def _update(h: Any, array: np.ndarray) -> None:
    a = np.ascontiguousarray(array, dtype=np.float64)
    h.update(repr(a.shape).encode())
    h.update(a.tobytes())


def cache_key(method: str, args: dict, network: Network, lo: np.ndarray, hi: np.ndarray
              ) -> str:
    """The hex sha256 identifying one bound computation."""
    h = hashlib.sha256()
    header = json.dumps([VERSION, method, args], sort_keys=True, default=repr)
    h.update(header.encode())
    for layer in network.layers:
        h.update(layer.activation.encode() + b"\0")
        _update(h, layer.W)
        _update(h, layer.b)
    _update(h, np.ravel(lo))
    _update(h, np.ravel(hi))
    return h.hexdigest()


def _load(path: Path, network: Network) -> BoundsResult | None:
    """The entry at ``path`` if it is readable and fits ``network``, else None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            bounds = [(np.array(data[f"L{k}"], np.float64), np.array(data[f"U{k}"], np.float64))
                      for k in range(len(network.layers))]
            info = json.loads(str(data["info"]))
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss
        return None
    for (L, U), layer in zip(bounds, network.layers):
        if L.shape != (layer.n_out,) or U.shape != (layer.n_out,) or not np.all(L <= U):
            return None
    return BoundsResult(bounds, {**info, "cached": True})


def _store(path: Path, bounds: Bounds) -> None:
    """Write atomically (a temporary file, then a rename); errors are ignored."""
    arrays = {f"{side}{k}": np.asarray(a, np.float64)
              for k, pair in enumerate(bounds) for side, a in zip("LU", pair)}
    info = json.dumps(getattr(bounds, "info", {}), default=repr)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
            tmp = f.name
            np.savez(f, info=np.array(info), **arrays)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def cached(method_name: str, args: dict, network: Network, lo: np.ndarray, hi: np.ndarray,
           compute: Callable[[], Bounds]) -> Bounds:
    """``compute()``'s bounds, read from the cache when an entry exists.

    Args:
        method_name: e.g. ``"milp"``.
        args: the method's keyword arguments (part of the key).
        network, lo, hi: the network and input box (part of the key).
        compute: computes the bounds on a miss.

    Returns:
        The bounds; a hit is a ``BoundsResult`` whose ``info`` is the stored one
        plus ``cached=True`` and the load time in ``load_seconds``.
    """
    start = time.perf_counter()
    path = cache_dir() / f"{cache_key(method_name, args, network, lo, hi)}.npz"
    hit = _load(path, network) if path.exists() else None
    if hit is not None:
        hit.info["load_seconds"] = time.perf_counter() - start
        return hit
    result = compute()
    _store(path, result)
    return result
