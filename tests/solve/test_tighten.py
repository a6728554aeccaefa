"""LP tightening with an incumbent cutoff keeps every solution at least as good."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.solve.strategies.single import CVXPY, solve_via
from nnlang.solve.strategies.tighten import solve as solve_tightened
from nnlang.solve.strategies.tighten import tighten
from nnlang.solve.task import Task
from nnlang.testing import random_network, write_network


def _compiled(tmp_path, seed):
    net = random_network([5, 8, 8, 3], seed=seed)
    write_network(net, tmp_path / "n.npz")
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 1, 5)
    label = int(np.argmax(net.predict(c)))
    target = (label + 1) % 3
    text = ('network net = load("n.npz")\n'
            f"param c[5] = [{', '.join(map(repr, c.tolist()))}]\n"
            "var x[5] in [0, 1]\ny = net(x)\nminimize norm1(x - c)\n"
            f"subject to\n    flip: y[{target}] >= y[{label}] + 0.05\n")
    (tmp_path / "s.nnq").write_text(text)
    return net, nnlang.compile(tmp_path / "s.nnq")


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 5000))
def test_tightened_bounds_keep_the_optimum(tmp_path, seed):
    net, m = _compiled(tmp_path, seed)
    exact = m.solve(tighten=False)
    if exact.status != "optimal":
        return
    overrides, stats = tighten(Task(m.milp, m.encode), cutoff=exact.objective)
    fwd = net.forward(exact.values["x"])
    for k, (L, U) in enumerate(overrides["y"]):
        pre = fwd[k] @ net.layers[k].W.T + net.layers[k].b
        assert np.all(pre >= L - 1e-6) and np.all(pre <= U + 1e-6)
    assert stats.after_unstable <= stats.before_unstable


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rounds_prove_the_incumbent_optimal(tmp_path, seed):
    _, m = _compiled(tmp_path, seed)
    exact = m.solve(tighten=False)
    calls = []

    def run(milp, options):
        calls.append(options.time_limit)
        r = solve_via(CVXPY, milp, options)
        if len(calls) == 1 and r.status == "optimal":
            r.status = "time_limit"  # pretend the first slice ran out with this incumbent
        return r

    result = solve_tightened(Task(m.milp, m.encode), m.options.updated(time_limit=60), run)
    assert result.status == exact.status
    if exact.status == "optimal":
        assert len(calls) >= 2
        assert result.objective == pytest.approx(exact.objective, rel=1e-6, abs=1e-6)
        assert result.tighten["lps"] > 0


@pytest.mark.parametrize("second_has_point", [False, True])
def test_a_time_limited_result_keeps_the_tighter_of_both_phases_bounds(tmp_path,
                                                                         second_has_point):
    _, m = _compiled(tmp_path, 1)
    exact = m.solve(tighten=False)
    assert exact.status == "optimal"
    calls = []

    def run(milp, options):
        # both phases stopped by the limit: the first with the optimum as incumbent and
        # a bound below it (minimize), the second with a weaker bound
        r = solve_via(CVXPY, milp, options)
        calls.append(r)
        r.status = "time_limit"
        if len(calls) == 1:
            r.bound = exact.objective - 1.0
        else:
            r.bound = exact.objective - 5.0
            if not second_has_point:
                r.values, r.objective = {}, None
        return r

    result = solve_tightened(Task(m.milp, m.encode), m.options.updated(time_limit=60), run)
    assert len(calls) == 2
    assert result.status == "time_limit"
    assert result.objective == pytest.approx(exact.objective, rel=1e-6, abs=1e-6)
    assert result.bound == pytest.approx(exact.objective - 1.0)
    assert result.gap == pytest.approx(1.0 / abs(exact.objective), rel=1e-3)
