"""Radius search: the same optimum (or infeasibility) as one MILP over the box."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.ir.options import Options
from nnlang.solve.strategies import outer, radius
from nnlang.solve.task import Task
from nnlang.testing import flip_spec


def _shrinking(m):
    """A task whose steps share outer-approximation tangents (as a sum of squares on
    HiGHS gets): the radius search then passes each step a ``model_at``."""
    return Task(m.milp, m.encode, outer.Envelope.for_model(m.milp))


def _spec(tmp_path, seed, objective="norm1(x - c)", margin=0.05, n_in=5):
    return flip_spec(tmp_path, seed, objective, margin, n_in)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 5000),
       objective=st.sampled_from(["norm1(x - c)", "norminf(x - c)", "norm0(x - c)",
                                  "3 * norm1(c - x)", "sumsq(x - c) approx pwl(5)"]))
def test_radius_search_finds_the_same_optimum(tmp_path, seed, objective):
    _, path = _spec(tmp_path, seed, objective)
    m = nnlang.compile(path)
    assert radius.applies(Task(m.milp, m.encode), m.options)
    plain = m.solve(radius_search=False, tighten=False)
    found = m.solve()
    assert found.status == plain.status
    assert found.search is not None and found.search["steps"]
    if plain.status == "optimal":
        assert found.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)
        assert found.forward_gap is not None and found.forward_gap < 1e-6
        # every step before the last proved that nothing has a value at most its radius
        for step in found.search["steps"][:-1]:
            assert step["status"] == "infeasible"
            assert step["value"] < plain.objective + 1e-6


@pytest.mark.parametrize("seed", [0, 7, 11, 19])
def test_many_infeasible_steps_keep_the_optimum(tmp_path, monkeypatch, seed):
    """Starting from a small ball (a few infeasible steps first): same optimum. (The
    proven lower bound as a row of each step was measured and dropped,
    docs/benchmarks.md.)"""
    _, path = _spec(tmp_path, seed)
    m = nnlang.compile(path)
    plain = m.solve(radius_search=False, tighten=False)
    monkeypatch.setattr(radius, "START_SHARE", 0.05)
    found = m.solve()
    assert found.status == plain.status
    if plain.status == "optimal":
        assert found.objective == pytest.approx(plain.objective, rel=1e-6, abs=1e-6)


def test_infeasible_problem_is_infeasible(tmp_path):
    _, path = _spec(tmp_path, 3, margin=1e6)  # no input reaches such a margin
    m = nnlang.compile(path)
    r = m.solve()
    assert r.status == "infeasible"
    assert r.search["steps"][-1]["value"] == pytest.approx(r.search["largest"])


def test_time_limit_keeps_the_proven_lower_bound(tmp_path):
    _, path = _spec(tmp_path, 1)
    m = nnlang.compile(path)
    exact = m.solve(radius_search=False)
    assert exact.status == "optimal"
    r = m.solve(time_limit=1e-3)
    assert r.status in ("time_limit", "optimal")
    if r.bound is not None:
        assert r.bound <= exact.objective + 1e-6


@pytest.mark.parametrize("objective, detected", [
    ("norm1(x - c)", "norm1"),
    ("0.5 * norminf(x - c)", "norminf"),
    ("norm1(2 * x - c)", None),          # a weighted norm is not a ball of this kind
    ("norm1(x - c) + norminf(x - c)", None),
    ("sumsq(x - c)", "sumsq"),
])
def test_objective_ball_detection(tmp_path, objective, detected):
    _, path = _spec(tmp_path, 1, objective)
    ball = nnlang.compile(path).milp.objective_ball
    assert (ball.dist if ball is not None else None) == detected
    if ball is not None:
        assert ball.center.size == 5 and ball.scale > 0


def test_exact_sumsq_is_searched_only_with_a_solver_that_takes_its_cutoff(tmp_path):
    _, path = _spec(tmp_path, 1, "sumsq(x - c)")
    milp = nnlang.compile(path).milp
    assert radius.applies(Task(milp, None), Options(solver="highs"))  # by outer approximation (nnlang.outer)
    assert radius.applies(Task(milp, None), Options(solver="scip"))
    assert not radius.applies(Task(milp, None), Options(solver="cbc"))  # no quadratic cutoff, no MIQP


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_exact_sumsq_radius_search_with_scip(tmp_path, seed):
    pytest.importorskip("pyscipopt")
    _, path = _spec(tmp_path, seed, "sumsq(x - c)")
    m = nnlang.compile(path, solver="scip")
    plain = m.solve(radius_search=False)
    found = m.solve()
    assert found.status == plain.status
    assert found.search is not None
    if plain.status == "optimal":
        assert found.objective == pytest.approx(plain.objective, rel=1e-5, abs=1e-6)


def test_spec_can_turn_it_off(tmp_path):
    _, path = _spec(tmp_path, 2)
    text = path.read_text() + "options {\n    radius_search = false\n}\n"
    path.write_text(text)
    m = nnlang.compile(path)
    assert m.solve().search is None


def test_steps_pass_on_every_solver_s_native_options(tmp_path):
    """A caller's native options reach each step for any solver (they kept only
    STEP_OPTIONS' solvers before); the caller's win over the steps' own."""
    from nnlang.solve.results import Result

    _, path = _spec(tmp_path, 4)
    m = nnlang.compile(path)
    seen = []

    def fake(milp, options, model_at=None):
        seen.append(options.solver_args)
        return Result("optimal", objective=1.0)

    mine = {"SCIP": {"limits/nodes": 7}, "HIGHS": {"mip_heuristic_run_rins": True}}
    radius.solve(Task(m.milp, m.encode), m.options.updated(solver_args=mine), run=fake)
    assert seen and seen[0]["SCIP"] == {"limits/nodes": 7}
    assert seen[0]["HIGHS"] == {**radius.STEP_OPTIONS["HIGHS"], "mip_heuristic_run_rins": True}


def test_a_point_beyond_the_cutoff_caps_the_next_radius(tmp_path):
    """An outer-approximation step that is infeasible for its cutoff but met a point
    of value ``h`` beyond it: the next step is at ``h`` if that is below the usual
    growth (a hint only; the steps' answers decide)."""
    from nnlang.solve.results import Result

    _, path = _spec(tmp_path, 1, "sumsq(x - c)")
    m = nnlang.compile(path)
    cutoffs = []

    def fake(milp, options, model_at=None):
        cutoffs.append(milp.objective_cutoff)
        if len(cutoffs) == 1:
            value = 1.05 * milp.objective_cutoff
            return Result("infeasible", candidate=(value, milp, np.zeros(milp.n)))
        return Result("infeasible" if len(cutoffs) == 2 else "optimal", objective=1.0)

    r = radius.solve(_shrinking(m), m.options, run=fake)
    v = [s["value"] for s in r.search["steps"]]
    assert len(v) == 3 and r.status == "optimal"
    assert v[1] == pytest.approx(1.05 * cutoffs[0])  # the hint, not the usual 1.1-1.5x
    # the hint is used up: the step after it grows as usual
    assert v[2] >= radius.MIN_GROWTH * v[1] * (1 - 1e-9)


def _timed_out_after_a_hint(m, point_of):
    """A fake step runner: step 1 infeasible with a candidate point beyond its ball
    (``point_of(step)`` gives its columns), step 2 out of time without a point."""
    from nnlang.solve.results import Result

    calls = []

    def fake(milp, options, model_at=None):
        calls.append(milp)
        if len(calls) == 1:
            x, value = point_of(milp)
            return Result("infeasible", candidate=(value, milp, x))
        return Result("time_limit", bound=0.5 * milp.objective_cutoff)

    return radius.solve(_shrinking(m), m.options, run=fake)


def test_a_run_out_of_time_reports_a_confirmed_point_from_beyond_a_ball(tmp_path):
    """No step found a point inside its ball in time, but one found a point beyond
    it: fixed in the original model it meets the spec, so it is reported (time limit,
    the search's bound, the forward-pass check), not 'no solution'."""
    _, path = _spec(tmp_path, 1, "sumsq(x - c)")
    m = nnlang.compile(path)
    exact = m.solve(radius_search=False, mip_gap=1e-8)
    assert exact.status == "optimal"

    def point_of(step):
        x = np.zeros(step.n)
        x[step.block("x").cols] = exact.values["x"]
        return x, exact.objective

    r = _timed_out_after_a_hint(m, point_of)
    assert r.status == "time_limit"
    assert r.objective == pytest.approx(exact.objective, rel=1e-7)
    np.testing.assert_allclose(r.values["x"], exact.values["x"], atol=1e-9)
    assert r.bound is not None and r.bound <= r.objective and r.gap is not None
    assert r.forward_gap < 1e-6 and r.max_violation < 1e-6
    assert any("confirmed" in n for n in r.notes)


def test_a_point_the_original_model_rejects_is_not_reported(tmp_path):
    """The candidate's input does not flip the class (the centre itself): not a
    solution, so the run ends without one, and says why."""
    _, path = _spec(tmp_path, 1, "sumsq(x - c)")
    m = nnlang.compile(path)
    centre = np.asarray(m.program.params["c"], dtype=float)

    def point_of(step):
        x = np.zeros(step.n)
        x[step.block("x").cols] = centre
        return x, 0.25

    r = _timed_out_after_a_hint(m, point_of)
    assert r.status == "time_limit" and r.objective is None and not r.values
    assert any("not confirmed" in n for n in r.notes)


class _Unstable:
    """Ball bounds stand-in: the unstable count as a function of the radius."""

    def __init__(self, count):
        self.count = count

    def unstable(self, value: float) -> int:
        return self.count(value)


def test_after_a_cheap_step_the_radius_grows_faster_within_the_unstable_limit():
    flat = _Unstable(lambda v: 5)
    assert radius.next_value(flat, 1.0, 100.0, 5) == pytest.approx(radius.GROWTH)
    assert radius.next_value(flat, 1.0, 100.0, 5, cheap=True) == \
        pytest.approx(radius.GROWTH ** 2)
    assert radius.next_value(flat, 60.0, 100.0, 5, cheap=True) == 100.0  # never past top
    steep = _Unstable(lambda v: int(10 * v))  # 10 unstable at the step's radius 1
    for cheap, factor in ((False, radius.STEP_UNSTABLE), (True, 2.0)):
        v = radius.next_value(steep, 1.0, 100.0, 10, cheap=cheap)
        assert radius.MIN_GROWTH <= v <= (radius.GROWTH ** 2 if cheap else radius.GROWTH)
        assert steep.unstable(v) <= factor * 10 + 2
    assert radius.next_value(steep, 1.0, 100.0, 10, cheap=True) > \
        radius.next_value(steep, 1.0, 100.0, 10)


def test_the_next_step_is_the_incumbents_when_its_ball_is_within_the_limit():
    steep = _Unstable(lambda v: int(10 * v))
    # the incumbent's ball at 5.0 has 12 unstable ReLUs: within 1.3 * 10 + 2 of a step
    # at 1.0 with 10, so the search goes straight to it
    assert radius.next_value(steep, 1.0, 100.0, 10, cap=(5.0, 12)) == 5.0
    # 40 unstable: beyond the limit, the usual growth
    assert radius.next_value(steep, 1.0, 100.0, 10, cap=(5.0, 40)) <= radius.GROWTH


@pytest.mark.parametrize("seed", [1, 4, 9, 23])
def test_a_count_takes_whole_radii_and_stops_below_the_incumbent(tmp_path, seed):
    """norm0's count is a whole number: every radius is one, a step infeasible at v
    proves v + 1, and the search never steps to the attack's value itself (the ball
    one below it proves the point optimal)."""
    _, path = _spec(tmp_path, seed, "norm0(x - c)", n_in=8)
    m = nnlang.compile(path)
    assert radius.integral_objective(m.milp)
    plain = m.solve(radius_search=False, tighten=False, attack=False)
    found = m.solve(tighten=False)
    assert found.status == plain.status
    if plain.status != "optimal":
        return
    assert found.objective == pytest.approx(plain.objective)
    values = [s["value"] for s in found.search["steps"]]
    assert all(float(v).is_integer() for v in values)
    if found.attack is not None:
        assert max(values) <= found.attack["objective"] - 1 or values[-1] == found.search["largest"]


def test_whole_number_objectives_and_the_bounds_they_prove(tmp_path):
    for objective, whole in (("norm0(x - c)", True), ("2 * norm0(x - c) + 1", True),
                             ("norm1(x - c)", False), ("0.5 * norm0(x - c)", False)):
        _, path = _spec(tmp_path, 3, objective)
        assert radius.integral_objective(nnlang.compile(path).milp) is whole, objective
    assert radius.proven(2.0, True) == 3.0 and radius.proven(2.4, True) == 3.0
    assert radius.proven(2.4, False) == 2.4
