"""50 random specs (small networks, random objectives and constraints) through every
emitter: HiGHS reads the LP and MPS files, GLPK the LP and MathProg files, SCIP
(every fifth spec) the LP and MPS files; all must agree with ``compiled.solve()``
on the optimum or on infeasibility.

Half of the specs are written with the AMPL emitter's explicit-row threshold
set to 0, so the generic sparse-data rows are exercised on every kind of row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang.emit import ampl, emit_files
from nnlang.testing import random_network, write_network

N_SPECS = 50


def _vec(v) -> str:
    return "[" + ", ".join(repr(round(float(a), 3)) for a in np.ravel(v)) + "]"


def random_spec(seed: int, folder: Path) -> str:
    """A spec over one or two random networks; returns its text."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(2, 5))
    hidden = [int(w) for w in rng.integers(2, 6, size=int(rng.integers(1, 3)))]
    n_out = int(rng.integers(2, 4))
    net = random_network([n_in, *hidden, n_out], seed=seed, relu_output=bool(rng.random() < 0.3))
    write_network(net, folder / "net.npz")
    integer = rng.random() < 0.35
    lo, hi = (0, 5) if integer else (-1, 1)
    x0 = rng.integers(lo, hi + 1, size=n_in) if integer else rng.uniform(lo, hi, size=n_in)
    domain = "integer " if integer else ""
    lines = ['network net = load("net.npz")', f"param x0[{n_in}] = {_vec(x0)}",
             f"var x[{n_in}] {domain}in [{lo}, {hi}]"]
    inp = rng.choice(["x", "x", "x - x0", "2 * x", "M @ x"])
    if inp == "M @ x":
        lines.append(f"param M[{n_in}, {n_in}] = "
                     + "[" + ", ".join(_vec(r) for r in rng.normal(size=(n_in, n_in))) + "]")
    lines.append(f"y = net({inp})")
    second = rng.random()
    if second < 0.2:  # a second application of the same network: shared weights
        lines.append(f"var x2[{n_in}] in [0, 1]")
        lines.append("y2 = net(x2)")
    elif second < 0.35:  # a chained network: its input is y's output layer
        net2 = random_network([n_out, 3, 2], seed=seed + 1000)
        write_network(net2, folder / "net2.npz")
        lines.append('network net2 = load("net2.npz")')
        lines.append("y2 = net2(y)")
    k = int(rng.integers(1, len(hidden) + 1))
    j = int(rng.integers(0, hidden[k - 1]))
    objectives = [
        "minimize norm1(x - x0)",
        "minimize norminf(x - x0)",
        f"maximize y[{int(rng.integers(0, n_out))}]",
        f"minimize y.layer[{k}][{j}] - 0.5 * y[0]",
        "maximize sum(y) - 3",
        "minimize norm1(x - x0) + 0.1 * y[1] + 2",
        None,
    ]
    if integer:
        objectives.append("minimize norm0(x - x0)")
    obj = objectives[int(rng.integers(0, len(objectives)))]
    cons = []
    a, b = rng.choice(n_out, size=2, replace=False)
    margin = round(float(rng.uniform(-0.5, 0.5)), 3)
    pool = [
        f"flip: y[{a}] >= y[{b}] + {margin}",
        f"hidden: y.layer[{k}][{j}] <= {round(float(rng.uniform(0, 2)), 3)}",
        f"near: norm1(x - x0) <= {round(float(rng.uniform(0.5, 3)), 3)}",
        f"box: abs(x - x0) <= {round(float(rng.uniform(0.2, 2)), 3)}",
        f"mass: sum(x) >= {round(float(rng.uniform(lo, hi)), 3)}",
        f"pick: y[{a}] >= y[{b}] or y.layer[{k}][{j}] <= 0.1",
        f"tie: 0 <= y[{a}] - y[{b}] <= {abs(margin) + 1}",
    ]
    if integer:
        pool.append("few: norm0(x - x0) <= 2")
    chosen = rng.choice(len(pool), size=int(rng.integers(0, 4)), replace=False)
    cons = [pool[i] for i in sorted(chosen)]
    if obj is not None:
        lines.append(obj)
    if cons:
        lines.append("subject to")
        lines += ["    " + c for c in cons]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(N_SPECS))
def test_random_spec_all_formats_agree(tmp_path, readers, monkeypatch, seed):
    text = random_spec(seed, tmp_path)
    spec = tmp_path / "spec.nnq"
    spec.write_text(text)
    m = nnlang.compile(spec)
    r = m.solve(mip_gap=1e-9)
    assert r.status in ("optimal", "infeasible"), text
    ref = (r.status, r.objective)
    out = tmp_path / "out"
    for fmt in ("lp", "mps"):
        (path,) = emit_files(m, fmt, out)
        readers.same(ref, readers.highs(path), f"HiGHS on {fmt}\n{text}")
    if seed % 2:
        monkeypatch.setattr(ampl, "EXPLICIT_MAX_NNZ", 0)
    mod, dat, _ = emit_files(m, "ampl", out)
    readers.same(ref, readers.glpk(["--math", str(mod), "--data", str(dat)], out / "m.out"),
                 f"glpsol --math\n{text}")
    readers.same(ref, readers.glpk(["--lp", str(out / "spec.lp")], out / "l.out"),
                 f"glpsol --lp\n{text}")
    if seed % 5 == 0:
        pytest.importorskip("pyscipopt")
        for fmt in ("lp", "mps"):
            readers.same(ref, readers.scip(out / f"spec.{fmt}"), f"SCIP on {fmt}\n{text}")


def test_random_specs_cover_the_interesting_cases(tmp_path):
    """The generator reaches generic inputs, chained and shared networks, disjunctions."""
    texts = []
    for seed in range(N_SPECS):
        folder = tmp_path / str(seed)
        folder.mkdir()
        texts.append(random_spec(seed, folder))
    joined = "\n".join(texts)
    for needle in ("net2(y)", "y2 = net(x2)", "M @ x", "2 * x", " or ", "norm0", "norminf",
                   "y.layer[", "integer", "tie:"):
        assert needle in joined, needle
    assert sum("minimize" not in t and "maximize" not in t for t in texts) >= 2
