"""Bad weights and data files are located errors naming what is wrong; an unbounded
problem is called unbounded; a solve stopped by a gap tolerance or a limit says so and
keeps its bound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.errors import DataError
from nnlang.testing import random_network, write_network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC = """network net = load("{weights}")
param d[3] = data("{data}", "d")
var x[3] in [-1, 1]
var t
y = net(x)
{objective}
"""


def _good(tmp_path: Path) -> tuple[Path, Path]:
    weights = write_network(random_network([3, 4, 2], seed=1), tmp_path / "net.npz")
    np.savez(tmp_path / "d.npz", d=np.zeros(3))
    return weights, tmp_path / "d.npz"


def _spec(tmp_path, weights, data, objective="minimize sum(x) - t\nsubject to\n    c: t <= 1"):
    path = tmp_path / "s.nnq"
    path.write_text(SPEC.format(weights=weights.name, data=data.name, objective=objective))
    return path


def _bad_files(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    np.savez_compressed(tmp_path / "zc.npz", d=np.random.default_rng(0).random(500))
    zipped = (tmp_path / "zc.npz").read_bytes()
    corrupt = bytearray(zipped)
    corrupt[len(corrupt) // 3: len(corrupt) // 3 + 40] = b"\0" * 40
    np.save(tmp_path / "one.npy", np.zeros(3))
    return {
        "empty": (b"", "is empty"),
        "text": (b"W0,b0\n1,2\n", "not an .npz archive"),
        "npy": ((tmp_path / "one.npy").read_bytes(), "a single .npy array"),
        "truncated": (zipped[: len(zipped) // 2], "truncated or corrupt"),
        "corrupt": (bytes(corrupt), "truncated or corrupt"),
    }


@pytest.mark.parametrize("case", ["empty", "text", "npy", "truncated", "corrupt"])
@pytest.mark.parametrize("role", ["weights", "data"])
def test_a_bad_npz_is_a_located_error_that_says_what_is_wrong(tmp_path, case, role):
    weights, data = _good(tmp_path)
    content, words = _bad_files(tmp_path)[case]
    bad = tmp_path / f"bad_{case}.npz"
    bad.write_bytes(content)
    path = _spec(tmp_path, bad if role == "weights" else weights, bad if role == "data" else data)
    with pytest.raises(DataError) as err:
        nnlang.compile(path)
    assert words in str(err.value) and bad.name in str(err.value)
    assert err.value.span is not None and err.value.span.line == (1 if role == "weights" else 2)


@pytest.mark.parametrize("key,value,words", [
    ("W0", np.array([["a"] * 3] * 4), "'W0' is not numeric"),
    ("input_shape", np.array(["28", "28"]), "'input_shape' must be positive whole numbers"),
    ("input_shape", np.array([0]), "'input_shape' must be positive whole numbers"),
])
def test_non_numeric_weights_or_shape_are_refused(tmp_path, key, value, words):
    weights, data = _good(tmp_path)
    arrays = dict(np.load(weights))
    arrays[key] = value
    np.savez(weights, **arrays)
    with pytest.raises(DataError, match=words):
        nnlang.compile(_spec(tmp_path, weights, data))


def test_an_unbounded_problem_is_unbounded_not_infeasible(tmp_path):
    weights, data = _good(tmp_path)
    path = _spec(tmp_path, weights, data, "maximize y[0] + t")
    for opts in ({}, {"solver": "scip"}):
        if opts and "SCIP" not in __import__("cvxpy").installed_solvers():
            continue
        r = nnlang.compile(path).solve(tighten=False, **opts)
        assert r.status == "unbounded", opts
    # and an infeasible one stays infeasible
    infeasible = _spec(tmp_path, weights, data, "maximize y[0] + t\nsubject to\n"
                                                "    a: t >= 2\n    b: t <= 1")
    assert nnlang.compile(infeasible).solve(tighten=False).status == "infeasible"


GAP_SPEC = """network dnn3 {{
    input 9
    dense 3 relu
    dense 3 relu
    dense 2 relu
    weights "{weights}"
}}
var x[9] integer in [1, 10]
y = dnn3(x)
maximize y[0] - y[1]
"""


def test_a_gap_tolerance_is_not_shown_as_the_optimum(tmp_path):
    path = tmp_path / "gap.nnq"
    path.write_text(GAP_SPEC.format(weights=EXAMPLES / "models" / "breast_9_3_3_2.npz"))
    m = nnlang.compile(path)
    loose = m.solve(mip_gap=2.0, tighten=False)
    exact = m.solve(mip_gap=0.0, tighten=False)
    assert loose.status == exact.status == "optimal"
    assert loose.gap > 1e-4 and loose.objective < exact.objective  # stopped early
    text = loose.summary().splitlines()
    assert "within the MIP gap" in text[0]
    assert any(line.startswith("bound") for line in text)
    assert "within the MIP gap" not in exact.summary()


def test_a_limited_solve_keeps_the_solver_s_bound():
    m = nnlang.compile(EXAMPLES / "mnist_optimal_input.nnq")
    r = m.solve(tighten=False, radius_search=False,
                solver_args={"HIGHS": {"mip_max_nodes": 1}})
    assert r.status == "time_limit" and r.bound is not None and np.isfinite(r.bound)
    if r.objective is not None:  # a maximization: the bound is above the point found
        assert r.bound >= r.objective - 1e-9 and r.gap is not None


def test_a_symbolic_feature_dimension_is_named_not_a_shape_mismatch(tmp_path):
    from onnx import TensorProto, helper, numpy_helper, save

    from nnlang.errors import UnsupportedError
    from nnlang.networks.load import load_network

    W = np.ones((3, 4), np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "F"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.zeros(3, np.float32), "b")])
    save(helper.make_model(graph), tmp_path / "sym.onnx")
    with pytest.raises(UnsupportedError, match="symbolic dimension 'F' at position 1"):
        load_network(tmp_path / "sym.onnx")
    # a symbolic batch dimension in front stays fine
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    graph.input[0].type.tensor_type.shape.dim[1].dim_value = 4
    save(helper.make_model(graph), tmp_path / "batch.onnx")
    assert load_network(tmp_path / "batch.onnx").n_in == 4
