"""Problem-aware bound tightening (optimization-based, over the LP relaxation).

For every unstable ReLU, layer by layer, minimize and maximize its
pre-activation over the LP relaxation of the *whole* model — the user's
constraints included and, when an incumbent is known, the objective cut off
at its value. Bounds from this LP are sound for every solution at least as
good as the incumbent, which is all an optimization needs. Each layer is
tightened with the layers before it already re-encoded with their new bounds.
The LPs are solved as the bound methods solve theirs
(:func:`nnlang.bounds.lp.lp_minimum`: each bound the weak-duality bound of HiGHS's
row duals, so it does not rest on the LP solver's accuracy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.bounds.lp import LayerModel, highs_model, lp_minimum
from nnlang.highs_objects import set_time_limit
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import progress
from nnlang.solve.balls import region_overrides
from nnlang.solve.results import Result, relative_gap
from nnlang.solve.strategies.single import solve_model
from nnlang.solve.task import Task

LP_LIMIT = 2.0  # seconds per LP; a timed-out LP leaves its bound as it was (sound)


@dataclass
class TightenStats:
    seconds: float = 0.0
    lps: int = 0
    before_unstable: int = 0
    after_unstable: int = 0


def _relaxation(milp: MilpModel, cutoff: float | None) -> tuple[LayerModel, highspy.Highs]:
    """The LP relaxation of the whole model (the user's constraints included) with the
    objective cut off at ``cutoff``; conditional (indicator) rows are left out:
    dropping rows only relaxes."""
    A, lo, hi = milp.linear_system()
    if cutoff is not None and np.any(milp.objective.c):
        row, clo, chi = milp.objective_row(cutoff)
        A = sp.vstack([A, row], format="csr")
        lo, hi = np.append(lo, clo), np.append(hi, chi)
    lb, ub = milp.column_bounds()
    model = LayerModel(A.tocsr(), lo, hi, lb, ub, np.zeros(0, np.int64), np.zeros(0, np.int64))
    h = highs_model(model)
    h.setOptionValue("simplex_strategy", 4)  # primal simplex: the basis stays primal feasible
    return model, h


def tighten(task: Task, cutoff: float | None = None, deadline: float | None = None,
            overrides: dict | None = None) -> tuple[dict, TightenStats]:
    """New per-layer pre-activation bounds for every application, by LP.

    Returns ``(overrides, stats)``; pass ``overrides`` to ``task.reencode``.
    Stops early (keeping what it has, which is sound) at ``deadline``
    (a ``time.perf_counter()`` value).
    """
    start = time.perf_counter()
    overrides = {k: list(v) for k, v in (overrides or {}).items()}
    stats = TightenStats()
    milp = task.reencode(overrides)
    stats.before_unstable = sum(s.unstable for e in milp.applications for s in e.stats)
    n_apps = len(milp.applications)
    for a in range(n_apps):
        K = len(milp.applications[a].pre_rows)
        for k in range(K):
            enc = milp.applications[a]
            L, U = (v.copy() for v in enc.pre_bounds[k])
            unstable = np.flatnonzero((L < 0) & (U > 0))
            if enc.stats[k].activation != "relu" or unstable.size == 0:
                continue
            if deadline is not None and time.perf_counter() > deadline:
                break
            model, h = _relaxation(milp, cutoff)
            A, c = enc.pre_rows[k]
            A = A.tocsr()
            for i in unstable:
                if deadline is not None and time.perf_counter() > deadline:
                    break
                row = A.getrow(i)
                limit = LP_LIMIT if deadline is None else min(
                    LP_LIMIT, deadline - time.perf_counter())
                try:  # min of the row, then min of its negation (weak-duality bounds)
                    set_time_limit(h, limit)
                    lo = lp_minimum(h, model, row.data, row.indices)
                    set_time_limit(h, limit)
                    neg = lp_minimum(h, model, -row.data, row.indices)
                except ValueError:
                    break  # the relaxation is empty: nothing better than the cutoff exists
                finally:
                    stats.lps += 2
                if lo is not None:
                    L[i] = max(L[i], lo + c[i])
                if neg is not None:
                    U[i] = min(U[i], -neg + c[i])
            bounds = list(enc.pre_bounds)
            bounds[k] = (L, np.maximum(U, L))
            overrides[enc.label] = bounds
            milp = task.reencode(overrides)
    stats.after_unstable = sum(s.unstable for e in milp.applications for s in e.stats)
    stats.seconds = time.perf_counter() - start
    return overrides, stats


def _better(a, b, sense: str) -> bool:
    if b is None:
        return True
    return a < b - 1e-9 * (1 + abs(b)) if sense == "minimize" else a > b + 1e-9 * (1 + abs(b))


def _tighter(a: float | None, b: float, sense: str) -> float:
    """The tighter of two valid bounds (the smaller of two upper bounds)."""
    if a is None:
        return b
    return max(a, b) if sense == "minimize" else min(a, b)


def applies(task: Task, options: Options) -> bool:
    """ReLU binaries and a linear objective."""
    return (any(b.kind == "binary" and b.role == "relu_binary" for b in task.milp.blocks)
            and not task.milp.objective.quad)


def solve(task: Task, options: Options, run: Callable = solve_model) -> Result:
    """Two phases: a first solve for an incumbent (10 % of the time limit, at
    least 2 s); if it is not optimal, LP tightening of every unstable ReLU with
    the objective cut off at the incumbent, re-encoding, and a second solve
    with the remaining time.

    ``run(model, options)`` solves one model. The answer stays exact: every
    solution at least as good as the incumbent satisfies the tightened model,
    so if that model is infeasible the incumbent is optimal, and its dual bound
    is a bound of the original problem.
    """
    start = time.perf_counter()
    total = options.time_limit
    sense = task.milp.objective.sense
    first_limit = 2.0 if total is None else min(total, max(2.0, 0.1 * total))
    first = run(task.milp, options.updated(time_limit=first_limit))
    if first.status != "time_limit":
        return first
    left = None if total is None else total - (time.perf_counter() - start)
    if left is not None and left <= 1.0:
        return first
    cutoff = first.objective if first.values else None
    found = "no point" if cutoff is None else f"best {cutoff:.6g}"
    progress.say(f"first solve: {found} after {first.solve_seconds:.1f} s; tightening the "
                 "neuron bounds by LP")
    deadline = None if left is None else time.perf_counter() + 0.3 * left
    region = {} if cutoff is None else region_overrides(task.milp, cutoff)
    overrides, stats = tighten(task, cutoff, deadline, region)
    milp = task.reencode(overrides)
    if cutoff is not None:
        milp = milp.cut_off(cutoff, "incumbent_cutoff")
    left = None if total is None else max(0.5, total - (time.perf_counter() - start))
    progress.say(f"unstable ReLUs {stats.before_unstable} -> {stats.after_unstable} "
                 f"({stats.lps} LPs, {stats.seconds:.1f} s); second solve")
    second = run(milp, options.updated(time_limit=left))
    info = {"first_objective": first.objective, "first_seconds": first.solve_seconds,
            "before_unstable": stats.before_unstable, "after_unstable": stats.after_unstable,
            "lps": stats.lps, "seconds": stats.seconds}
    note = (f"LP tightening after a first incumbent ({first.objective}): unstable ReLUs "
            f"{stats.before_unstable} -> {stats.after_unstable} ({stats.lps} LPs, "
            f"{stats.seconds:.2f} s)")
    result, first_bound = second, first.bound
    if first.values and second.status != "optimal" and (
            not second.values or _better(first.objective, second.objective, sense)):
        result = first  # the second phase found nothing better than the incumbent
        if second.status == "infeasible":
            result.status, result.bound, result.gap = "optimal", first.objective, 0.0
        elif second.bound is not None:
            result.bound = (min(second.bound, first.objective) if sense == "minimize"
                            else max(second.bound, first.objective))
            result.gap = relative_gap(first.objective, result.bound)
        result.nodes = second.nodes
    if first_bound is not None and result.status != "optimal":
        # the first solve's bound holds for the original problem too; the second's only
        # over the points at least as good as the incumbent: keep the tighter
        result.bound = _tighter(result.bound, first_bound, sense)
        if result.values:
            result.gap = relative_gap(result.objective, result.bound)
    result.solve_seconds = first.solve_seconds + second.solve_seconds
    result.bounds_seconds += stats.seconds
    result.tighten = info
    result.notes.append(note)
    result.layer_stats = second.layer_stats
    return result
