"""The committed example networks and sample data (examples/models, examples/data).

They are produced by ``python examples/models/train.py --shared ../shared``
(see docs/models.md); these checks need only the committed files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from nnlang.networks.npz import load_npz

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "examples" / "models"
DATA = REPO / "examples" / "data"

# file stem -> (sizes, activations, input_shape)
EXPECTED = {
    "breast_9_3_3_2": ([9, 3, 3, 2], ["relu", "relu", "relu"], ()),
    "breast_9_10_2": ([9, 10, 2], ["relu", "relu"], ()),
    "mnist_784_32_16_10": ([784, 32, 16, 10], ["relu", "relu", "linear"], (28, 28)),
    "mnist_784_8_8_8_10": ([784, 8, 8, 8, 10], ["relu", "relu", "relu", "linear"], (28, 28)),
}
BREAST = [name for name in EXPECTED if name.startswith("breast")]
MNIST = [name for name in EXPECTED if name.startswith("mnist")]


def _load(name):
    return load_npz(MODELS / f"{name}.npz")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_layout(name):
    sizes, acts, input_shape = EXPECTED[name]
    path = MODELS / f"{name}.npz"
    assert path.stat().st_size < 400_000
    net = _load(name)
    assert net.sizes == sizes
    assert [layer.activation for layer in net.layers] == acts
    assert net.input_shape == input_shape
    for layer in net.layers:
        assert layer.W.dtype == np.float64 and layer.b.shape == (layer.n_out,)
        assert np.all(np.isfinite(layer.W)) and np.all(np.isfinite(layer.b))
    with np.load(path) as data:
        keys = set(data.files)
    n = len(sizes) - 1
    expected_keys = {f"W{k}" for k in range(n)} | {f"b{k}" for k in range(n)} | {"activations"}
    if input_shape:
        expected_keys.add("input_shape")
    assert keys == expected_keys


def test_mnist_samples_file():
    with np.load(DATA / "mnist_samples.npz") as data:
        images, labels, indices = data["images"], data["labels"], data["indices"]
    assert images.shape == (100, 784) and images.dtype == np.float64
    assert labels.shape == (100,) and labels.dtype == np.int64
    assert np.array_equal(indices, np.arange(100))
    assert images.min() >= 0.0 and images.max() <= 1.0
    # pixel / 255: every value is a multiple of 1/255
    assert np.allclose(images * 255, np.round(images * 255))
    assert set(labels.tolist()) == set(range(10))
    # MNIST test image 0 is a 7, image 1 a 2, image 2 a 1
    assert labels[:3].tolist() == [7, 2, 1]


@pytest.mark.parametrize("name", MNIST)
def test_mnist_models_classify_samples(name):
    net = _load(name)
    with np.load(DATA / "mnist_samples.npz") as data:
        images, labels = data["images"], data["labels"]
    pred = np.argmax(net.predict(images.reshape(-1, 28, 28)), axis=1)
    assert np.mean(pred == labels) >= 0.80
    # the same from one image at a time
    assert np.argmax(net.predict(images[0].reshape(28, 28))) == pred[0]


def test_breast_samples_file():
    with np.load(DATA / "breast_samples.npz") as data:
        inputs, labels = data["inputs"], data["labels"]
    assert inputs.dtype == np.float64 and inputs.shape == (2, 9)
    assert inputs.tolist() == [[2, 1, 1, 1, 2, 1, 3, 1, 1], [6, 10, 10, 10, 8, 10, 7, 10, 7]]
    assert labels.tolist() == [0, 1]


@pytest.mark.parametrize("name", BREAST)
def test_breast_models_classify_samples(name):
    net = _load(name)
    with np.load(DATA / "breast_samples.npz") as data:
        inputs, labels = data["inputs"], data["labels"]
    out = net.predict(inputs)
    for row, label in zip(out, labels):
        assert row[label] > row[1 - label]  # strict: a ReLU tie would not count


def _breast_rows():
    with open(DATA / "breast_cancer.csv", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = np.array([[int(v) for v in rec] for rec in reader])
    return header, rows


def test_breast_cancer_csv():
    header, rows = _breast_rows()
    assert header == ["clump", "size_uniformity", "shape_uniformity", "adhesion",
                      "epithelial_size", "bare_nuclei", "chromatin", "nucleoli", "mitoses",
                      "malignant"]
    assert rows.shape == (683, 10)
    assert rows[:, :9].min() >= 1 and rows[:, :9].max() <= 10
    assert set(rows[:, 9].tolist()) == {0, 1}
    assert int(rows[:, 9].sum()) == 239  # 444 benign, 239 malignant


@pytest.mark.parametrize("name", BREAST)
def test_breast_models_fit_the_data(name):
    # The networks take the raw attributes in [1, 10]; on all 683 rows
    # (train and test together) they should be accurate and use every unit.
    net = _load(name)
    _, rows = _breast_rows()
    out = net.predict(rows[:, :9].astype(float))
    assert np.mean(np.argmax(out, axis=1) == rows[:, 9]) >= 0.93
    # no dead unit: every hidden and output unit is positive on some row
    for values in net.forward(rows[:, :9].astype(float))[1:]:
        assert np.all(np.any(values > 0, axis=0))
