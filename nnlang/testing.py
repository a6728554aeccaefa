"""Helpers for tests and benchmarks: random networks and spec files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnlang.networks.network import Dense, Network
from nnlang.networks.npz import save_npz


def random_network(sizes: list[int], seed: int = 0, relu_output: bool = False,
                   scale: float = 1.0) -> Network:
    """A network with Gaussian weights (He scaling times ``scale``) and biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.normal(0.0, scale * np.sqrt(2.0 / n_in), size=(n_out, n_in))
        b = rng.normal(0.0, 0.5 * scale, size=n_out)
        last = k == len(sizes) - 2
        act = "relu" if (not last or relu_output) else "linear"
        layers.append(Dense(W, b, act))
    return Network(tuple(layers), name="random")


def write_network(network: Network, path: Path) -> Path:
    """Save ``network`` as ``.npz`` (see ``nnlang.networks.npz``)."""
    save_npz(network, path)
    return path
