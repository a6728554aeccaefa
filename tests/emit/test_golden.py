"""Golden files: the exact text the emitters write for a few small specs.

A change in output format shows up as a diff under ``tests/golden/``. After an
intended change, regenerate with ``NNLANG_UPDATE_GOLDEN=1 python -m pytest
tests/emit/test_golden.py`` and review the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import nnlang
from nnlang.emit import emit_files

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
CASES = [
    ("examples/breast_cancer_adversarial.nnq", {}, "bigm", ("lp", "mps", "ampl")),
    ("examples/breast_cancer_few_changes.nnq", {}, "bigm", ("lp", "ampl")),
    ("examples/breast_cancer_features.nnq", {}, "indicator", ("lp", "ampl")),
    ("examples/breast_cancer_features.nnq", {}, "complementarity", ("ampl",)),
]


@pytest.mark.parametrize("spec,params,encoding,formats", CASES,
                         ids=[f"{Path(c[0]).stem}-{c[2]}" for c in CASES])
def test_emitted_text_matches_golden(tmp_path, monkeypatch, spec, params, encoding, formats):
    monkeypatch.chdir(REPO)  # the header names the spec by the path it was compiled from
    m = nnlang.compile(spec, params=params, encoding=encoding)
    for fmt in formats:
        for path in emit_files(m, fmt, tmp_path / fmt):
            golden = GOLDEN / f"{Path(spec).stem}-{encoding}{path.suffix}"
            text = path.read_text()
            if os.environ.get("NNLANG_UPDATE_GOLDEN"):
                golden.write_text(text)
            assert golden.exists(), f"missing {golden}: run with NNLANG_UPDATE_GOLDEN=1"
            assert text == golden.read_text(), f"{path.name} differs from {golden}"
