"""The partition-based encoding (nnlang/encode/partition.py): exact, same optima as big-M,
and an LP relaxation never looser than big-M's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import nnlang
from nnlang.encode import partition
from nnlang.testing import network_strategy, random_network, spec_vector, write_network

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


_fmt = spec_vector


def networks(max_inputs=5, max_width=6, max_layers=3):
    return network_strategy(max_inputs, max_width, max_layers)


def _write(tmp_path, net, body: str):
    path = write_network(net, tmp_path / "net.npz")
    (tmp_path / "s.nnq").write_text(f'network net = load("{path.name}")\n' + body)
    return tmp_path / "s.nnq"


@SETTINGS
@given(net=networks(), seed=st.integers(0, 1000), p=st.integers(2, 4))
def test_fixed_input_reproduces_forward_pass(tmp_path, net, seed, p):
    x0 = np.random.default_rng(seed).uniform(-1, 1, size=net.n_in)
    spec = _write(tmp_path, net, f"param x0[{net.n_in}] = {_fmt(x0)}\n"
                                 f"var x[{net.n_in}] in [-1, 1]\n"
                                 f"subject to\n    fix: x == x0\n"
                                 f"y = net(x)\nmaximize sum(y)\n")
    m = nnlang.compile(spec, encoding="partition", partition_parts=p)
    assert any(b.name.endswith(".v") for b in m.milp.blocks) or not any(
        s.unstable for e in m.milp.applications for s in e.stats)
    r = m.solve(tighten=False)
    assert r.status == "optimal"
    fwd = net.forward(x0)
    for k in range(1, len(fwd)):
        np.testing.assert_allclose(r.networks["y"].layers[k], fwd[k], atol=1e-6, rtol=1e-6)
    assert r.forward_gap < 1e-6


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=networks(max_inputs=5, max_width=6, max_layers=3), seed=st.integers(0, 1000))
def test_same_optimum_as_bigm_for_every_bound_method(tmp_path, monkeypatch, net, seed):
    monkeypatch.setenv("NNLANG_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(seed)
    c = rng.uniform(-1, 1, size=net.n_in)
    j = int(rng.integers(net.n_out))
    spec = _write(tmp_path, net, f"param c[{net.n_in}] = {_fmt(c)}\n"
                                 f"var x[{net.n_in}] in [-1, 1]\ny = net(x)\n"
                                 f"minimize norm1(x - c) - y[{j}]\n")
    reference = nnlang.compile(spec, encoding="bigm").solve(tighten=False)
    assert reference.status == "optimal"
    objectives = []
    for bounds in ("interval", "symbolic", "lp"):
        for tighten in (False, True):
            r = nnlang.compile(spec, bounds=bounds, encoding="partition").solve(tighten=tighten)
            assert r.status == "optimal"
            assert r.forward_gap < 1e-6
            objectives.append(r.objective)
    tol = 1e-6 * (1 + abs(reference.objective))
    assert max(abs(o - reference.objective) for o in objectives) < tol


def lp_relaxation(milp) -> float:
    """The optimum of ``milp`` with its integrality dropped (scipy's HiGHS)."""
    A = sp.vstack([r.A for r in milp.rows], format="csr")
    lo = np.concatenate([r.lo for r in milp.rows])
    hi = np.concatenate([r.hi for r in milp.rows])
    up, dn = np.isfinite(hi), np.isfinite(lo)
    A_ub = sp.vstack([A[up], -A[dn]], format="csr")
    b_ub = np.concatenate([hi[up], -lo[dn]])
    lb, ub = milp.column_bounds()
    sign = 1.0 if milp.objective.sense == "minimize" else -1.0
    res = linprog(sign * milp.objective.c, A_ub=A_ub, b_ub=b_ub,
                  bounds=np.column_stack([lb, ub]), method="highs")
    assert res.status == 0, res.message
    return sign * res.fun + milp.objective.constant


@SETTINGS
@given(net=networks(max_inputs=8, max_width=8, max_layers=2), seed=st.integers(0, 1000),
       p=st.integers(2, 8), bounds=st.sampled_from(["interval", "symbolic"]))
def test_lp_relaxation_at_least_as_tight_as_bigm(tmp_path, net, seed, p, bounds):
    j = int(np.random.default_rng(seed).integers(net.n_out))
    spec = _write(tmp_path, net, f"var x[{net.n_in}] in [-1, 1]\ny = net(x)\n"
                                 f"maximize y[{j}]\n")
    big = lp_relaxation(nnlang.compile(spec, bounds=bounds, encoding="bigm").milp)
    part = lp_relaxation(nnlang.compile(spec, bounds=bounds, encoding="partition",
                                        partition_parts=p).milp)
    exact = nnlang.compile(spec, bounds=bounds, encoding="partition",
                           partition_parts=p).solve(tighten=False)
    assert exact.status == "optimal"
    tol = 1e-7 * (1 + abs(big))
    assert exact.objective <= part + tol  # still a relaxation
    assert part <= big + tol  # and never looser than big-M's


def test_lp_relaxation_strictly_tighter_on_a_wide_neuron(tmp_path):
    # One hidden layer over 20 inputs: big-M's relaxation of a neuron is loose,
    # the partition formulation's (one group per input: the convex hull) is not.
    gains = []
    for seed in range(5):
        net = random_network([20, 4, 1], seed=seed)
        spec = _write(tmp_path, net, "var x[20] in [-1, 1]\ny = net(x)\nmaximize y[0]\n")
        big = lp_relaxation(nnlang.compile(spec, encoding="bigm").milp)
        part = lp_relaxation(nnlang.compile(spec, encoding="partition", partition_parts=20).milp)
        exact = nnlang.compile(spec, encoding="bigm").solve(tighten=False).objective
        assert exact - 1e-7 <= part <= big + 1e-7
        gains.append((big - part) / max(big - exact, 1e-9))
    assert max(gains) > 0.1


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 12), p=st.integers(1, 6),
       seed=st.integers(0, 10_000))
def test_group_bounds_contain_sampled_sums(rows, cols, p, seed):
    rng = np.random.default_rng(seed)
    A = sp.random(rows, cols, density=0.7, random_state=seed, format="csr",
                  data_rvs=lambda k: rng.normal(size=k))
    A.eliminate_zeros()
    lb = rng.uniform(-2, 1, size=cols)
    ub = lb + rng.uniform(0, 2, size=cols)
    # neuron bounds: exact interval bounds of A @ cols, so the caps must not cut anything
    Ap, Am = A.maximum(0), A.minimum(0)
    lo, hi = Ap @ lb + Am @ ub, Ap @ ub + Am @ lb
    group, LB, UB = partition._groups(A, lb, ub, lo, hi, p)
    assert group.shape == A.data.shape and np.all((group >= 0) & (group < p))
    X = rng.uniform(lb, ub, size=(500, cols))
    X = np.vstack([X, np.where(rng.integers(0, 2, size=(100, cols)) == 1, ub, lb)])
    row = np.repeat(np.arange(rows), np.diff(A.indptr))
    for g in range(p):
        sel = group == g
        Ag = sp.csr_matrix((A.data[sel], (row[sel], A.indices[sel])), shape=A.shape)
        alpha = X @ Ag.T.toarray()
        assert np.all(alpha >= LB[:, g] - 1e-9) and np.all(alpha <= UB[:, g] + 1e-9)
    # tighter neuron bounds tighten the groups, soundly for points inside them
    mid = 0.5 * (lo + hi)
    _, LB2, UB2 = partition._groups(A, lb, ub, mid, hi, p)
    assert np.all(LB2 >= LB - 1e-12) and np.all(UB2 <= UB + 1e-12)
    inside = np.all(X @ A.T.toarray() >= mid - 1e-12, axis=1)
    for g in range(p):
        sel = group == g
        Ag = sp.csr_matrix((A.data[sel], (row[sel], A.indices[sel])), shape=A.shape)
        alpha = X[inside] @ Ag.T.toarray()
        assert np.all(alpha >= LB2[:, g] - 1e-9) and np.all(alpha <= UB2[:, g] + 1e-9)


def test_spec_option_selects_partition(tmp_path):
    net = random_network([3, 4, 2], seed=1)
    spec = _write(tmp_path, net, "var x[3] in [-1, 1]\ny = net(x)\nmaximize y[0]\n"
                                 "options {\n    encoding = partition\n}\n")
    m = nnlang.compile(spec)
    assert m.options.encoding == "partition"
    assert m.solve().status == "optimal"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tightening_over_the_partition_relaxation_keeps_the_optimum(tmp_path, seed):
    from nnlang.solve.strategies.single import CVXPY, solve_via
    from nnlang.solve.strategies.tighten import solve as solve_tightened
    from nnlang.solve.strategies.tighten import tighten
    from nnlang.solve.task import Task

    net = random_network([5, 8, 8, 3], seed=seed)
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, 5)
    label = int(np.argmax(net.predict(c)))
    spec = _write(tmp_path, net, f"param c[5] = {_fmt(c)}\nvar x[5] in [0, 1]\ny = net(x)\n"
                                 f"minimize norm1(x - c)\nsubject to\n"
                                 f"    flip: y[{(label + 1) % 3}] >= y[{label}] + 0.05\n")
    exact = nnlang.compile(spec, encoding="bigm").solve(tighten=False)
    m = nnlang.compile(spec, encoding="partition")
    if exact.status == "optimal":
        overrides, _ = tighten(Task(m.milp, m.encode), cutoff=exact.objective)
        fwd = net.forward(exact.values["x"])
        for k, (L, U) in enumerate(overrides["y"]):
            pre = fwd[k] @ net.layers[k].W.T + net.layers[k].b
            assert np.all(pre >= L - 1e-6) and np.all(pre <= U + 1e-6)
    calls = []

    def run(milp, options):
        calls.append(options.time_limit)
        r = solve_via(CVXPY, milp, options)
        if len(calls) == 1 and r.status == "optimal":
            r.status = "time_limit"  # force the second phase (tightening, re-encoding)
        return r

    result = solve_tightened(Task(m.milp, m.encode), m.options.updated(time_limit=60), run)
    assert result.status == exact.status
    if exact.status == "optimal":
        assert result.objective == pytest.approx(exact.objective, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_emitted_files_have_the_same_optimum(tmp_path, fmt):
    # The extra columns and rows are generic (role aux / relu): the emitters write them
    # with generic names next to the big-M layer names; HiGHS reads the files back.
    import highspy

    from nnlang.emit import write

    net = random_network([4, 6, 5, 3], seed=7)
    c = np.random.default_rng(7).uniform(-1, 1, 4)
    spec = _write(tmp_path, net, f"param c[4] = {_fmt(c)}\nvar x[4] in [-1, 1]\ny = net(x)\n"
                                 f"minimize norm1(x - c) - y[0] + y[1]\n")
    m = nnlang.compile(spec, encoding="partition")
    expected = m.solve(tighten=False)
    (path,) = write(m, fmt, tmp_path, "model")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) != highspy.HighsStatus.kError
    h.run()
    assert expected.status == "optimal"
    assert any(b.name.endswith(".v") for b in m.milp.blocks)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    value = h.getInfo().objective_function_value
    assert value == pytest.approx(expected.objective, rel=1e-6, abs=1e-6)


def test_big_m_rows_left_out_where_the_groups_imply_them(tmp_path):
    # Over the box with interval bounds the group bounds add up to the neuron's, so
    # the big-M rows are sums of the partition rows and are left out; with symbolic
    # bounds tighter than those sums a layer keeps them. The optimum is the same.
    net = random_network([6, 8, 8, 2], seed=3)
    spec = _write(tmp_path, net, "var x[6] in [-1, 1]\ny = net(x)\nmaximize y[0] - y[1]\n")

    def bigm_rows(m):
        return {r.name for r in m.milp.rows if r.name.endswith((".bigm_x", ".bigm_s"))}

    loose = nnlang.compile(spec, encoding="partition")
    assert not bigm_rows(loose) and any(r.name.endswith("part_link") for r in loose.milp.rows)
    tight = nnlang.compile(spec, encoding="partition", bounds="symbolic")
    kept = bigm_rows(tight)
    assert kept and all(".L1." not in n for n in kept)  # layer 1: symbolic = interval
    reference = nnlang.compile(spec, encoding="bigm").solve(tighten=False, radius_search=False)
    for m in (loose, tight):
        r = m.solve(tighten=False, radius_search=False)
        assert r.status == reference.status == "optimal"
        assert r.objective == pytest.approx(reference.objective, rel=1e-7, abs=1e-7)
