"""The VNN-LIB reader: boxes, output DNF, or-of-boxes, gzip, and located errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from nnlang.errors import NnlangError, SemanticError, SyntaxError_, UnsupportedError
from nnlang.verify.vnnlib import parse_vnnlib, read_vnnlib

DECL = """(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
"""
BOX = """(assert (>= X_0 -0.5))
(assert (<= X_0 0.5))
(assert (>= X_1 (- 1)))
(assert (<= X_1 1e-1))
"""


def test_box_and_single_output_constraint():
    prop = parse_vnnlib("; Mnist property with label: 2.\n" + DECL + BOX
                        + "(assert (>= Y_1 Y_2))\n")
    assert prop.n_in == 2 and prop.n_out == 3
    assert prop.comment == "Mnist property with label: 2."
    (lo, hi), = prop.boxes
    np.testing.assert_array_equal(lo, [-0.5, -1.0])
    np.testing.assert_array_equal(hi, [0.5, 0.1])
    conj, = prop.output
    # Y_1 >= Y_2  <=>  -Y_1 + Y_2 <= 0
    np.testing.assert_array_equal(conj.A, [[0.0, -1.0, 1.0]])
    np.testing.assert_array_equal(conj.d, [0.0])
    assert conj.holds([0, 2, 1]) and not conj.holds([0, 1, 2])


def test_disjunction_of_conjunctions():
    text = DECL + BOX + """(assert (or
        (and (>= Y_0 Y_1) (>= Y_0 Y_2))
        (and (<= Y_2 0.25) (>= (+ Y_0 (* 2 Y_1)) 1))
        (<= Y_1 (- Y_0 3))))
    """
    prop = parse_vnnlib(text)
    assert len(prop.cases) == 1
    dnf = prop.output
    assert [c.rows for c in dnf] == [2, 2, 1]
    np.testing.assert_array_equal(dnf[1].A, [[0, 0, 1], [-1, -2, 0]])
    np.testing.assert_array_equal(dnf[1].d, [0.25, -1])
    np.testing.assert_array_equal(dnf[2].A, [[-1, 1, 0]])
    np.testing.assert_array_equal(dnf[2].d, [-3])
    case = prop.cases[0]
    assert case.holds([5, 1, 1])          # branch 1
    assert case.holds([1, 0, 0.2])        # branch 2
    assert not case.holds([0, 0.5, 0.3])


def test_or_of_boxes_gives_cases():
    text = DECL + """(assert (or
      (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= X_1 1))
      (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1))))
    (assert (or (and (<= Y_0 Y_1)) (and (<= Y_0 Y_2))))
    """
    prop = parse_vnnlib(text)
    assert len(prop.cases) == 2
    np.testing.assert_array_equal(prop.cases[1].lo, [2, 0])
    assert len(prop.output) == 2 and prop.shared_output


def test_empty_box_is_dropped_and_false_formula_has_no_case():
    text = DECL + "(assert (>= X_0 1)) (assert (<= X_0 0)) (assert (>= X_1 0)) " \
                  "(assert (<= X_1 0)) (assert (>= Y_0 0))"
    assert parse_vnnlib(text).cases == ()


def test_equalities_and_strict_comparisons():
    text = DECL + "(assert (= X_0 0.5)) (assert (> X_1 0)) (assert (< X_1 1)) (assert (< Y_0 1))"
    prop = parse_vnnlib(text)
    (lo, hi), = prop.boxes
    np.testing.assert_array_equal(lo, [0.5, 0])
    np.testing.assert_array_equal(hi, [0.5, 1])
    np.testing.assert_array_equal(prop.output[0].d, [1])


def test_gzipped_file(tmp_path):
    path = tmp_path / "p.vnnlib.gz"
    path.write_bytes(gzip.compress((DECL + BOX + "(assert (>= Y_0 1))").encode()))
    assert read_vnnlib(path).n_in == 2


def _error(text: str, cls: type[NnlangError]) -> str:
    with pytest.raises(cls) as info:
        parse_vnnlib(text, "p.vnnlib")
    return info.value.render()


def test_error_unclosed_paren():
    msg = _error(DECL + "(assert (>= X_0 0)", SyntaxError_)
    assert "p.vnnlib:6:" in msg and "never closed" in msg


def test_error_unsupported_operator_is_located():
    msg = _error(DECL + BOX + "(assert (not (>= Y_0 0)))", UnsupportedError)
    assert "p.vnnlib:10:10: error:" in msg and "'not'" in msg
    assert "^" in msg


def test_error_undeclared_variable():
    msg = _error(DECL + BOX + "(assert (>= Y_7 0))", SemanticError)
    assert "p.vnnlib:10:13:" in msg and "'Y_7' is not declared" in msg


def test_error_input_output_mixed_and_nonlinear():
    assert "between inputs and outputs" in _error(DECL + BOX + "(assert (>= Y_0 X_0))",
                                                  UnsupportedError)
    assert "not linear" in _error(DECL + BOX + "(assert (>= (* Y_0 Y_1) 0))", UnsupportedError)


def test_error_unbounded_input():
    msg = _error(DECL + "(assert (>= X_0 0)) (assert (<= X_0 1)) (assert (>= X_1 0))",
                 UnsupportedError)
    assert "X_1 has no upper bound" in msg and "p.vnnlib:2:" in msg


def test_error_bad_declarations():
    assert "only Real" in _error("(declare-const X_0 Int)", UnsupportedError)
    assert "X_<i>" in _error("(declare-const foo Real)", UnsupportedError)
    assert "declared twice" in _error("(declare-const X_0 Real)\n(declare-const X_0 Real)",
                                      SemanticError)
    assert "X_0 is not declared" in _error("(declare-const X_1 Real)", SemanticError)


def test_error_unknown_command_and_stray_paren():
    assert "unsupported command 'push'" in _error("(push 1)",
                                                        UnsupportedError)
    msg = _error(DECL + ")", SyntaxError_)
    assert "p.vnnlib:6:1:" in msg
