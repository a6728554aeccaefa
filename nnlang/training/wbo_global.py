"""The WBO problem solved globally by SCIP (pyscipopt): the exact-ReLU MINLP
(the WBO master's thesis, eqs. 3.7-3.9) and the misclassification count
(eqs. 3.16-3.18), for tiny instances.

Every weight and bias is a variable in ``[-B, B]`` (``weight_bound``); a layer's
pre-activation is ``t = W x + b``, linear in the variables for the first layer
(``x`` is data) and a sum of products of variables after it, which SCIP takes as
nonconvex quadratic rows. The ReLU ``x = max(t, 0)`` is written with the
thesis' split ``t = x - s`` (3.5) and a binary ``z`` per neuron and sample whose
implications (3.9) become big-M rows over interval bounds of ``t``, or, for the
hyperbolic ReLU, as the equation ``2 x - t = sqrt(t^2 + eps)``.

The misclassification count: eq. 3.17 as printed, ``(x_i)_{y_i} <= z_i (x_i)_j +
M (1 - z_i)``, leaves ``z_i = 0`` unconstrained, so minimizing ``sum z_i`` would
set every ``z_i = 0``; nnlang writes the implication the text means, ``z_i = 0 ->
(x_i)_{y_i} >= (x_i)_j + margin`` for every other class ``j``, as
``(x_i)_j - (x_i)_{y_i} + margin <= M z_i``: a sample counts as correct only if
its class wins by ``margin``.
"""

from __future__ import annotations

import time

import numpy as np

from nnlang.errors import NnlangError, SolverError
from nnlang.training.wbo import Problem, Solution, forward


def interval_bounds(problem: Problem) -> list[np.ndarray]:
    """Per layer, ``U`` with ``|t| <= U`` for every sample's pre-activations when
    ``|w|, |b| <= B``: ``U = B (sum_l max|x_l| + 1)``, the same for each neuron of a
    layer (every weight has the same box)."""
    B = float(problem.weight_bound)
    reach = np.abs(problem.X).max(axis=0)  # max |x0_l| over the samples
    out = []
    for (n_out, _), act in zip(problem.shapes, problem.activations):
        U = B * (reach.sum() + 1.0)
        out.append(np.full(n_out, U))
        top = U + (np.sqrt(problem.eps) if problem.relu == "hyperbolic" else 0.0)
        reach = np.full(n_out, top)
    return out


def build(problem: Problem):
    """The pyscipopt model and its weight variables ``[(W, b), ...]``."""
    try:
        import pyscipopt as scip
    except ImportError:
        raise SolverError("the global WBO models need SCIP: pip install pyscipopt") from None
    if problem.loss == "expected_correct":
        raise NnlangError("SCIP is not offered for loss \"expected_correct\" (exponentials "
                          "of every output): use relu = \"hyperbolic\" with IPOPT, or loss "
                          "\"misclassified\"")
    if problem.weight_bound is None or not problem.weight_bound > 0:
        raise NnlangError("the global WBO models need weight_bound > 0")
    B = float(problem.weight_bound)
    m = scip.Model("wbo")
    m.hideOutput()
    params = []
    for k, (n_out, n_in) in enumerate(problem.shapes):
        W = [[m.addVar(f"W_{k}_{i}_{j}", lb=-B, ub=B) for j in range(n_in)]
             for i in range(n_out)]
        b = [m.addVar(f"b_{k}_{i}", lb=-B, ub=B) for i in range(n_out)]
        params.append((W, b))
    bounds = interval_bounds(problem)
    outputs = []
    for s, row in enumerate(problem.X):
        x = [float(v) for v in row]
        for k, ((W, b), act) in enumerate(zip(params, problem.activations)):
            nxt = []
            for i, U in enumerate(bounds[k]):
                t = m.addVar(f"t_{s}_{k}_{i}", lb=-U, ub=U)
                m.addCons(t == scip.quicksum(W[i][j] * x[j] for j in range(len(x))) + b[i])
                nxt.append(_activation(m, scip, t, U, act, problem, f"{s}_{k}_{i}"))
            x = nxt
        outputs.append(x)
    reg = scip.quicksum(v * v for W, b in params for row in W for v in row) \
        + scip.quicksum(v * v for _, b in params for v in b)
    if problem.loss == "squared":
        target = problem.targets()
        data = scip.quicksum((out[j] - float(target[s, j])) ** 2
                             for s, out in enumerate(outputs) for j in range(len(out)))
    else:
        data = _misclassified(m, scip, problem, outputs, bounds[-1])
    obj = m.addVar("objective", lb=0.0 if problem.loss == "squared" else None, ub=None)
    m.addCons(obj >= data + problem.lam * reg)
    m.setObjective(obj, "minimize")
    return m, params, [v for v in m.getVars() if v.name.startswith("miss_")]


def _activation(m, scip, t, U: float, act: str, problem: Problem, tag: str):
    if act == "linear":
        return t
    if problem.relu == "hyperbolic":
        x = m.addVar(f"x_{tag}", lb=0.0, ub=U + np.sqrt(problem.eps))
        m.addCons(2 * x - t == scip.sqrt(t * t + problem.eps))
        return x
    x = m.addVar(f"x_{tag}", lb=0.0, ub=U)
    s = m.addVar(f"s_{tag}", lb=0.0, ub=U)
    z = m.addVar(f"z_{tag}", vtype="B")
    m.addCons(t == x - s)  # (3.5)
    m.addCons(x <= U * z)  # z = 0 -> x <= 0   (3.9, with z = 1 the active side)
    m.addCons(s <= U * (1 - z))  # z = 1 -> s <= 0
    return x


def _misclassified(m, scip, problem: Problem, outputs, U_out: np.ndarray):
    z_all = []
    for s, out in enumerate(outputs):
        c = int(problem.y[s])
        z = m.addVar(f"miss_{s}", vtype="B")
        z_all.append(z)
        lo = 0.0 if problem.activations[-1] == "relu" else -U_out
        for j in range(len(out)):
            if j != c:
                big_m = float(np.max(U_out - lo)) + problem.margin
                m.addCons(out[j] - out[c] + problem.margin <= big_m * z)
    return scip.quicksum(z_all)


def solve_global(problem: Problem, time_limit: float = 300.0,
                 count_gap: float | None = None) -> Solution:
    """SCIP on the exact-ReLU or misclassification model; the best point found and
    SCIP's status and lower bound (optimal within SCIP's default gap when
    ``status == "optimal"``). ``count_gap`` (misclassified only, below 1): stop once
    the objective is within it of the lower bound, which proves that no weights
    misclassify fewer samples (the count is an integer and the regularization is
    >= 0), without closing the gap on the regularization term."""
    t0 = time.perf_counter()
    m, params, misses = build(problem)
    m.setParam("limits/time", float(time_limit))
    if count_gap is not None and problem.loss == "misclassified":
        m.setParam("limits/absgap", float(count_gap))
    m.optimize()
    status = m.getStatus()
    if m.getNSols() == 0:
        raise SolverError(f"SCIP found no solution ({status}) within {time_limit:g} s")
    sol = m.getBestSol()
    theta = np.concatenate([np.concatenate([np.array([[sol[v] for v in row] for row in W]).ravel(),
                                            np.array([sol[v] for v in b])])
                            for W, b in params])
    kind, solvers = problem.kind()
    out = Solution(theta, float(m.getSolObjVal(sol)), [], 0, time.perf_counter() - t0, kind,
                   solvers, status, float(m.getDualbound()))
    if misses:
        out.count = round(sum(sol[z] for z in misses))
    return out


def count_proved(solution: Solution) -> bool:
    """SCIP's lower bound shows that no weights make fewer than the solution's
    ``sum z_i`` (``solution.count``) samples miss the margin."""
    return solution.status == "optimal" or solution.bound > solution.count - 1 + 1e-9


def misclassified_count(problem: Problem, theta: np.ndarray, margin: float | None = None
                        ) -> int:
    """Samples whose right class does not win by ``margin`` (default the problem's;
    0: wrongly classified, ties counted as wrong) in the forward pass."""
    out = forward(problem, theta, smooth=problem.relu == "hyperbolic")
    y = problem.y.astype(int)
    right = out[np.arange(len(out)), y]
    others = out.copy()
    others[np.arange(len(out)), y] = -np.inf
    margin = problem.margin if margin is None else margin
    return int((others.max(axis=1) - right + margin >= 0).sum())
