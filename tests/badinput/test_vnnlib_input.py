"""VNN-LIB properties as generators write them: nested thousands deep, gzipped, with a
size that does not fit the network — read, or refused with a located message."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from nnlang.cli import main
from nnlang.errors import NnlangError
from nnlang.verify.vnnlib import parse_vnnlib

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEAD = ("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
        "(assert (<= X_0 1))\n(assert (>= X_0 0))\n")


@pytest.mark.parametrize("depth", [10, 3000, 20000])
def test_and_or_chains_of_any_depth_are_read_flat(depth):
    for op in ("and", "or"):
        prop = parse_vnnlib(HEAD + "(assert " + f"({op} " * depth + "(<= Y_0 Y_1)"
                            + ")" * depth + ")\n")
        assert len(prop.cases) == 1 and len(prop.cases[0].output) == 1


@pytest.mark.parametrize("body", [
    "(and (or " * 3000 + "(<= Y_0 0)" + "))" * 3000,  # alternating: no flat form
    "(<= Y_0 " + "(+ 1 " * 4000 + "0" + ")" * 4000 + ")",  # a deep sum
])
def test_deep_alternation_is_a_located_error_not_a_recursion_error(body):
    with pytest.raises(NnlangError, match="nested too deeply") as err:
        parse_vnnlib(HEAD + f"(assert {body})\n", "p.vnnlib")
    assert err.value.span is not None and err.value.span.line == 6


def test_a_size_mismatch_in_a_gzipped_property_shows_its_line(tmp_path, capsys):
    path = EXAMPLES / "models" / "cnn7_goebbels.onnx"  # 49 inputs
    prop = tmp_path / "p.vnnlib.gz"
    prop.write_bytes(gzip.compress((HEAD + "(assert (<= Y_0 Y_1))\n").encode()))
    assert main(["verify", str(path), str(prop)]) == 1
    err = capsys.readouterr().err
    assert "declares 1 inputs" in err and "(declare-const X_0 Real)" in err
