"""L2 (exact and piecewise-linear), untargeted 'any' constraints, argsort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlang
from nnlang.testing import network_strategy, random_network, spec_vector, write_network

SPEC = """param c[3] = [0.3, -0.7, 0.45]
var x[3] in [-1, 1]
minimize {objective}
subject to
    s: sum(x) >= 1.5
"""


def _solve(tmp_path, text, **opts):
    (tmp_path / "s.nnq").write_text(text)
    return nnlang.compile(tmp_path / "s.nnq").solve(**opts)


def _interp_sq(v, D, n):
    grid = np.linspace(0, D, n)
    return np.interp(np.abs(v), grid, grid ** 2)


@pytest.mark.parametrize("form", ["epigraph", "lambda"])
@pytest.mark.parametrize("n", [2, 5, 17])
def test_pwl_forms_agree_and_over_approximate(tmp_path, form, n):
    exact = _solve(tmp_path, SPEC.format(objective="sumsq(x - c)"))
    r = _solve(tmp_path, SPEC.format(objective=f"sumsq(x - c) approx pwl({n}, form = {form})"))
    assert r.status == "optimal"
    (a,) = r.approximations.values()
    x = r.values["x"]
    c = np.array([0.3, -0.7, 0.45])
    D = np.maximum(np.abs(-1 - c), np.abs(1 - c))
    expected = sum(_interp_sq(v, d, n) for v, d in zip(x - c, D))
    assert r.objective == pytest.approx(expected, abs=1e-6)  # the interpolant, exactly
    assert a["exact"] == pytest.approx(np.sum((x - c) ** 2), abs=1e-9)
    assert r.objective >= exact.objective - 1e-7  # an upper approximation
    assert a["bound_gap"] >= -1e-9


@pytest.mark.parametrize("form", ["epigraph", "lambda"])
def test_pwl_with_sign_fixed_entries(tmp_path, form):
    """Centre entries at the box's bounds make ``|x - c|`` a signed copy of ``x - c``
    (no epigraph column); the interpolant is still exact at the solution."""
    text = SPEC.replace("[0.3, -0.7, 0.45]", "[1.0, -1.0, 0.45]")
    r = _solve(tmp_path, text.format(objective=f"sumsq(x - c) approx pwl(5, form = {form})"))
    assert r.status == "optimal"
    x, c = r.values["x"], np.array([1.0, -1.0, 0.45])
    D = np.maximum(np.abs(-1 - c), np.abs(1 - c))
    expected = sum(_interp_sq(v, d, 5) for v, d in zip(x - c, D))
    assert r.objective == pytest.approx(expected, abs=1e-6)
    exact = _solve(tmp_path, text.format(objective="sumsq(x - c)"))
    assert r.objective >= exact.objective - 1e-7


def test_pwl_forms_give_the_same_optimum(tmp_path):
    objs = [_solve(tmp_path, SPEC.format(objective=f"sumsq(x - c) approx pwl(9, form = {f})"))
            .objective for f in ("epigraph", "lambda")]
    assert objs[0] == pytest.approx(objs[1], abs=1e-7)


def test_exact_sumsq_miqp_with_scip(tmp_path):
    pytest.importorskip("pyscipopt")
    net = random_network([3, 4, 2], seed=5)
    write_network(net, tmp_path / "n.npz")
    text = ('network net = load("n.npz")\nparam c[3] = [0.2, 0.1, -0.3]\n'
            "var x[3] in [-1, 1]\ny = net(x)\nminimize sumsq(x - c)\n"
            "subject to\n    flip: y[1] >= y[0] + 0.1\n")
    r = _solve(tmp_path, text, solver="scip")
    assert r.status in ("optimal", "infeasible")
    if r.status == "optimal":
        out = net.predict(r.values["x"])
        assert out[1] >= out[0] + 0.1 - 1e-6
        rng = np.random.default_rng(0)
        pts = rng.uniform(-1, 1, size=(20000, 3))
        ok = net.predict(pts)
        feas = ok[:, 1] >= ok[:, 0] + 0.1
        if feas.any():
            assert r.objective <= np.sum((pts[feas] - [0.2, 0.1, -0.3]) ** 2, axis=1).min() + 1e-6


def test_highs_solves_miqp_by_outer_approximation(tmp_path):
    """HiGHS has no MIQP solver: nnlang's outer approximation (nnlang.outer) solves
    the sum of squares with it, to SCIP's optimum."""
    pytest.importorskip("pyscipopt")
    net = random_network([3, 4, 2], seed=5)
    write_network(net, tmp_path / "n.npz")
    text = ('network net = load("n.npz")\nvar x[3] in [-1, 1]\ny = net(x)\n'
            "minimize sumsq(x) + y[0]\n")
    path = tmp_path / "s.nnq"
    path.write_text(text)
    m = nnlang.compile(path)
    got = m.solve(solver="highs", mip_gap=1e-8)
    ref = m.solve(solver="scip", mip_gap=1e-9)
    assert got.status == ref.status == "optimal"
    assert got.objective == pytest.approx(ref.objective, rel=1e-5, abs=1e-6)
    assert any("outer approximation" in n for n in got.notes)


def test_any_wrong_class_and_runner_up(tmp_path):
    net = random_network([4, 6, 3], seed=9)
    write_network(net, tmp_path / "n.npz")
    base = ('network net = load("n.npz")\nparam image[4] = [0.5, 0.5, 0.5, 0.5]\n'
            "param label = argmax(net(image))\nparam second = argsort(net(image))[1]\n"
            "var x[4] in [0, 1]\ny = net(x)\nminimize norm1(x - image)\nsubject to\n")
    untargeted = _solve(tmp_path, base + "    wrong: any(y[j] >= y[label] + 0.01 "
                                         "for j in 0..2 if j != label)\n")
    per_class = []
    for j in range(3):
        label = int(np.argmax(net.predict(np.full(4, 0.5))))
        if j == label:
            continue
        r = _solve(tmp_path, base + f"    wrong: y[{j}] >= y[label] + 0.01\n")
        if r.status == "optimal":
            per_class.append(r.objective)
    if not per_class:
        assert untargeted.status == "infeasible"
    else:
        assert untargeted.objective == pytest.approx(min(per_class), abs=1e-6)
    prog = nnlang.compile(tmp_path / "s.nnq").program
    out = net.predict(np.full(4, 0.5))
    assert int(prog.params["second"]) == int(np.argsort(out)[1])


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=network_strategy(4, 5, 2), seed=st.integers(0, 10_000))
def test_abs_of_sign_fixed_entries_needs_no_column(tmp_path, net, seed):
    """A centre at a bound of the box (MNIST's zero pixels) fixes the sign of
    ``x - c``; those entries enter norm1 as ``+-(x - c)`` with no epigraph column,
    and the optimum is that of the model with an epigraph column for every entry."""
    rng = np.random.default_rng(seed)
    c = rng.choice([0.0, 1.0, 0.5], size=net.n_in)
    c[rng.integers(net.n_in)] = rng.uniform(0.1, 0.9)  # at least one interior entry
    j = int(rng.integers(net.n_out))
    path = write_network(net, tmp_path / "net.npz")
    text = (f'network net = load("{path.name}")\nparam c[{net.n_in}] = {spec_vector(c)}\n'
            f"var x[{net.n_in}] in [0, 1]\ny = net(x)\n"
            f"minimize norm1(x - c) - 0.5 * y[{j}]\n")
    m = nnlang.compile(text=text, path=tmp_path / "s.nnq")
    interior = int(np.sum((c > 0) & (c < 1)))
    # an entry whose sign is free: its parts above and below zero (abs_L5.up, .down)
    abs_cols = sum(b.size for b in m.milp.blocks if b.name.startswith("abs"))
    assert abs_cols == 2 * interior
    r = m.solve(radius_search=False, tighten=False)
    assert r.status == "optimal"
    x = r.values["x"]
    value = np.abs(x - c).sum() - 0.5 * net.predict(x[None])[0, j]
    assert r.objective == pytest.approx(value, abs=1e-6)
    # the same problem with every |x_i - c_i| as a user-written epigraph column
    n = net.n_in
    explicit = (f'network net = load("{path.name}")\nparam c[{n}] = {spec_vector(c)}\n'
                f"var x[{n}] in [0, 1]\nvar t[{n}] in [0, 1]\ny = net(x)\n"
                f"minimize sum(t) - 0.5 * y[{j}]\nsubject to\n"
                f"    up: t >= x - c\n    down: t >= c - x\n")
    r2 = nnlang.compile(text=explicit, path=tmp_path / "e.nnq").solve(tighten=False)
    assert r.objective == pytest.approx(r2.objective, abs=1e-6)


def test_the_lambda_form_asks_highs_not_to_probe_and_the_caller_can_overrule(tmp_path,
                                                                            monkeypatch):
    """The lambda form's segment binaries made HiGHS's probing overrun time limits
    (docs/benchmarks.md): its model asks HiGHS for no probing; the epigraph's does
    not; options given to solve() win."""
    from nnlang.encode.atoms import LAMBDA_RULES_OFF
    from nnlang.solve.backends import highs

    seen = []
    real = highs.solve

    def spy(milp, options):
        seen.append(dict(options.solver_args.get("HIGHS", {})))
        return real(milp, options)

    monkeypatch.setattr(highs, "solve", spy)
    (tmp_path / "s.nnq").write_text(SPEC.format(
        objective="sumsq(x - c) approx pwl(5, form = lambda)"))
    m = nnlang.compile(tmp_path / "s.nnq")
    assert m.milp.solver_args == {"HIGHS": {"presolve_rule_off": LAMBDA_RULES_OFF}}
    assert m.solve(radius_search=False).status == "optimal"
    assert seen[-1]["presolve_rule_off"] == LAMBDA_RULES_OFF
    m.solve(radius_search=False, solver_args={"HIGHS": {"presolve_rule_off": 0}})
    assert seen[-1]["presolve_rule_off"] == 0
    # emitted files cannot carry options: their header names them for HiGHS
    from nnlang.emit import emit_files
    lp = emit_files(m, "lp", tmp_path)[0].read_text()
    assert f"\\ highs options: presolve_rule_off = {LAMBDA_RULES_OFF} " in lp
    (tmp_path / "e.nnq").write_text(SPEC.format(objective="sumsq(x - c) approx pwl(5)"))
    assert nnlang.compile(tmp_path / "e.nnq").milp.solver_args == {}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(net=network_strategy(3, 5, 2), seed=st.integers(0, 10_000),
       n=st.sampled_from([2, 3, 5, 9]), bounded=st.booleans())
def test_epigraph_segment_columns_equal_the_lambda_form(tmp_path, net, seed, n, bounded):
    """The epigraph PWL (segment columns) and the lambda-formulation interpolate the
    same squares at the same breakpoints: the same optimum, minimized or bounded
    above, over random networks and centres (some at the box's bounds: sign-fixed
    entries)."""
    rng = np.random.default_rng(seed)
    write_network(net, tmp_path / "n.npz")
    c = np.where(rng.uniform(size=net.n_in) < 0.3, rng.choice([-1.0, 1.0], net.n_in),
                 rng.uniform(-1, 1, net.n_in))
    results = []
    for form in ("epigraph", "lambda"):
        pwl = f"sumsq(x - c) approx pwl({n}, form = {form})"
        body = (f"minimize y[0] + 0.1 * sum(x)\nsubject to\n    r: {pwl} <= 0.8\n" if bounded
                else f"minimize {pwl} - 0.5 * y[0]\n")
        text = (f'network net = load("n.npz")\nparam c[{net.n_in}] = {spec_vector(c)}\n'
                f"var x[{net.n_in}] in [-1, 1]\ny = net(x)\n" + body)
        results.append(_solve(tmp_path, text, mip_gap=1e-9))
    assert results[0].status == results[1].status
    if results[0].status == "optimal":
        assert results[0].objective == pytest.approx(results[1].objective, rel=1e-6, abs=1e-6)
        (a,) = results[0].approximations.values()
        assert a["bound_gap"] >= -1e-7  # still an over-approximation at the solution
