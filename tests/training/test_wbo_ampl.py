"""The WBO model's AMPL files: golden text, the same function as the in-process NLP
(the .mod read back and evaluated at random weights), and the refusals of LP/MPS."""

import os
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.cli import main
from nnlang.errors import UnsupportedError
from nnlang.training import wbo
from nnlang.training.wbo_ampl import write_wbo
from nnlang.training.wbo_spec import problem_of
from tests.training.ampl_eval import objective_value, read_dat

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "wbo"
RNG = np.random.default_rng(5)
X = np.round(RNG.normal(size=(5, 2)), 3)
TARGETS = np.round(np.abs(X[:, 0]) + 1.0, 3)
CLASSES = (X[:, 0] + X[:, 1] > 0).astype(int)

CASES = {
    "regression": ("dense 3 relu\n    dense 1", TARGETS, 'loss = "squared"'),
    "classification": ("dense 3 relu\n    dense 3 relu\n    dense 2 relu", CLASSES,
                       'loss = "expected_correct"\n    eps = 0.01'),
    "deep_linear": ("dense 3 relu\n    dense 2\n    dense 3 relu\n    dense 1", TARGETS,
                    'loss = "squared"\n    lambda = 0.5'),
    "misclassified": ("dense 2 relu\n    dense 2 relu", CLASSES,
                      'loss = "misclassified"\n    relu = "exact"\n    weight_bound = 2'),
}


def write_case(name: str, folder: Path, fmt: str = "ampl", solver: str = "minos"):
    layers, y, settings = CASES[name]
    spec = folder / f"wbo_{name}.nnq"
    spec.write_text(f"""network net {{
    input 2
    {layers}
}}
param X = {X.tolist()}
param y = {np.asarray(y).tolist()}
train net on X, y {{
    method = "wbo"
    {settings}
    starts = 3
}}
""")
    program = nnlang.compile(spec).program
    return program, write_wbo(program, fmt, folder / "out", solver)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_ampl_files_match_the_golden_files(tmp_path, name):
    _, paths = write_case(name, tmp_path)
    assert [p.suffix for p in paths] == [".mod", ".dat", ".run"]
    for path in paths:
        golden = GOLDEN / path.name
        text = path.read_text()
        if os.environ.get("NNLANG_UPDATE_GOLDEN"):
            GOLDEN.mkdir(parents=True, exist_ok=True)
            golden.write_text(text)
        assert golden.exists(), f"missing {golden}: run with NNLANG_UPDATE_GOLDEN=1"
        assert text == golden.read_text(), f"{path.name} differs from {golden}"


def test_the_files_are_generic_and_the_data_lives_in_the_dat(tmp_path):
    program, (mod, dat, run) = write_case("classification", tmp_path)
    text = mod.read_text()
    # no number of the data set in the model: every sample, size and constant is a param
    for value in [*X.ravel()[:4], 0.01]:
        assert repr(float(value)) not in text
    assert "0.5 * (sqrt(" in text and "exp(x[i,K,y[i]])" in text
    data = read_dat(dat.read_text())
    assert data["n"] == 5 and data["nk"] == {0: 2, 1: 3, 2: 3, 3: 2}
    assert [data["y"][i + 1] for i in range(5)] == list(CLASSES + 1)  # AMPL's 1-based classes
    assert np.allclose([[data["x0"][i + 1, j + 1] for j in range(2)] for i in range(5)], X)
    assert "option solver minos;" in run.read_text() and "for {t in 1..starts}" in run.read_text()


@pytest.mark.parametrize("name", ["regression", "classification", "deep_linear"])
def test_the_ampl_model_and_the_in_process_nlp_are_the_same_function(tmp_path, name):
    import casadi as ca
    program, (mod, dat, _) = write_case(name, tmp_path)
    problem = problem_of(program)
    theta_sym, f = wbo._casadi_objective(problem, ca)
    f_nlp = ca.Function("f", [theta_sym], [f])
    for _ in range(3):
        theta = RNG.normal(size=problem.n_params)
        layers = wbo.unpack(problem, theta)
        ampl = objective_value(mod.read_text(), dat.read_text(), [W.tolist() for W, _ in layers],
                               [b.tolist() for _, b in layers])
        assert ampl == pytest.approx(wbo.objective(problem, theta), rel=1e-10)
        assert ampl == pytest.approx(float(f_nlp(theta)), rel=1e-10)


def test_the_misclassification_model_has_the_corrected_big_m_rows(tmp_path):
    _, (mod, dat, _) = write_case("misclassified", tmp_path)
    text = mod.read_text()
    assert "var z{i in 1..n} binary;" in text
    assert "x[i,K,j] - x[i,K,y[i]] + margin <= M * z[i]" in text
    assert "x[i,1,j] * s[i,1,j] <= 0" in text  # the thesis' complementarity (eq. 3.5)
    assert read_dat(dat.read_text())["B"] == 2


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_lp_and_mps_refuse_the_nonlinear_model_naming_ampl(tmp_path, fmt):
    with pytest.raises(UnsupportedError, match="--to ampl"):
        write_case("regression", tmp_path, fmt)
    assert not (tmp_path / "out").exists()


def test_the_cli_writes_the_files_and_refuses_lp(tmp_path, capsys):
    write_case("regression", tmp_path)
    spec = tmp_path / "wbo_regression.nnq"
    assert main(["train", str(spec), "--to", "ampl", "-o", str(tmp_path / "cli"),
                 "--ampl-solver", "ipopt"]) == 0
    assert "option solver ipopt;" in (tmp_path / "cli" / "wbo_regression.run").read_text()
    capsys.readouterr()
    assert main(["compile", str(spec), "--to", "lp", "-o", str(tmp_path / "lp")]) == 1
    err = capsys.readouterr().err
    assert "--to ampl" in err and "^" in err and "wbo_regression.nnq:8:1" in err  # the train statement
    assert not (tmp_path / "lp").exists()
    assert main(["train", str(spec), "--to", "ampl"]) == 2  # no -o: a usage error
