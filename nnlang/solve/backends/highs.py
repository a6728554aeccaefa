"""The HiGHS backend: a linear ``MilpModel`` to highspy directly, without CVXPY."""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.highs_objects import highs_from_matrix, silence_banner, use_threads
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import progress
from nnlang.solve.results import Result, relative_gap


def cvxpy_row_order(A, lo, hi):
    """The rows ``lo <= A x <= hi`` as CVXPY hands them to HiGHS: the equalities,
    then every finite upper side ``A x <= hi``, then every finite lower side
    negated, ``-A x <= -lo`` (a two-sided row becomes two rows). HiGHS searches a
    model in this order alike whether it comes through CVXPY or not (measured in
    docs/benchmarks.md: the model's own order solved fewer instances)."""
    A = sp.csr_matrix(A)
    eq = lo == hi
    up = ~eq & np.isfinite(hi)
    low = ~eq & np.isfinite(lo)
    B = sp.vstack([A[eq], A[up], -A[low]], format="csr")
    n_le = int(up.sum() + low.sum())
    new_lo = np.concatenate([hi[eq], np.full(n_le, -np.inf)])
    new_hi = np.concatenate([hi[eq], hi[up], -lo[low]])
    return B, new_lo, new_hi


def milp_to_highs(milp: MilpModel, verbose: bool = False) -> tuple[highspy.Highs, float]:
    """A ``Highs`` object holding a linear ``MilpModel`` (its linear rows, column
    bounds, integer columns and objective) and the objective's sign as HiGHS sees
    it: HiGHS minimizes ``sign * objective``, so a maximized one is negated."""
    A, rlo, rhi = cvxpy_row_order(*milp.linear_system())
    clo, chi = milp.column_bounds()
    sign = -1.0 if milp.objective.sense == "maximize" else 1.0
    h = highs_from_matrix(A, clo, chi, rlo, rhi, sign * np.asarray(milp.objective.c, dtype=float),
                          sign * float(milp.objective.constant), verbose)
    ints = milp.integer_columns()
    if ints.size:
        kind = np.full(ints.size, int(highspy.HighsVarType.kInteger), np.uint8)
        h.changeColsIntegrality(int(ints.size), ints.astype(np.int32), kind)
    return h, sign


def prepare(options: Options) -> None:
    """What a HiGHS solve through CVXPY needs first: the process-wide thread scheduler
    sized for ``options.threads`` and the banner silenced (as on nnlang's own objects)."""
    use_threads(options.threads)
    if not options.verbose:
        silence_banner()


_LIMITS = ("kTimeLimit", "kIterationLimit", "kInterrupt", "kSolutionLimit")
# HiGHS's model status -> nnlang's (anything else is an error)
STATUSES = {"kOptimal": "optimal", "kInfeasible": "infeasible",
            "kUnboundedOrInfeasible": "infeasible", "kUnbounded": "unbounded",
            **dict.fromkeys(_LIMITS, "time_limit")}


def status_of(status: highspy.HighsModelStatus) -> str:
    """nnlang's status word for a HiGHS model status."""
    return next((word for name, word in STATUSES.items()
                 if status == getattr(highspy.HighsModelStatus, name)), "error")


def solve(model: MilpModel, options: Options) -> Result:
    """Solve a linear model with highspy directly. The column values go to
    ``Result.point`` (polished and checked by the caller, :mod:`nnlang.solve.answer`).

    The same answer as through CVXPY without lowering the model to CVXPY first: for
    the many small solves of the radius search and the LP tightening, that lowering
    cost as much as the easy solves themselves.
    """
    h, sign = milp_to_highs(model, options.verbose)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(max(options.time_limit, 0.01)))
    if options.mip_gap is not None:
        h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    if options.threads is not None:
        use_threads(options.threads)
        h.setOptionValue("threads", int(options.threads))
    for key, value in options.solver_args.get("HIGHS", {}).items():
        h.setOptionValue(key, value)
    if model.start is not None and model.num_integer:
        index, value = model.start
        h.setSolution(int(index.size), np.asarray(index, dtype=np.int32),
                      np.asarray(value, dtype=float))
    tick = progress.mip_ticker("HiGHS", sign) if model.num_integer else None
    if tick is not None:
        h.setCallback(lambda kind, message, out, into, data: tick(out), None)
        h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    h.run()
    status, info = h.getModelStatus(), h.getInfo()
    state = status_of(status)
    if status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        state = feasible_or_not(model, options, "unbounded")
    result = Result(state, solver="highs", solve_seconds=float(h.getRunTime()))
    if state == "error":
        result.message = f"HiGHS status '{h.modelStatusToString(status)}'"
    has_solution = int(getattr(info, "primal_solution_status", 0)) == 2  # feasible
    if model.num_integer:
        result.nodes = int(getattr(info, "mip_node_count", 0) or 0)
    if state in ("optimal", "time_limit") and model.num_integer \
            and np.isfinite(info.mip_dual_bound):
        # the proven bound, with or without a point (a time limit keeps it)
        result.bound = sign * float(info.mip_dual_bound)
    if state in ("optimal", "time_limit") and has_solution:
        result.objective = sign * float(info.objective_function_value)
        # not HiGHS's mip_gap, which divides by its objective without the model's constant
        result.gap = relative_gap(result.objective, result.bound)
        result.point = (model, np.asarray(h.getSolution().col_value, dtype=float))
    elif state == "time_limit":
        result.message = "no feasible solution found within the time limit"
    return result


def feasible_or_not(model: MilpModel, options: Options, otherwise: str) -> str:
    """``infeasible`` if ``model`` has no point at all, else ``otherwise``: what a
    solver's "unbounded or infeasible" means, decided by solving without the
    objective (its presolve cannot tell the two apart)."""
    h, _ = milp_to_highs(model.without_objective(), False)
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(max(options.time_limit, 0.01)))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return otherwise
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    return "error"
