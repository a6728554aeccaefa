"""Radius search for minimal-distance objectives (``minimize norm1(x - x0)`` and kin).

Every solution of value at most ``v`` lies in the ball of radius ``v`` around
the objective's centre, where far more ReLUs are stable than over the input
box. So instead of one MILP over the box, solve a sequence of MILPs, each with
the objective cut off at ``v`` and neuron bounds over that ball
(``nnlang.bounds.region``), for growing ``v``:

- optimal at ``v``: its optimum is ``<= v`` and every better point would lie in
  the ball, so it is the global optimum;
- infeasible at ``v``: the optimum is above ``v`` (a proven lower bound); grow
  ``v`` by ``GROWTH`` up to the largest distance the box allows — or until the
  ball leaves as many ReLUs unstable as the box (``LAST_SHARE``) — where
  the step is the original problem and "infeasible" means infeasible;
- out of time: the incumbent (if any) with the bound ``min(step bound, v)``.

An attack's point of value ``u`` (``Task.incumbent``) caps the search: no step goes
past ``u``, and the step at ``u`` (its cutoff, the ball of ``u``, the point as its
start) proves it optimal when nothing better exists.

An integral objective (norm0's count) takes whole radii only: a step infeasible at
``v`` proves ``floor(v) + 1``, and with a point of value ``u`` the last step is the
ball of ``u - 1``, whose infeasibility proves ``u`` optimal.

The first ``v`` is chosen by bisection on cheap symbolic bounds so that about
``START_SHARE`` of the box's unstable ReLUs are unstable over the ball.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable

import highspy
import numpy as np

from nnlang.highs_objects import set_time_limit
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import attack, progress
from nnlang.solve.answer import take_solution
from nnlang.solve.backends.highs import milp_to_highs
from nnlang.solve.balls import BallBounds, input_balls, unstable_count
from nnlang.solve.results import Result, relative_gap
from nnlang.solve.strategies.outer import SquaresObjective
from nnlang.solve.strategies.single import solve_model, takes_quadratic_mip
from nnlang.solve.task import Task

GROWTH = 1.5  # measured better than 2 (docs/benchmarks.md)
START_SHARE = 0.2
# a ball that leaves this share of the box's unstable ReLUs unstable no longer pays:
# the last step is then the original problem (no cutoff row); a ball a little
# tighter than the box still beats the plain MILP (docs/benchmarks.md)
LAST_SHARE = 1.0
# HiGHS's RINS/RENS sub-MIPs took most of the time of steps that were infeasible and
# did not speed up the steps that find the optimum (docs/benchmarks.md)
STEP_OPTIONS = {"HIGHS": {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}}
# adaptive growth: at most this factor more unstable ReLUs per step (docs/benchmarks.md)
STEP_UNSTABLE = 1.3
MIN_GROWTH = 1.1
# seconds for confirming a point found beyond a step's ball (its input fixed)
CONFIRM_SECONDS = 5.0
# a step whose MILP proved infeasibility within this many seconds is cheap: the ball
# bounds of the next radii cost more than the MILP, so the next step grows by
# GROWTH squared and may add twice the unstable ReLUs (convolutional networks, whose
# many small steps took most of a time limit in bounds; docs/benchmarks.md)
CHEAP_SECONDS = 0.25


def applies(task: Task, options: Options) -> bool:
    """A minimal-distance objective over a network's input, and ReLU binaries (an
    exact sum of squares only with a solver that takes its quadratic cutoff)."""
    milp = task.milp
    if milp.objective_ball is None:
        return False
    if milp.objective.quad and not takes_quadratic_mip(options):
        return False
    if not any(b.kind == "binary" and b.role == "relu_binary" for b in milp.blocks):
        return False
    return bool(input_balls(milp, 1.0))


def largest_value(milp: MilpModel) -> float:
    """The objective's largest value over the column bounds (the box's far corner)."""
    ob = milp.objective_ball
    lb, ub = milp.column_bounds()
    far = np.maximum(np.abs(ub[ob.cols] - ob.center), np.abs(ob.center - lb[ob.cols]))
    dist = {"norm1": far.sum(), "norminf": far.max(initial=0.0),
            "norm0": float(np.count_nonzero(far)), "sumsq": np.square(far).sum()}[ob.dist]
    return float(ob.scale * dist)


def integral_objective(milp: MilpModel) -> bool:
    """Whether every value of the objective is an integer: integer coefficients on
    integer columns only, and an integer constant (norm0's count of binaries)."""
    obj = milp.objective
    c = np.asarray(obj.c, dtype=float)
    nz = np.flatnonzero(c)
    if obj.quad or not nz.size or not float(obj.constant).is_integer():
        return False
    ints = np.zeros(milp.n, dtype=bool)
    ints[milp.integer_columns()] = True
    return bool(ints[nz].all() and np.all(c[nz] == np.round(c[nz])))


def proven(value: float, integral: bool) -> float:
    """The lower bound that a step infeasible at ``value`` proves."""
    return float(np.floor(value + 1e-9) + 1.0) if integral else value


def start_value(balls: BallBounds, top: float, share: float = START_SHARE) -> float:
    """A value whose ball leaves about ``share`` of the box's unstable ReLUs unstable."""
    milp = balls.milp
    target = max(1, int(share * unstable_count(milp, {})))
    lo, hi = top * 1e-6, top
    for _ in range(8):  # bisection in log space: the bracket ends within a factor 1.06
        mid = float(np.sqrt(lo * hi))
        if balls.unstable(mid) > target:
            hi = mid
        else:
            lo = mid
    if milp.objective_ball.dist == "norm0":
        return float(max(1.0, np.floor(lo)))
    return lo


def next_value(balls: BallBounds, value: float, top: float, unstable: int,
               cheap: bool = False, cap: tuple[float, int] | None = None) -> float:
    """The next radius after an infeasible step at ``value`` with ``unstable`` ReLUs:
    ``GROWTH * value``, or less (down to ``MIN_GROWTH * value``) where that would
    raise the unstable count beyond ``STEP_UNSTABLE`` times the step's (bisection
    on the cheap ball bounds: the MILP's cost grows with that count). After a
    ``cheap`` step, ``GROWTH**2`` and twice the unstable count (``CHEAP_SECONDS``).
    ``cap``: an incumbent's value and its ball's unstable count; when that ball is
    within the limit, the next step is the incumbent's (it proves the optimum or finds
    a better point, at no more unstable ReLUs than a smaller step would allow)."""
    growth, factor = (GROWTH ** 2, 2.0) if cheap else (GROWTH, STEP_UNSTABLE)
    hi = min(growth * value, top)
    if hi >= top:
        return hi
    limit = factor * unstable + 2
    if cap is not None and cap[0] > value and cap[1] <= limit:
        return cap[0]
    if balls.unstable(hi) <= limit:
        return hi
    lo = min(MIN_GROWTH * value, top)
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        if balls.unstable(mid) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def solve(task: Task, options: Options, run: Callable | None = None) -> Result:
    """Solve by growing balls (module docstring). The answer is exact: optimal only
    when proven globally. With the outer approximation (a sum of squares on HiGHS),
    each step's masters are built over a smaller ball once an incumbent is known.
    ``run(model, options[, model_at=...])`` solves one step (default:
    :func:`nnlang.solve.strategies.single.solve_model`)."""
    if run is None:
        run = functools.partial(solve_model, envelope=task.shared)
    start = time.perf_counter()
    milp = task.milp
    shrink = task.shared is not None
    total = options.time_limit
    top = largest_value(milp)
    balls = BallBounds(milp)
    incumbent = task.incumbent
    cap = top if incumbent is None else min(top, incumbent.objective)
    integral = integral_objective(milp)
    # the last step worth taking: the incumbent's ball, or (whole radii) the one below
    last = cap - 1.0 if integral and incumbent is not None and cap < top else cap
    value = max(min(start_value(balls, top), last), 0.0)
    box_unstable = unstable_count(milp, {})
    lower, steps, result = 0.0, [], None
    beyond = np.inf  # the least value of a point found beyond a step's cutoff
    candidate = None  # that point (Result.candidate), for a run that ends without one
    nodes = 0
    solve_seconds = 0.0
    cap_unstable = None  # the incumbent's ball's unstable ReLUs, when first needed
    optimal = False  # the incumbent proven optimal by the steps
    while True:
        left = None if total is None else total - (time.perf_counter() - start)
        if left is not None and left <= 0.05:
            break
        t = time.perf_counter()
        overrides = balls(value)
        if value < top and unstable_count(milp, overrides) >= LAST_SHARE * box_unstable:
            value = cap  # the ball is about as loose as the box: solve the original
            overrides = None
        if value >= top:
            step = milp
        elif overrides is None:
            step = milp.cut_off(value, "radius_cutoff")
        else:
            step = task.reencode(overrides).cut_off(value, "radius_cutoff")
        if incumbent is not None and value >= cap:
            step = attack.start_for(step, incumbent)
        bounds_seconds = time.perf_counter() - t
        unstable = sum(s.unstable for e in step.applications for s in e.stats)
        where = "the whole box" if step is milp else f"objective <= {value:.6g}"
        progress.say(f"radius step {len(steps) + 1}: {where} ({unstable} unstable ReLUs)")
        args = {**options.solver_args,  # the caller's, over the steps' own for HiGHS
                **{k: {**v, **options.solver_args.get(k, {})} for k, v in STEP_OPTIONS.items()}}
        if shrink and step.objective.quad:
            # an incumbent of value u < value: later masters over the ball of u
            def model_at(u: float, cap=value, step=step) -> MilpModel:
                return step if u >= cap else task.reencode(balls(u))

            result = run(step, options.updated(time_limit=left, solver_args=args),
                         model_at=model_at)
        else:
            result = run(step, options.updated(time_limit=left, solver_args=args))
        nodes += result.nodes or 0
        solve_seconds += result.solve_seconds
        if result.candidate is not None and (candidate is None
                                             or result.candidate[0] < candidate[0]):
            candidate = result.candidate
        steps.append({"value": value, "status": result.status, "unstable": unstable,
                      "seconds": round(time.perf_counter() - t, 4),
                      "bounds_seconds": round(bounds_seconds, 4)})
        progress.say(f"radius step {len(steps)}: {_outcome(result, value, step is milp)} "
                     f"({steps[-1]['seconds']:.2f} s)")
        if result.search and "masters" in result.search:  # outer approximation's rounds
            steps[-1]["masters"] = result.search["masters"]
        if result.status == "infeasible" and (value < top or incumbent is not None):
            lower = max(lower, proven(value, integral))
            if incumbent is not None and lower >= cap - 1e-9 * (1.0 + abs(cap)):
                optimal = True  # nothing better than the incumbent
                break
            if value >= top:
                break
            cheap = result.solve_seconds < CHEAP_SECONDS
            if incumbent is not None and cap < top and cap_unstable is None:
                cap_unstable = balls.unstable(last)  # once: the last step's ball
            at_cap = None if cap_unstable is None else (last, cap_unstable)
            grown = min(next_value(balls, value, top, unstable, cheap, at_cap), last)
            if integral:
                grown = min(max(float(np.ceil(grown - 1e-9)), lower), last)
            # a point beyond the cutoff (Result.candidate, nnlang.outer): probably a
            # solution, so the next ball need not be larger than it (a hint only:
            # if it was not one, that step is infeasible like any other)
            if result.candidate is not None:
                beyond = min(beyond, result.candidate[0])
            value = beyond if value < beyond < grown else grown
            continue
        break
    if result is None:  # no time for even one step
        result = run(milp, options.updated(time_limit=0.05))
    elif optimal:
        # the last step found nothing better than the incumbent: it is the optimum
        result = attack.answer(milp, incumbent, "optimal", cap, solver=result.solver)
    elif result.status == "infeasible" and steps[-1]["value"] < top:
        # out of time after a step that only proved a lower bound
        result.status = "time_limit"
        result.message = (f"no feasible solution found within the time limit (none has "
                          f"objective <= {lower:.6g})")
        result.bound = lower
    elif result.status == "time_limit":
        if result.bound is not None:
            result.bound = min(result.bound, steps[-1]["value"])
            result.bound = max(result.bound, lower)
        else:
            result.bound = lower if lower > 0 else None
        if integral and result.bound is not None:
            result.bound = float(np.ceil(result.bound - 1e-6))
        if result.objective is not None and result.bound is not None:
            result.gap = relative_gap(result.objective, result.bound)
            if integral and result.bound >= result.objective - 1e-9:
                result.status, result.message = "optimal", ""  # the rounded bound meets it
    if result.status == "time_limit" and result.objective is None and candidate is not None:
        _adopt(milp, result, candidate, options)
    result.nodes = nodes
    result.solve_seconds = solve_seconds
    result.bounds_seconds += sum(s["bounds_seconds"] for s in steps)
    result.search = {"lower": lower, "largest": top, "steps": steps}

    def masters(s: dict) -> str:  # outer approximation's master MILPs in the step
        k = len(s.get("masters", []))
        return f", {k} master{'s' if k != 1 else ''}" if "masters" in s else ""

    result.notes.append(
        "radius search: " + ", ".join(f"{s['value']:.4g} {s['status']} ({s['seconds']:.2f} s, "
                                      f"{s['unstable']} unstable{masters(s)})" for s in steps))
    return result


def _outcome(result, value: float, whole: bool) -> str:
    """A radius step's result in words (``whole``: the step was the original
    problem), for progress messages."""
    if result.status == "infeasible" and not whole:
        return f"nothing with objective <= {value:.6g}"
    if result.objective is None:
        return result.status.replace("_", " ")
    return f"{result.status.replace('_', ' ')}, objective {result.objective:.6g}"


def confirm_point(model: MilpModel, step: MilpModel, x: np.ndarray,
                  options: Options) -> np.ndarray | None:
    """Column values of ``model`` with the user variables of ``x`` (columns of the
    radius step ``step``) and every other column found by HiGHS with them fixed: the
    network's true values there. None if the spec's rows do not hold at that input."""
    values = {b.name: x[b.cols] for b in step.blocks if b.role == "user"}
    blocks = []
    for b in model.blocks:
        if b.role == "user" and b.name in values:
            v = np.clip(values[b.name], b.lb, b.ub)
            b = dataclasses.replace(b, lb=v.copy(), ub=v.copy())
        blocks.append(b)
    h, _ = milp_to_highs(dataclasses.replace(model, blocks=blocks).without_objective(), False)
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    set_time_limit(h, CONFIRM_SECONDS)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


def _adopt(milp: MilpModel, result: Result, candidate, options: Options) -> None:
    """Out of time without a solution, but a step found a point beyond its ball: if
    the original model confirms it, report it (with the search's bound)."""
    value, step, x = candidate
    full = confirm_point(milp, step, x, options)
    if full is None:
        result.notes.append(f"a point of value {value:.6g} found beyond a radius step's "
                            "ball was not confirmed in the original model")
        return
    obj = SquaresObjective(milp)
    result.objective = obj.sign * obj.value(full)
    result.message = ""
    if result.bound is not None:
        result.gap = relative_gap(result.objective, result.bound)
    take_solution(milp, full, result)
    result.notes.append(f"best point: found beyond the ball of a radius step (value "
                        f"{result.objective:.6g}), confirmed with its input fixed in the "
                        "original model; not proven optimal")
