"""`nnlang export` / `nnlang compare`: a batch's examples as a data set, re-checked when
read back, and two batches paired on the same instances (Zhu (2021) Table 8)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nnlang.batch import BatchConfig, run_batch
from nnlang.batch.compare import compare_batches, paired, pct_difference
from nnlang.batch.export import KEYS, distance, export_batch, read_export
from nnlang.cli import main
from nnlang.errors import DataError
from nnlang.networks.load import load_network

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "mnist_adversarial_dnn.nnq"  # L1 on DNN1 (784-8-8-8-10)
SAMPLES = np.load(ROOT / "examples" / "data" / "mnist_samples.npz")
DNN1 = ROOT / "examples" / "models" / "mnist_784_8_8_8_10.npz"


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "l1"
    # the attack stage gives every instance a checked point well within the limit
    run_batch(BatchConfig(spec=SPEC, out_dir=out, count=3, time_limit=3.0,
                          options={"threads": 1}, pictures=False))
    return out


def _lines(folder: Path) -> list[dict]:
    return [json.loads(s) for s in (folder / "results.jsonl").read_text().splitlines() if s]


def test_export_writes_the_documented_keys_from_the_batch(batch_dir, tmp_path):
    path = tmp_path / "l1.npz"
    s = export_batch(batch_dir, path)
    lines = {ln["instance"]: ln for ln in _lines(batch_dir)}
    assert s.instance.tolist() == sorted(lines) == [0, 1, 2]
    with np.load(path) as z:
        for key in (*KEYS, "norm", "approximate", "network_file", "left_out_instance",
                    "left_out_reason"):
            assert key in z.files, key
        assert z["adversarial"].shape == z["original"].shape == (3, 28, 28)
        assert str(z["norm"]) == "l1"
    # true labels are the data's; the network now gives the spec's target (d + 5) mod 10
    assert s.label.tolist() == SAMPLES["labels"][:3].tolist()
    assert s.predicted.tolist() == [(d + 5) % 10 for d in s.label.tolist()]
    assert np.allclose(s.original.reshape(3, -1), SAMPLES["images"][:3])
    assert s.distance.tolist() == [lines[i]["objective"] for i in range(3)]
    net = load_network(DNN1)
    assert np.argmax(net.predict(s.adversarial), axis=1).tolist() == s.predicted.tolist()
    back = read_export(path)  # re-checked against the recorded network file
    assert back.instance.tolist() == [0, 1, 2] and not back.left_out


def test_read_back_refuses_a_wrong_label_or_distance(batch_dir, tmp_path):
    path = tmp_path / "l1.npz"
    export_batch(batch_dir, path)
    with np.load(path) as z:
        data = {k: z[k] for k in z.files}
    wrong = dict(data, predicted=data["label"])
    np.savez(tmp_path / "label.npz", **wrong)
    with pytest.raises(DataError, match="the network gives"):
        read_export(tmp_path / "label.npz")
    near = data["distance"].copy()
    near[1] *= 0.99  # an objective below the example's distance cannot be
    np.savez(tmp_path / "dist.npz", **dict(data, distance=near))
    with pytest.raises(DataError, match="l1 distance"):
        read_export(tmp_path / "dist.npz", load_network(DNN1))
    # a time-limited incumbent's objective may lie above its example's distance (an L0
    # incumbent counting pixels it did not change); an optimal one may not
    above = data["distance"] * 1.5
    np.savez(tmp_path / "tl.npz", **dict(data, distance=above,
                                         status=np.array(["time_limit"] * len(above))))
    assert len(read_export(tmp_path / "tl.npz")) == len(above)
    np.savez(tmp_path / "opt.npz", **dict(data, distance=above,
                                          status=np.array(["optimal"] * len(above))))
    with pytest.raises(DataError, match="optimal"):
        read_export(tmp_path / "opt.npz")
    exact = data["exact_distance"].copy()
    exact[2] *= 1.01
    np.savez(tmp_path / "exact.npz", **dict(data, exact_distance=exact))
    with pytest.raises(DataError, match="instance 2"):
        read_export(tmp_path / "exact.npz", load_network(DNN1))


def test_instances_without_a_checked_solution_are_counted_not_exported(batch_dir, tmp_path):
    folder = tmp_path / "b"
    shutil.copytree(batch_dir, folder)
    lines = _lines(folder)
    lines[1]["forward_check_ok"] = False
    lines.append({**lines[0], "instance": 7, "status": "error", "objective": None, "values": {}})
    lines.append({**lines[0], "instance": 8, "status": "time_limit", "objective": None,
                  "values": {}})
    (folder / "results.jsonl").write_text("".join(json.dumps(ln) + "\n" for ln in lines))
    s = export_batch(folder, tmp_path / "x.npz")
    assert s.instance.tolist() == [0, 2]
    assert s.left_out == {1: "forward-pass check failed", 7: "error",
                          8: "no solution (time_limit)"}
    assert "2 adversarial examples exported; 3 left out" in s.report()
    assert read_export(tmp_path / "x.npz").left_out == s.left_out  # stored in the file


def test_distance_norms():
    d = np.array([[0.0, -0.5, 0.25, 1e-9], [0.0, 0.0, 0.0, 0.0]])
    assert distance("l0", d).tolist() == [2.0, 0.0]
    assert distance("l1", d) == pytest.approx([0.75 + 1e-9, 0.0])
    assert distance("linf", d).tolist() == [0.5, 0.0]
    assert distance("sumsq", d) == pytest.approx([0.3125, 0.0])
    assert distance("l2", d) == pytest.approx([0.3125 ** 0.5, 0.0])


def test_cli_export_and_batch_export(batch_dir, tmp_path, capsys):
    assert main(["export", str(batch_dir), "-o", str(tmp_path / "a.npz")]) == 0
    assert "3 adversarial examples exported" in capsys.readouterr().err
    assert read_export(tmp_path / "a.npz").instance.tolist() == [0, 1, 2]
    assert main(["export", str(tmp_path / "nothing"), "-o", str(tmp_path / "b.npz")]) == 1
    assert "no batch folder" in capsys.readouterr().err
    # `nnlang batch --export`: the finished batch (resumed: nothing runs again) exported
    run = tmp_path / "run"
    shutil.copytree(batch_dir, run)
    assert main(["batch", str(SPEC), "--count", "3", "--time-limit", "3", "--threads", "1",
                 "-o", str(run), "-q", "--no-pictures", "--export", str(tmp_path / "c.npz")]) == 0
    assert read_export(tmp_path / "c.npz").instance.tolist() == [0, 1, 2]


def test_compare_pairs_instances_and_gives_the_pct_difference(batch_dir, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(batch_dir, other)
    lines = _lines(other)
    for ln in lines:
        ln["objective"] *= 1.1
    lines[2]["status"], lines[2]["objective"] = "time_limit", None  # unpaired
    (other / "results.jsonl").write_text("".join(json.dumps(ln) + "\n" for ln in lines[:3]))
    c = compare_batches(batch_dir, other)
    base = {ln["instance"]: ln["objective"] for ln in _lines(batch_dir)}
    assert c["paired"] == 2 and c["paired_instances"] == [0, 1] and c["unpaired_shared"] == 1
    assert c["mean_objective_a"] == pytest.approx((base[0] + base[1]) / 2)
    assert c["pct_difference"] == pytest.approx(10.0)
    assert pct_difference(8.50, 8.91) == pytest.approx(4.82, abs=0.01)  # Zhu (2021) Table 8
    assert main(["compare", str(batch_dir), str(other), "--json", str(tmp_path / "c.json")]) == 0
    assert "+10.00 %" in capsys.readouterr().out
    assert json.loads((tmp_path / "c.json").read_text())["paired"] == 2


def test_compare_refuses_batches_on_different_data(batch_dir, tmp_path):
    a = {ln["instance"]: ln for ln in _lines(batch_dir)}
    b = {int(k): v for k, v in json.loads(json.dumps(a)).items()}
    b[0]["pictures"]["x"]["original"] = [0.0] * 784
    with pytest.raises(DataError, match="same data"):
        paired(a, b)
