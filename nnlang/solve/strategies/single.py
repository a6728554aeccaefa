"""One model, one solve: the route to a backend, then the answer checked.

:func:`solve_model` is what every strategy calls for each model it solves. The
route follows the solver's entry in ``nnlang.registry.SOLVERS``: HiGHS takes a
linear model through highspy (no CVXPY) and a sum of squares with integers by
outer approximation (:mod:`nnlang.solve.strategies.outer`); everything else is
lowered to CVXPY.
"""

from __future__ import annotations

from collections.abc import Callable

from nnlang import registry
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve.answer import finish
from nnlang.solve.results import Result
from nnlang.solve.strategies import outer
from nnlang.solve.task import Task

# the routes a model can take (:func:`route`)
OUTER, DIRECT, CVXPY = "outer", "direct", "cvxpy"


def route(model: MilpModel, options: Options) -> str:
    """How ``model`` reaches the solver of ``options``."""
    entry = registry.solver(options.solver)
    caps = entry.capabilities
    if model.conditional_rows:
        return CVXPY  # which refuses them, with a message naming the file formats
    if model.objective.quad and model.num_integer and not caps.quadratic_mip \
            and caps.outer_approximation:
        return OUTER
    if entry.direct and not model.objective.quad and model.objective_cutoff is None:
        return DIRECT
    return CVXPY


def takes_quadratic_mip(options: Options) -> bool:
    """Whether the solver of ``options`` solves a sum of squares with integers and a
    quadratic cutoff (natively, or by outer approximation)."""
    caps = registry.solver(options.solver).capabilities
    return caps.quadratic_mip or caps.outer_approximation


def solve_model(model: MilpModel, options: Options,
                model_at: Callable[[float], MilpModel] | None = None,
                envelope: outer.Envelope | None = None) -> Result:
    """Solve ``model`` once; the answer is polished and re-checked by the forward pass.

    ``model_at`` and ``envelope`` are for the outer approximation (see
    :func:`nnlang.solve.strategies.outer.solve`)."""
    return solve_via(route(model, options), model, options, model_at, envelope)


def solve_via(way: str, model: MilpModel, options: Options,
              model_at: Callable[[float], MilpModel] | None = None,
              envelope: outer.Envelope | None = None) -> Result:
    """:func:`solve_model` along the route ``way`` (``OUTER``, ``DIRECT``, ``CVXPY``)."""
    if way == OUTER:
        result = outer.solve(model, options, model_at, envelope)
    elif way == DIRECT:
        result = registry.load(registry.solver(options.solver)).solve(model, options)
    else:  # CVXPY is imported here, only for the solves that need it
        result = registry.load(registry.CVXPY).solve(model, options)
    finish(result)
    result.model_size = model.size()
    result.layer_stats = {e.label: [s.__dict__.copy() for s in e.stats]
                          for e in model.applications}
    return result


def applies(task: Task, options: Options) -> bool:
    return True


def solve(task: Task, options: Options) -> Result:
    return solve_model(task.milp, options, envelope=task.shared)
