"""Pictures: PNGs of image inputs (`solve --png`, batch grids), tables of tabular ones."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from nnlang import pictures
from nnlang.cli import main
from nnlang.networks import Dense, Network
from nnlang.networks.npz import save_npz

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _pixels(path: Path, scale: int) -> np.ndarray:
    """The picture at its original resolution (one sample per upscaled block)."""
    with Image.open(path) as img:
        a = np.asarray(img.convert("L"))
    return a[scale // 2::scale, scale // 2::scale]


def test_image_shapes():
    assert pictures.image_shape((28, 28)) == (28, 28)
    assert pictures.image_shape((1, 28, 28)) == (28, 28)
    assert pictures.image_shape((3, 8, 8)) == (8, 8, 3)
    assert pictures.image_shape((784,), [(28, 28)]) == (28, 28)
    assert pictures.image_shape((36,), [(6, 6)]) == (6, 6)
    assert pictures.image_shape((784,)) == (28, 28)  # a perfect square of at least 64
    assert pictures.image_shape((36,)) is None and pictures.image_shape((9,)) is None
    assert pictures.image_shape((10, 10, 10)) is None
    assert pictures.picture_scale((28, 28)) == 8 and pictures.picture_scale((6, 6)) == 16
    assert pictures.picture_scale((300, 200)) == 1


def test_difference_is_white_where_nothing_changed_and_darkest_at_the_largest_change():
    orig = np.zeros((4, 5))
    new = orig.copy()
    new[1, 2] = 0.5  # the largest change: black
    new[3, 4] = 0.25  # half of it: mid gray
    new[0, 0] = 1e-9  # solver noise: white
    img = pictures.difference_image(new, orig, (4, 5), 0.0, 1.0, scale=8)
    assert img.size == (40, 32)
    a = np.asarray(img)[4::8, 4::8]
    assert a[1, 2] == 0 and 120 <= a[3, 4] <= 135 and a[0, 0] == 255
    assert (a == 255).sum() == 18
    same = pictures.difference_image(orig, orig, (4, 5), 0.0, 1.0, scale=2)
    assert np.all(np.asarray(same) == 255)
    img = pictures.to_image(new, (4, 5), 0.0, 1.0, scale=3)
    assert img.size == (15, 12) and np.asarray(img)[3 * 1 + 1, 3 * 2 + 1] == 128


def test_the_original_is_not_one_of_the_variables_bounds():
    var = SimpleNamespace(size=4, lower=np.zeros(4), upper=np.full(4, 2.0))
    params = {"lo": np.zeros(4), "hi": np.full(4, 2.0), "n": np.array(4)}
    assert pictures._pick_original(var, params) is None
    params["target"] = np.ones(4)
    params["image"] = np.full(4, 0.5)
    assert pictures._pick_original(var, params) == "image"


def test_solve_png_writes_original_adversarial_difference_and_strip(tmp_path, capsys):
    # an eps-box around an MNIST digit: almost every ReLU is stable, so it solves at once
    spec = tmp_path / "push.nnq"
    spec.write_text(f'''
network net = load("{EXAMPLES}/models/mnist_784_32_16_10.npz")
param index = 0
param image[784] = data("{EXAMPLES}/data/mnist_samples.npz", "images")[index]
param eps = 0.005
var x[784] in [clip(image - eps, 0, 1), clip(image + eps, 0, 1)]
y = net(x)
maximize y[3]
subject to
    budget: norm1(x - image) <= 3
''')
    out = tmp_path / "png"
    res = tmp_path / "r.json"
    assert main(["solve", str(spec), "--png", str(out), "--json", str(res)]) == 0
    data = json.loads(res.read_text())
    assert data["status"] == "optimal"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["push_adversarial.png", "push_difference.png", "push_original.png",
                     "push_strip.png"]
    for kind in ("original", "adversarial", "difference"):
        with Image.open(out / f"push_{kind}.png") as img:
            assert img.size == (224, 224)  # 28 x 28 (the network's input_shape) at 8x
    with Image.open(out / "push_strip.png") as img:
        assert img.width == 3 * 224 + 4 * pictures.GAP and img.height > 224
    x = np.asarray(data["values"]["x"]).reshape(28, 28)
    image = np.load(EXAMPLES / "data" / "mnist_samples.npz")["images"][0].reshape(28, 28)
    changed = np.abs(x - image) > 1e-6
    assert 0 < changed.sum() < 784
    diff = _pixels(out / "push_difference.png", 8)
    assert np.all(diff[~changed] == 255)  # white where nothing changed
    assert np.all(diff[changed] < 255)
    orig = _pixels(out / "push_original.png", 8)
    assert np.array_equal(orig, np.round(image * 255).astype(np.uint8))
    assert "wrote" in capsys.readouterr().out


@pytest.fixture
def tiny_image_net(tmp_path):
    """A 6 x 6 -> 4 -> 3 network, a random 'image' and a target class it can reach."""
    rng = np.random.default_rng(1)
    net = Network((Dense(rng.normal(size=(4, 36)), rng.normal(size=4) * 0.1),
                   Dense(rng.normal(size=(3, 4)), np.zeros(3), "linear")),
                  input_shape=(6, 6))
    save_npz(net, tmp_path / "tiny.npz")
    image = rng.uniform(size=36)
    pred = int(np.argmax(net.predict(image)))
    for _ in range(1000):
        z = rng.uniform(size=36)
        out = net.predict(z)
        t = int(np.argmax(out))
        if t != pred and out[t] - np.sort(out)[-2] > 0.2:
            break
    np.savez(tmp_path / "data.npz", images=image[None, :])
    return tmp_path, t


def test_no_original_writes_just_the_image(tiny_image_net, capsys):
    folder, _ = tiny_image_net
    spec = folder / "vis.nnq"
    spec.write_text('network net = load("tiny.npz")\nvar x[6, 6] in [0, 1]\ny = net(x)\n'
                    'maximize y[0]\n')
    out = folder / "png"
    assert main(["solve", str(spec), "--png", str(out), "-q"]) == 0
    assert [p.name for p in out.iterdir()] == ["vis_image.png"]
    with Image.open(out / "vis_image.png") as img:
        assert img.size == (96, 96)  # 6 x 6 at 16x


def test_small_images_through_input_shape_and_a_batch_grid(tiny_image_net):
    folder, target = tiny_image_net
    spec = folder / "adv.nnq"
    spec.write_text(f'''network net = load("tiny.npz")
param index = 0
param image[36] = data("data.npz", "images")[index]
var x[36] in [0, 1]
y = net(x)
minimize norm1(x - image)
subject to
    wrong: y[{target}] >= y[j] + 0.1  for j in 0..2 if j != {target}
''')
    out = folder / "png"
    assert main(["solve", str(spec), "--png", str(out), "-q"]) == 0
    with Image.open(out / "adv_difference.png") as img:
        assert img.size == (96, 96)
    run = folder / "run"
    assert main(["batch", str(spec), "--time-limit", "30", "-o", str(run), "-q"]) == 0
    line = json.loads((run / "results.jsonl").read_text())
    assert line["status"] == "optimal"
    assert line["pictures"]["x"]["predicted"] == target
    with Image.open(run / "grid.png") as img:
        assert img.width > 3 * 6 * pictures.GRID_SCALE and img.height > 6 * pictures.GRID_SCALE


def test_grid_rows_columns_and_missing_solutions():
    rng = np.random.default_rng(0)
    rows = [pictures.GridRow(str(i), rng.uniform(size=64), rng.uniform(size=64), 1, 2)
            for i in range(3)]
    rows.append(pictures.GridRow("3", None, rng.uniform(size=64), None, 2, "infeasible"))
    img = pictures.grid_image(rows, (8, 8), 0.0, 1.0, scale=4)
    one = pictures.grid_image(rows[:1], (8, 8), 0.0, 1.0, scale=4)
    assert img.width == one.width and img.height > 3 * one.height // 2
    assert img.width >= 3 * 32
    many = pictures.grid_image(rows * 10, (8, 8), 0.0, 1.0, scale=4, max_rows=25)
    assert many.width == 2 * img.width  # 40 rows wrap into two column groups
    text = pictures.changes_table(rows[2:])
    assert "infeasible" in text and "2 -> 1" in text


def test_tabular_solution_gets_a_table_of_changes(tmp_path, capsys):
    out = tmp_path / "tables"
    assert main(["solve", str(EXAMPLES / "breast_cancer_adversarial.nnq"), "--set", "sample=1",
                 "--png", str(out)]) == 0
    table = (out / "breast_cancer_adversarial_table.md").read_text()
    assert "| attribute | original | new | change |" in table
    assert "original (6, 10, 10, 10, 8, 10, 7, 10, 7)" in table
    assert "predicted class: 1 -> 0" in table
    rows = [r for r in table.splitlines() if r.startswith("| ") and r[2].isdigit()]
    assert len(rows) == 9
    assert "| attribute | original | new | change |" in capsys.readouterr().out
    assert not list(out.glob("*.png"))

    assert main(["solve", str(EXAMPLES / "breast_cancer_features.nnq"), "--png", str(out),
                 "-q"]) == 0
    table = (out / "breast_cancer_features_table.md").read_text()
    assert "| attribute | value |" in table and "original" not in table
