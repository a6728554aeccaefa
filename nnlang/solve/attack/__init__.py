"""Attacks: cheap, forward-checked points found before the MILP starts.

Each attack in ``nnlang.registry.ATTACKS`` is a function ``(problem, deadline) ->
list of user-column points`` (:mod:`nnlang.solve.attack.search`). Every point is
then completed and checked (:mod:`nnlang.solve.attack.region`): the ReLU binaries
from the forward pass, the remaining columns by an LP, the spec's rows and the
network's true outputs re-checked. The best checked point is the solve's incumbent:
the radius search's upper limit, the MILP's cutoff and starting solution, and
what a time limit returns with the proven bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from nnlang import registry
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import progress
from nnlang.solve.answer import take_solution
from nnlang.solve.attack.region import Problem, complete, descend
from nnlang.solve.results import Result, relative_gap

# the attack's share of the solve's time limit, and its cap in seconds
SHARE, CAP = 0.1, 10.0
# the region moves from the centre alone either reach the spec's rows in a few LPs or
# stall: a small share, so that the gradient attack keeps most of the budget
SHARES = {"centre": 0.2}
# once a checked point is known, each later attack gets at most this share of the
# budget: it can only refine that point, and the MILP proves whichever is best
LATER = 0.25
FIRST = 0.75  # an attack's share of the time left, but for the last one's
# seconds the first point always gets to be completed and checked, whatever the share:
# a solve stopped by a short limit returns that point rather than nothing
GRACE = 0.5


@dataclass
class Incumbent:
    """A checked point of the compiled model: its objective, its column values, the
    user columns' values (``user``, indexed like ``Problem.cols``) and who found it."""

    objective: float
    x: np.ndarray
    user: np.ndarray
    found_by: str
    seconds: float = 0.0
    first_seconds: float = 0.0  # when the first checked point was found
    log: list[dict] = field(default_factory=list)


def applies(milp: MilpModel) -> bool:
    """A linear model with network applications and continuous inputs."""
    return Problem.build(milp) is not None


def budget(options: Options) -> float:
    limit = options.time_limit
    return CAP if limit is None else float(min(CAP, max(0.5, SHARE * limit)))


def find(milp: MilpModel, options: Options, seconds: float | None = None) -> Incumbent | None:
    """The best checked point the attacks find within ``seconds`` (``budget``)."""
    problem = Problem.build(milp)
    if problem is None:
        return None
    start = time.perf_counter()
    seconds = budget(options) if seconds is None else seconds
    deadline = start + seconds
    best: Incumbent | None = None
    log = []
    names = list(registry.ATTACKS)
    ran = False  # an attack has returned points
    for k, name in enumerate(names):
        now = time.perf_counter()
        if ran and now >= deadline:
            break  # the first attack with points always runs: its first gets GRACE (above)
        # the first attacks (the cheap, strong ones) get most of what is left; the
        # region descent from their points a part of each share
        share = max(deadline - now, 0.0) * SHARES.get(
            name, FIRST if k < len(names) - 1 else 1.0)
        if best is not None:
            share = min(share, LATER * seconds)
        points = registry.load(registry.ATTACKS[name])(problem, now + 0.6 * share)
        ran = ran or bool(points)
        found = 0
        for u in points:
            if time.perf_counter() >= now + share and best is not None:
                break
            until = now + share if best is not None else max(now + share,
                                                             time.perf_counter() + GRACE)
            got = descend(problem, u, until)
            if got is None:
                continue
            found += 1
            value, x = got
            if best is None:
                first = time.perf_counter() - start
            if best is None or problem.better(value, best.objective):
                best = Incumbent(value, x, problem.user_of(x), name)
        log.append({"attack": name, "points": len(points), "checked": found,
                    "seconds": round(time.perf_counter() - now, 4),
                    "best": None if best is None else best.objective})
    if best is not None:
        best.seconds = time.perf_counter() - start
        best.first_seconds = first
        best.log = log
        progress.say(f"attack: objective {best.objective:.6g} by {best.found_by} "
                     f"({best.seconds:.2f} s)")
    return best


def start_for(model: MilpModel, incumbent: Incumbent) -> MilpModel:
    """``model`` (any encoding of the same spec, e.g. a radius step) with the
    incumbent as its starting solution, completed in that model's columns; the model
    unchanged when the point does not fit it."""
    problem = Problem.build(model)
    if problem is None:
        return model
    got = complete(problem, incumbent.user, fix_user=True)
    if got is None:
        return model
    return replace(model, start=(np.arange(model.n), np.asarray(got[1], dtype=float)))




def feasibility(milp: MilpModel) -> bool:
    """A spec without an objective: any checked point is an optimal answer."""
    return not milp.objective.quad and not np.any(milp.objective.c)


def answer(milp: MilpModel, incumbent: Incumbent, status: str,
           bound: float | None = None, solver: str = "attack") -> Result:
    """A result that reports the incumbent (checked again, with the model's sizes);
    ``solver``: the one that proved it optimal, if any."""
    result = Result(status, objective=incumbent.objective, bound=bound, solver=solver)
    result.gap = relative_gap(result.objective, bound)
    take_solution(milp, incumbent.x, result)
    result.model_size = milp.size()
    result.layer_stats = {e.label: [s.__dict__.copy() for s in e.stats]
                          for e in milp.applications}
    return result


def settle(milp: MilpModel, result: Result, incumbent: Incumbent | None) -> Result:
    """``result`` with the incumbent where the solve ended without a better point,
    and ``found_by`` / ``attack`` filled in."""
    if incumbent is not None:
        result.attack = {"objective": incumbent.objective, "found_by": incumbent.found_by,
                         "seconds": round(incumbent.seconds, 4),
                         "first_seconds": round(incumbent.first_seconds, 4), "log": incumbent.log}
    if incumbent is None or result.status in ("unbounded", "error"):
        result.found_by = "milp" if result.objective is not None else ""
        return result
    sense = -1.0 if milp.objective.sense == "maximize" else 1.0
    value = incumbent.objective
    if result.objective is not None and sense * (result.objective - value) \
            < -1e-7 * (1.0 + abs(value)):
        result.found_by = "milp"
        return result
    if result.objective is not None:  # the MILP kept the attack's point (its start)
        result.found_by = f"attack ({incumbent.found_by})"
        return result
    if result.status == "infeasible":  # a checked point, yet the model said infeasible
        result.warnings.append("the solver reported the model infeasible, but the attack's "
                               "point passes the forward pass and every row: the solver's "
                               "tolerances or the bounds are suspect")
        result.status = "time_limit"
        result.bound = None
    result.message = ""
    result.objective = value
    if result.bound is None and milp.objective_ball is not None:
        result.bound = 0.0  # a distance: the bound when no step proved more
    if result.bound is not None:
        result.bound = min(result.bound, value) if sense > 0 else max(result.bound, value)
    result.gap = relative_gap(value, result.bound)
    result.values, result.networks = {}, {}
    result.warnings = [w for w in result.warnings if "forward pass" not in w]
    take_solution(milp, incumbent.x, result)
    result.found_by = f"attack ({incumbent.found_by})"
    if result.status == "time_limit" and result.gap is not None and result.gap <= 1e-9:
        result.status = "optimal"  # the proven bound meets the point (a whole-number bound)
        result.notes.append(f"best point: the attack's ({incumbent.found_by}), optimal: "
                            "the proven bound equals its objective")
    else:
        result.notes.append(f"best point: the attack's ({incumbent.found_by}), "
                            "not proven optimal")
    return result
