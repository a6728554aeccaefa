"""Every answer against brute force: tiny random networks, every activation pattern
with one LP each (``nnlang.testing.exact_range``), compared with ``solve`` under
every encoding it runs and every bound method, with the indicator encoding's LP
file read by SCIP, with the complementarity rows solved by SCIP as products, with
``verify`` on both sides of the true maximum, and with every bound method's neuron
bounds (sound: they contain the exact range)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlang
from nnlang import registry
from nnlang.bounds import method
from nnlang.emit import emit_files
from nnlang.networks.network import Dense, Network
from nnlang.networks.onnx.write import save_onnx
from nnlang.testing import exact_range, output_range, random_network, spec_vector, write_network
from nnlang.verify import verify

SEEDS = range(6)
IN_PROCESS = [k for k, v in registry.FORMULATIONS.items() if not v.emit_only]


def _case(seed: int) -> tuple[Network, np.ndarray, np.ndarray]:
    """A network of at most 7 ReLUs (float32 weights, so its ONNX file is the same
    function) and an input box."""
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 4))] + [int(rng.integers(1, 4))
                                         for _ in range(int(rng.integers(1, 3)))]
    sizes.append(int(rng.integers(1, 4)))
    net = random_network(sizes, seed=seed, relu_output=bool(seed % 3 == 2))
    net = Network(tuple(Dense(layer.W.astype(np.float32).astype(float),
                              layer.b.astype(np.float32).astype(float), layer.activation)
                        for layer in net.layers), name="tiny")
    lo = np.round(rng.uniform(-2, 0, sizes[0]), 3)
    hi = np.round(lo + rng.uniform(0.2, 2, sizes[0]), 3)
    return net, lo, hi


def _spec(tmp_path: Path, net: Network, lo, hi, sense: str, j: int, encoding: str) -> Path:
    write_network(net, tmp_path / "net.npz")
    path = tmp_path / f"{sense}_{j}_{encoding}.nnq"
    path.write_text(f'network net = load("net.npz")\n'
                    f"var x[{net.n_in}] in [{spec_vector(lo)}, {spec_vector(hi)}]\n"
                    f"y = net(x)\n{sense} y[{j}]\n"
                    f"options {{ encoding = {encoding} }}\n")
    return path


@pytest.mark.parametrize("seed", SEEDS)
def test_every_bound_method_contains_the_exact_range(seed):
    net, lo, hi = _case(seed)
    exact = [exact_range(net, lo, hi, k) for k in range(len(net.layers))]
    for name in registry.BOUND_METHODS:
        bounds = method(name)(net, lo, hi)
        for k, ((L, U), (lower, upper)) in enumerate(zip(bounds, exact)):
            tol = 1e-6 * (1 + np.abs(lower) + np.abs(upper))
            assert np.all(L <= lower + tol), (name, k)
            assert np.all(U >= upper - tol), (name, k)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("encoding", IN_PROCESS)
def test_solve_finds_the_exact_range(tmp_path, seed, encoding):
    net, lo, hi = _case(seed)
    lower, upper = output_range(net, lo, hi)
    for j in range(net.n_out):
        for sense, want in (("maximize", upper[j]), ("minimize", lower[j])):
            spec = _spec(tmp_path, net, lo, hi, sense, j, encoding)
            for bounds in registry.BOUND_METHODS:
                r = nnlang.compile(spec, bounds=bounds).solve(mip_gap=1e-9)
                assert r.status == "optimal", (sense, j, bounds)
                # MILP tolerances (feasibility 1e-7 on big-M rows) move the objective a
                # little; the point itself is checked by the forward pass
                assert r.objective == pytest.approx(want, rel=1e-5, abs=1e-5), (sense, j, bounds)
                value = net.predict(r.values["x"])[j]
                assert value == pytest.approx(want, rel=1e-5, abs=1e-5)
                tol = 1e-7 * (1 + abs(want))
                assert (value <= want + tol) if sense == "maximize" else (value >= want - tol)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_indicator_encoding_read_by_scip_finds_the_maximum(tmp_path, seed):
    pyscipopt = pytest.importorskip("pyscipopt")
    net, lo, hi = _case(seed)
    upper = output_range(net, lo, hi)[1]
    m = nnlang.compile(_spec(tmp_path, net, lo, hi, "maximize", 0, "indicator"))
    (lp,) = emit_files(m, "lp", tmp_path / "out")
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/gap", 1e-9)
    model.readProblem(str(lp))
    model.optimize()
    assert model.getStatus() == "optimal"
    assert model.getObjVal() == pytest.approx(upper[0], rel=1e-6, abs=1e-6)



def _scip_products(pyscipopt, milp):
    """The complementarity model as SCIP takes it: the linear rows, and each
    conditional row ``a x <= hi when z = v`` as the product of the WBO master's
    thesis eq. 4.16, ``(a x - hi) * (1 - z) <= 0`` (``* z`` for ``v = 1``). No file
    format read here says products (the AMPL emitter writes them; golden files)."""
    model = pyscipopt.Model()
    model.hideOutput()
    model.setParam("limits/gap", 1e-9)
    vtype = {"continuous": "C", "integer": "I", "binary": "B"}
    x = [None] * milp.n
    for b in milp.blocks:
        for i in range(b.size):
            lb, ub = float(b.lb[i]), float(b.ub[i])
            x[b.offset + i] = model.addVar(vtype=vtype[b.kind],
                                           lb=None if lb == -np.inf else lb,
                                           ub=None if ub == np.inf else ub)

    def expr(A, i):
        row = A.getrow(i)
        return pyscipopt.quicksum(float(v) * x[j] for j, v in zip(row.indices, row.data))

    for r in milp.rows:
        for i in range(r.size):
            e = expr(r.A, i)
            if r.when is None:
                if r.lo[i] == r.hi[i]:
                    model.addCons(e == float(r.hi[i]))
                    continue
                if r.lo[i] > -np.inf:
                    model.addCons(e >= float(r.lo[i]))
                if r.hi[i] < np.inf:
                    model.addCons(e <= float(r.hi[i]))
            else:
                assert r.lo[i] == -np.inf
                z = x[int(r.when[0][i])]
                factor = z if int(r.when[1][i]) == 1 else 1 - z
                model.addCons((e - float(r.hi[i])) * factor <= 0)
    c = milp.objective.c
    objective = pyscipopt.quicksum(float(c[j]) * x[j] for j in np.flatnonzero(c))
    model.setObjective(objective + milp.objective.constant, milp.objective.sense)
    return model, x


@pytest.mark.parametrize("seed", SEEDS)
def test_the_complementarity_encoding_solved_by_scip_finds_the_exact_range(tmp_path, seed):
    pyscipopt = pytest.importorskip("pyscipopt")
    net, lo, hi = _case(seed)
    lower, upper = output_range(net, lo, hi)
    for sense, want in (("maximize", upper[0]), ("minimize", lower[0])):
        m = nnlang.compile(_spec(tmp_path, net, lo, hi, sense, 0, "complementarity"))
        assert m.milp.conditional_rows or not any(s.unstable for a in m.milp.applications
                                                  for s in a.stats)
        model, x = _scip_products(pyscipopt, m.milp)
        model.optimize()
        assert model.getStatus() == "optimal", sense
        assert model.getObjVal() == pytest.approx(want, rel=1e-6, abs=1e-6), sense
        point = np.array([model.getVal(v) for v in x])
        xs = m.milp.block("x")
        assert net.predict(point[xs.cols])[0] == pytest.approx(want, rel=1e-5, abs=1e-5)


def _property(lo, hi, n_out: int, output: str) -> str:
    lines = [f"(declare-const X_{i} Real)" for i in range(len(lo))]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    lines += [f"(assert (>= X_{i} {float(a)!r}))\n(assert (<= X_{i} {float(b)!r}))"
              for i, (a, b) in enumerate(zip(lo, hi))]
    return "\n".join(lines) + f"\n(assert {output})\n"


@pytest.mark.parametrize("seed", SEEDS)
def test_verify_agrees_with_the_exact_maximum(tmp_path, seed):
    net, lo, hi = _case(seed)
    lower, upper = output_range(net, lo, hi)
    onnx = tmp_path / "net.onnx"
    save_onnx(net, onnx)
    margin = 1e-3 * (1 + upper[0] - lower[0])
    for threshold, want in ((upper[0] + margin, "unsat"), (upper[0] - margin, "sat")):
        prop = tmp_path / f"{want}.vnnlib"
        prop.write_text(_property(lo, hi, net.n_out, f"(>= Y_0 {float(threshold)!r})"))
        result = verify(onnx, prop, 30.0)
        assert result.status == want, (threshold, result)
        if want == "sat":
            assert result.counterexample.y[0] >= threshold - 1e-6
