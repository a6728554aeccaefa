"""Lower a ``MilpModel`` to a ``cvxpy.Problem`` in matrix form.

One ``cvxpy.Variable`` per variable block (named after it) and at most three
constraints (equalities, upper rows, lower rows) over the stacked columns, so
CVXPY sees a few large sparse matrices, never per-neuron objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from nnlang.errors import UnsupportedError
from nnlang.ir.milp import MilpModel, VarBlock


@dataclass(eq=False)
class CvxpyModel:
    problem: cp.Problem
    variables: dict[str, cp.Variable]  # block name -> variable (non-empty blocks)
    blocks: list[VarBlock]

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


def to_cvxpy(model: MilpModel) -> CvxpyModel:
    """Build the CVXPY problem of ``model``."""
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
    return CvxpyModel(problem, variables, model.blocks)
