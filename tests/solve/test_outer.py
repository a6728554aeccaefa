"""Exact sum of squares with HiGHS (outer approximation): the same optimum as SCIP's
MIQP, sound bounds, and the cutoff of a radius step."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.solve.strategies import outer
from nnlang.testing import flip_spec


def _spec(tmp_path, seed, objective="sumsq(x - c)", margin=0.05, n_in=5):
    return flip_spec(tmp_path, seed, objective, margin, n_in)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 5000),
       objective=st.sampled_from(["sumsq(x - c)", "3 * sumsq(c - x)", "sumsq(2 * x - c)",
                                  "sumsq(x - c) + 0.1 * y[0]"]),
       search=st.booleans())
def test_same_optimum_as_scip(tmp_path, seed, objective, search):
    """HiGHS by outer approximation (over the box, or in radius steps) against SCIP's
    MIQP: the same optimum, a sound bound, a point the forward pass confirms."""
    pytest.importorskip("pyscipopt")
    _, path = _spec(tmp_path, seed, objective)
    m = nnlang.compile(path)
    ref = m.solve(solver="scip", radius_search=False, mip_gap=1e-9)
    got = m.solve(solver="highs", radius_search=search, mip_gap=1e-7)
    assert got.status == ref.status
    if ref.status != "optimal":
        return
    assert got.objective == pytest.approx(ref.objective, rel=1e-5, abs=1e-6)
    # SCIP's point may violate a row by its tolerance (2.4e-7 measured), which is
    # worth ~1e-6 of objective: the bound is compared at the same relative tolerance
    assert got.bound is not None and got.bound <= ref.objective + 1e-5 * abs(ref.objective) + 1e-6
    assert got.forward_gap is not None and got.forward_gap < 1e-6
    assert got.max_violation is not None and got.max_violation < 1e-6
    assert any("outer approximation" in n for n in got.notes)
    if got.search and "steps" in got.search:  # each step's masters, counted in the note
        steps = got.search["steps"]
        assert all(len(st_["masters"]) >= 1 for st_ in steps if st_["status"] == "optimal")
        note = next(n for n in got.notes if n.startswith("radius search:"))
        assert note.count(" master") == sum("masters" in st_ for st_ in steps)


@pytest.mark.parametrize("seed", [1, 4, 7])
def test_a_maximized_concave_objective_is_the_negated_minimum(tmp_path, seed):
    """``maximize y[0] - 2 * sumsq(x - c)`` is ``minimize 2 * sumsq(x - c) - y[0]``
    negated: the same point, the bound on the right side, with HiGHS (outer
    approximation over the box; no radius search for a maximization) and SCIP."""
    _, path = _spec(tmp_path, seed, "2 * sumsq(x - c) - y[0]")
    low = nnlang.compile(path).solve(solver="highs", mip_gap=1e-7)
    path.write_text(path.read_text().replace("minimize 2 * sumsq(x - c) - y[0]",
                                             "maximize y[0] - 2 * sumsq(x - c)"))
    m = nnlang.compile(path)
    assert m.milp.objective.sense == "maximize" and m.milp.objective_ball is None
    high = m.solve(solver="highs", mip_gap=1e-7)
    assert high.status == low.status
    if low.status != "optimal":
        return
    assert high.objective == pytest.approx(-low.objective, rel=1e-5, abs=1e-6)
    assert high.bound >= high.objective - 1e-9 * (1 + abs(high.objective))
    assert high.forward_gap < 1e-6 and high.max_violation < 1e-6
    assert any("outer approximation" in n for n in high.notes)
    if importlib.util.find_spec("pyscipopt"):
        ref = m.solve(solver="scip", mip_gap=1e-9)
        assert ref.objective == pytest.approx(high.objective, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("objective", ["maximize sumsq(x - c)", "minimize -sumsq(x - c)",
                                       "minimize y[0]\nsubject to\n    r: sumsq(x - c) <= 1"])
def test_a_sum_of_squares_that_is_not_minimized_is_a_clear_error(tmp_path, objective):
    _, path = _spec(tmp_path, 2)
    text = path.read_text().replace("minimize sumsq(x - c)\nsubject to\n", objective + "\n")
    if "subject to" not in objective:
        text = text.replace("    flip:", "subject to\n    flip:")
    path.write_text(text)
    with pytest.raises(nnlang.NnlangError, match="can only be a term of the objective"):
        nnlang.compile(path)


def test_a_concave_objective_is_refused(tmp_path):
    """The language only minimizes sums of squares (or maximizes their negation); a
    model built otherwise is not convex and outer approximation would be wrong:
    refused."""
    _, path = _spec(tmp_path, 3)
    m = nnlang.compile(path)
    m.milp.objective.quad[0].coef = -1.0
    with pytest.raises(nnlang.NnlangError, match="not convex"):
        outer.solve(m.milp, m.options)


@pytest.mark.parametrize("seed", [1, 4, 8])
def test_cutoff_below_the_optimum_is_infeasible(tmp_path, seed):
    """A radius step (``objective_cutoff``): infeasible below the optimum, the optimum
    above it."""
    _, path = _spec(tmp_path, seed)
    m = nnlang.compile(path)
    exact = m.solve(radius_search=False, mip_gap=1e-8)
    assert exact.status == "optimal"
    opts = m.options.updated(mip_gap=1e-8)
    m.milp.objective_cutoff = 0.9 * exact.objective
    assert outer.solve(m.milp, opts).status == "infeasible"
    m.milp.objective_cutoff = 1.1 * exact.objective
    above = outer.solve(m.milp, opts)
    assert above.status == "optimal"
    assert above.objective == pytest.approx(exact.objective, rel=1e-6)


def test_time_limit_keeps_a_sound_bound(tmp_path):
    _, path = _spec(tmp_path, 2, n_in=8)
    m = nnlang.compile(path)
    exact = m.solve(radius_search=False, mip_gap=1e-8)
    r = m.solve(radius_search=False, time_limit=0.05)
    assert r.status in ("time_limit", "optimal")
    if r.bound is not None:
        assert r.bound <= exact.objective + 1e-6
    if r.objective is not None:
        assert r.objective >= exact.objective - 1e-6


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_envelope_segments_pay_exactly_the_envelope(seed):
    """Filling the segment columns in order from the anchor reproduces each residual
    and costs exactly the tangents' envelope, which never exceeds the square."""
    rng = np.random.default_rng(seed)
    m = 6
    lo = rng.uniform(-2, 1, m)
    hi = lo + rng.uniform(0, 3, m)
    lo[0], hi[0] = 0.3, 0.3  # a fixed residual
    env = outer.Envelope(m)
    k = 15
    env.add(rng.integers(0, m, k), rng.uniform(-3, 3, k))
    env.add(np.array([1, 1]), np.array([0.5, 0.5]))  # a repeated point
    segs, anchor = env.segments(lo, hi)
    rows, sign, _, length, slope = segs
    assert np.all(length > 0)
    for _ in range(20):
        r = rng.uniform(lo, hi)
        delta = env.fill(segs, r)
        assert np.all(delta >= 0) and np.all(delta <= length)
        back = anchor + np.bincount(rows, sign * delta, minlength=m)
        np.testing.assert_allclose(back, r, atol=1e-12)
        paid = env.value(anchor) + np.bincount(rows, sign * slope * delta, minlength=m)
        np.testing.assert_allclose(paid, env.value(r), atol=1e-10)
        assert np.all(env.value(r) <= np.square(r) + 1e-12)
    pts = env.points[env.rows == 1]
    np.testing.assert_allclose(env.value(np.full(m, 0.5))[1], 0.25)
    assert pts.size >= 2


@pytest.mark.parametrize("seed", [0, 4, 8])  # seeds whose flip is feasible
@pytest.mark.parametrize("relaxed", [False, True])
def test_clarabel_solves_the_same_fixed_pattern_qp_as_highs(tmp_path, monkeypatch, seed,
                                                           relaxed):
    """The fallback for HiGHS's QP solver (which sometimes stops with 'Solve error'):
    the same optimum for a solution's ReLU pattern (or with the binaries relaxed), at
    a point that meets the rows and the fixed binaries."""
    from nnlang.solve.strategies.radius import confirm_point

    _, path = _spec(tmp_path, seed)
    m = nnlang.compile(path)
    r = m.solve(radius_search=False)
    assert r.status == "optimal"
    model, obj = m.milp, outer.SquaresObjective(m.milp)
    x = np.zeros(model.n)
    x[model.block("x").cols] = r.values["x"]
    x = confirm_point(model, model, x, m.options)  # every column at that input
    assert x is not None
    ints = model.integer_columns()
    fixed = None if relaxed else np.round(x[ints])
    ref = outer._fixed_qp(model, obj, None if relaxed else x, 5.0, 1)
    got = outer._clarabel_qp(model, obj, fixed, 5.0)
    assert ref is not None and got is not None
    assert obj.value(got) == pytest.approx(obj.value(ref), rel=1e-6, abs=1e-7)
    if not relaxed:  # the pattern's QP holds the solution itself
        assert obj.value(got) <= r.objective + 1e-6
        np.testing.assert_array_equal(got[ints], fixed)
    lb, ub = model.column_bounds()
    assert np.all(got >= lb) and np.all(got <= ub)
    # HiGHS's QP solver failing: _fixed_qp falls back to Clarabel
    calls = []
    real = outer._clarabel_qp

    def spy(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(outer, "_highs_qp", lambda *args: None)
    monkeypatch.setattr(outer, "_clarabel_qp", spy)
    again = outer._fixed_qp(model, obj, None if relaxed else x, 5.0, 1)
    assert len(calls) == 1 and again is not None
    assert obj.value(again) == pytest.approx(obj.value(ref), rel=1e-6, abs=1e-7)
    for row in model.linear_rows():
        ax = row.A @ got
        assert np.all(ax >= row.lo - 1e-6) and np.all(ax <= row.hi + 1e-6)
