"""`nnlang import` round trip, `nnlang verify` exit codes and output, and a few real
VNN-COMP instances (skipped when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pytest

import nnlang
from nnlang.cli import main
from nnlang.networks.load import load_network
from nnlang.verify import read_counterexample, read_vnnlib, verify, write_spec
from nnlang.verify.vnnlib import parse_vnnlib

from .conftest import float32_network, shared, vnnlib_text, write_onnx


@pytest.fixture
def small(tmp_path):
    net = float32_network([4, 8, 8, 3], 11)
    path = write_onnx(net, tmp_path / "net.onnx")
    lo, hi = -np.ones(4), np.ones(4)
    X = lo + 2 * np.random.default_rng(0).random((20000, 4))
    Y = load_network(path).predict(X)
    return path, lo, hi, Y


def _props(tmp_path, lo, hi, Y):
    # sat: a sampled output proves it; unsat: far above every interval bound.
    big = float(np.abs(Y).max()) * 1000 + 1000
    sat = tmp_path / "sat.vnnlib"
    best = float(Y[:, 1].max())
    sat.write_text(vnnlib_text(lo, hi, 3, f"(or (and (>= Y_1 {best - 1e-3!r}) (<= Y_0 {big!r})) "
                                          f"(>= Y_2 {big!r}))"))
    unsat = tmp_path / "unsat.vnnlib"
    unsat.write_text(vnnlib_text(lo, hi, 3, f"(or (>= Y_0 {big!r}) (<= Y_2 {-big!r}))"))
    return sat, unsat


def test_import_round_trip(tmp_path, small):
    path, lo, hi, Y = small
    sat, unsat = _props(tmp_path, lo, hi, Y)
    for prop, want, code in ((sat, "optimal", 0), (unsat, "infeasible", 3)):
        out = tmp_path / "specs" / f"{prop.stem}.nnq"
        assert main(["import", str(path), str(prop), "-o", str(out)]) == 0
        text = out.read_text()
        assert "violation:" in text and "var x[4] in [lo, hi]" in text and " or " in text
        r = nnlang.compile(out).solve(time_limit=30)
        assert r.status == want
        assert verify(path, prop, 20).status == ("sat" if want == "optimal" else "unsat")
        assert main(["solve", str(out), "-q", "--no-diagnose"]) == code
        if want == "optimal":
            x = np.asarray(r.values["x"])
            case = read_vnnlib(prop).cases[0]
            assert case.in_box(x) and case.holds(load_network(path).predict(x), tol=1e-5)


def test_import_or_of_boxes(tmp_path, small):
    path, lo, hi, Y = small
    head = "".join(f"(declare-const X_{i} Real)\n" for i in range(4))
    head += "".join(f"(declare-const Y_{j} Real)\n" for j in range(3))
    b1 = " ".join(f"(>= X_{i} -1) (<= X_{i} 0)" for i in range(4))
    b2 = " ".join(f"(>= X_{i} 0.5) (<= X_{i} 1)" for i in range(4))
    prop = parse_vnnlib(head + f"(assert (or (and {b1}) (and {b2})))\n(assert (>= Y_0 -1e9))")
    files = write_spec(path, prop, tmp_path / "boxes.nnq")
    assert "input_region:" in files.text
    r = nnlang.compile(files.spec).solve(time_limit=30)
    assert r.status == "optimal"
    x = np.asarray(r.values["x"])
    assert any(c.in_box(x + 0) or np.all((x >= c.lo - 1e-6) & (x <= c.hi + 1e-6))
               for c in prop.cases)


def test_cli_verify_outputs_and_result_file(tmp_path, small, capsys):
    path, lo, hi, Y = small
    sat, unsat = _props(tmp_path, lo, hi, Y)
    res = tmp_path / "result.txt"
    assert main(["verify", str(path), str(sat), "--timeout", "20", "--result", str(res)]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "sat" and "counterexample" in out.err
    status, x, y = read_counterexample(res)
    assert status == "sat" and x.size == 4 and y.size == 3
    assert res.read_text().startswith("sat\n((X_0 ")
    assert main(["verify", str(path), str(unsat), "--timeout", "20", "-q", "--result",
                 str(res)]) == 0
    assert capsys.readouterr().out.strip() == "unsat"
    assert res.read_text() == "unsat\n"


def test_cli_errors(tmp_path, small, capsys):
    path, lo, hi, Y = small
    bad = tmp_path / "bad.vnnlib"
    bad.write_text("(declare-const X_0 Real)\n(assert (>= X_0 (foo 1)))\n")
    assert main(["verify", str(path), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.vnnlib:2:18: error: unsupported operator 'foo'" in err
    wrong = tmp_path / "wrong.vnnlib"
    wrong.write_text(vnnlib_text([0, 0], [1, 1], 3, "(>= Y_0 0)"))
    assert main(["verify", str(path), str(wrong)]) == 1
    assert "declares 2 inputs" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.onnx"), str(wrong)]) == 1
    assert main(["verify", str(path), str(wrong), "--timeout", "-1"]) == 2
    assert main(["verify", str(path)]) == 2


def test_timeout_exit_code(tmp_path, capsys):
    # A wide network, a tight threshold and almost no time: not decided.
    net = float32_network([30, 64, 64, 64, 2], 3)
    path = write_onnx(net, tmp_path / "wide.onnx")
    lo, hi = -np.ones(30), np.ones(30)
    X = lo + 2 * np.random.default_rng(1).random((5000, 30))
    m = float(load_network(path).predict(X)[:, 0].max())
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib_text(lo, hi, 2, f"(>= Y_0 {m + 0.05 * (1 + abs(m))!r})"))
    code = main(["verify", str(path), str(prop), "--timeout", "0.5"])
    status = capsys.readouterr().out.strip()
    assert (status, code) in (("timeout", 4), ("unknown", 4), ("unsat", 0), ("sat", 0))


# ------------------------------------------------------------- real instances


@pytest.mark.parametrize("bench,net,prop,want", [
    ("vnncomp-acasxu", "onnx/ACASXU_run2a_1_1_batch_2000.onnx", "vnnlib/prop_1.vnnlib", "unsat"),
    ("vnncomp-acasxu", "onnx/ACASXU_run2a_2_1_batch_2000.onnx", "vnnlib/prop_2.vnnlib", "sat"),
    ("vnncomp-mnistfc", "onnx/mnist-net_256x2.onnx", "vnncomp2021/vnnlib/prop_1_0.05.vnnlib",
     "sat"),
    ("vnncomp-mnistfc", "onnx/mnist-net_256x2.onnx", "vnncomp2021/vnnlib/prop_6_0.03.vnnlib",
     "unsat"),
    ("vnncomp-eran-mnist", "onnx/mnist_relu_9_200.onnx",
     "vnnlib/mnist_spec_idx_8098_eps_0.01500.vnnlib", "unsat"),
])
def test_vnncomp_instances(bench, net, prop, want):
    folder = shared(bench)
    r = verify(folder / net, folder / prop, 30)
    assert r.status == want, r.message
    if want == "sat":
        p = read_vnnlib(folder / prop)
        x = r.counterexample.x
        assert any(c.in_box(x) and c.holds(load_network(folder / net).predict(x))
                   for c in p.cases)


def test_published_counterexamples_hold():
    """The counterexamples VNN-COMP tools submitted check out with our reader and network."""
    folder = shared("vnncomp-mnistfc")
    import csv

    with open(folder / "counterexamples.csv", newline="") as f:
        rows = list(csv.DictReader(f))[:3]
    for row in rows:
        net = load_network(folder / "onnx" / row["network"])
        prop = read_vnnlib(folder / row["property"])
        _, x, y = read_counterexample(folder / row["counterexample_file"])
        case = prop.cases[0]
        assert case.in_box(x)
        np.testing.assert_allclose(net.predict(x), y, atol=1e-4)
        assert case.holds(net.predict(x), tol=1e-6)
