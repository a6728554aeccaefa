"""Time limit, MIP gap and threads in each solver's own option names; HiGHS without
CVXPY gives the answer CVXPY gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.highs_objects import new_highs
from nnlang.ir.options import Options
from nnlang.registry import HIGHS_DEFAULTS, HIGHS_SPARSIFY
from nnlang.solve.answer import snap_user_values
from nnlang.solve.backends.cvxpy import is_lowered, solver_options
from nnlang.solve.strategies.single import CVXPY, DIRECT, route, solve_via

RULES_OFF = HIGHS_DEFAULTS["presolve_rule_off"]
SPARSIFY = HIGHS_SPARSIFY


def run_solver(milp, options):
    """Through CVXPY."""
    return solve_via(CVXPY, milp, options)


def run_highs(milp, options):
    """Through highspy, no CVXPY."""
    return solve_via(DIRECT, milp, options)


def direct_highs(milp, options):
    return route(milp, options) == DIRECT
from nnlang.testing import network_strategy, spec_vector, write_network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = {
    "highs": {"time_limit": 2.5, "mip_rel_gap": 1e-4, "threads": 2,
              "presolve_rule_off": RULES_OFF},
    "scip": {"scip_params": {"limits/time": 2.5, "limits/gap": 1e-4}},
    "gurobi": {"TimeLimit": 2.5, "MIPGap": 1e-4, "Threads": 2},
    "cplex": {"cplex_params": {"timelimit": 2.5, "mip.tolerances.mipgap": 1e-4}},
    "cbc": {"maximumSeconds": 3, "allowableFractionGap": 1e-4},
    "glpk_mi": {},
}


@pytest.mark.parametrize("solver", sorted(EXPECTED))
def test_options_in_the_solvers_names(solver):
    opts = Options(solver=solver, time_limit=2.5, mip_gap=1e-4, threads=2)
    assert solver_options(opts) == EXPECTED[solver]
    defaults = {"presolve_rule_off": RULES_OFF} if solver == "highs" else {}
    assert solver_options(Options(solver=solver)) == defaults


def test_solver_args_reach_their_solver_only():
    args = {"HIGHS": {"mip_heuristic_run_rins": False}}
    assert solver_options(Options(solver="highs", solver_args=args)) == {
        "mip_heuristic_run_rins": False, "presolve_rule_off": RULES_OFF}
    assert solver_options(Options(solver="scip", solver_args=args)) == {}



def test_highs_never_sparsifies():
    """HiGHS's sparsify rule removed no nonzero from nnlang's models and overran
    time limits by minutes on wide networks (docs/benchmarks.md): it is off on
    every Highs object nnlang makes and in every CVXPY solve with HiGHS, unless a
    caller's native options say otherwise."""
    assert RULES_OFF & SPARSIFY
    assert new_highs().getOptionValue("presolve_rule_off")[1] == RULES_OFF
    assert solver_options(Options(solver="highs"))["presolve_rule_off"] == RULES_OFF
    mine = Options(solver="highs", solver_args={"HIGHS": {"presolve_rule_off": 0}})
    assert solver_options(mine)["presolve_rule_off"] == 0



@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_cvxpy_row_order_keeps_the_feasible_set(seed):
    """Rows reordered as CVXPY gives them to HiGHS (equalities, upper sides,
    negated lower sides; two-sided rows split): a point satisfies the new rows
    exactly when it satisfies the old ones."""
    import scipy.sparse as sp

    from nnlang.solve.backends.highs import cvxpy_row_order

    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    A = sp.random(m, n, density=0.7, random_state=seed, format="csr")
    mid = rng.normal(size=m)
    kind = rng.integers(0, 4, size=m)  # equality, upper, lower, two-sided
    lo = np.where(kind == 1, -np.inf, mid - np.where(kind == 0, 0.0, 0.5))
    hi = np.where(kind == 2, np.inf, mid + np.where(kind == 0, 0.0, 0.5))
    B, blo, bhi = cvxpy_row_order(A, lo, hi)
    assert B.shape == (m + int(np.sum(kind == 3)), n)
    assert np.all(~np.isfinite(blo) | (blo == bhi))  # only equalities have a lower side
    for _ in range(20):
        x = rng.normal(size=n)
        if rng.random() < 0.3 and np.any(kind == 0):  # on the equalities, when possible
            x = np.linalg.lstsq(A[kind == 0].toarray(), mid[kind == 0], rcond=None)[0]
        ax, bx = A @ x, B @ x
        old = np.all((ax >= lo - 1e-9) & (ax <= hi + 1e-9))
        new = np.all((bx >= blo - 1e-9) & (bx <= bhi + 1e-9))
        assert old == new


def test_highs_directly_searches_as_through_cvxpy():
    """With the rows in CVXPY's order HiGHS gets the same model both ways, so the
    same search: nodes and objective equal (DNN1 L1, image 1: 70 nodes, and 123
    with the model's own row order)."""
    m = nnlang.compile(EXAMPLES / "reproductions/zhu_dnn1_l1.nnq", params={"index": 1})
    opts = m.options.updated(time_limit=60, threads=1)
    a, b = run_solver(m.milp, opts), run_highs(m.milp, opts)
    assert a.status == b.status == "optimal"
    assert a.nodes == b.nodes and b.objective == pytest.approx(a.objective, rel=1e-9)


def test_the_spec_s_own_model_goes_to_highspy(monkeypatch):
    """A plain solve (no radius search, no tightening) of a linear model with HiGHS
    runs through highspy, not CVXPY: no CVXPY problem is built."""
    from nnlang.solve.backends import cvxpy as cvxpy_backend

    def no_cvxpy(*args, **kwargs):
        raise AssertionError("went through CVXPY")

    monkeypatch.setattr(cvxpy_backend, "solve", no_cvxpy)
    m = nnlang.compile(EXAMPLES / "breast_cancer_adversarial.nnq")
    r = m.solve(radius_search=False, tighten=False)
    assert r.status == "optimal" and r.solver == "highs" and not is_lowered(m.milp)
    assert "cvxpy" not in m.timings

SPEC = """network net = load("net.npz")
param c[{n}] = {c}
var x[{n}] in [-1, 1]
y = net(x)
{sense} {objective}
subject to
    pick: {pick}
"""


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=network_strategy(3, 5, 2), seed=st.integers(0, 10_000),
       sense=st.sampled_from(["minimize", "maximize"]), relax=st.booleans())
def test_highs_directly_gives_the_cvxpy_answer(tmp_path, net, seed, sense, relax):
    """``run_highs`` (highspy, no CVXPY) and ``run_solver`` (through CVXPY) agree on
    status, objective and bound, for MILPs and (``relax``: no binaries) LPs,
    minimized and maximized, feasible or not."""
    rng = np.random.default_rng(seed)
    write_network(net, tmp_path / "net.npz")
    margin = rng.choice([0.0, 0.5, 50.0])  # 50: mostly infeasible
    pick = f"y[0] >= y[1] + {margin}" if net.n_out > 1 else f"y[0] >= {margin - 1}"
    objective = "norm1(x - c) - 0.3 * y[0]" if sense == "minimize" else "y[0] - sum(x)"
    text = SPEC.format(n=net.n_in, c=spec_vector(rng.uniform(-1, 1, net.n_in)), sense=sense,
                       objective=objective, pick=pick)
    m = nnlang.compile(text=text, path=tmp_path / "s.nnq")
    milp = m.milp
    if relax:  # the LP relaxation: every binary continuous in [0, 1]
        milp = dataclasses.replace(milp, blocks=[dataclasses.replace(b, kind="continuous")
                                                 for b in milp.blocks])
    opts = m.options.updated(time_limit=30)
    assert direct_highs(milp, opts)
    a, b = run_solver(milp, opts), run_highs(milp, opts)
    assert a.status == b.status
    if a.status == "optimal":
        assert b.objective == pytest.approx(a.objective, rel=1e-6, abs=1e-6)
        assert b.forward_gap is not None and b.max_violation < 1e-6
        if not relax:
            assert b.bound == pytest.approx(b.objective, rel=2e-4, abs=1e-6)


def test_direct_highs_only_for_linear_highs_models(tmp_path):
    m = nnlang.compile(text="var x[2] in [0, 1]\nminimize sumsq(x - 0.5)\n",
                       path=tmp_path / "s.nnq")
    assert not direct_highs(m.milp, m.options)  # quadratic
    m = nnlang.compile(text="var x[2] in [0, 1]\nminimize sum(x)\n", path=tmp_path / "s.nnq")
    assert direct_highs(m.milp, m.options)
    assert not direct_highs(m.milp, m.options.updated(solver="scip"))
    r = run_highs(m.milp, m.options)
    assert (r.status, r.objective, r.values["x"].tolist()) == ("optimal", 0.0, [0.0, 0.0])


def test_user_values_snap_onto_bounds_and_integers_within_tolerance():
    m = nnlang.compile(text="var x[3] in [0, 1]\nvar k[2] integer in [1, 10]\n"
                            "minimize sum(x) + sum(k)\n")
    raw = np.zeros(m.milp.n)
    cols = {b.name: b.cols for b in m.milp.blocks if b.role == "user"}
    raw[cols["x"]] = [-2.8e-17, 1.0 + 4e-7, 0.5]
    raw[cols["k"]] = [2.9999997, 4.4]
    x = snap_user_values(m.milp, raw)
    assert x[cols["x"]].tolist() == [0.0, 1.0, 0.5]
    assert x[cols["k"]].tolist() == [3.0, 4.4]  # 4.4 is no integer: left for the checks
    far = raw.copy()
    far[cols["x"]] = [-0.01, 1.01, 0.5]
    assert snap_user_values(m.milp, far)[cols["x"]].tolist() == [-0.01, 1.01, 0.5]


@pytest.mark.parametrize("search", [True, False])  # radius steps via highspy; CVXPY
def test_an_integer_example_reports_integers_and_an_integer_objective(search):
    r = nnlang.compile(EXAMPLES / "breast_cancer_adversarial.nnq").solve(
        radius_search=search, tighten=search)
    assert r.status == "optimal"
    x = np.asarray(r.values["x"])
    assert np.array_equal(x, np.round(x)) and x.min() >= 1 and x.max() <= 10
    assert r.forward_gap < 1e-6
    # an L1 distance between integer points is an integer: the polished LP says so
    # (HiGHS's MILP answer was 8.999999)
    assert abs(r.objective - round(r.objective)) < 1e-9
    assert r.max_violation < 1e-9


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=network_strategy(3, 5, 2), seed=st.integers(0, 10_000),
       search=st.booleans())
def test_integer_inputs_reach_the_enumerated_optimum(tmp_path, net, seed, search):
    """Integer inputs on a small grid: nnlang's optimum (polished, snapped) is the
    best of every grid point's forward pass, the reported point is on the grid and
    its value is the objective."""
    rng = np.random.default_rng(seed)
    write_network(net, tmp_path / "net.npz")
    c = rng.integers(-3, 4, net.n_in)
    text = ('network net = load("net.npz")\n'
            f"param c[{net.n_in}] = {spec_vector(c)}\n"
            f"var x[{net.n_in}] integer in [-3, 3]\ny = net(x)\n"
            "minimize norm1(x - c) - 2 * y[0]\n")
    m = nnlang.compile(text=text, path=tmp_path / "s.nnq")
    r = m.solve(radius_search=search)
    grid = np.array(np.meshgrid(*[np.arange(-3, 4)] * net.n_in)).reshape(net.n_in, -1).T
    values = [np.abs(g - c).sum() - 2 * net.predict(g.astype(float))[0] for g in grid]
    assert r.status == "optimal"
    assert r.objective == pytest.approx(min(values), abs=1e-6)
    x = np.asarray(r.values["x"], dtype=float)
    assert np.array_equal(x, np.round(x))
    assert np.abs(x - c).sum() - 2 * net.predict(x)[0] == pytest.approx(r.objective, abs=1e-6)
