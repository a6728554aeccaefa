"""Explain an infeasible problem: which named constraints cannot hold together.

A deletion filter over the user's constraint blocks: drop one block at a time
and keep it out if the rest is still infeasible. What remains is an
irreducible set of constraint names (at block level). Every test solve uses
the same encoding and a short time limit, so an answer is never guessed: a
block whose test timed out is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nnlang.errors import Span
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.solve.strategies.single import solve_model


@dataclass
class Diagnosis:
    names: list[str]  # an irreducible infeasible set of constraint names
    span: Span | None
    complete: bool  # False if a test solve hit its time limit

    def message(self) -> str:
        if not self.names:
            return ("the problem is infeasible even without its constraints: the variable "
                    "bounds, fixed values or integrality leave no feasible input")
        quoted = ", ".join(f"'{n}'" for n in self.names)
        if len(self.names) == 1:
            text = f"the problem is infeasible: constraint {quoted} cannot be met"
        else:
            text = (f"the problem is infeasible: constraints {quoted} cannot hold together "
                    f"(dropping any one of them makes it feasible)")
        if not self.complete:
            text += " (diagnosis incomplete: some test solves hit their time limit)"
        return text


def _status(milp: MilpModel, names: set[str], options: Options) -> str:
    rows = [r for r in milp.rows if r.role != "user" or r.name in names]
    sub = replace(milp, rows=rows)
    sub.objective = replace(milp.objective, c=milp.objective.c * 0, quad=[], constant=0.0)
    return solve_model(sub, options).status


def diagnose_infeasible(milp: MilpModel, options: Options, per_solve: float = 10.0,
                        max_blocks: int = 12) -> Diagnosis | None:
    """Find an irreducible infeasible set of constraint names, or None if too many."""
    order: list[str] = []
    spans: dict[str, Span | None] = {}
    for row in milp.rows:
        if row.role == "user" and row.name not in spans:
            order.append(row.name)
            spans[row.name] = row.span
    if len(order) > max_blocks:
        return None
    opts = options.updated(time_limit=min(per_solve, options.time_limit or per_solve))
    keep = set(order)
    complete = True
    if _status(milp, set(), opts) == "infeasible":
        return Diagnosis([], None, True)
    for name in order:
        status = _status(milp, keep - {name}, opts)
        if status == "infeasible":
            keep.discard(name)
        elif status not in ("optimal", "unbounded"):
            complete = False
    names = [n for n in order if n in keep]
    return Diagnosis(names, spans[names[0]] if names else None, complete)
