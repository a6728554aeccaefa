"""The time limit of a reused HiGHS object applies to the next solve, not to its life."""

from __future__ import annotations

import highspy
import numpy as np
import pytest
import scipy.sparse as sp

from nnlang.highs_objects import set_time_limit


def _lp(n: int = 400, m: int = 300) -> highspy.Highs:
    """A random LP that takes the simplex a few iterations (not solved by presolve)."""
    rng = np.random.default_rng(0)
    A = sp.random(m, n, density=0.2, random_state=0, format="csc")
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = rng.normal(size=n)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
    lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), np.ones(m)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    return h


def test_limit_is_relative_to_the_run_clock():
    h = _lp()
    h.run()
    set_time_limit(h, 2.0)
    assert h.getOptionValue("time_limit")[1] == pytest.approx(h.getRunTime() + 2.0, abs=1e-3)


def test_a_reused_object_keeps_solving_after_its_first_limit_has_passed():
    h = _lp()
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    rng = np.random.default_rng(1)
    cols = np.arange(400, dtype=np.int32)
    # a plain limit the run clock has already passed: HiGHS stops at once
    h.setOptionValue("time_limit", h.getRunTime() / 2)
    h.changeColsCost(400, cols, rng.normal(size=400))
    h.clearSolver()
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
    for _ in range(3):  # set_time_limit gives every later solve its own budget
        h.changeColsCost(400, cols, rng.normal(size=400))
        h.clearSolver()
        set_time_limit(h, 30.0)
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def test_solves_with_different_thread_counts_in_one_process():
    """HiGHS 1.16 starts one thread scheduler per process and refuses a later solve
    that asks for another thread count ("Solver 'HIGHS' failed" through CVXPY);
    nnlang resets the scheduler when the count changes."""
    import nnlang

    spec = ("var x[2] in [0, 1]\nvar b binary\nx[0] >= b\nb >= 0.5\n"
            "minimize x[0] + x[1]\n")
    for threads in (None, 2, 1, None, 1):
        r = nnlang.compile(text=spec).solve(threads=threads)
        assert r.status == "optimal" and r.objective == pytest.approx(1.0), threads
