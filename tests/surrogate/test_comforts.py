"""Language comforts for surrogate models: integer entries of a vector, names for a
variable's entries, a regression output shown as a value and a classifier's as a class,
and a network file given where a spec belongs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.errors import NnlangError, SemanticError
from nnlang.networks.network import Network
from nnlang.pictures import attribute_table, subjects
from tests.surrogate.models import classifier, export, regressor

ROOT = Path(__file__).resolve().parents[2]
SPEC = """network f
var x[4] in [-1.5, 2.5] integer [1, 3] names ["width", "height", "depth", "rooms"]
y = f(x)
minimize y[0]
subject to
x[0] + x[2] <= 1.25
"""


def test_chosen_entries_are_integer_and_the_rest_not():
    model, _ = regressor("standard")
    net = Network.from_sklearn(model)
    r = nnlang.compile(text=SPEC, networks={"f": net}).solve()
    x = r.values["x"]
    assert x[1] == round(x[1]) and x[3] == round(x[3])
    # the same problem with a second variable and equalities, as users wrote it before
    old = SPEC.replace(' integer [1, 3] names ["width", "height", "depth", "rooms"]', "")
    old += "var k[2] integer in [-1.5, 2.5]\nx[1] == k[0]\nx[3] == k[1]\n"
    r2 = nnlang.compile(text=old, networks={"f": net}).solve()
    assert r.objective == pytest.approx(r2.objective, abs=1e-6)
    relaxed = nnlang.compile(text=SPEC.replace(" integer [1, 3]", ""),
                             networks={"f": net}).solve()
    assert relaxed.objective <= r.objective + 1e-9
    assert r.objective == pytest.approx(float(model.predict(x[None])[0]), abs=1e-6)


def test_entry_names_in_the_summary_json_and_tables():
    model, _ = regressor("standard")
    m = nnlang.compile(text=SPEC, networks={"f": Network.from_sklearn(model)})
    r = m.solve()
    text = r.summary()
    assert "x           width " in text and "\n            rooms " in text
    assert "y           predicts " in text and "class" not in text
    d = json.loads(r.to_json())
    assert d["names"]["x"] == ["width", "height", "depth", "rooms"]
    assert d["networks"]["y"]["predicted"] is None and d["networks"]["y"]["kind"] == "regression"
    table = attribute_table(subjects(m, r)[0])
    assert "| rooms |" in table and "predicted class" not in table


def test_names_from_a_csv_header(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,c,d,target\n1,2,3,4,5\n")
    model, _ = regressor()
    text = SPEC.replace('["width", "height", "depth", "rooms"]', 'header("d.csv", 4)')
    r = nnlang.compile(tmp_path / "s.nnq", text=text,
                       networks={"f": Network.from_sklearn(model)}).solve()
    assert r.names["x"] == ["a", "b", "c", "d"]
    with pytest.raises(SemanticError, match="4 entries but 5 names"):
        nnlang.compile(tmp_path / "s.nnq", text=text.replace(', 4)', ')'),
                       networks={"f": Network.from_sklearn(model)})


@pytest.mark.parametrize("decl, message", [
    ("var x[4] integer in [0, 3] integer [1]", "integer already"),
    ("var x[4] in [0, 3] integer [4]", "out of range"),
    ("var x[4] in [0.2, 0.8] integer [0]", "contain no integer"),
    ('var x[4] in [0, 3] names ["a", "a", "b", "c"]', "repeat"),
    ("var x[4] in [0, 3] names 3", "list of strings"),
])
def test_bad_comforts_are_located(decl, message):
    model, _ = regressor()
    with pytest.raises(NnlangError, match=message) as err:
        nnlang.compile(text=f"network f\n{decl}\ny = f(x)\nminimize y[0]\n",
                       networks={"f": Network.from_sklearn(model)})
    assert err.value.render().startswith("<string>:2:")


def test_a_classifier_shows_its_class_label(tmp_path):
    model, X = classifier(3, "standard")
    export(model, X, tmp_path / "clf.onnx")
    spec = ('network g = load("clf.onnx", output = "logits")\nvar x[4] in [-3, 3]\n'
            "z = g(x)\nmaximize z[1] - z[0] - z[2]\n")
    r = nnlang.compile(tmp_path / "c.nnq", text=spec).solve()
    label = model.predict(r.values["x"][None])[0]
    assert r.networks["z"].predicted_label == label
    assert f"predicts class {r.networks['z'].predicted} ('{label}')" in r.summary()


@pytest.mark.parametrize("name", ["model.onnx", "weights.npz"])
def test_a_network_file_where_a_spec_belongs(tmp_path, name):
    model, X = regressor()
    path = tmp_path / name
    if name.endswith(".onnx"):
        export(model, X, path)
    else:
        np.savez(path, W0=np.ones((2, 2)))
    out = subprocess.run([sys.executable, "-m", "nnlang", "check", str(path)], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:1:1: error: '{name}' is an")
    assert "load(" in lines[0]
