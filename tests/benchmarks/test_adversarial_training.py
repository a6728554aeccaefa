"""benchmarks/adversarial_training.py on a tiny run: the tables come from the run's
files by a separate step, the retraining is deterministic, a second run resumes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        "adversarial_training", REPO / "benchmarks" / "adversarial_training.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


study = _module()
pytestmark = pytest.mark.skipif(
    not (study.SHARED / "data" / "mnist" / "mnist_5k.csv.gz").exists(),
    reason="the MNIST training images (shared/data/mnist) are not here")

TINY = ["--examples", "4", "--time-limit", "3", "--robust", "1", "--robust-time-limit", "3",
        "--distances", "l1", "--bounds", "interval", "--jobs", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("advtrain") / "tiny"
    assert study.main(TINY + ["--out", str(out)]) == 0
    return out


def _objectives(folder: Path) -> dict[int, float]:
    lines = [json.loads(s) for s in (folder / "results.jsonl").read_text().splitlines() if s]
    return {ln["instance"]: ln["objective"] for ln in lines if ln["objective"] is not None}


def test_tables_come_from_the_run_files(run):
    r = json.loads((run / "tables.json").read_text())
    t7, t8 = r["table7"], r["table8"]
    assert set(t7) == {"original", "l1", "control"}
    # every exported example fools DNN1 (the forward pass checked the target's margin)
    assert t7["original"]["l1"] == 0.0
    net = study.trainer.load_npz(study.DNN1)
    _, _, x_test, y_test = study.read_train(study.SHARED)
    assert t7["original"]["mnist"] == study.trainer.accuracy(net, x_test, y_test)
    split = json.loads((run / "split" / "l1.json").read_text())
    assert r["examples"]["l1"]["held_out"] == len(split["held_out"])
    assert not set(split["train"]) & set(split["held_out"])
    base, new = _objectives(run / "robust" / "original_l1"), _objectives(run / "robust" / "l1_l1")
    both = sorted(set(base) & set(new))
    cell = t8["l1"]["l1"]
    assert cell["paired"] == len(both)
    if both:
        a, b = np.mean([base[i] for i in both]), np.mean([new[i] for i in both])
        assert cell["mean_objective_b"] == pytest.approx(b)
        assert cell["pct_difference"] == pytest.approx(100 * (b - a) / a)
    # the separate step alone gives the same tables
    before = (run / "tables.json").read_text()
    assert study.main(TINY + ["--out", str(run), "--tables-only"]) == 0
    assert (run / "tables.json").read_text() == before
    assert "Table 7" in (run / "tables.md").read_text()


def test_retraining_is_deterministic(run):
    rec = json.loads((run / "run.json").read_text())["deterministic"]
    assert rec["same_weights_twice"] is True
    assert rec["max_abs_diff_to_committed"] < 1e-12  # the committed DNN1, up to BLAS bits
    x_train, y_train, _, _ = study.read_train(study.SHARED)
    a, b = study.retrain(x_train[:300], y_train[:300]), study.retrain(x_train[:300], y_train[:300])
    assert all(np.array_equal(p.W, q.W) and np.array_equal(p.b, q.b)
               for p, q in zip(a.layers, b.layers))


def test_a_second_run_resumes_from_the_files(run):
    stamp = (run / "networks" / "l1.npz").stat().st_mtime_ns
    before = json.loads((run / "run.json").read_text())
    assert study.main(TINY + ["--out", str(run)]) == 0
    rec = json.loads((run / "run.json").read_text())
    for step, n in (("attack_l1", 4), ("robust_l1_l1", 1), ("robust_control_l1", 1)):
        assert rec[step]["ran"] == before[step]["ran"] == n and rec[step]["skipped"] == n
    assert (run / "networks" / "l1.npz").stat().st_mtime_ns == stamp


def test_the_control_is_dnn1_retrained_on_the_same_images_unperturbed(run):
    pool = np.load(run / "pool.npz")
    train = json.loads((run / "split" / "l1.json").read_text())["train"]
    x_train, y_train, _, _ = study.read_train(study.SHARED)
    tr, _ = study.split(np.arange(len(pool["labels"])), len(pool["labels"]))
    # the l1 network's added images are pool images of the same half, perturbed
    assert set(train) <= set(tr)
    net = study.retrain(np.concatenate([x_train, pool["images"][tr]]),
                        np.concatenate([y_train, pool["labels"][tr]]))
    saved = study.trainer.load_npz(run / "networks" / "control.npz")
    assert all(np.allclose(p.W, q.W, atol=1e-12) for p, q in zip(net.layers, saved.layers))
    r = json.loads((run / "tables.json").read_text())
    t8, beyond = r["table8"], r["findings"]["pct_beyond_control"]
    if t8["l1"].get("l1", {}).get("pct_difference") is not None \
            and t8["control"]["l1"]["pct_difference"] is not None:
        assert beyond["l1"]["l1"] == pytest.approx(
            t8["l1"]["l1"]["pct_difference"] - t8["control"]["l1"]["pct_difference"], abs=0.01)
    assert "less the control" in (run / "tables.md").read_text() or not beyond.get("l1")
