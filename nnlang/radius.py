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

The first ``v`` is chosen by bisection on cheap symbolic bounds so that about
``START_SHARE`` of the box's unstable ReLUs are unstable over the ball.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from nnlang import progress
from nnlang.encode import encode_program
from nnlang.ir.milp import MilpModel, RowBlock
from nnlang.results import relative_gap
from nnlang.tighten import cutoff_row, input_balls, region_overrides

GROWTH = 1.5  # measured better than 2 (docs/benchmarks.md)
START_SHARE = 0.2
# a ball that leaves this share of the box's unstable ReLUs unstable no longer pays:
# the last step is then the original problem (no cutoff row). Measured: DNN1, where
# a ball left all 24 unstable, the cutoff step took 13 s, the plain MILP 6 s; but
# 784-32-16-10 image 1 at 0.9 (a ball with 44 of 48) fell back to a plain MILP that
# HiGHS does not solve in 30 s, so only a ball as loose as the box falls back.
LAST_SHARE = 1.0
# HiGHS's RINS/RENS sub-MIPs took 25 of 31 s of a step that was infeasible (DNN3
# image 0; 2.4 s without them) and did not speed up the steps that find the optimum
STEP_OPTIONS = {"HIGHS": {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}}
# solvers that take the quadratic cutoff ``sumsq(x - x0) <= v`` of an exact-L2 step
# (HiGHS through nnlang's outer approximation, nnlang.outer)
QUADRATIC_CUTOFF_SOLVERS = ("HIGHS", "SCIP", "GUROBI", "CPLEX")
# adaptive growth: at most this factor more unstable ReLUs per step (None: off)
STEP_UNSTABLE: float | None = 1.3  # measured: docs/benchmarks.md
MIN_GROWTH = 1.1
# the proven lower bound as a row of each step (``lower <= objective <= value``).
# Measured (load 3): DNN5 image 0's last step went from > 114 s to 19 s, but it made
# infeasible steps about 2x slower (DNN5 image 3: 34 -> 65 s) and 784-32-16-10
# images 0-5 lost two of five solved at 30 s (docs/benchmarks.md): off.
LOWER_ROW = False
# seconds for confirming a point found beyond a step's ball (its input fixed)
CONFIRM_SECONDS = 5.0
# seconds of optimized slopes (alpha-CROWN over the ball) for each step's bounds
OPTIMIZE = 0.0  # measured: 1-2 fewer unstable ReLUs, no faster steps (docs/benchmarks.md)


def applicable(milp: MilpModel, solver: str = "highs") -> bool:
    """A minimal-distance objective over a network's input, and ReLU binaries (an
    exact sum of squares only with a solver that takes its quadratic cutoff)."""
    if milp.objective_ball is None:
        return False
    if milp.objective.quad and solver.upper() not in QUADRATIC_CUTOFF_SOLVERS:
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


def _unstable(milp: MilpModel, overrides: dict) -> int:
    count = 0
    for enc in milp.applications:
        bounds = overrides.get(enc.label, enc.pre_bounds)
        for layer, (L, U) in zip(enc.network.layers, bounds):
            if layer.activation == "relu":
                count += int(np.sum((L < 0) & (U > 0)))
    return count


class BallBounds:
    """Neuron bounds over the objective's ball of a given value, computed once per
    value (the radius probes and the step at the chosen radius share them)."""

    def __init__(self, milp: MilpModel, optimize: float = 0.0):
        self.milp, self.optimize = milp, optimize
        self._cache: dict[float, dict] = {}

    def __call__(self, value: float) -> dict:
        if value not in self._cache:
            self._cache[value] = region_overrides(self.milp, value, optimize=self.optimize)
        return self._cache[value]

    def unstable(self, value: float) -> int:
        return _unstable(self.milp, self(value))


def start_value(balls: BallBounds, top: float, share: float = START_SHARE) -> float:
    """A value whose ball leaves about ``share`` of the box's unstable ReLUs unstable."""
    milp = balls.milp
    target = max(1, int(share * _unstable(milp, {})))
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


def next_value(balls: BallBounds, value: float, top: float, unstable: int) -> float:
    """The next radius after an infeasible step at ``value`` with ``unstable`` ReLUs:
    ``GROWTH * value``, or less (down to ``MIN_GROWTH * value``) where that would
    raise the unstable count beyond ``STEP_UNSTABLE`` times the step's (bisection
    on the cheap ball bounds: the MILP's cost grows with that count)."""
    hi = min(GROWTH * value, top)
    if STEP_UNSTABLE is None or hi >= top:
        return hi
    limit = STEP_UNSTABLE * unstable + 2
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


def _ball_model(compiled, balls: BallBounds, value: float) -> MilpModel:
    """The spec encoded with the neuron bounds over the ball of ``value``."""
    return encode_program(compiled.program, balls(value))


def solve_by_radius(compiled, options, run, shrink: bool = False):
    """Solve ``compiled`` by growing balls (module docstring); ``run(milp, options)``
    solves one MilpModel. The answer is exact: optimal only when proven globally.
    ``shrink``: ``run`` also takes ``model_at`` (:func:`nnlang.outer.run_outer`), the
    model over a smaller ball once an incumbent is known within a step."""
    start = time.perf_counter()
    milp = compiled.milp
    total = options.time_limit
    top = largest_value(milp)
    balls = BallBounds(milp, OPTIMIZE)
    value = min(start_value(balls, top), top)
    box_unstable = _unstable(milp, {})
    lower, steps, result = 0.0, [], None
    beyond = np.inf  # the least value of a point found beyond a step's cutoff
    candidate = None  # that point (Result.candidate), for a run that ends without one
    nodes = 0
    solve_seconds = 0.0
    while True:
        left = None if total is None else total - (time.perf_counter() - start)
        if left is not None and left <= 0.05:
            break
        t = time.perf_counter()
        overrides = balls(value)
        if value < top and _unstable(milp, overrides) >= LAST_SHARE * box_unstable:
            value = top  # the ball is about as loose as the box: solve the original
        if value >= top:
            step = milp
        else:
            step = encode_program(compiled.program, overrides)
            if step.objective.quad:
                step.objective_cutoff = value + 1e-6 * (1.0 + abs(value))
            else:
                row, lo, hi = cutoff_row(step, value)
                step.rows.append(RowBlock("radius_cutoff", row, np.array([lo]), np.array([hi]),
                                          "aux"))
        if LOWER_ROW and lower > 0 and not step.objective.quad:
            # every point has objective > lower (an infeasible step proved it):
            # node relaxations that only reach below it are pruned at once
            row, _, _ = cutoff_row(step, lower)
            step = dataclasses.replace(step, rows=step.rows + [RowBlock(
                "radius_lower", row, np.array([lower - step.objective.constant]),
                np.array([np.inf]), "aux")])
        bounds_seconds = time.perf_counter() - t
        unstable = sum(s.unstable for e in step.applications for s in e.stats)
        where = "the whole box" if step is milp else f"objective <= {value:.6g}"
        progress.say(f"radius step {len(steps) + 1}: {where} ({unstable} unstable ReLUs)")
        args = {**options.solver_args,  # the caller's, over the steps' own for HiGHS
                **{k: {**v, **options.solver_args.get(k, {})} for k, v in STEP_OPTIONS.items()}}
        if shrink and step.objective.quad:
            # an incumbent of value u < value: later masters over the ball of u
            def model_at(u: float, cap=value, step=step) -> MilpModel:
                return step if u >= cap else _ball_model(compiled, balls, u)

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
        if result.status == "infeasible" and value < top:
            lower = value
            grown = next_value(balls, value, top, unstable)
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
        if result.objective is not None and result.bound is not None:
            result.gap = relative_gap(result.objective, result.bound)
    if result.status == "time_limit" and result.objective is None and candidate is not None:
        _adopt(compiled, result, candidate, options)
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
                  options) -> np.ndarray | None:
    """Column values of ``model`` with the user variables of ``x`` (columns of the
    radius step ``step``) and every other column found by HiGHS with them fixed: the
    network's true values there. None if the spec's rows do not hold at that input."""
    import highspy

    from nnlang.highs import milp_to_highs, set_time_limit

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


def _adopt(compiled, result, candidate, options) -> None:
    """Out of time without a solution, but a step found a point beyond its ball: if
    the original model confirms it, report it (with the search's bound)."""
    from nnlang.outer import SquaresObjective
    from nnlang.solve import _take_solution

    value, step, x = candidate
    full = confirm_point(compiled.milp, step, x, options)
    if full is None:
        result.notes.append(f"a point of value {value:.6g} found beyond a radius step's "
                            "ball was not confirmed in the original model")
        return
    obj = SquaresObjective(compiled.milp)
    result.objective = obj.sign * obj.value(full)
    result.message = ""
    if result.bound is not None:
        result.gap = relative_gap(result.objective, result.bound)
    _take_solution(compiled.milp, full, result)
    result.notes.append(f"best point: found beyond the ball of a radius step (value "
                        f"{result.objective:.6g}), confirmed with its input fixed in the "
                        "original model; not proven optimal")
