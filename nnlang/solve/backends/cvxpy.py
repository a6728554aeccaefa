"""The CVXPY backend: a ``MilpModel`` lowered to a ``cvxpy.Problem`` in matrix form and
solved by any installed CVXPY solver (SCIP, Gurobi, CPLEX, ..., and HiGHS for a
quadratic objective over continuous columns).

One ``cvxpy.Variable`` per variable block (named after it) and at most three
constraints (equalities, upper rows, lower rows) over the stacked columns, so
CVXPY sees a few large sparse matrices, never per-neuron objects.
"""

from __future__ import annotations

import re
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from nnlang import registry
from nnlang.errors import SolverError, UnsupportedError
from nnlang.ir.milp import MilpModel, VarBlock
from nnlang.ir.options import Options
from nnlang.solve.backends import highs
from nnlang.solve.results import Result, relative_gap


@dataclass(eq=False)
class CvxpyModel:
    problem: cp.Problem
    variables: dict[str, cp.Variable]  # block name -> variable (non-empty blocks)
    blocks: list[VarBlock]
    seconds: float = 0.0  # the lowering's time

    def column_values(self, n: int) -> np.ndarray | None:
        """The solution as one column vector, or None if there is none."""
        x = np.zeros(n)
        for block in self.blocks:
            if block.size == 0:
                continue
            v = self.variables[block.name].value
            if v is None:
                return None
            x[block.cols] = np.asarray(v, dtype=float).ravel()
        return x


def _cvx_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\[\]@:]", "_", name)


_LOWERED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def lowered(model: MilpModel) -> CvxpyModel:
    """The CVXPY problem of ``model``, built once per model object."""
    if model not in _LOWERED:
        _LOWERED[model] = to_cvxpy(model)
    return _LOWERED[model]


def is_lowered(model: MilpModel) -> bool:
    return model in _LOWERED


def to_cvxpy(model: MilpModel) -> CvxpyModel:
    """Build the CVXPY problem of ``model``."""
    start = time.perf_counter()
    conditional = model.conditional_rows
    if conditional:
        role = conditional[0].role
        raise UnsupportedError(
            f"encoding '{role}' gives {role} constraints, which CVXPY (and so HiGHS "
            f"in-process) cannot express: write the model with `nnlang compile --to "
            f"{'ampl' if role == 'complementarity' else 'lp'}` for a solver that reads "
            f"them, or solve in-process with encoding = bigm")
    variables: dict[str, cp.Variable] = {}
    parts = []
    for block in model.blocks:
        if block.size == 0:
            continue
        if block.kind == "binary":
            v = cp.Variable(block.size, name=_cvx_name(block.name), boolean=True)
        else:
            v = cp.Variable(block.size, name=_cvx_name(block.name),
                            integer=block.kind == "integer", bounds=[block.lb, block.ub])
        variables[block.name] = v
        parts.append(v)
    if not parts:
        x = None
    else:
        x = parts[0] if len(parts) == 1 else cp.hstack(parts)
    constraints = []
    if model.rows and x is not None:
        A = sp.vstack([r.A for r in model.rows], format="csr")
        lo = np.concatenate([r.lo for r in model.rows])
        hi = np.concatenate([r.hi for r in model.rows])
        eq = lo == hi
        upper = ~eq & np.isfinite(hi)
        lower = ~eq & np.isfinite(lo)
        if eq.any():
            constraints.append(A[eq] @ x == hi[eq])
        if upper.any():
            constraints.append(A[upper] @ x <= hi[upper])
        if lower.any():
            constraints.append(A[lower] @ x >= lo[lower])
    obj = model.objective
    terms = []
    if x is not None and np.any(obj.c):
        terms.append(obj.c @ x)
    for q in obj.quad:
        terms.append(q.coef * cp.sum_squares(q.A @ x + q.c))
    expr = sum(terms) + obj.constant if terms else cp.Constant(obj.constant)
    if model.objective_cutoff is not None:
        if obj.sense != "minimize":
            raise ValueError("an objective cutoff needs a minimization")
        constraints.append(expr <= model.objective_cutoff)
    problem = cp.Problem(cp.Minimize(expr) if obj.sense == "minimize" else cp.Maximize(expr),
                         constraints)
    return CvxpyModel(problem, variables, model.blocks, time.perf_counter() - start)


# CVXPY's status -> nnlang's
STATUSES = {
    cp.OPTIMAL: "optimal",
    cp.OPTIMAL_INACCURATE: "optimal",
    cp.INFEASIBLE: "infeasible",
    cp.INFEASIBLE_INACCURATE: "infeasible",
    cp.UNBOUNDED: "unbounded",
    cp.UNBOUNDED_INACCURATE: "unbounded",
    "infeasible_or_unbounded": "infeasible_or_unbounded",  # decided below
    cp.USER_LIMIT: "time_limit",
}


def solver_options(options: Options) -> dict[str, Any]:
    """Time limit, MIP gap and threads in the solver's own names
    (``nnlang.registry.SOLVERS``), its defaults, and the caller's native options."""
    entry = registry.solver(options.solver)
    group, time_name, gap_name, threads_name = entry.options
    t, gap, threads = options.time_limit, options.mip_gap, options.threads
    params: dict[str, Any] = {}
    if t is not None and time_name is not None:
        params[time_name] = int(np.ceil(t)) if entry.whole_seconds else float(t)
    if gap is not None and gap_name is not None:
        params[gap_name] = float(gap)
    if threads is not None and threads_name is not None:
        params[threads_name] = int(threads)
    params.update(entry.defaults)
    params.update(options.solver_args.get(entry.cvxpy_name, {}))
    if group is None:
        return params
    return {group: params} if params else {}


def solve(model: MilpModel, options: Options) -> Result:
    """Solve ``model`` with the CVXPY solver ``options.solver``. The column values go
    to ``Result.point`` (polished and checked by the caller)."""
    entry = registry.solver(options.solver)
    name = entry.cvxpy_name
    installed = cp.installed_solvers()
    if name not in installed:
        raise SolverError(f"solver '{options.solver}' is not installed "
                          f"(installed: {', '.join(s.lower() for s in installed)})")
    if model.objective.quad and model.num_integer and not entry.capabilities.quadratic_mip:
        if entry.capabilities.outer_approximation:
            raise SolverError(f"{options.solver} solves sumsq with integer variables only by "
                              "nnlang's outer approximation, which takes no indicator or "
                              "complementarity rows: use --solver scip (pip install "
                              "pyscipopt), encoding = bigm, or a piecewise-linear "
                              "approximation")
        raise SolverError(f"{options.solver} takes no sum of squares with integer variables: "
                          "use --solver highs or scip, or a piecewise-linear approximation")
    cvx = lowered(model)
    problem = cvx.problem
    prepare = getattr(registry.load(entry), "prepare", None)
    if prepare is not None:  # e.g. HiGHS's process-wide thread scheduler and banner
        prepare(options)
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
    status = STATUSES.get(problem.status, "error")
    if status == "infeasible_or_unbounded":
        status = highs.feasible_or_not(model, options, "unbounded")
    info = stats.extra_stats
    native = info.get("model") if isinstance(info, dict) else None
    # CVXPY reports SCIP's time limit as OPTIMAL_INACCURATE (with a solution) or
    # SOLVER_ERROR (without one); the solver's own status says which it was.
    if isinstance(info, dict) and info.get(f"{name.lower()}_status") in entry.limit_statuses:
        status = "time_limit"
    result = Result(status, solver=name.lower(),
                    solve_seconds=float(stats.solve_time) if stats.solve_time else wall)
    has_solution = status in ("optimal", "time_limit")
    if native is not None and hasattr(native, "getNNodes"):
        result.nodes = int(native.getNNodes())
    if hasattr(info, "mip_node_count"):  # HiGHS's info object
        result.nodes = int(info.mip_node_count or 0)
        if getattr(info, "primal_solution_status", 2) == 0:
            has_solution = False
    if status == "error":
        result.message = f"solver status '{problem.status}'"
    if has_solution and problem.value is not None and np.isfinite(problem.value):
        result.objective = float(problem.value)
        if hasattr(info, "mip_dual_bound") and model.num_integer:
            sign = 1.0 if model.objective.sense == "minimize" else -1.0
            raw_obj = float(info.objective_function_value)
            bound = float(info.mip_dual_bound)
            if np.isfinite(bound):
                result.bound = result.objective + sign * (bound - raw_obj)
                result.gap = relative_gap(result.objective, result.bound)
        if native is not None and model.num_integer:
            _native_bound(native, model, result)
        x = cvx.column_values(model.n)
        if x is not None:
            result.point = (model, x)
    elif status == "time_limit":
        result.message = "no feasible solution found within the time limit"
    return result


def _native_bound(native: Any, model: MilpModel, result: Result) -> None:
    """Best bound and gap of a solve whose solver object CVXPY hands back (SCIP's
    ``Model``), in the objective's terms (as for HiGHS).

    The solver's objective may differ from the spec's by a constant (CVXPY's offset),
    so the bound is the objective moved by the solver's own primal-dual difference.
    """
    try:
        primal, dual = float(native.getPrimalbound()), float(native.getDualbound())
    except (AttributeError, ValueError, Warning):  # pragma: no cover - no statistics
        return
    if not (np.isfinite(primal) and np.isfinite(dual)) or result.objective is None:
        return
    sign = 1.0 if model.objective.sense == "minimize" else -1.0
    result.bound = result.objective + sign * (dual - primal)
    result.gap = relative_gap(result.objective, result.bound)
