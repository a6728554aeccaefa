"""Solve an encoded verification MILP directly with HiGHS (highspy).

The verifier compiles its problem with ``nnlang.compile`` (the same encoder as
every spec), then hands the matrix-form model (:class:`nnlang.ir.milp.MilpModel`)
to HiGHS itself rather than through CVXPY, for two HiGHS options CVXPY does not
pass on:

- ``objective_bound`` (a cutoff): with the margin objective of the verifier
  (minimize ``t``, the largest excess of the best branch of the output
  condition), only points with ``t < cutoff`` count as solutions and every node
  whose LP bound reaches the cutoff is pruned. "Infeasible" then means that no
  input in the box gets ``t`` below the cutoff.
- ``mip_max_improving_sols = 1``: stop at the first such point (a candidate
  counterexample, re-checked by the forward pass).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnlang.errors import UnsupportedError
from nnlang.highs_objects import use_threads
from nnlang.ir.milp import MilpModel
from nnlang.solve.backends.highs import milp_to_highs

# The sub-MIP heuristics RENS and RINS spent most of the root node on verification
# MILPs, and the counterexamples they would find come from the attack and branch and
# bound first (docs/verification.md).
SEARCH_OPTIONS = {"mip_heuristic_run_rens": False, "mip_heuristic_run_rins": False}


@dataclass
class MilpOutcome:
    """``status``: ``infeasible``, ``solution`` (``x`` holds it), ``time_limit`` or ``error``."""

    status: str
    x: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    nodes: int = 0
    message: str = ""


def solve_milp(milp: MilpModel, time_limit: float, cutoff: float | None = None,
               first_solution: bool = True, threads: int | None = None,
               verbose: bool = False) -> MilpOutcome:
    """Solve ``milp`` (linear objective, linear rows) with HiGHS.

    Args:
        milp: the encoded model.
        time_limit: seconds.
        cutoff: only solutions with an objective (as minimized; a maximized
            objective is negated) below this value are accepted.
        first_solution: stop at the first accepted solution.
        threads: HiGHS threads.
        verbose: show the HiGHS log.
    """
    import highspy

    if milp.conditional_rows:
        raise UnsupportedError("the verifier's MILP solver takes linear rows only (big-M "
                               "encoding)")
    if milp.objective.quad:
        raise UnsupportedError("the verifier's MILP solver takes a linear objective only")
    h, _ = milp_to_highs(milp, verbose)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    if threads:
        use_threads(threads)
        h.setOptionValue("threads", int(threads))
    if cutoff is not None:
        h.setOptionValue("objective_bound", float(cutoff))
    if first_solution:
        h.setOptionValue("mip_max_improving_sols", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    for name, value in SEARCH_OPTIONS.items():
        h.setOptionValue(name, value)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    nodes = int(getattr(info, "mip_node_count", 0) or 0)
    has_sol = int(getattr(info, "primal_solution_status", 0)) == 2  # kSolutionStatusFeasible
    S = highspy.HighsModelStatus
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_sol else None
    obj = float(info.objective_function_value) if has_sol else None
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    if x is not None and (cutoff is None or obj < cutoff):
        return MilpOutcome("solution", x, obj, bound, nodes)
    if status == S.kInfeasible:
        return MilpOutcome("infeasible", None, None, bound, nodes)
    if status in (S.kObjectiveBound, S.kObjectiveTarget) and x is None:
        # Every node was pruned by the cutoff: nothing below it.
        return MilpOutcome("infeasible", None, None, bound, nodes, "cutoff")
    if status == S.kOptimal and cutoff is not None and bound is not None and bound >= cutoff:
        # Solved to optimality above the cutoff: the dual bound says nothing is below it.
        return MilpOutcome("infeasible", None, obj, bound, nodes, "optimum above the cutoff")
    if status in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit):
        return MilpOutcome("time_limit", None, None, bound, nodes)
    return MilpOutcome("error", None, None, bound, nodes,
                       f"HiGHS status {h.modelStatusToString(status)}")
