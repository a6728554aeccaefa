"""Helpers for tests and benchmarks: random networks and spec files."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from nnlang.networks.network import Dense, Network
from nnlang.networks.npz import save_npz


def random_network(sizes: list[int], seed: int = 0, relu_output: bool = False,
                   scale: float = 1.0) -> Network:
    """A network with Gaussian weights (He scaling times ``scale``) and biases."""
    rng = np.random.default_rng(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        W = rng.normal(0.0, scale * np.sqrt(2.0 / n_in), size=(n_out, n_in))
        b = rng.normal(0.0, 0.5 * scale, size=n_out)
        last = k == len(sizes) - 2
        act = "relu" if (not last or relu_output) else "linear"
        layers.append(Dense(W, b, act))
    return Network(tuple(layers), name="random")


def pre_activations(network: Network, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's pre-activation values for a batch of inputs (rows of ``x``)."""
    values = network.forward(x)
    return [a @ layer.W.T + layer.b for a, layer in zip(values[:-1], network.layers)]


def write_network(network: Network, path: Path) -> Path:
    """Save ``network`` as ``.npz`` (see ``nnlang.networks.npz``)."""
    save_npz(network, path)
    return path


def spec_vector(v) -> str:
    """``[a, b, ...]`` with every float written exactly (repr), for specs in tests."""
    return "[" + ", ".join(repr(float(a)) for a in np.ravel(v)) + "]"


def flip_spec(folder: Path, seed: int, objective: str, margin: float = 0.05,
              n_in: int = 5) -> tuple[Network, Path]:
    """A random ``[n_in, 8, 8, 3]`` network and a spec in ``folder`` that minimizes
    ``objective`` (over ``x`` in ``[0, 1]`` and a random centre ``c``) subject to the
    next class beating ``c``'s class by ``margin``."""
    net = random_network([n_in, 8, 8, 3], seed=seed)
    write_network(net, Path(folder) / "n.npz")
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, n_in)
    label = int(np.argmax(net.predict(c)))
    target = (label + 1) % 3
    text = ('network net = load("n.npz")\n'
            f"param c[{n_in}] = {spec_vector(c)}\n"
            f"var x[{n_in}] in [0, 1]\ny = net(x)\nminimize {objective}\n"
            f"subject to\n    flip: y[{target}] >= y[{label}] + {margin}\n")
    path = Path(folder) / "s.nnq"
    path.write_text(text)
    return net, path


def network_strategy(max_inputs: int = 4, max_width: int = 6, max_layers: int = 3):
    """A hypothesis strategy of random small dense ReLU networks (tests only;
    hypothesis is imported here, not by nnlang)."""
    from hypothesis import strategies as st

    @st.composite
    def networks(draw):
        n_in = draw(st.integers(1, max_inputs))
        hidden = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_layers))
        n_out = draw(st.integers(1, 3))
        seed = draw(st.integers(0, 10_000))
        relu_out = draw(st.booleans())
        return random_network([n_in, *hidden, n_out], seed=seed, relu_output=relu_out)

    return networks()
