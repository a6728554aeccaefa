"""Time limit, MIP gap and threads in each solver's own option names."""

from __future__ import annotations

import pytest

from nnlang.ir.options import Options
from nnlang.solve import solver_options

EXPECTED = {
    "highs": {"time_limit": 2.5, "mip_rel_gap": 1e-4, "threads": 2},
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
    assert solver_options(Options(solver=solver)) == {}


def test_solver_args_reach_their_solver_only():
    args = {"HIGHS": {"mip_heuristic_run_rins": False}}
    assert solver_options(Options(solver="highs", solver_args=args)) == {
        "mip_heuristic_run_rins": False}
    assert solver_options(Options(solver="scip", solver_args=args)) == {}
