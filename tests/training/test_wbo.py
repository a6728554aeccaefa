"""The WBO problem of the WBO master's thesis (ch. 3): the hyperbolic ReLU's error,
IPOPT's end points, the multi-start, SCIP's misclassification count, the language."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlang
from nnlang.cli import main
from nnlang.errors import SemanticError
from nnlang.training import wbo
from nnlang.training.wbo_global import count_proved, misclassified_count, solve_global
from nnlang.training.wbo_spec import problem_of

pytest.importorskip("casadi")

RNG = np.random.default_rng(3)
XR = RNG.normal(size=(8, 2))
YR = (np.abs(XR[:, 0]) + 0.5 * XR[:, 1] + 1.0)[:, None]  # a nonlinear target


def regression(sizes=(2, 3, 1), acts=("relu", "linear"), loss="squared", **kw):
    y = YR if loss == "squared" else (XR[:, 0] > 0).astype(int)
    return wbo.Problem(list(sizes), list(acts), XR, y, loss, **kw)


@settings(max_examples=60, deadline=None)
@given(st.floats(-50, 50), st.floats(1e-12, 1.0))
def test_the_hyperbolic_relu_is_above_relu_by_at_most_sqrt_eps_over_two(t, eps):
    gap = wbo.smooth_relu(t, eps) - max(t, 0.0)
    assert -1e-12 <= gap <= np.sqrt(eps) / 2 + 1e-12


def _propagated_bound(problem, theta):
    """|smooth - exact| per neuron: each layer adds sqrt(eps)/2 to |W| times the error
    of its inputs, since the hyperbolic ReLU is 1-Lipschitz (its slope is in (0, 1))."""
    e = np.zeros(problem.sizes[0])
    for (W, _), act in zip(wbo.unpack(problem, theta), problem.activations):
        e = np.abs(W) @ e + (np.sqrt(problem.eps) / 2 if act == "relu" else 0.0)
    return e


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(float, 2 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2, elements=st.floats(-2, 2)),
       st.sampled_from([1e-1, 1e-3, 1e-6, 1e-10]))
def test_the_smooth_forward_pass_converges_to_relu_within_the_propagated_bound(theta, eps):
    p = wbo.Problem([2, 4, 3, 2], ["relu", "relu", "linear"], XR, np.zeros(8, int),
                    "expected_correct", eps=eps)
    smooth = wbo.forward(p, theta)
    exact = wbo.forward(p, theta, smooth=False)
    bound = _propagated_bound(p, theta)
    assert np.all(np.abs(smooth - exact) <= bound + 1e-9)
    # per neuron with exact inputs: one layer's smooth output against its ReLU
    x = XR
    for (W, b), act in zip(wbo.unpack(p, theta), p.activations):
        t = x @ W.T + b
        if act == "relu":
            assert np.all(wbo.smooth_relu(t, eps) - np.maximum(t, 0) <= np.sqrt(eps) / 2 + 1e-12)
        x = np.maximum(t, 0) if act == "relu" else t


def _gradient(problem, theta, h=1e-6):
    g = np.zeros_like(theta)
    for k in range(len(theta)):
        d = np.zeros_like(theta)
        d[k] = h
        g[k] = (wbo.objective(problem, theta + d) - wbo.objective(problem, theta - d)) / (2 * h)
    return g


@pytest.mark.parametrize("loss", ["squared", "expected_correct"])
def test_ipopt_ends_where_the_finite_difference_gradient_vanishes(loss):
    p = regression(acts=("relu", "linear") if loss == "squared" else ("relu", "relu"),
                   sizes=(2, 3, 1) if loss == "squared" else (2, 3, 2), loss=loss)
    s = wbo.solve_nlp(p, starts=2, seed=1, tolerance=1e-10)
    assert s.objective == pytest.approx(wbo.objective(p, s.theta), rel=1e-9, abs=1e-9)
    g = _gradient(p, s.theta)
    assert np.max(np.abs(g)) < 1e-5, g
    # and the point is not a trivial one: a random point's gradient is large
    assert np.max(np.abs(_gradient(p, wbo.starting_point(p, RNG, None)))) > 1e-2


def test_multi_start_reports_every_start_and_keeps_the_best():
    p = regression(sizes=(2, 4, 1))
    s = wbo.solve_nlp(p, starts=4, seed=0, max_iterations=15)  # stopped early: starts differ
    values = [r.objective for r in s.starts]
    assert len(values) == 4 and len(set(np.round(values, 8))) > 1
    assert s.objective == min(values) and s.best == int(np.argmin(values))
    assert wbo.objective(p, s.theta) == pytest.approx(s.objective, rel=1e-9)
    again = wbo.solve_nlp(p, starts=4, seed=0, max_iterations=15)
    assert [r.objective for r in again.starts] == values  # seeded


def test_scip_counts_the_known_minimum_of_misclassified_samples():
    # three samples at x = 0 with classes 0, 0, 1 and two at x = 1 with class 1: no
    # function of x gets the three at x = 0 right, so at least one is wrong, and a
    # threshold between 0 and 1 gets all the others right: the minimum is 1
    X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0]])
    y = np.array([0, 0, 1, 1, 1])
    for acts in (["linear"], ["relu"]):
        p = wbo.Problem([1, 2], acts, X, y, "misclassified", lam=1e-3, relu="exact",
                        margin=0.01, weight_bound=1.0)
        s = solve_global(p, time_limit=60)
        assert s.status == "optimal" and count_proved(s)
        assert s.count == 1  # the model's sum of z
        assert misclassified_count(p, s.theta, margin=0.0) == 1  # the forward pass agrees
        assert 1.0 <= s.objective < 1.0 + 1e-3 * p.n_params * 1.0


def test_scip_exact_relu_regression_is_no_worse_than_the_smooth_nlp_rounded():
    # one hidden neuron, four samples: SCIP's global optimum of the exact-ReLU model is
    # at most the exact-ReLU objective at the NLP's (local, smoothed) point
    X, y = XR[:4, :1], YR[:4]
    p = wbo.Problem([1, 1, 1], ["relu", "linear"], X, y, "squared", lam=0.01, relu="exact",
                    weight_bound=3.0)
    s = solve_global(p, time_limit=60)
    assert s.status == "optimal"

    def exact(th):
        return float(((wbo.forward(p, th, smooth=False) - y) ** 2).sum() + 0.01 * th @ th)
    assert s.objective == pytest.approx(exact(s.theta), abs=1e-5)
    smooth = wbo.Problem([1, 1, 1], ["relu", "linear"], X, y, "squared", lam=0.01)
    nlp = wbo.solve_nlp(smooth, starts=3, seed=0)
    if np.all(np.abs(nlp.theta) <= 3.0):
        assert s.objective <= exact(nlp.theta) + 1e-5


SPEC = """network net {{
    input 2
    dense 3 relu
    dense {n_out}{act}
}}
param X = {X}
param y = {y}
train net on X, y {{
    method = "wbo"
    {settings}
}}
"""


def spec(settings_text="starts = 2", loss="squared"):
    if loss == "squared":
        return SPEC.format(n_out=1, act="", X=XR.tolist(), y=YR.ravel().tolist(),
                           settings=settings_text)
    return SPEC.format(n_out=2, act=" relu", X=XR.tolist(),
                       y=(XR[:, 0] > 0).astype(int).tolist(),
                       settings=f'loss = "{loss}"\n    ' + settings_text)


def test_a_spec_trains_and_writes_a_network_that_any_spec_loads(tmp_path):
    t = nnlang.train(text=spec("starts = 2\n    lambda = 0.001"), run_dir=tmp_path)
    assert t.solution.kind.startswith("smooth NLP") and len(t.solution.starts) == 2
    from nnlang.networks.npz import load_npz
    from nnlang.networks.onnx import load_onnx
    for net in (load_npz(tmp_path / "network.npz"), load_onnx(tmp_path / "network.onnx")):
        x = XR
        for layer in net.layers:
            x = x @ layer.W.T + layer.b
            x = np.maximum(x, 0) if layer.activation == "relu" else x
        assert np.allclose(x, wbo.forward(wbo.Problem([2, 3, 1], ["relu", "linear"], XR, YR),
                                          t.solution.theta, smooth=False))
    assert t.scores["train"]["mean_relative_error"] < 0.5


@pytest.mark.parametrize("settings_text, message", [
    ('loss = "hinge"', "'loss' takes one of \"squared\", \"expected_correct\""),
    ("batch_size = 3", "unknown training setting 'batch_size' for method \"wbo\""),
    ('relu = "exact"\n    solver = "ipopt"', "IPOPT is a local NLP solver"),
])
def test_bad_settings_are_errors_at_their_line(settings_text, message):
    with pytest.raises(SemanticError) as err:
        nnlang.train(text=spec(settings_text))
    assert message in str(err.value)
    assert err.value.span is not None and err.value.span.line >= 8  # the train statement on


def test_an_unknown_method_and_bad_targets_are_refused():
    with pytest.raises(SemanticError, match="'method' takes one of 'goebbels', 'wbo'"):
        nnlang.compile(text=spec().replace('"wbo"', '"adam"'))
    labels = (XR[:, 0] > 0).astype(int).tolist()
    text = spec(loss="expected_correct").replace(f"param y = {labels}",
                                                 f"param y = {[0.5, *labels[1:]]}")
    with pytest.raises(SemanticError, match="class indices"):
        nnlang.compile(text=text)
    with pytest.raises(SemanticError, match="regression targets must be 8 finite rows"):
        nnlang.compile(text=spec().replace(f"param y = {YR.ravel().tolist()}",
                                           f"param y = {YR.ravel()[:5].tolist()}"))


def test_the_cli_says_what_it_built_and_reports_every_start(tmp_path, capsys):
    spec_file = tmp_path / "wbo.nnq"
    spec_file.write_text(spec("starts = 3"))
    assert main(["train", str(spec_file), "-o", str(tmp_path / "run"), "--starts", "2"]) == 0
    run = capsys.readouterr()
    assert "built a smooth NLP" in run.err and "IPOPT" in run.err
    assert run.err.count("start ") == 2 and "best of 2 start(s)" in run.out
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["objective"] == min(s["objective"] for s in history["starts"])
    assert main(["train", str(spec_file), "--workers", "2"]) == 1
    assert "unknown training setting(s) workers" in capsys.readouterr().err


@pytest.mark.parametrize("name, samples, sizes, loss", [
    ("breast_dnn1.nnq", 342, [9, 3, 2], "expected_correct"),
    ("energy_dnn3.nnq", 400, [8, 3, 3, 1], "squared"),
])
def test_the_example_specs_state_the_thesis_problems(name, samples, sizes, loss):
    path = Path(__file__).resolve().parents[2] / "examples" / "training" / "wbo" / name
    program = nnlang.compile(path).program
    p = problem_of(program)
    assert (len(p.X), p.sizes, p.loss, p.lam, p.eps) == (samples, sizes, loss, 0.01, 1e-3)
    assert len(program.training.settings["test_inputs"]) == (341 if samples == 342 else 350)
