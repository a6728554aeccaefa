"""Fuzzing the command line: mutated example specs, ONNX files and VNN-LIB
properties (bytes, tokens, nesting). Whatever the input, ``main`` returns a
documented exit code (nnlang's own errors become exit 1; nothing else escapes),
and a command that fails leaves no output file behind.

CI=1 fixes hypothesis's seed (tests/conftest.py), so a CI run is reproducible.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nnlang.cli import EXIT_CODES, main

from .conftest import vnnlib

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = sorted(p for p in EXAMPLES.glob("*.nnq") if not p.name.startswith("cnn7"))
FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
VOCAB = ["(", ")", "[", "]", ",", "-", "+", "*", "/", "=", "..", ":", "\n", "0", "-1", "2.5",
         "1e999", "1e-320", "99999999999999999999", "nan", "x", "y", "index", "relu",
         "for", "in", "subject", "to", "maximize", "minimize", "var", "param", "data(",
         'load("', '"', "'", "#", "\\", "\t", "\ufeff", "\x00", "é", "approx", "pwl(", "or"]
TOKEN = re.compile(r"\s+|[A-Za-z_][A-Za-z_0-9]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\S")


def _mutations():
    """(kind, position share, size, vocabulary choice, depth) drawn by hypothesis."""
    return st.lists(st.tuples(st.sampled_from(["delete", "insert", "replace", "duplicate",
                                               "swap", "nest", "byte", "truncate"]),
                              st.floats(0, 1), st.integers(1, 12),
                              st.integers(0, len(VOCAB) - 1), st.integers(1, 400)),
                    min_size=1, max_size=4)


def _mutate_text(text: str, steps) -> bytes:
    tokens = TOKEN.findall(text)
    raw = None
    for kind, where, size, word, depth in steps:
        if raw is not None:  # a byte-level step ended the token-level ones
            break
        i = min(int(where * len(tokens)), max(len(tokens) - 1, 0))
        if kind == "delete":
            del tokens[i:i + size]
        elif kind == "insert":
            tokens[i:i] = [" ", VOCAB[word], " "]
        elif kind == "replace" and tokens:
            tokens[i] = VOCAB[word]
        elif kind == "duplicate":
            tokens[i:i] = tokens[i:i + size]
        elif kind == "swap" and len(tokens) > i + size:
            tokens[i], tokens[i + size] = tokens[i + size], tokens[i]
        elif kind == "nest" and tokens:
            opener, closer = [("(", ")"), ("[", "]"), ("-(", ")"), ("abs(", ")")][word % 4]
            tokens[i] = opener * depth + tokens[i] + closer * depth
        else:  # byte-level: flip a byte or cut the file
            data = "".join(tokens).encode("utf-8", "surrogatepass")
            j = min(int(where * len(data)), max(len(data) - 1, 0))
            if kind == "truncate":
                raw = data[:j]
            else:
                raw = data[:j] + bytes([(data[j] + 1 + word) % 256 if data else 0]) + data[j + 1:]
    return raw if raw is not None else "".join(tokens).encode("utf-8", "surrogatepass")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


@pytest.fixture
def examples_copy(tmp_path: Path) -> Path:
    """A folder where mutated specs find the examples' models and data."""
    for name in ("models", "data"):
        (tmp_path / name).symlink_to(EXAMPLES / name)
    return tmp_path


@FUZZ
@given(spec=st.sampled_from(SPECS), steps=_mutations())
def test_mutated_example_specs(examples_copy, capsys, spec, steps):
    path = examples_copy / "fuzzed.nnq"
    path.write_bytes(_mutate_text(spec.read_text(), steps))
    out = examples_copy / "out"
    code = main(["compile", str(path), "--to", "lp", "-o", str(out)])
    assert code in (0, 1), code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        assert "error" in err
        assert not out.exists() or not _files(out)
    else:
        assert [p.suffix for p in _files(out)] == [".lp"]
        for p in _files(out):
            p.unlink()


@FUZZ
@given(steps=_mutations(), where=st.floats(0, 1))
def test_mutated_vnnlib_properties(work, capsys, steps, where):
    prop = work / "fuzzed.vnnlib"
    text = vnnlib(output="(or (and (>= Y_0 Y_1) (<= Y_2 0.5)) (>= Y_1 2))")
    prop.write_bytes(_mutate_text(text, steps))
    out = work / "imported"
    code = main(["import", str(work / "net.onnx"), str(prop), "-o", str(out / "p.nnq")])
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    if code:
        assert not out.exists() or not _files(out)
    else:
        assert sorted(p.name for p in _files(out)) == ["p.nnq", "p_box.npz"]
        for p in _files(out):
            p.unlink()


@FUZZ
@example(steps=[("flip", 0.3125, 2)])  # a Gemm attribute of the wrong type (found by fuzzing)
@example(steps=[("flip", 0.3125, 1)])  # an empty integer attribute (found by fuzzing)
@given(steps=st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "zero"]),
                                st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=3))
def test_mutated_onnx_networks(work, capsys, steps):
    data = bytearray((work / "net.onnx").read_bytes())
    for kind, where, value in steps:
        j = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[j] ^= value
        elif kind == "cut":
            del data[j:]
        elif kind == "insert":
            data[j:j] = bytes([value]) * value
        elif data:
            data[j:j + value] = bytes(len(data[j:j + value]))
    net = work / "fuzzed.onnx"
    net.write_bytes(bytes(data))
    out = work / "imported"
    code = main(["import", str(net), str(work / "p.vnnlib"), "-o", str(out / "p.nnq")])
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    if code:
        assert not out.exists() or not _files(out)
    else:
        for p in _files(out):
            p.unlink()


def test_every_code_the_fuzzers_accept_is_documented():
    assert {0, 1} <= set(EXIT_CODES)
