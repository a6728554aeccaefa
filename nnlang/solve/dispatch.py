"""``solve(task, options)``: the one place that picks how a model is solved.

The options are the spec's, overridden by the caller's, with the encoding's native
hints underneath the caller's (``MilpModel.solver_args``). The strategy is the first
entry of ``nnlang.registry.STRATEGIES`` whose switch is on and that applies. Unless
``options.attack`` is off, the attacks (:mod:`nnlang.solve.attack`) look for a checked
point first, within a share of the time limit: the strategy starts from it, and a
solve that ends without a better one returns it.
"""

from __future__ import annotations

import time

from nnlang import registry
from nnlang.ir.options import Options
from nnlang.solve import attack
from nnlang.solve.results import Result
from nnlang.solve.strategies import outer
from nnlang.solve.strategies.single import OUTER, route
from nnlang.solve.task import Task


def effective_options(task: Task, options: Options) -> Options:
    """``options`` with the encoding's native hints under the caller's."""
    hints = task.milp.solver_args
    if not hints:
        return options
    merged = {k: {**v, **options.solver_args.get(k, {})} for k, v in hints.items()}
    return options.updated(solver_args={**options.solver_args, **merged})


def choose(task: Task, options: Options) -> str:
    """The name of the strategy :func:`solve` runs."""
    for name, entry in registry.STRATEGIES.items():
        if entry.switch is not None and not getattr(options, entry.switch):
            continue
        if registry.load(entry).applies(task, options):
            return name
    raise AssertionError("the 'single' strategy always applies")  # pragma: no cover


def solve(task: Task, options: Options) -> Result:
    """Solve ``task`` with ``options`` (already merged with the spec's)."""
    options = effective_options(task, options)
    if task.shared is None and route(task.milp, options) == OUTER:
        # a sum of squares with HiGHS: tangents shared by every model of this solve
        task.shared = outer.Envelope.for_model(task.milp)
    name = choose(task, options)
    spent = 0.0
    if options.attack and task.incumbent is None and attack.applies(task.milp):
        t = time.perf_counter()
        task.incumbent = attack.find(task.milp, options)
        spent = time.perf_counter() - t
        if task.incumbent is not None and attack.feasibility(task.milp):
            result = attack.answer(task.milp, task.incumbent, "optimal", 0.0)
            result.solve_seconds = spent
            return attack.settle(task.milp, result, task.incumbent)
        if options.time_limit is not None:
            options = options.updated(time_limit=max(options.time_limit - spent, 0.05))
        if task.incumbent is not None and task.milp.start is None:
            task.milp = attack.start_for(task.milp, task.incumbent)
    result = registry.load(registry.STRATEGIES[name]).solve(task, options)
    result.solve_seconds += spent
    return attack.settle(task.milp, result, task.incumbent)
