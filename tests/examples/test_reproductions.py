"""The reproduction specs (examples/reproductions, docs/reproductions.md) compile, and
one small instance solves with the forward check passing. Fast: interval bounds
instead of the specs' exact MILP bounds, which take minutes for DNN2."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

import nnlang

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "examples" / "reproductions"
ALL = sorted(SPECS.glob("*.nnq"))


def test_all_specs_present():
    names = {p.stem for p in ALL}
    expected = {"linkola_l1", "linkola_l2"} | {
        f"zhu_{net}_{d}" for net in ("dnn1", "dnn2")
        for d in ("l0", "l1", "linf", "l2_pwl", "l2_lambda")}
    assert names == expected


@pytest.mark.parametrize("spec", ALL, ids=lambda p: p.stem)
def test_spec_compiles(spec):
    text = spec.read_text()
    m = nnlang.compile(spec, bounds="interval")
    size = m.milp
    assert size.n > 784 and size.num_rows > 0
    assert m.program.options.bounds == "interval"
    assert "target = (label + 5) % 10" in text
    if spec.stem.startswith("zhu"):
        assert "bounds = milp" in text  # seed 003's exact bounds
    if spec.stem == "linkola_l2":
        assert "solver" not in text.split("options")[1] and m.milp.objective.quad
    binaries = sum(b.size for b in m.milp.blocks if b.kind == "binary")
    relu = {"dnn1": 24, "dnn2": 48, "linkola": 48}[spec.stem.split("_")[1]
                                                   if "dnn" in spec.stem else "linkola"]
    extra = {"l0": 784, "l2_lambda": 784 * 4}.get(spec.stem.split("_", 2)[-1], 0)
    assert binaries == relu + extra


@pytest.mark.parametrize("bp", [5, 9, 17])
def test_breakpoints_parameter(bp):
    m = nnlang.compile(SPECS / "zhu_dnn1_l2_lambda.nnq", params={"breakpoints": bp},
                       bounds="interval")
    binaries = sum(b.size for b in m.milp.blocks if b.kind == "binary")
    assert binaries == 24 + 784 * (bp - 1)  # one binary per segment and pixel


def test_tiny_instance_solves_with_forward_check():
    # image 2, runner-up class as the target: solved in a few seconds by HiGHS
    m = nnlang.compile(SPECS / "zhu_dnn1_l1.nnq",
                       params={"index": 2, "target": "argsort(net(image))[-2]"},
                       bounds="interval")
    r = m.solve(time_limit=20, threads=1, tighten=False)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(0.8172, abs=1e-3)
    d = r.to_dict()
    assert d["forward_check_ok"] and r.forward_gap < 1e-6
    assert d["networks"]["y"]["predicted"] != 1  # the true class of image 2 is 1


def test_scip_time_limit_is_not_optimal():
    # CVXPY reports SCIP's time limit as OPTIMAL_INACCURATE; nnlang must say time_limit
    pytest.importorskip("pyscipopt")
    m = nnlang.compile(SPECS / "linkola_l2.nnq", params={"index": 0})
    r = m.solve(time_limit=1, solver="scip")
    assert r.solver == "scip"
    assert r.status == "time_limit"
    if r.objective is not None:  # (without a solution CVXPY gives no statistics)
        assert r.nodes is not None
        assert r.bound is not None and r.bound <= r.objective + 1e-9 and r.gap > 0


def _script(name: str):
    """A benchmarks/ script as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    return mod


def test_reproduce_script_studies():
    mod = _script("reproduce")
    studies = mod.studies()
    assert len(studies) == 2 * 9 + 4 + 3
    for s in studies:
        assert s.spec.exists(), s.spec
        cmd = mod.batch_command(s, REPO / "out", 3, 30)
        assert cmd[:3] == ["nnlang", "batch", str(s.spec.relative_to(REPO))]


def test_l2_vs_l1_table_and_time_breakdown(tmp_path, capsys):
    def step(seconds, masters):
        return {"seconds": seconds, "masters": [{"seconds": m} for m in masters]}

    l2 = [{"instance": 0, "status": "optimal", "solve_seconds": 20.0, "forward_gap": 0.0,
           "steps": [step(1.0, [1.0]), step(4.0, [1.5, 2.0]), step(14.0, [3.0, 4.0, 5.0])]},
          {"instance": 1, "status": "time_limit", "solve_seconds": 300.0, "objective": 2.0,
           "bound": 1.5, "steps": []}]
    l1 = [{"instance": 0, "status": "optimal", "solve_seconds": 4.0},
          {"instance": 1, "status": "optimal", "solve_seconds": 6.0}]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"l1": l1, "l2": l2}))
    assert _script("l2_vs_l1").main(["--l1", f"{path}:l1", "--l2", f"{path}:l2"]) == 0
    out = capsys.readouterr().out
    assert "L2 / L1 = 5.0x" in out  # image 0 only: 20 s against 4 s
    rows = {ln.split(" | ")[0].strip("| "): ln.split(" | ")[1:] for ln in out.splitlines()
            if ln.startswith(("| last", "| the", "| earlier"))}
    assert rows["last step, first master"][0] == "3"
    assert rows["last step, middle masters"][0] == "4"
    assert rows["last step, final master (the proof)"][0] == "5"
    assert rows["last step, QPs and rest"][0] == "2"
    assert rows["the step before the last"][0] == "4"
    assert rows["earlier steps and setup"][0] == "2"  # 20 - 14 - 4
    assert rows["last step, final master (the proof)"][2] == "1.25 |"  # 5 s / L1's 4 s
    assert "L2 image 1: time_limit" in out


def test_compare_batches_ratios_over_images_both_solved(tmp_path, capsys):
    def rec(i, status, seconds, objective):
        return {"instance": i, "status": status, "solve_seconds": seconds,
                "objective": objective}

    epi = [rec(0, "optimal", 2.0, 1.0), rec(1, "optimal", 4.0, 2.0), rec(2, "optimal", 1.0, 3.0)]
    lam = [rec(0, "optimal", 8.0, 1.0), rec(1, "optimal", 4.0, 2.0002),
           rec(2, "time_limit", 300.0, 3.5)]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"epi": epi, "lam": lam}))
    mod = _script("compare_batches")
    assert mod.main([f"e={path}:epi", f"l={path}:lam"]) == 0
    out = capsys.readouterr().out
    assert "| l | 3 | 2 | 104.00 | 8.00 | 300.00 |" in out
    # images 0 and 1: (8 + 4) / (2 + 4) = 2x; per image 4x and 1x; e faster on 1 of 2
    assert "over the 2 images both solved" in out and "= 2.00x" in out
    assert "median 2.50x, 1.00-4.00x" in out and "e faster on 1/2" in out
    assert "within 1.0e-04" in out
    assert mod.main(["no-name-given"]) == 2
