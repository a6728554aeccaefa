"""Models passed from Python, no files: ``Network.from_sklearn``, ``from_torch``,
``from_onnx``, used as the networks of a spec compiled from Python, and solved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.errors import NnlangError, SemanticError, UnsupportedError
from nnlang.networks.network import Network
from tests.surrogate.models import classifier, data, export, fit, mlp_logits, regressor

ROOT = Path(__file__).resolve().parents[2]

DESIGN = """
network f
param lo[4] = [-1, 2, -2, 0]
param hi[4] = [2, 8, 0.5, 5]
var x[4] in [lo, hi]
var n integer in [0, 3]
y = f(x)
minimize y[0]
subject to
x[0] + x[1] <= 6
x[3] == n + 0.5
"""


@pytest.mark.parametrize("scaler", [None, "standard", "minmax", "maxabs"])
def test_from_sklearn_matches_predict(scaler):
    model, _ = regressor(scaler)
    net = Network.from_sklearn(model)
    X = np.random.default_rng(1).normal(size=(50, 4)) * 4
    np.testing.assert_allclose(net.predict(X).ravel(), model.predict(X), rtol=1e-6, atol=1e-6)
    assert net.kind == "regression"


@pytest.mark.parametrize("n_classes", [2, 3])
def test_from_sklearn_classifier_needs_logits(n_classes):
    model, X = classifier(n_classes, "standard")
    with pytest.raises(UnsupportedError, match='output="logits"'):
        Network.from_sklearn(model)
    net = Network.from_sklearn(model, output="logits")
    np.testing.assert_allclose(net.predict(X), mlp_logits(model, X), rtol=1e-6, atol=1e-6)
    assert list(net.classes) == list(model.classes_)


def test_from_sklearn_refuses_what_it_cannot_encode():
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures

    X, y = data()
    tanh = fit(MLPRegressor(hidden_layer_sizes=(3,), activation="tanh", max_iter=5), X, y)
    with pytest.raises(UnsupportedError, match="tanh"):
        Network.from_sklearn(tanh)
    poly = fit(make_pipeline(PolynomialFeatures(), MLPRegressor(max_iter=5)), X, y)
    with pytest.raises(UnsupportedError, match="PolynomialFeatures"):
        Network.from_sklearn(poly)
    clip = fit(make_pipeline(MinMaxScaler(clip=True), MLPRegressor(max_iter=5)), X, y)
    with pytest.raises(UnsupportedError, match="clip"):
        Network.from_sklearn(clip)


def torch_regressor():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                               torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 5), torch.nn.ReLU(),
                               torch.nn.Linear(5, 1))


def test_from_torch_matches_forward():
    torch = pytest.importorskip("torch")
    module = torch_regressor().double()
    module.train()
    module(torch.randn(32, 4, dtype=torch.float64))  # running statistics not the defaults
    net = Network.from_torch(module, (4,))
    assert module.training  # left as it was
    module.eval()
    X = np.random.default_rng(2).normal(size=(40, 4))
    with torch.no_grad():
        ref = module(torch.tensor(X)).numpy()
    np.testing.assert_allclose(net.predict(X), ref, rtol=1e-6, atol=1e-6)


def test_from_torch_softmax_needs_logits():
    torch = pytest.importorskip("torch")
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
    with pytest.raises(UnsupportedError, match='output = "logits"'):
        Network.from_torch(module, 4)
    net = Network.from_torch(module, 4, output="logits")
    assert net.kind == "classifier" and net.n_out == 3
    with pytest.raises(UnsupportedError, match="torch.nn.Module"):
        Network.from_torch("not a module", 4)


def design_check(result, predict):
    x, n = result.values["x"], result.values["n"]
    assert result.status == "optimal"
    assert x[0] + x[1] <= 6 + 1e-6 and abs(x[3] - n - 0.5) < 1e-6
    assert abs(n - round(float(n))) < 1e-9
    assert result.objective == pytest.approx(float(np.ravel(predict(x[None, :]))[0]),
                                             abs=1e-5)


def test_a_spec_solved_over_a_pipeline_object():
    model, _ = regressor("standard")
    m = nnlang.compile(text=DESIGN, networks={"f": Network.from_sklearn(model)})
    r = m.solve()
    design_check(r, model.predict)
    # the same network given through params= and in place of a file
    text = DESIGN.replace("network f", 'network f = load("missing.onnx")')
    r2 = nnlang.compile(text=text, params={"f": Network.from_sklearn(model)}).solve()
    assert r2.objective == pytest.approx(r.objective, abs=1e-6)


def test_a_spec_solved_over_a_torch_module():
    torch = pytest.importorskip("torch")
    module = torch_regressor().eval()
    r = nnlang.compile(text=DESIGN, networks={"f": Network.from_torch(module, (4,))}).solve()

    def predict(x):
        with torch.no_grad():
            return module(torch.tensor(x, dtype=torch.float32)).numpy()
    design_check(r, predict)


def test_the_same_design_from_an_onnx_file(tmp_path):
    model, X = regressor("minmax")
    export(model, X, tmp_path / "f.onnx")
    text = DESIGN.replace("network f", 'network f = load("f.onnx")')
    r = nnlang.compile(tmp_path / "spec.nnq", text=text).solve()
    design_check(r, model.predict)
    r2 = nnlang.compile(text=DESIGN, networks={"f": Network.from_sklearn(model)}).solve()
    assert r2.objective == pytest.approx(r.objective, abs=1e-6)


def test_a_classifier_spec_states_the_logits_option(tmp_path):
    model, X = classifier(3, "standard")
    export(model, X, tmp_path / "clf.onnx")
    body = """
var x[4] in [-3, 3]
z = g(x)
maximize z[0] - z[2]
"""
    with pytest.raises(NnlangError) as err:
        nnlang.compile(tmp_path / "a.nnq", text='network g = load("clf.onnx")' + body)
    shown = err.value.render()
    assert "a.nnq:1:" in shown and 'output = "logits"' in shown and "^" in shown
    r = nnlang.compile(tmp_path / "b.nnq",
                       text='network g = load("clf.onnx", output = "logits")' + body).solve()
    z = mlp_logits(model, r.values["x"][None, :])[0]
    assert r.objective == pytest.approx(z[0] - z[2], abs=1e-5)


def test_networks_from_python_are_checked():
    with pytest.raises(SemanticError, match="pass it from Python"):
        nnlang.compile(text=DESIGN)
    model, _ = regressor()
    with pytest.raises(SemanticError, match="declares no network 'g'"):
        nnlang.compile(text=DESIGN, networks={"f": Network.from_sklearn(model),
                                              "g": Network.from_sklearn(model)})
    with pytest.raises(SemanticError, match="must be an nnlang.Network"):
        nnlang.compile(text=DESIGN, networks={"f": model})


def test_importing_nnlang_imports_neither_sklearn_nor_torch():
    code = ("import sys, nnlang\nnnlang.Network\nimport nnlang.api, nnlang.embedding\n"
            "print(any(m in sys.modules for m in ('sklearn', 'torch', 'skl2onnx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["sklearn", "torch"])
def test_model_object_converters_are_registered(name):
    import inspect

    from nnlang import registry

    converter = registry.load(registry.NETWORK_OBJECTS[name])
    params = list(inspect.signature(converter).parameters)
    assert params[0] in ("obj", "module") and params[-1] == "output"
