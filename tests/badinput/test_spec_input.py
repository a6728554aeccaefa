"""Bad spec text and content give a located nnlang error, never a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.cli import main
from nnlang.errors import NnlangError, SemanticError, SyntaxError_
from nnlang.testing import random_network, write_network


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_network(random_network([4, 5, 3], seed=0), tmp_path / "net.npz")
    np.savetxt(tmp_path / "f.csv", np.ones((2, 4)), delimiter=",")
    np.savez(tmp_path / "zero.npz", W0=np.zeros((0, 4)), b0=np.zeros(0),
             W1=np.zeros((3, 0)), b1=np.zeros(3))
    return tmp_path


def _spec(workdir: Path, text: str | bytes) -> Path:
    spec = workdir / "spec.nnq"
    if isinstance(text, bytes):
        spec.write_bytes(text)
    else:
        spec.write_text(text)
    return spec


def _error(workdir: Path, text: str | bytes, cls=NnlangError) -> NnlangError:
    with pytest.raises(cls) as info:
        nnlang.compile(_spec(workdir, text))
    return info.value


X = "var x in [0, 1]\nminimize x\n"

CASES = {
    "not_utf8": (b"var x in [0, 1]\nminimize \xff\n", SyntaxError_, 2, 10, "not UTF-8"),
    "huge_int": ("var x in [0, 1]\nminimize x * " + "1" * 5000 + "\n", SyntaxError_, 2, 14,
                 "5000 digits"),
    "deep_neg": ("var x in [0, 1]\nminimize " + "-" * 5000 + "x\n", SyntaxError_, 1, 1,
                 "nested too deeply"),
    "inf_param": ("var x in [0, 1]\nparam a = 1e999\nminimize a * x\n", SemanticError, 2, 1,
                  "'a' is not finite"),
    "nan_param": (("var x in [0, 1]\nparam a = 1e999 - 1e999\nminimize x\nsubject to\n"
                   "  x >= a\n"), SemanticError, 2, 1, "'a' is not finite"),
    "dup_option": (X + "options {\n  time_limit = 1\n  time_limit = 2\n}\n", SemanticError,
                   5, 3, "given twice"),
    "threads": (X + "options {\n  threads = 2.5\n}\n", SemanticError, 4, 13, "whole number"),
    "parts": (X + "options {\n  partition_parts = 0.5\n}\n", SemanticError, 4, 21,
              "whole number"),
    "csv_key": ('param p = data("f.csv", "key")\n' + X, NnlangError, 1, 16,
                "only applies to .npz"),
    "input_size": ('network net {\n  input 5\n  dense 5 relu\n  dense 3\n  weights "net.npz"\n}\n'
                   + X, SemanticError, 2, 3, "declares input 5"),
    "dense_zero": ('network net {\n  input 4\n  dense 0 relu\n  dense 3\n  weights "net.npz"\n}\n'
                   + X, SemanticError, 3, 9, "at least 1 unit"),
    "zero_width_file": (('network net = load("zero.npz")\nvar x[4] in [0, 1]\ny = net(x)\n'
                         "maximize y[0]\n"), SemanticError, 1, 1, "width 0"),
    "empty_spec": ("# nothing here\n", SemanticError, 1, 1, "declares no variables"),
}


@pytest.mark.parametrize("case", CASES)
def test_located_error(workdir, case):
    text, cls, line, col, words = CASES[case]
    err = _error(workdir, text, cls)
    assert words in err.message
    assert err.span is not None
    assert (err.span.line, err.span.column) == (line, col)


def test_cli_prints_location_and_exits_1(workdir, capsys):
    spec = _spec(workdir, "var x in [0, 1]\nparam a = 1e999\nminimize a * x\n")
    assert main(["check", str(spec)]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:2:1: error: parameter 'a' is not finite" in err
    assert "Traceback" not in err and "param a = 1e999" in err


def test_bom_is_accepted(workdir):
    m = nnlang.compile(_spec(workdir, b"\xef\xbb\xbf" + X.encode()))
    assert list(m.program.variables) == ["x"]


def test_empty_range_warns(workdir, capsys):
    spec = _spec(workdir, "var x[3] in [0, 1]\nminimize sum(x)\nsubject to\n"
                          "  c: x[j] >= 0.5 for j in 5..0\n")
    m = nnlang.compile(spec)
    assert m.program.constraints == []
    assert len(m.program.warnings) == 1
    assert m.program.warnings[0].startswith(f"{spec}:4:")
    assert "empty range" in m.program.warnings[0]
    assert main(["check", str(spec)]) == 0
    assert "warning: 'for j in 5..0' is an empty range" in capsys.readouterr().err
