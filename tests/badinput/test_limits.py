"""Limits: sizes refused up front with the size named, nesting refused where it
starts, long chains read as balanced trees with the right value, the time limit
counted from the command's start, megabyte VNN-LIB files and output equalities."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.cli import main
from nnlang.errors import NnlangError, SemanticError, SyntaxError_, TimeLimitError
from nnlang.parse.parser import MAX_NESTING, parse_expr
from nnlang.verify import verify
from nnlang.verify.vnnlib import parse_vnnlib

from .conftest import vnnlib

X = "var x[3] in [0, 1]\nmaximize x[0]\n"
DEEP = MAX_NESTING + 1

TOO_BIG = {
    "huge_variable": ("var x[100000000] in [0, 1]\nmaximize x[0]\n", 1, 1, "100,000,000 entries"),
    "huge_matrix_variable": ("var x[20000, 20000] in [0, 1]\nmaximize x[0, 0]\n", 1, 1,
                             "400,000,000 entries"),
    "many_variables": ("".join(f"var v{k}[9000000] in [0, 1]\n" for k in range(2))
                       + "maximize v0[0]\n", 2, 1, "GB"),
    "huge_pwl": (("var x[10] in [0, 1]\nparam c[10] = 0.5\n"
                  "minimize sumsq(x - c) approx pwl(100000000)\n"), 3, 34, "pwl(100000000)"),
    "huge_family": (X + "subject to\n  c: x[0] <= j for j in 0..10000000\n", 4, 16,
                    "10,000,001 rows"),
    "huge_nested_family": (X + ("subject to\n  c: x[0] <= j + k for j in 0..3000 for k in "
                                "0..3000\n"), 4, 37, "9,006,001 rows"),
    "huge_param": ("param p[100000, 100000] = 0\n" + X, 1, 9, "10,000,000,000 entries"),
}


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.nnq"
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", TOO_BIG)
def test_too_big_is_refused_up_front_naming_the_size(tmp_path, case):
    text, line, col, words = TOO_BIG[case]
    with pytest.raises(SemanticError) as info:
        nnlang.compile(_spec(tmp_path, text))
    err = info.value
    assert words in err.message and "docs/language.md" in err.message
    assert (err.span.line, err.span.column) == (line, col)


NESTED = {
    "parens": "(" * DEEP + "x[0]" + ")" * DEEP,
    "brackets": "[" * DEEP + "1" + "]" * DEEP,
    "calls": "abs(" * DEEP + "x[0]" + ")" * DEEP,
    "negations": "-(" * DEEP + "x[0]" + ")" * DEEP,
    "indices": "x[" * DEEP + "0" + "]" * DEEP,
    "parens_5000": "(" * 5000 + "x[0]" + ")" * 5000,
}


@pytest.mark.parametrize("case", NESTED)
def test_deep_nesting_is_located_where_it_starts(tmp_path, case):
    with pytest.raises(SyntaxError_) as info:
        nnlang.compile(_spec(tmp_path, f"var x[3] in [0, 1]\nmaximize {NESTED[case]}\n"))
    assert f"nested more than {MAX_NESTING} deep" in info.value.message
    assert info.value.span.line == 2 and info.value.span.column > MAX_NESTING


def test_nesting_up_to_the_limit_is_read(tmp_path):
    inner = MAX_NESTING - 1  # x[0] opens the last one
    text = "(" * inner + "x[0]" + ")" * inner
    m = nnlang.compile(_spec(tmp_path, f"var x[3] in [0, 1]\nmaximize {text}\n"))
    assert m.solve().objective == pytest.approx(1.0)


@pytest.mark.parametrize("n", [2, 17, 600, 1500])
@pytest.mark.parametrize("op", ["+", "-", "mixed"])
def test_long_sums_have_the_value_of_their_terms(tmp_path, n, op):
    rng = np.random.default_rng(n)
    coef = np.round(rng.uniform(0.5, 2, n), 3)
    signs = np.ones(n) if op == "+" else -np.ones(n) if op == "-" else rng.choice([-1, 1], n)
    signs[0] = 1
    terms = [f"{coef[0]} * x[0]"] + [f"{'+' if s > 0 else '-'} {c} * x[{i}]"
                                     for i, (s, c) in enumerate(zip(signs[1:], coef[1:]), 1)]
    m = nnlang.compile(_spec(tmp_path, f"var x[{n}] in [0, 1]\nmaximize {' '.join(terms)}\n"))
    np.testing.assert_allclose(m.milp.objective.c[:n], signs * coef)


@pytest.mark.parametrize("text,value", [
    ("2" + " * 2" * 40, 2.0 ** 41),
    ("1024" + " / 2" * 10, 1.0),
    ("3 * 4 / 2 / 3 * 5", 10.0),
    ("100 - 1" + " - 1" * 30 + " + 5", 100 - 31 + 5),
    ("10 % 4 % 3", 2.0),
    ("1 - 2 - 3", -4.0),
])
def test_chains_keep_their_meaning(text, value):
    from nnlang.check.exprs import ExprChecker

    const = ExprChecker({}, Path(".")).constant(parse_expr(text), "a test")
    assert float(const) == pytest.approx(value)


def test_short_chains_group_left_to_right():
    e = parse_expr("a - b + c")
    assert e.op == "+" and e.left.op == "-"


def test_a_long_family_is_every_row(tmp_path):
    n = 3000
    m = nnlang.compile(_spec(tmp_path, f"var x[{n + 1}] in [0, 1]\nmaximize sum(x)\nsubject to\n"
                                       f"  c: x[j] + x[j + 1] <= 1 for j in 0..{n - 1}\n"))
    assert m.milp.size()["constraints"] == n
    r = m.solve()
    assert r.status == "optimal" and r.objective == pytest.approx((n + 2) // 2)


def test_the_time_limit_counts_from_the_command_start(tmp_path, monkeypatch, capsys):
    net = Path(__file__).parent / "conftest.py"
    assert net.exists()
    from nnlang.api import CompiledModel

    seen = {}
    real = CompiledModel.solve

    def solve(self, *args, **kwargs):
        seen.update(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CompiledModel, "solve", solve)
    monkeypatch.setattr("nnlang.cli.solve.elapsed", lambda: 7.5)
    spec = _spec(tmp_path, X)
    assert main(["solve", str(spec), "--time-limit", "10", "-q"]) == 0
    assert seen["time_limit"] == pytest.approx(2.5)
    monkeypatch.setattr("nnlang.cli.solve.elapsed", lambda: 30.0)
    main(["solve", str(spec), "--time-limit", "10", "-q"])
    assert 0 < seen["time_limit"] <= 0.05  # reading used it all up: the least a solve gets



@pytest.mark.parametrize("where", ["command line", "options block"])
def test_a_time_limit_stops_a_compilation_too_long_for_it(tmp_path, monkeypatch, capsys,
                                                           where):
    """A family too large to build within the limit ends the command at the limit
    (exit 4, located), not after the compilation; check and the API are untimed."""
    text = ("var x[3001] in [0, 1]\nmaximize sum(x)\nsubject to\n"
            "  c: x[j] + x[j + 1] <= 1 for j in 0..2999\n")
    argv = ["--time-limit", "10"]
    if where == "options block":
        text, argv = text + "options {\n    time_limit = 10\n}\n", []
    spec = _spec(tmp_path, text)
    monkeypatch.setattr("nnlang.cli.solve.elapsed", lambda: 100.0)  # the limit is long gone
    assert main(["solve", str(spec), "-q", *argv]) == 4
    err = capsys.readouterr().err
    assert f"{spec}:4:3: error: the time limit ran out while building constraint 'c'" in err
    assert "Traceback" not in err
    assert main(["check", str(spec)]) == 0
    assert nnlang.compile(spec).milp.size()["constraints"] == 3000


SEXP_ERRORS = {
    "stray_close": ("(declare-const X_0 Real))", 1, 25, "without a matching"),
    "unclosed": ("(declare-const X_0 Real)\n(assert (<= X_0 1)", 2, 19, "never closed"),
    "bare_number": ("(declare-const X_0 Real)\n 3.5", 2, 2, "a command must start"),
    "empty_form": ("(declare-const X_0 Real)\n()", 2, 1, "after '('"),
    "nested_head": ("(declare-const X_0 Real)\n((assert) 1)", 2, 1, "after '('"),
    "number_head": ("(declare-const X_0 Real)\n(assert (1 X_0))", 2, 9, "number '1'"),
    "bad_character": ("(declare-const X_0 Real)\n(assert (<= X_0 #1))", 2, 17, "'#'"),
}


@pytest.mark.parametrize("case", SEXP_ERRORS)
def test_vnnlib_syntax_errors_are_located(case):
    text, line, col, words = SEXP_ERRORS[case]
    with pytest.raises(SyntaxError_) as info:
        parse_vnnlib(text, "p.vnnlib")
    assert words in info.value.message
    assert (info.value.span.line, info.value.span.column) == (line, col)


def test_a_megabyte_property_reads_its_boxes():
    n, boxes = 5, 3000
    lines = [f"(declare-const X_{i} Real)" for i in range(n)] + ["(declare-const Y_0 Real)"]
    lines.append("(assert (or")
    for b in range(boxes):
        lines.append(" (and " + " ".join(f"(>= X_{i} {b}.0) (<= X_{i} {b}.5)" for i in range(n))
                     + ")")
    lines.append("))\n; a comment\n(assert (>= Y_0 0))")
    prop = parse_vnnlib("\n".join(lines))
    assert len(prop.cases) == boxes
    assert prop.cases[-1].lo[0] == boxes - 1 and prop.cases[-1].hi[4] == boxes - 0.5
    # past its deadline the same reading stops, in the tokens or in the formulas
    with pytest.raises(TimeLimitError, match="ran out while reading"):
        parse_vnnlib("\n".join(lines), "p.vnnlib", deadline=time.perf_counter() - 1)


def test_verify_answers_timeout_while_still_reading(work):
    """The timeout includes reading: a property too long to read in time is a
    timeout at the limit (method 'reading'), not an answer after reading it all."""
    n, boxes = 4, 3000
    lines = [f"(declare-const X_{i} Real)" for i in range(n)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(3)]
    lines.append("(assert (or")
    lines += [" (and " + " ".join(f"(>= X_{i} -1) (<= X_{i} 1)" for i in range(n)) + ")"
              for _ in range(boxes)]
    lines.append("))\n(assert (>= Y_0 100))")
    path = work / "long.vnnlib"
    path.write_text("\n".join(lines))
    r = verify(work / "net.onnx", path, timeout=1e-4)
    assert r.status == "timeout" and r.method == "reading"
    assert "ran out while reading" in r.message


def test_an_output_equality_is_tried_by_the_milp(work):
    from nnlang.networks.load import load_network
    from nnlang.verify import verify

    net = load_network(work / "net.onnx")
    X = np.random.default_rng(0).uniform(-1, 1, (2000, 4))
    target = float(np.median(net.predict(X)[:, 0]))
    prop = work / "eq.vnnlib"
    prop.write_text(vnnlib(output=f"(= Y_0 {target!r})"))
    result = verify(work / "net.onnx", prop, 10.0)
    assert result.stats.get("milps", 0) >= 1, result
    assert result.status in ("sat", "unknown"), result  # a point exists; float32 may not hit it
    if result.status == "sat":
        assert abs(float(result.counterexample.y[0]) - target) < 1e-4


def test_nnlang_error_is_the_only_escape(tmp_path):
    with pytest.raises(NnlangError):
        nnlang.compile(_spec(tmp_path, "var x[3] in [0, 1]\nmaximize x[0]" + " / 1 * 1" * 800 + "\n"))
