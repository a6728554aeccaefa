"""The tight model of ``nnlang compile`` (the ball of an attack's point): a solver
reading the file finds the optimum ``nnlang solve`` finds."""

from __future__ import annotations

from pathlib import Path

import highspy
import pytest

import nnlang
from nnlang.cli import main
from nnlang.emit import emit_files
from nnlang.solve.task import Task
from nnlang.solve.tight import tight_model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _highs_optimum(path: Path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", 120.0)
    assert h.readModel(str(path)) != highspy.HighsStatus.kError
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize(("name", "fmt"), [("cnn7_adversarial", "lp"),
                                           ("mnist_adversarial_l1", "mps")])
def test_the_tight_files_optimum_is_the_solves(tmp_path, name, fmt):
    m = nnlang.compile(EXAMPLES / f"{name}.nnq")
    solved = m.solve()
    assert solved.status == "optimal"
    tight = tight_model(Task(m.milp, m.encode), m.options)
    assert tight is not None
    assert tight.value >= solved.objective - 1e-6  # the attack's point: an upper bound
    (path,) = emit_files(m, fmt, tmp_path, tight.milp, {"region": tight.region})
    text = path.read_text()
    assert "region: the norm1 ball" in text and "incumbent_cutoff" in text
    assert _highs_optimum(path) == pytest.approx(solved.objective, rel=1e-6, abs=1e-6)
    # the ball leaves no more unstable ReLUs than the box
    box = sum(s.unstable for e in m.milp.applications for s in e.stats)
    ball = sum(s.unstable for e in tight.milp.applications for s in e.stats)
    assert ball <= box


def test_compile_writes_the_tight_model_unless_full_box(tmp_path, capsys):
    spec = EXAMPLES / "cnn7_adversarial.nnq"
    assert main(["compile", str(spec), "--to", "lp", "-o", str(tmp_path / "t")]) == 0
    assert "\\ region: " in (tmp_path / "t" / "cnn7_adversarial.lp").read_text()
    assert main(["compile", str(spec), "--to", "lp", "-o", str(tmp_path / "f"),
                 "--full-box"]) == 0
    full = (tmp_path / "f" / "cnn7_adversarial.lp").read_text()
    assert "region:" not in full and "incumbent_cutoff" not in full
    capsys.readouterr()


@pytest.mark.parametrize("name", ["breast_cancer_features",  # not a distance
                                  "breast_cancer_adversarial"])  # integer inputs: no attack
def test_no_tight_model_where_the_attack_does_not_apply(name):
    m = nnlang.compile(EXAMPLES / f"{name}.nnq")
    assert tight_model(Task(m.milp, m.encode), m.options) is None
