"""The 7x7 MNIST CNNs of examples/models/train_cnn7.py (seed 004's 49-25-10 and a
MaxPool variant): layout, agreement with onnx.reference, accuracy, and MILPs on the
pooled network checked against forward passes and sampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.networks.onnx import load_onnx

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "examples" / "models"
SAMPLES = np.load(REPO / "examples" / "data" / "mnist7_samples.npz")

# file stem -> (sizes, activations, accuracy on the 100 samples as trained)
EXPECTED = {
    "cnn7_goebbels": ([49, 25, 10], ["relu", "linear"], 0.89),
    # conv 3 x 5 x 5 = 75, then the two ReLU layers of the 2x2 max pooling
    # (differences relu(a - b) and pass-throughs relu(b)), then the Gemm
    "cnn7_maxpool": ([49, 75, 81, 51, 10], ["relu", "relu", "relu", "linear"], 0.92),
}


def _reference(path: Path):
    ref = ReferenceEvaluator(onnx.load(str(path)))
    return lambda x: np.asarray(ref.run(None, {"x": np.asarray(x, np.float32).reshape(
        -1, 1, 7, 7)})[0]).reshape(-1, 10)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layout_reference_and_accuracy(name):
    sizes, acts, acc = EXPECTED[name]
    path = MODELS / f"{name}.onnx"
    assert path.stat().st_size < 10_000
    net = load_onnx(path)
    assert net.sizes == sizes and [layer.activation for layer in net.layers] == acts
    assert net.input_shape == (7, 7)
    images, labels = SAMPLES["images"], SAMPLES["labels"]
    assert images.shape == (100, 49) and images.min() >= 0 and images.max() <= 1
    got = net.predict(images)
    np.testing.assert_allclose(got, _reference(path)(images), rtol=0, atol=1e-5)
    assert np.mean(np.argmax(got, axis=1) == labels) == pytest.approx(acc)


def _spec(tmp_path: Path, body: str) -> Path:
    np.savez(tmp_path / "img.npz", image=SAMPLES["images"][0])
    spec = tmp_path / "s.nnq"
    spec.write_text(f'network net = load("{MODELS / "cnn7_maxpool.onnx"}")\n'
                    'param image[49] = data("img.npz", "image")\n' + body)
    return spec


def test_maxpool_net_milp_with_the_image_fixed_is_the_forward_pass(tmp_path):
    want = _reference(MODELS / "cnn7_maxpool.onnx")(SAMPLES["images"][0])[0]
    r = nnlang.compile(_spec(tmp_path, "var x[49] = image\ny = net(x)\n"
                                       "maximize sum(y)\n")).solve()
    assert r.status == "optimal"
    assert r.objective == pytest.approx(float(want.sum()), abs=1e-4)
    np.testing.assert_allclose(r.networks["y"].output, want, atol=1e-4)


def test_maxpool_net_worst_margin_in_a_small_box(tmp_path):
    """min y[label] - y[runner-up] over an L-infinity ball of radius 0.08: below every
    sampled margin, and attained (onnx.reference at the MILP's input)."""
    image, label = SAMPLES["images"][0], int(SAMPLES["labels"][0])
    ref = _reference(MODELS / "cnn7_maxpool.onnx")
    out = ref(image)[0]
    other = int(np.argsort(out)[-2]) if np.argmax(out) == label else int(np.argmax(out))
    eps = 0.08
    body = (f"var x[49] in [clip(image - {eps}, 0, 1), clip(image + {eps}, 0, 1)]\n"
            f"y = net(x)\nminimize y[{label}] - y[{other}]\n")
    r = nnlang.compile(_spec(tmp_path, body)).solve(time_limit=60)
    assert r.status == "optimal"
    rng = np.random.default_rng(0)
    lo, hi = np.clip(image - eps, 0, 1), np.clip(image + eps, 0, 1)
    pts = np.concatenate([lo + rng.uniform(0, 1, (400, 49)) * (hi - lo),
                          np.where(rng.integers(0, 2, (200, 49)) == 1, hi, lo)])
    margins = ref(pts)
    assert r.objective <= float((margins[:, label] - margins[:, other]).min()) + 1e-5
    at = ref(r.values["x"])[0]
    assert float(at[label] - at[other]) == pytest.approx(r.objective, abs=1e-4)
