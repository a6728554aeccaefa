"""From a solver's column values to a checked answer: user variables snapped onto
their bounds and integers, integer models polished by an LP with the integers fixed,
values mapped back to the spec's names, and every network application re-checked
by the numpy forward pass."""

from __future__ import annotations

import highspy
import numpy as np

from nnlang.highs_objects import relax_integers
from nnlang.ir.milp import MilpModel
from nnlang.solve.backends.highs import milp_to_highs
from nnlang.solve.results import FORWARD_GAP_WARN, NetworkResult, Result, relative_gap

# a user variable within this of a bound or (integer) of an integer is reported there
SNAP = 1e-6


def snap_user_values(model: MilpModel, x: np.ndarray) -> np.ndarray:
    """``x`` with each user variable moved onto its bound or, if integer, onto the
    nearest integer where the solver left it within its tolerance (``SNAP``) of
    one: a pixel of -2.8e-17 in ``[0, 1]`` is 0, an integer of 2.9999997 is 3.
    Anything farther is left for the checks to report."""
    x = np.array(x, dtype=float, copy=True)
    for block in model.blocks:
        if block.role != "user":
            continue
        v = x[block.cols]
        if block.kind in ("integer", "binary"):
            r = np.round(v)
            v = np.where(np.abs(v - r) <= SNAP, r, v)
        v = np.where((v < block.lb) & (v >= block.lb - SNAP), block.lb, v)
        v = np.where((v > block.ub) & (v <= block.ub + SNAP), block.ub, v)
        x[block.cols] = v
    return x


def polish(model: MilpModel, x: np.ndarray, objective: float) -> tuple[np.ndarray, float] | None:
    """For a linear model with integer user variables: the LP with every integer
    column fixed at its rounded value in ``x``, solved by HiGHS, so that the
    continuous columns agree with exact integers (a MILP solver leaves integers
    within 1e-6 of integral, and the objective with them: 8.999999 for 9). Its
    point and objective, or None if that LP is not optimal or its objective is
    not within 1e-6 (relative) of ``objective``."""
    if model.objective.quad or model.conditional_rows or not any(
            b.role in ("user", "integer_entries") and b.kind in ("integer", "binary")
            for b in model.blocks):
        return None
    ints = model.integer_columns()
    h, sign = milp_to_highs(model, False)
    relax_integers(h, ints, np.round(x[ints]))
    h.setOptionValue("time_limit", 5.0)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    value = sign * float(h.getInfo().objective_function_value)
    if abs(value - objective) > 1e-6 * (1.0 + abs(objective)):
        return None
    return np.asarray(h.getSolution().col_value, dtype=float), value


def polished(model: MilpModel, x: np.ndarray, result: Result) -> np.ndarray:
    """``x`` after :func:`polish` where it applies, with ``result``'s objective and
    gap moved to the polished point's."""
    polished = polish(model, x, result.objective)
    if polished is None:
        return x
    x, result.objective = polished
    if result.bound is not None:
        result.gap = relative_gap(result.objective, result.bound)
    return x


def take_solution(model: MilpModel, x: np.ndarray, result: Result) -> None:
    """The user's variables from the column values ``x`` (:func:`snap_user_values`),
    re-checked by the forward pass at those values."""
    x = snap_user_values(model, x)
    for block in model.blocks:
        if block.role == "user":
            result.values[block.name] = x[block.cols].reshape(block.shape)
    check_solution(model, x, result)



def finish(result: Result) -> Result:
    """``result`` with its ``point`` (a backend's column values) polished, mapped
    back to the user's variables and checked by the forward pass."""
    if result.point is not None:
        model, x = result.point
        take_solution(model, polished(model, x, result), result)
    return result


def check_solution(model: MilpModel, x: np.ndarray, result: Result) -> None:
    """Re-check ``x`` with the numpy forward pass and the rows; fills ``result``."""
    gaps = [0.0]
    for enc in model.applications:
        x0 = enc.input_A @ x + enc.input_c
        fwd = enc.network.forward(x0)
        milp_layers = [x0] + [x[b.cols] for b in enc.layers]
        gap = 0.0
        for a, f in zip(milp_layers[1:], fwd[1:]):
            scale = max(1.0, float(np.max(np.abs(f), initial=0.0)))
            gap = max(gap, float(np.max(np.abs(a - f), initial=0.0)) / scale)
        net = enc.network
        result.networks[enc.label] = NetworkResult(enc.label, milp_layers, fwd, gap, net.kind,
                                                   net.classes)
        gaps.append(gap)
    for enc in model.weight_applications:
        fwd = enc.network_at(x).forward(enc.X)
        milp_layers = [(A @ x + c).reshape(f.shape) for (A, c), f in zip(enc.layers, fwd)]
        gap = 0.0
        for a, f in zip(milp_layers[1:], fwd[1:]):
            scale = max(1.0, float(np.max(np.abs(f), initial=0.0)))
            gap = max(gap, float(np.max(np.abs(a - f), initial=0.0)) / scale)
        result.networks[enc.label] = NetworkResult(enc.label, milp_layers, fwd, gap)
        gaps.append(gap)
    result.forward_gap = max(gaps)
    if result.forward_gap > FORWARD_GAP_WARN:
        result.warnings.append(
            f"the MILP's layer values differ from the numpy forward pass by up to "
            f"{result.forward_gap:.2e} (relative): the solver's tolerances or the bounds "
            f"are loose; do not trust this solution blindly")
    viol = 0.0
    for row in model.rows:
        ax = row.A @ x
        with np.errstate(invalid="ignore"):
            v = np.maximum(np.nan_to_num(row.lo - ax, nan=0.0, neginf=0.0),
                           np.nan_to_num(ax - row.hi, nan=0.0, neginf=0.0))
        viol = max(viol, float(np.max(v, initial=0.0)))
    lb, ub = model.column_bounds()
    viol = max(viol, float(np.max(np.maximum(lb - x, x - ub), initial=0.0)))
    result.max_violation = viol
    for name, e, t in model.approximations:
        exact = float(np.sum(np.square(e.A @ x + e.c)))
        approx = float(np.sum(x[t.cols]))
        gap = (approx - exact) / exact if exact > 1e-12 else 0.0
        result.approximations[name] = {"approx": approx, "exact": exact, "bound_gap": gap}
