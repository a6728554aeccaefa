"""Seed 003's DNN2-DNN5 (examples/models/mnist_dnn{2..5}.npz) and the DNN spec.

The networks come from ``python examples/models/train.py --shared ../shared``
(docs/models.md); these checks need only the committed files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlang.networks.npz import load_npz

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "examples" / "models"
DATA = REPO / "examples" / "data"

# Seed 003, Table 1: hidden layers; 784 inputs and 10 outputs each.
TABLE1 = {
    "mnist_784_8_8_8_10": [8, 8, 8],  # DNN1
    "mnist_dnn2": [8, 8, 8, 8, 8, 8],
    "mnist_dnn3": [20, 10, 8, 8],
    "mnist_dnn4": [20, 10, 8, 8, 8],
    "mnist_dnn5": [20, 20, 10, 10, 10],
}
NEW = ["mnist_dnn2", "mnist_dnn3", "mnist_dnn4", "mnist_dnn5"]


@pytest.fixture(scope="module")
def samples():
    with np.load(DATA / "mnist_samples.npz") as data:
        return data["images"], data["labels"]


@pytest.mark.parametrize("name", sorted(TABLE1))
def test_table1_architecture(name):
    path = MODELS / f"{name}.npz"
    assert path.stat().st_size < 400_000
    net = load_npz(path)
    hidden = TABLE1[name]
    assert net.sizes == [784] + hidden + [10]
    assert [layer.activation for layer in net.layers] == ["relu"] * len(hidden) + ["linear"]
    assert net.input_shape == (28, 28)
    for layer in net.layers:
        assert layer.W.dtype == np.float64 and layer.b.shape == (layer.n_out,)
        assert np.all(np.isfinite(layer.W)) and np.all(np.isfinite(layer.b))
    n = len(hidden) + 1
    with np.load(path) as data:
        keys = set(data.files)
    assert keys == ({f"W{k}" for k in range(n)} | {f"b{k}" for k in range(n)}
                    | {"activations", "input_shape"})


@pytest.mark.parametrize("name", NEW)
def test_classifies_the_samples(name, samples):
    images, labels = samples
    net = load_npz(MODELS / f"{name}.npz")
    pred = np.argmax(net.predict(images.reshape(-1, 28, 28)), axis=1)
    assert np.mean(pred == labels) >= 0.75
    # flat rows give the same outputs as images
    assert np.array_equal(net.predict(images[:5]), net.predict(images[:5].reshape(-1, 28, 28)))


@pytest.mark.parametrize("name", NEW)
def test_every_hidden_layer_is_alive_on_the_samples(name, samples):
    # Training rejected seeds with a hidden unit that is zero on every training
    # image; on the 100 test samples every hidden layer has an active unit.
    images, _ = samples
    net = load_npz(MODELS / f"{name}.npz")
    values = net.forward(images.reshape(-1, 28, 28))
    for v in values[1:-1]:
        assert np.any(v > 0, axis=0).any()


def test_dnn_spec_compiles_for_every_network(tmp_path):
    """The benchmark's per-network copies of examples/mnist_adversarial_dnn.nnq encode
    one binary per ReLU (interval bounds over [0, 1]^784 leave every ReLU unstable)."""
    import nnlang

    spec = (REPO / "examples" / "mnist_adversarial_dnn.nnq").read_text()
    assert 'load("models/mnist_784_8_8_8_10.npz")' in spec
    for name, hidden in TABLE1.items():
        text = spec.replace("models/mnist_784_8_8_8_10.npz", (MODELS / f"{name}.npz").as_posix())
        text = text.replace('"data/mnist_samples.npz"',
                            f'"{(DATA / "mnist_samples.npz").as_posix()}"')
        path = tmp_path / f"{name}.nnq"
        path.write_text(text)
        m = nnlang.compile(path, params={"index": 3}, bounds="interval")
        binaries = sum(b.size for b in m.milp.blocks if b.kind == "binary")
        assert binaries == sum(hidden)
        assert int(m.program.params["target"]) == (int(m.program.params["label"]) + 5) % 10
