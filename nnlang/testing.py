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


def pattern_regions(net: Network, k: int):
    """For every activation pattern of the ReLU layers before layer ``k``:
    ``(A_ub, b_ub, P, q)``, the pattern's region ``A_ub x <= b_ub`` (None: no
    ReLU before ``k``) and layer ``k``'s pre-activation ``P x + q`` on it."""
    choices = [[np.array(p, bool) for p in itertools.product([0, 1], repeat=layer.n_out)]
               if layer.activation == "relu" else [None] for layer in net.layers[:k]]
    for pattern in itertools.product(*choices):
        M, c, rows, rhs = np.eye(net.n_in), np.zeros(net.n_in), [], []
        for layer, on in zip(net.layers, pattern):
            P, q = layer.W @ M, layer.W @ c + layer.b
            if on is not None:  # active: P x + q >= 0; inactive: P x + q <= 0
                sign = np.where(on, -1.0, 1.0)
                rows.append(sign[:, None] * P)
                rhs.append(-sign * q)
                P, q = P * on[:, None], q * on
            M, c = P, q
        layer = net.layers[k]
        A_ub = np.vstack(rows) if rows else None
        yield A_ub, np.concatenate(rhs) if rhs else None, layer.W @ M, layer.W @ c + layer.b


def exact_range(net: Network, lo: np.ndarray, hi: np.ndarray, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact min and max of layer ``k``'s pre-activations over the box ``[lo, hi]``:
    one LP per activation pattern and neuron (brute force, for tiny networks in tests)."""
    from scipy.optimize import linprog

    lower = np.full(net.layers[k].n_out, np.inf)
    upper = np.full(net.layers[k].n_out, -np.inf)
    box = list(zip(lo, hi))
    for A_ub, b_ub, P, q in pattern_regions(net, k):
        if A_ub is not None and linprog(np.zeros(net.n_in), A_ub=A_ub, b_ub=b_ub, bounds=box,
                                        method="highs").status == 2:
            continue  # the pattern's region is empty
        for i in range(P.shape[0]):
            for sign in (1.0, -1.0):
                res = linprog(sign * P[i], A_ub=A_ub, b_ub=b_ub, bounds=box, method="highs")
                if res.status != 0:  # pragma: no cover - a bounded LP over a nonempty region
                    raise RuntimeError(f"brute-force LP failed: {res.message}")
                value = sign * res.fun + q[i]
                lower[i], upper[i] = min(lower[i], value), max(upper[i], value)
    return lower, upper


def output_range(net: Network, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact min and max of every network output over the box (``exact_range`` of the
    last layer, through its ReLU if it has one)."""
    lower, upper = exact_range(net, lo, hi, len(net.layers) - 1)
    if net.layers[-1].activation == "relu":
        lower, upper = np.maximum(lower, 0.0), np.maximum(upper, 0.0)
    return lower, upper
