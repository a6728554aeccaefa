"""The parser: every example parses; syntax errors are located and readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlang.errors import SyntaxError_
from nnlang.parse import ast, parse_expr, parse_file, parse_text

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.nnq"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_parse(path):
    prog = parse_file(path)
    assert prog.statements
    assert all(s.span.line >= 1 for s in prog.statements)


def test_newlines_inside_brackets_and_continuations():
    prog = parse_text("param a[3] = [1,\n  2,\n  3]\nvar x in [0,\n 1]\nminimize x + \\\n 1\n")
    kinds = [type(s).__name__ for s in prog.statements]
    assert kinds == ["ParamDecl", "VarDecl", "Objective"]


def test_operator_precedence():
    e = parse_expr("1 + 2 * x[3] - -y")
    assert isinstance(e, ast.BinOp) and e.op == "-"
    assert isinstance(e.left, ast.BinOp) and e.left.op == "+"
    assert isinstance(e.left.right, ast.BinOp) and e.left.right.op == "*"
    assert isinstance(e.right, ast.Neg)


def test_ranges_do_not_lex_as_floats():
    prog = parse_text("c: x[j] >= 0 for j in 0..9 if j != 3\n")
    (con,) = prog.statements
    assert con.fors[0].start.value == 0 and con.fors[0].stop.value == 9


def test_constraint_forms():
    prog = parse_text("a: 0 <= x <= 1\nb: x >= 1 or x <= 0 and y >= 2\n"
                      "c: any(y[j] >= 0 for j in 0..3)\n")
    a, b, c = prog.statements
    assert a.disjuncts[0][0].ops == ("<=", "<=")
    assert len(b.disjuncts) == 2 and len(b.disjuncts[1]) == 2
    assert isinstance(c.disjuncts[0], ast.AnyOf)


@pytest.mark.parametrize("text,line,col,fragment", [
    ("var x[3] in [0, 1\nminimize x[0]\n", 2, 1, "unexpected"),
    ("var x in [0, 1]\nminimize x +\n", 2, 13, "unexpected end of line"),
    ("var x @@ 3\n", 1, 7, "unexpected"),
    ("network n {\n  input 3\n  dense 2 sigmoid\n}\n", 3, 11, "unexpected 'sigmoid'"),
    ("param p = 3 ^ 2\n", 1, 13, "unexpected character '^'"),
])
def test_syntax_errors_are_located(text, line, col, fragment):
    with pytest.raises(SyntaxError_) as info:
        parse_text(text, "spec.nnq")
    err = info.value
    assert (err.span.line, err.span.column) == (line, col)
    assert fragment in err.message
    rendered = err.render()
    assert rendered.splitlines()[0].startswith(f"spec.nnq:{line}:{col}: error:")
    assert rendered.splitlines()[-1].strip() == "^"
