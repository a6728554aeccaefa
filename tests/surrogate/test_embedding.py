"""nnlang inside the user's own CVXPY model (``nnlang.embed``), and a spec's compiled
model extended from Python, each against the same problem written as a spec."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import nnlang
from nnlang.errors import DataError
from nnlang.networks.network import Network
from tests.surrogate.models import classifier, regressor
from tests.surrogate.test_python_objects import DESIGN

LO, HI = np.array([-1, 2, -2, 0.0]), np.array([2, 8, 0.5, 5.0])


def spec_optimum(net, extra=""):
    return nnlang.compile(text=DESIGN + extra, networks={"f": net}).solve()


def test_embedded_network_with_side_constraints_matches_the_spec():
    model, _ = regressor("standard")
    net = Network.from_sklearn(model)
    x = cp.Variable(4)
    n = cp.Variable(integer=True)
    e = nnlang.embed(net, x, LO, HI)
    side = [x[0] + x[1] <= 6, x[3] == n + 0.5, n >= 0, n <= 3]
    problem = cp.Problem(cp.Minimize(e.output[0]), e.constraints + side)
    problem.solve(solver="HIGHS")
    r = spec_optimum(net)
    assert problem.value == pytest.approx(r.objective, abs=1e-6)
    assert float(e.output.value[0]) == pytest.approx(float(model.predict(x.value[None])[0]),
                                                     abs=1e-6)
    np.testing.assert_allclose(e.predict(), e.output.value, atol=1e-6)


def test_an_extra_cost_term_and_a_matrix_input():
    model, _ = regressor("minmax")
    net = Network.from_sklearn(model)
    X = cp.Variable((2, 2), bounds=[LO.reshape(2, 2), HI.reshape(2, 2)])  # bounds from x
    e = nnlang.embed(net, X)
    cost = e.output[0] + 0.3 * cp.sum(X)
    problem = cp.Problem(cp.Minimize(cost), e.constraints + [X[0, 0] + X[0, 1] <= 6])
    problem.solve(solver="HIGHS")
    # the same as a spec: x is X read row by row
    extra = "\nsubject to\nx[0] + x[1] <= 6\n"
    text = DESIGN.split("subject to")[0].replace("minimize y[0]",
                                                   "minimize y[0] + 0.3 * sum(x)")
    r = nnlang.compile(text=text.replace("var n integer in [0, 3]\n", "") + extra,
                       networks={"f": net}).solve()
    assert problem.value == pytest.approx(r.objective, abs=1e-6)
    x = X.value.ravel()
    assert problem.value == pytest.approx(float(model.predict(x[None])[0]) + 0.3 * x.sum(),
                                          abs=1e-6)


def test_a_classifier_margin_over_its_logits():
    model, X0 = classifier(3, "standard")
    net = Network.from_sklearn(model, output="logits")
    x = cp.Variable(4)
    e = nnlang.embed(net, x, -4, 4, bounds="lp")
    z = e.output
    problem = cp.Problem(cp.Maximize(z[1] - z[0]), e.constraints + [z[1] >= z[2]])
    problem.solve(solver="HIGHS")
    assert problem.status == "optimal"
    assert model.classes_[np.argmax(e.predict())] == model.predict(x.value[None])[0]


def test_the_spec_model_extended_from_python():
    model, _ = regressor("standard")
    m = nnlang.compile(text=DESIGN, networks={"f": Network.from_sklearn(model)})
    x, n = m.variables["x"], m.variables["n"]
    y = m.outputs["y"]
    assert x.shape == (4,) and n.shape == () and y.shape == (1,)
    cost = m.objective.expr + 0.5 * cp.sum(cp.abs(x - 1))
    problem = cp.Problem(cp.Minimize(cost), m.constraints + [x[2] >= -1])
    problem.solve(solver="HIGHS")
    # the same problem as a spec
    extra = "x[2] >= -1\n"
    spec = DESIGN.replace("minimize y[0]", "minimize y[0] + 0.5 * norm1(x - 1)") + extra
    r = nnlang.compile(text=spec, networks={"f": Network.from_sklearn(model)}).solve()
    assert problem.value == pytest.approx(r.objective, abs=1e-6)
    assert float(y.value[0]) == pytest.approx(float(model.predict(x.value[None])[0]), abs=1e-6)


def test_embed_needs_finite_bounds_and_the_right_size():
    model, _ = regressor()
    net = Network.from_sklearn(model)
    with pytest.raises(DataError, match="finite lower and upper"):
        nnlang.embed(net, cp.Variable(4))
    with pytest.raises(DataError, match="finite"):
        nnlang.embed(net, cp.Variable(4), -np.inf, 1)
    with pytest.raises(DataError, match="takes 4 inputs"):
        nnlang.embed(net, cp.Variable(3), 0, 1)


def test_embed_reads_a_network_file(tmp_path):
    from nnlang.networks.npz import save_npz

    model, _ = regressor()
    net = Network.from_sklearn(model)
    save_npz(net, tmp_path / "f.npz")
    x = cp.Variable(4)
    e = nnlang.embed(tmp_path / "f.npz", x, LO, HI)
    problem = cp.Problem(cp.Maximize(e.output[0]), e.constraints)
    problem.solve(solver="HIGHS")
    assert problem.value == pytest.approx(float(model.predict(x.value[None])[0]), abs=1e-6)
