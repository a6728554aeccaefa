"""The nnlang command: solve/check, --set, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnlang.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_solve_json_has_the_documented_fields(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["solve", str(EXAMPLES / "breast_cancer_adversarial.nnq"), "--set", "sample=1",
                 "--time-limit", "30", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    for key in ("status", "objective", "values", "solve_seconds", "bound", "forward_gap",
                "networks", "model_size", "params"):
        assert key in data
    assert data["status"] == "optimal" and data["objective"] == pytest.approx(33)
    assert len(data["values"]["x"]) == 9
    assert data["params"] == {"sample": "1"}
    assert data["networks"]["y"]["predicted"] == 0
    text = capsys.readouterr().out
    assert "status      optimal" in text and "predicts class 0" in text


def test_check_reports_sizes(capsys):
    assert main(["check", str(EXAMPLES / "breast_cancer_few_changes.nnq")]) == 0
    assert ": ok:" in capsys.readouterr().out


def test_bad_set_value_is_a_located_error(capsys):
    code = main(["check", str(EXAMPLES / "breast_cancer_adversarial.nnq"), "--set",
                 "sample=nope"])
    assert code == 1
    assert "--set sample=nope" in capsys.readouterr().err


def test_unknown_solver(capsys):
    code = main(["solve", str(EXAMPLES / "breast_cancer_adversarial.nnq"), "--solver", "nosuch"])
    assert code == 1
    assert "solver 'nosuch' is not installed" in capsys.readouterr().err


def test_console_script_entry_point():
    proc = subprocess.run([sys.executable, "-m", "nnlang", "--version"], capture_output=True,
                          text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("nnlang ")


@pytest.mark.parametrize("spec", ["breast_cancer_adversarial.nnq", "qp"])
def test_quiet_solve_prints_nothing_not_even_the_highs_banner(spec, tmp_path):
    # HiGHS prints its banner once per process on stdout: a fresh process is needed.
    # The breast-cancer MILP goes to highspy directly, the QP through CVXPY.
    path = EXAMPLES / spec
    if spec == "qp":
        path = tmp_path / "qp.nnq"
        path.write_text("var x[2] in [0, 1]\nminimize sumsq(x - 0.3)\n")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "nnlang", "solve", str(path), "-q",
                           "--json", str(out)], capture_output=True, text=True,
                          check=False, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert json.loads(out.read_text())["status"] == "optimal"
