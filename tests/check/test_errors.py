"""Every error a user can make gives a located message and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.errors import NnlangError
from nnlang.testing import random_network, write_network

HEADER = 'network net = load("net.npz")\nvar x[4] in [0, 1]\n'


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_network(random_network([4, 5, 3], seed=0), tmp_path / "net.npz")
    np.savez(tmp_path / "data.npz", images=np.zeros((2, 4)), labels=np.array([1, 2]))
    return tmp_path


def _error(workdir: Path, text: str, **params) -> NnlangError:
    spec = workdir / "spec.nnq"
    spec.write_text(text)
    with pytest.raises(NnlangError) as info:
        m = nnlang.compile(spec, params=params or None)
        r = m.solve()
        if r.status == "infeasible":
            from nnlang.solve.diagnose import diagnose_infeasible

            d = diagnose_infeasible(m.milp, m.options)
            raise NnlangError(d.message(), d.span, m.program.source)
    return info.value


CASES = {
    "syntax": (HEADER + "y = net(x\nmaximize y[0]\n", 4, "unexpected"),
    "syntax_char": (HEADER + "y = net(x) $\n", 3, "unexpected character '$'"),
    "unknown_name": (HEADER + "y = net(z)\n", 3, "unknown name 'z'"),
    "shape_mismatch": ('network net = load("net.npz")\nvar x[5] in [0, 1]\ny = net(x)\n', 3,
                       "expects an input of size 4, got x[5]"),
    "add_shapes": (HEADER + "var w[3]\nminimize sum(x + w)\n", 4, "shape mismatch"),
    "missing_file": ('network net = load("nope.npz")\n', 1, "not found"),
    "missing_data": (HEADER + 'param p = data("nope.npz", "a")\n', 3, "not found"),
    "wrong_data_key": (HEADER + 'param p = data("data.npz", "imgs")\n', 3,
                       "has no array 'imgs'"),
    "index_range": (HEADER + "y = net(x)\nmaximize y[3]\n", 4, "index 3 out of range"),
    "layer_range": (HEADER + "y = net(x)\nmaximize y.layer[5][0]\n", 4,
                    "layer index 5 out of range"),
    "unbounded_input": ('network net = load("net.npz")\nvar x[4]\ny = net(x)\nmaximize y[0]\n',
                        3, "variable 'x' needs finite bounds"),
    "unknown_option": (HEADER + "options {\n    solvr = highs\n}\n", 4, "unknown option 'solvr'"),
    "unknown_encoding": (HEADER + "options {\n    encoding = magic\n}\n", 3,
                         "unknown encoding 'magic'"),
    "nonlinear_product": (HEADER + "minimize sum(x) * x[0]\n", 3, "not linear"),
    "maximize_norm": (HEADER + "maximize norm1(x)\n", 3, "only valid where it is minimized"),
    "duplicate": (HEADER + "var x[2]\n", 3, "already defined"),
    "missing_param": (HEADER + "param k\n", 3, "has no value"),
    "infeasible": (HEADER + "y = net(x)\nsubject to\n    low: sum(x) <= 1\n"
                   "    high: sum(x) >= 2\n", 5, "infeasible"),
    "const_false": (HEADER + "subject to\n    bad: 1 >= 2\n", 4, "always false"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_error_has_location(workdir, case):
    text, line, fragment = CASES[case]
    err = _error(workdir, text)
    assert fragment in err.message
    assert err.span is not None and err.span.line == line
    rendered = err.render()
    assert rendered.startswith(f"{workdir / 'spec.nnq'}:{line}:")
    assert "^" in rendered  # the source line and a caret


def test_wrong_npz_keys(workdir):
    np.savez(workdir / "bad.npz", weights=np.zeros((2, 2)))
    err = _error(workdir, 'network net = load("bad.npz")\n')
    assert "expected keys W0, b0" in err.message and err.span.line == 1


def test_nan_weights(workdir):
    net = random_network([4, 3, 2], seed=1)
    net.layers[1].W[0, 1] = np.nan
    write_network(net, workdir / "nan.npz")
    err = _error(workdir, 'network net = load("nan.npz")\n')
    assert "NaN/inf" in err.message and err.span.line == 1


def test_unknown_set_param(workdir):
    err = _error(workdir, HEADER + "param k = 1\n", kk=3)
    assert "declares no parameter 'kk'" in err.message


def test_cli_error_has_no_traceback(workdir):
    spec = workdir / "spec.nnq"
    spec.write_text(HEADER + "y = net(x)\nmaximize y[7]\n")
    for command in ("check", "solve"):
        proc = subprocess.run([sys.executable, "-m", "nnlang", command, str(spec)],
                              capture_output=True, text=True)
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert f"{spec}:4:" in proc.stderr and "index 7 out of range" in proc.stderr
        assert "maximize y[7]" in proc.stderr and "^" in proc.stderr


def test_cli_infeasible_exit_code(workdir):
    spec = workdir / "spec.nnq"
    spec.write_text(HEADER + "subject to\n    low: sum(x) <= 1\n    high: sum(x) >= 2\n")
    proc = subprocess.run([sys.executable, "-m", "nnlang", "solve", str(spec)],
                          capture_output=True, text=True)
    assert proc.returncode == 3
    assert "status      infeasible" in proc.stdout
    assert f"{spec}:4:10: error: the problem is infeasible" in proc.stderr
    assert "'low', 'high'" in proc.stderr and "Traceback" not in proc.stderr
