"""Atomic writes, up-front refusals and the ``nnlang compile`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nnlang
from nnlang.emit import emit_files
from nnlang.emit.files import replace_together
from nnlang.errors import UnsupportedError
from nnlang.testing import random_network, write_network

REPO = Path(__file__).resolve().parents[2]
SUMSQ = """network net = load("{net}")
var x[9] in [1, 10]
y = net(x)
minimize sumsq(x - 5)
subject to
    flip: y[1] >= y[0] + 0.1
"""


def test_an_error_while_writing_keeps_the_old_files(tmp_path):
    (tmp_path / "m.lp").write_text("old")
    with pytest.raises(RuntimeError), replace_together(tmp_path, ["m.lp"]) as streams:
        streams["m.lp"].write("half a model")
        raise RuntimeError("interrupted")
    assert (tmp_path / "m.lp").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lp"]  # no temporaries left


def test_success_replaces_all_and_removes_stale_files(tmp_path):
    for name in ("m.mod", "m.dat", "m.run", "keep.txt"):
        (tmp_path / name).write_text("old")
    with replace_together(tmp_path, ["m.mod", "m.dat"], stale=["m.mod", "m.dat", "m.run"]) as s:
        s["m.mod"].write("new mod")
        s["m.dat"].write("new dat")
    assert (tmp_path / "m.mod").read_text() == "new mod"
    assert not (tmp_path / "m.run").exists()  # owned by the format, not written: removed
    assert (tmp_path / "keep.txt").read_text() == "old"  # not the format's: untouched


def test_quadratic_objective_refused_by_ampl_and_written_by_lp(tmp_path):
    spec = tmp_path / "q.nnq"
    spec.write_text(SUMSQ.format(net=REPO / "examples/models/breast_9_3_3_2.npz"))
    m = nnlang.compile(spec)
    with pytest.raises(UnsupportedError, match="quadratic objective"):
        emit_files(m, "ampl", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (lp,) = emit_files(m, "lp", tmp_path / "out")
    assert "] / 2" in lp.read_text()


def _nnlang(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlang", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_compile_command_writes_every_format(tmp_path):
    for fmt, suffixes in (("lp", [".lp"]), ("mps", [".mps"]), ("ampl", [".dat", ".mod", ".run"])):
        out = tmp_path / fmt
        run = _nnlang("compile", "examples/breast_cancer_adversarial.nnq", "--to", fmt,
                      "-o", str(out))
        assert run.returncode == 0, run.stderr
        assert sorted(p.suffix for p in out.iterdir()) == suffixes
        assert sorted(run.stdout.split()) == sorted(str(p) for p in out.iterdir())

def test_compile_command_refusal_is_a_clean_error(tmp_path):
    run = _nnlang("compile", "examples/breast_cancer_adversarial.nnq", "--encoding",
                  "indicator", "--to", "mps", "-o", str(tmp_path / "o"))
    assert run.returncode != 0
    assert "MPS format cannot express indicator" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_scip_reads_the_quadratic_objective_and_agrees(tmp_path, readers, fmt):
    """An L2 (sumsq) adversarial example is a MIQP: nnlang solves it with SCIP through
    CVXPY; SCIP reading the emitted file must reach the same optimum."""
    pytest.importorskip("pyscipopt")
    spec = tmp_path / "q.nnq"
    spec.write_text(SUMSQ.format(net=REPO / "examples/models/breast_9_3_3_2.npz"))
    m = nnlang.compile(spec)
    ref = m.solve(solver="scip", mip_gap=1e-9)
    assert ref.status == "optimal" and m.milp.objective.quad
    (path,) = emit_files(m, fmt, tmp_path / "out")
    readers.same((ref.status, ref.objective), readers.scip(path), f"SCIP on {path.name}",
                 rel=1e-5)


def test_abs_columns_and_rows_keep_the_entry_index(tmp_path):
    """``norm1(x - xbar)`` needs columns only where the sign is free; each is named by
    its entry (``abs_L19_up_4`` is the part of ``x[4] - xbar[4]`` above zero), not by a
    counter."""
    from nnlang.emit.names import column_names

    m = nnlang.compile(REPO / "examples" / "breast_cancer_adversarial.nnq")
    names, origins = column_names(m.milp)
    up = next(b for b in m.milp.blocks if b.name.startswith("abs") and b.name.endswith(".up"))
    base = up.name[:-len(".up")]
    down = next(b for b in m.milp.blocks if b.name == f"{base}.down")
    assert 0 < up.size == down.size < 9  # sign-fixed entries have no column
    rows = next(r for r in m.milp.rows if r.name == f"{base}.split")
    x = next(b for b in m.milp.blocks if b.name == "x")
    for k, (name, origin) in enumerate(zip(names[up.cols], origins[up.cols])):
        i = int(name.rsplit("_", 1)[1])
        assert origin == f"{up.name}[{i}]"
        assert origins[down.cols][k] == f"{down.name}[{i}]"
        # the row of that entry holds x[i], its two parts and no other entry of x
        row = rows.A[rows.labels.index(f"{base}.split[{i}]")]
        assert set(row.indices.tolist()) == {x.offset + i, up.offset + k, down.offset + k}


def test_partition_model_without_big_m_rows_in_every_format(tmp_path, readers):
    """A partition layer whose big-M rows are implied (left out of the model) is
    written without them in every format: MathProg names its encoding, and HiGHS
    (LP, MPS) and GLPK (MathProg) reach ``nnlang solve``'s optimum."""
    from nnlang.emit import write

    net = random_network([4, 6, 5, 3], seed=11)
    path = write_network(net, tmp_path / "net.npz")
    spec = tmp_path / "s.nnq"
    spec.write_text(f'network net = load("{path.name}")\nvar x[4] in [-1, 1]\ny = net(x)\n'
                    "minimize norm1(x) - y[0] + y[1]\n")
    m = nnlang.compile(spec, encoding="partition")
    assert not any(r.name.endswith(".bigm_x") for r in m.milp.rows)
    ref = m.solve(tighten=False, radius_search=False)
    assert ref.status == "optimal"
    for fmt in ("lp", "mps"):
        (out,) = write(m, fmt, tmp_path / fmt, "model")
        readers.same((ref.status, ref.objective), readers.highs(out), f"HiGHS on {fmt}")
    write(m, "ampl", tmp_path / "ampl", "model")
    text = (tmp_path / "ampl" / "model.mod").read_text()
    assert "partition encoding" in text and "bigm_x" not in text
    got = readers.glpk(["-m", str(tmp_path / "ampl" / "model.mod"), "-d",
                        str(tmp_path / "ampl" / "model.dat")], tmp_path / "glpk.out")
    readers.same((ref.status, ref.objective), got, "GLPK on the MathProg model")
