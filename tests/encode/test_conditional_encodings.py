"""encoding = indicator and encoding = complementarity (seed 003 eqs. 8-9, seed 000 eq. 4.16).

Neither can be solved in-process (CVXPY has no indicator or bilinear rows): the
model must be refused with a message that says what to do. SCIP reads the LP
file's native indicators and must reach the big-M optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlang
from nnlang.emit import emit_files
from nnlang.errors import UnsupportedError
from nnlang.testing import random_network, write_network

SPEC = """network net = load("net.npz")
param x0[{n}] = {x0}
var x[{n}] in [-1, 1]
y = net(x)
{objective}
subject to
    flip: y[0] >= y[1] + 0.1
options {{ encoding = {encoding} }}
"""


def _spec(tmp_path, seed: int, encoding: str) -> nnlang.CompiledModel:
    rng = np.random.default_rng(seed)
    sizes = [3, int(rng.integers(3, 7)), int(rng.integers(2, 5)), 2]
    write_network(random_network(sizes, seed=seed), tmp_path / "net.npz")
    x0 = "[" + ", ".join(f"{v:.3f}" for v in rng.uniform(-1, 1, 3)) + "]"
    objective = ["minimize norm1(x - x0)", "maximize y.layer[1][0] + y[0]"][seed % 2]
    (tmp_path / "s.nnq").write_text(SPEC.format(n=3, x0=x0, objective=objective,
                                                encoding=encoding))
    return nnlang.compile(tmp_path / "s.nnq")


@pytest.mark.parametrize("encoding", ["indicator", "complementarity"])
def test_rows_replace_big_m(tmp_path, encoding):
    m = _spec(tmp_path, 0, encoding)
    roles = {r.role for r in m.milp.rows}
    assert encoding in roles
    cond = m.milp.conditional_rows
    unstable = sum(s.unstable for s in m.milp.applications[0].stats)
    assert unstable > 0
    assert sum(r.size for r in cond) == 2 * unstable  # x <= 0 if z = 0, s <= 0 if z = 1
    for r in cond:
        z, value = r.when
        assert set(np.unique(value)) <= {0, 1}
        kinds = {b.kind for b in m.milp.blocks if b.offset <= z.min() < b.offset + b.size}
        assert kinds == {"binary"}
        assert np.all(r.hi == 0) and np.all(np.isneginf(r.lo))
    assert not any(".bigm_" in r.name for r in m.milp.rows)


@pytest.mark.parametrize("encoding", ["indicator", "complementarity"])
def test_in_process_solve_is_refused_clearly(tmp_path, encoding):
    m = _spec(tmp_path, 1, encoding)
    with pytest.raises(UnsupportedError, match=f"{encoding}.*nnlang compile --to"):
        m.solve()


@pytest.mark.parametrize("seed", range(8))
def test_scip_reads_indicators_and_agrees_with_big_m(tmp_path, seed):
    pyscipopt = pytest.importorskip("pyscipopt")
    ref = _spec(tmp_path, seed, "bigm").solve(mip_gap=1e-9)
    m = _spec(tmp_path, seed, "indicator")
    (lp,) = emit_files(m, "lp", tmp_path / "out")
    text = lp.read_text()
    assert " = 0 -> " in text and " = 1 -> " in text
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/gap", 1e-9)
    model.readProblem(str(lp))
    assert sum(c.getConshdlrName() == "indicator" for c in model.getConss()) == \
        sum(r.size for r in m.milp.conditional_rows)
    model.optimize()
    if ref.status == "infeasible":
        assert model.getStatus() == "infeasible"
    else:
        assert model.getStatus() == "optimal"
        assert model.getObjVal() == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)


def test_formats_refuse_what_they_cannot_express(tmp_path):
    m = _spec(tmp_path, 2, "indicator")
    with pytest.raises(UnsupportedError, match="MPS format cannot express indicator"):
        emit_files(m, "mps", tmp_path / "out")
    mod = emit_files(m, "ampl", tmp_path / "out")[0].read_text()
    assert "= 0 ==> " in mod and "= 1 ==> " in mod and "not GNU MathProg" in mod
    c = _spec(tmp_path, 2, "complementarity")
    with pytest.raises(UnsupportedError, match="LP format cannot express complementarity"):
        emit_files(c, "lp", tmp_path / "out2")
    mod = emit_files(c, "ampl", tmp_path / "out2")[0].read_text()
    assert "* (1 - y_z[k,i]) <= 0" in mod and "y_s[k,i] * y_z[k,i] <= 0" in mod
    assert not (tmp_path / "out2" / "s.lp").exists()
