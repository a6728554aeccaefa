"""Run a solver on the CVXPY problem and map its answer back to the spec."""

from __future__ import annotations

import time
import warnings
from typing import Any

import cvxpy as cp
import numpy as np

from nnlang import progress
from nnlang.errors import SolverError
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.lower.cvxpy import CvxpyModel
from nnlang.results import Result, check_solution, relative_gap

_STATUS = {
    cp.OPTIMAL: "optimal",
    cp.OPTIMAL_INACCURATE: "optimal",
    cp.INFEASIBLE: "infeasible",
    cp.INFEASIBLE_INACCURATE: "infeasible",
    cp.UNBOUNDED: "unbounded",
    cp.UNBOUNDED_INACCURATE: "unbounded",
    "infeasible_or_unbounded": "infeasible",
    cp.USER_LIMIT: "time_limit",
}


# solver -> (keyword the parameters go under, or None for top-level keywords;
#            names of time limit, relative MIP gap, threads: None = not passed)
_OPTION_NAMES: dict[str, tuple[str | None, str, str, str | None]] = {
    "HIGHS": (None, "time_limit", "mip_rel_gap", "threads"),
    "SCIP": ("scip_params", "limits/time", "limits/gap", None),
    "GUROBI": (None, "TimeLimit", "MIPGap", "Threads"),
    "CPLEX": ("cplex_params", "timelimit", "mip.tolerances.mipgap", None),
    "CBC": (None, "maximumSeconds", "allowableFractionGap", None),
}


def solver_options(options: Options) -> dict[str, Any]:
    """Translate time limit, MIP gap and threads into the solver's own names."""
    name = options.solver.upper()
    if name not in _OPTION_NAMES:
        return {}
    group, time_name, gap_name, threads_name = _OPTION_NAMES[name]
    t, gap, threads = options.time_limit, options.mip_gap, options.threads
    params: dict[str, Any] = {}
    if t is not None:  # CBC takes whole seconds
        params[time_name] = int(np.ceil(t)) if name == "CBC" else float(t)
    if gap is not None:
        params[gap_name] = float(gap)
    if threads is not None and threads_name is not None:
        params[threads_name] = int(threads)
    if name == "HIGHS":
        from nnlang.highs import DEFAULT_OPTIONS

        params.update(DEFAULT_OPTIONS)  # as on nnlang's own Highs objects
    params.update(options.solver_args.get(name, {}))
    if group is None:
        return params
    return {group: params} if params else {}


def run_solver(model: MilpModel, cvx: CvxpyModel, options: Options) -> Result:
    """Solve, then re-check the solution with a forward pass."""
    name = options.solver.upper()
    installed = cp.installed_solvers()
    if name not in installed:
        raise SolverError(f"solver '{options.solver}' is not installed "
                          f"(installed: {', '.join(s.lower() for s in installed)})")
    if model.objective.quad and name == "HIGHS" and model.num_integer:
        raise SolverError("HiGHS solves sumsq with binaries only by nnlang's outer "
                          "approximation, which takes no indicator or complementarity "
                          "rows: use --solver scip (pip install pyscipopt), encoding = "
                          "bigm, or a piecewise-linear approximation")
    problem = cvx.problem
    if name == "HIGHS":
        from nnlang.highs import silence_banner, use_threads

        use_threads(options.threads)
        if not options.verbose:
            silence_banner()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem.solve(solver=name, verbose=options.verbose, **solver_options(options))
    except cp.error.SolverError as exc:
        wall = time.perf_counter() - start
        if options.time_limit is not None and wall >= 0.95 * options.time_limit:
            # CVXPY turns a solver's time limit without any solution (SCIP's, for one)
            # into a SolverError: it ran out of time, it did not fail
            return Result("time_limit", solver=name.lower(), solve_seconds=wall,
                          message="no feasible solution found within the time limit")
        return Result("error", solver=name.lower(), message=str(exc).splitlines()[0],
                      solve_seconds=wall)
    except cp.error.DCPError as exc:  # pragma: no cover - the encoder only emits DCP forms
        raise SolverError(f"CVXPY rejected the problem: {exc}") from None
    wall = time.perf_counter() - start
    stats = problem.solver_stats
    status = _STATUS.get(problem.status, "error")
    info = stats.extra_stats
    scip = info.get("model") if name == "SCIP" and isinstance(info, dict) else None
    if scip is not None:
        # CVXPY reports SCIP's time limit as OPTIMAL_INACCURATE (with a solution) or
        # SOLVER_ERROR (without one); SCIP's own status says which it was.
        scip_status = info.get("scip_status")
        if scip_status in ("timelimit", "nodelimit", "totalnodelimit", "stallnodelimit",
                           "memlimit", "userinterrupt"):
            status = "time_limit"
    result = Result(status, solver=name.lower(),
                    solve_seconds=float(stats.solve_time) if stats.solve_time else wall)
    has_solution = status in ("optimal", "time_limit")
    if scip is not None:
        result.nodes = int(scip.getNNodes())
    if name == "HIGHS" and info is not None:
        result.nodes = int(getattr(info, "mip_node_count", 0) or 0)
        if getattr(info, "primal_solution_status", 2) == 0:
            has_solution = False
    if status == "error":
        result.message = f"solver status '{problem.status}'"
    if has_solution and problem.value is not None and np.isfinite(problem.value):
        result.objective = float(problem.value)
        if name == "HIGHS" and info is not None and model.num_integer:
            sign = 1.0 if model.objective.sense == "minimize" else -1.0
            raw_obj = float(info.objective_function_value)
            bound = float(info.mip_dual_bound)
            if np.isfinite(bound):
                result.bound = result.objective + sign * (bound - raw_obj)
                result.gap = relative_gap(result.objective, result.bound)
        if scip is not None and model.num_integer:
            _scip_stats(scip, model, result)
        x = cvx.column_values(model.n)
        if x is not None:
            _take_solution(model, _polished(model, x, result), result)
    elif status == "time_limit":
        result.message = "no feasible solution found within the time limit"
    return result


# a user variable within this of a bound or (integer) of an integer is reported there
SNAP = 1e-6


def snap_user_values(model: MilpModel, x: np.ndarray) -> np.ndarray:
    """``x`` with each user variable moved onto its bound or, if integer, onto the
    nearest integer where the solver left it within its tolerance (``SNAP``) of
    one: a pixel of -2.8e-17 in ``[0, 1]`` is 0, an integer of 2.9999997 is 3.
    Anything farther is left for the checks to report."""
    x = np.array(x, dtype=float, copy=True)
    for block in model.blocks:
        if block.role != "user":
            continue
        v = x[block.cols]
        if block.kind in ("integer", "binary"):
            r = np.round(v)
            v = np.where(np.abs(v - r) <= SNAP, r, v)
        v = np.where((v < block.lb) & (v >= block.lb - SNAP), block.lb, v)
        v = np.where((v > block.ub) & (v <= block.ub + SNAP), block.ub, v)
        x[block.cols] = v
    return x


def polish(model: MilpModel, x: np.ndarray, objective: float) -> tuple[np.ndarray, float] | None:
    """For a linear model with integer user variables: the LP with every integer
    column fixed at its rounded value in ``x``, solved by HiGHS, so that the
    continuous columns agree with exact integers (a MILP solver leaves integers
    within 1e-6 of integral, and the objective with them: 8.999999 for 9). Its
    point and objective, or None if that LP is not optimal or its objective is
    not within 1e-6 (relative) of ``objective``."""
    if model.objective.quad or model.conditional_rows or not any(
            b.role == "user" and b.kind in ("integer", "binary") for b in model.blocks):
        return None
    import highspy

    from nnlang.highs import milp_to_highs, relax_integers

    ints = model.integer_columns()
    h, sign = milp_to_highs(model, False)
    relax_integers(h, ints, np.round(x[ints]))
    h.setOptionValue("time_limit", 5.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    value = sign * float(h.getInfo().objective_function_value)
    if abs(value - objective) > 1e-6 * (1.0 + abs(objective)):
        return None
    return np.asarray(h.getSolution().col_value, dtype=float), value


def _polished(model: MilpModel, x: np.ndarray, result: Result) -> np.ndarray:
    """``x`` after :func:`polish` where it applies, with ``result``'s objective and
    gap moved to the polished point's."""
    polished = polish(model, x, result.objective)
    if polished is None:
        return x
    x, result.objective = polished
    if result.bound is not None:
        result.gap = relative_gap(result.objective, result.bound)
    return x


def _take_solution(model: MilpModel, x: np.ndarray, result: Result) -> None:
    """The user's variables from the column values ``x`` (:func:`snap_user_values`),
    re-checked by the forward pass at those values."""
    x = snap_user_values(model, x)
    for block in model.blocks:
        if block.role == "user":
            result.values[block.name] = x[block.cols].reshape(block.shape)
    check_solution(model, x, result)


def direct_highs(model: MilpModel, options: Options) -> bool:
    """True if ``model`` can go to HiGHS without CVXPY (:func:`run_highs`): HiGHS
    chosen, a linear objective and no conditional rows."""
    return (options.solver.upper() == "HIGHS" and not model.objective.quad
            and model.objective_cutoff is None and not model.conditional_rows)


_HIGHS_LIMITS = ("kTimeLimit", "kIterationLimit", "kInterrupt", "kSolutionLimit")


def run_highs(model: MilpModel, options: Options) -> Result:
    """Solve a linear model with highspy directly, then re-check with a forward pass.

    The same answer as through CVXPY (``run_solver``) without lowering the model to
    CVXPY first: for the many small solves of the radius search and the LP
    tightening, where that lowering cost as much as the easy solves themselves.
    """
    import highspy

    from nnlang.highs import milp_to_highs, use_threads

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
    tick = progress.mip_ticker("HiGHS", sign) if model.num_integer else None
    if tick is not None:
        h.setCallback(lambda kind, message, out, into, data: tick(out), None)
        h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    h.run()
    S = highspy.HighsModelStatus
    status, info = h.getModelStatus(), h.getInfo()
    name = h.modelStatusToString(status)
    if status == S.kOptimal:
        state = "optimal"
    elif status in (S.kInfeasible, S.kUnboundedOrInfeasible):
        state = "infeasible"
    elif status == S.kUnbounded:
        state = "unbounded"
    elif any(status == getattr(S, k) for k in _HIGHS_LIMITS):
        state = "time_limit"
    else:
        state = "error"
    result = Result(state, solver="highs", solve_seconds=float(h.getRunTime()))
    if state == "error":
        result.message = f"HiGHS status '{name}'"
    has_solution = int(getattr(info, "primal_solution_status", 0)) == 2  # feasible
    if model.num_integer:
        result.nodes = int(getattr(info, "mip_node_count", 0) or 0)
    if state in ("optimal", "time_limit") and has_solution:
        result.objective = sign * float(info.objective_function_value)
        if model.num_integer and np.isfinite(info.mip_dual_bound):
            result.bound = sign * float(info.mip_dual_bound)
            # not HiGHS's mip_gap, which divides by its objective without the
            # model's constant (103.8 % for a bound of 0 on seed001_l1.nnq image 1)
            result.gap = relative_gap(result.objective, result.bound)
        x = np.asarray(h.getSolution().col_value, dtype=float)
        _take_solution(model, _polished(model, x, result), result)
    elif state == "time_limit":
        result.message = "no feasible solution found within the time limit"
    return result


def _scip_stats(scip: Any, model: MilpModel, result: Result) -> None:
    """Best bound and gap of a SCIP solve, in the objective's terms (as for HiGHS).

    SCIP's objective may differ from the spec's by a constant (CVXPY's offset), so
    the bound is the objective moved by SCIP's own primal-dual difference; the gap
    is :func:`nnlang.results.relative_gap` of the objective and that bound.
    """
    try:
        primal, dual = float(scip.getPrimalbound()), float(scip.getDualbound())
    except (AttributeError, ValueError, Warning):  # pragma: no cover - no statistics
        return
    if not (np.isfinite(primal) and np.isfinite(dual)) or result.objective is None:
        return
    sign = 1.0 if model.objective.sense == "minimize" else -1.0
    result.bound = result.objective + sign * (dual - primal)
    result.gap = relative_gap(result.objective, result.bound)
