"""Weights as variables in the language: the same programs as the trainer's, the
refusals, data sets, ties, start values and the files for other solvers."""

import subprocess
import sys

import highspy
import numpy as np
import pytest

import nnlang
from nnlang.errors import SemanticError
from nnlang.ir.options import Options
from nnlang.training import layers, problems

RNG = np.random.default_rng(11)
X = RNG.random((6, 3)) * 2
T = np.where(RNG.random((6, 2)) < 0.3, 0.0, RNG.random((6, 2)) * 2)


def weight_spec(extra: str = "", start: str = "") -> str:
    return f"""
param X = {X.tolist()}
param T = {T.tolist()}
var W[2, 3] in [-1, 1] {start}
var b[2] in [-1, 1]
network net {{
    input 3
    dense 2 relu weights W, b
}}
y = net(X)
minimize sum(abs(y - T))
{extra}
"""


def test_a_weight_milp_in_the_language_equals_the_trainers_program():
    result = nnlang.compile(text=weight_spec()).solve()
    direct = problems.group_weights(X, T, layers.dense(2, 3, 1.0), problems.L1, Options())
    assert result.status == "optimal"
    assert result.objective == pytest.approx(direct.objective, abs=1e-6)
    # re-checked by the forward pass with the solved weights
    assert result.forward_gap < 1e-6
    W, b = result.values["W"], result.values["b"]
    assert result.objective == pytest.approx(np.abs(np.maximum(X @ W.T + b, 0) - T).sum(),
                                             abs=1e-6)


def test_start_values_are_given_to_the_solver():
    m = nnlang.compile(text=weight_spec(start="start zeros(2, 3)"))
    assert m.milp.start is not None and m.milp.start[0].size == 6
    assert m.solve().objective == pytest.approx(nnlang.compile(text=weight_spec()).solve()
                                                .objective, abs=1e-6)


def test_variable_weights_times_a_variable_input_is_refused_with_its_location():
    text = """var W[2, 3] in [-1, 1]
var b[2] in [-1, 1]
var x[3] in [0, 1]
network net {
    input 3
    dense 2 relu weights W, b
}
y = net(x)
minimize sum(y)
"""
    with pytest.raises(SemanticError, match="product of variables, not a MILP") as err:
        nnlang.compile(text=text)
    assert err.value.span.line == 8 and err.value.span.column == 5


def test_two_layers_with_variable_weights_are_refused():
    text = f"""param X = {X.tolist()}
var W[2, 3] in [-1, 1]
var V[2, 2] in [-1, 1]
network net {{
    input 3
    dense 2 relu weights W, zeros(2)
    dense 2 relu weights V, zeros(2)
}}
y = net(X)
minimize sum(y)
"""
    with pytest.raises(SemanticError, match="layers 1 and 2"):
        nnlang.compile(text=text)


def test_an_untrained_network_cannot_be_applied():
    text = "network net {\n    input 3\n    dense 2 relu\n}\nvar x[3] in [0, 1]\n" \
           "y = net(x)\nminimize sum(y)\n"
    with pytest.raises(SemanticError, match="has no weights"):
        nnlang.compile(text=text)


def test_the_command_exits_1_with_a_caret(tmp_path):
    spec = tmp_path / "bad.nnq"
    spec.write_text("var W[2, 3] in [-1, 1]\nvar x[3] in [0, 1]\nnetwork net {\n    input 3\n"
                    "    dense 2 relu weights W, zeros(2)\n}\nminimize sum(net(x))\n")
    proc = subprocess.run([sys.executable, "-m", "nnlang", "check", str(spec)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "bad.nnq:7:14: error" in proc.stderr and "^" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_network_applied_to_every_sample_of_a_variable_batch_is_the_input_proposal():
    W = RNG.uniform(-1, 1, (2, 3))
    bias = RNG.uniform(-1, 1, 2)
    lo, hi = problems.proposal_bounds(X)
    text = f"""param W = {W.tolist()}
param Xt = {X.tolist()}
param T = {T.tolist()}
network net {{
    input 3
    dense 2 relu weights W, {bias.tolist()}
}}
var x[6, 3] in [clip(0.9 * Xt - 0.1, 0, 1000), 1.1 * Xt + 0.1]
y = net(x)
minimize sum(abs(y - T))
"""
    result = nnlang.compile(text=text).solve()
    per_sample = sum(problems.layer_inputs(W, bias, X[k], T[k], problems.L1, Options()).objective
                     for k in range(6))
    assert result.objective == pytest.approx(per_sample, abs=1e-6)
    x = result.values["x"]
    assert np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)
    assert result.values["x"].shape == (6, 3)


def test_a_constant_network_on_a_data_set_is_evaluated_per_row():
    text = f"""param X = {X.tolist()}
network net {{
    input 3
    dense 2 relu weights [[1, 0, -1], [0.5, 0.5, 0.5]], [0, -1]
}}
param out = net(X)
var z in [0, 1]
minimize z + sum(out)
"""
    m = nnlang.compile(text=text)
    W = np.array([[1, 0, -1], [0.5, 0.5, 0.5]])
    want = np.maximum(X @ W.T + np.array([0, -1]), 0).sum()
    assert m.solve().objective == pytest.approx(want)


def test_tied_weights_express_goebbels_convolution():
    k = RNG.random(9)
    imgs = RNG.random((5, 7, 7))
    params = layers.conv(7, 7, 3, 3, 0.0, 1.0)
    Wc, bc = params.weights(k)
    target = np.maximum(imgs.reshape(5, 49) @ Wc.T + bc, 0)
    text = f"""param X = {imgs.tolist()}
param T = {target.tolist()}
var k[9] in [0, 1]
network conv {{
    input 7, 7
    dense 25 relu weights reshape(conv_map(7, 7, 3, 3) @ k, 25, 49), zeros(25)
}}
minimize sum(abs(conv(X) - T))
"""
    result = nnlang.compile(text=text).solve()
    assert result.objective == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(result.values["k"], k, atol=1e-5)


def test_the_emitted_lp_file_has_the_same_optimum(tmp_path):
    spec = tmp_path / "w.nnq"
    spec.write_text(weight_spec())
    proc = subprocess.run([sys.executable, "-m", "nnlang", "compile", str(spec), "--to", "lp",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    h = highspy.Highs()
    h.silent()
    h.readModel(str(tmp_path / "out" / "w.lp"))
    h.run()
    want = nnlang.compile(path=spec).solve().objective
    assert h.getInfo().objective_function_value == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("block, message", [
    ("train net on X, y {\n    speed = 3\n}", "unknown training setting 'speed'"),
    ("train net on X, y + 5", "class indices in 0..1"),
    ("train net on X[:, 0:2], y", "one row of 4 features"),
    ("train other on X, y", "no network named 'other'"),
    ("train net on X, y {\n    init = 3\n}", "takes [lo, hi]"),
])
def test_train_statement_errors_are_located(block, message):
    text = ("network net {\n    input 4\n    dense 2 relu\n}\n"
            f"param X = {RNG.random((4, 4)).tolist()}\nparam y = [0, 1, 1, 0]\n" + block + "\n")
    with pytest.raises(SemanticError, match=message.replace("[", r"\[").replace("(", r"\(")):
        nnlang.compile(text=text)
