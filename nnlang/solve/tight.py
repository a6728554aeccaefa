"""The tight model of a minimal-distance spec, for files (``nnlang compile``).

Every solution at least as good as a known point of value ``u`` lies in the ball of
radius ``u`` around the objective's centre, so the model restricted to that ball
has the same optimum: the ball's coordinate bounds on the input columns, neuron
bounds over the ball (``nnlang.solve.balls``, then tightened by LP over the ball
with the cutoff, ``nnlang.solve.strategies.tighten``) and the objective cut off at
``u``.
The known point is the attack's (:mod:`nnlang.solve.attack`). This is the last step
of the radius search (:mod:`nnlang.solve.strategies.radius`) written out: a solver
that reads the file gets the model ``nnlang solve`` proves the optimum with,
instead of the model over the whole input box.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve import attack
from nnlang.solve.balls import region_overrides, unstable_count
from nnlang.solve.strategies.tighten import tighten
from nnlang.solve.task import Task

# seconds for the LP bound tightening over the ball (the tightening strategy's LPs)
TIGHTEN_SECONDS = 30.0


@dataclass
class TightModel:
    milp: MilpModel
    value: float  # the incumbent's objective: the cutoff and the ball's value
    found_by: str
    region: str  # the header line: which region and why


def ball_box(milp: MilpModel, value: float) -> MilpModel:
    """``milp`` with the objective's columns bounded by the ball of ``value``
    coordinate-wise (``|x_i - c_i| <= r`` holds in every norm ball but norm0's)."""
    ob = milp.objective_ball
    if ob is None or ob.dist == "norm0":
        return milp
    r = ob.radius(value + 1e-6 * (1.0 + abs(value)))
    lo = np.full(milp.n, -np.inf)
    hi = np.full(milp.n, np.inf)
    lo[ob.cols] = ob.center - r
    hi[ob.cols] = ob.center + r
    blocks = []
    for b in milp.blocks:
        if b.role == "user":
            nlb = np.maximum(b.lb, lo[b.cols].reshape(b.lb.shape))
            nub = np.minimum(b.ub, hi[b.cols].reshape(b.ub.shape))
            b = replace(b, lb=nlb, ub=np.maximum(nub, nlb))
        blocks.append(b)
    return replace(milp, blocks=blocks)


def tight_model(task: Task, options: Options) -> TightModel | None:
    """The model over the ball of the attack's point (module docstring); None for a
    spec that is not a minimal distance, or when the attack finds no point."""
    milp = task.milp
    ob = milp.objective_ball
    if ob is None or milp.objective.quad:
        return None
    incumbent = attack.find(milp, options)
    if incumbent is None:
        return None
    u = incumbent.objective
    overrides = region_overrides(ball_box(milp, u), u)
    ball = unstable_count(milp, overrides)
    in_ball = Task(ball_box(milp, u), lambda o: ball_box(task.reencode(o), u))
    overrides, lps = tighten(in_ball, u, time.perf_counter() + TIGHTEN_SECONDS, overrides)
    model = in_ball.reencode(overrides).cut_off(u, "incumbent_cutoff")
    box = unstable_count(milp, {})
    lp = unstable_count(milp, overrides)
    region = (f"the {ob.dist} ball of objective value {u:.10g} around the objective's centre "
              f"(radius {ob.radius(u):.6g}): an attack's point ({incumbent.found_by}, "
              f"checked by the forward pass) has that objective, so the optimum lies in "
              f"the ball; input bounds of the ball, neuron bounds over it (symbolic: {ball} "
              f"unstable ReLUs, {box} over the box; then LP over the ball with the cutoff: "
              f"{lp}, {lps.lps} LPs), objective <= {u:.10g} (row incumbent_cutoff); "
              f"--full-box writes the model over the whole input box")
    return TightModel(model, u, incumbent.found_by, region)
