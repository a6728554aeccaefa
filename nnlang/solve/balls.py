"""Neuron bounds over the objective's ball: every solution whose objective is at most
``v`` lies in the ball of radius ``v`` around the objective's centre (for minimal-
distance objectives, ``MilpModel.objective_ball``), where far more ReLUs are stable
than over the input box. Used by the radius search and the LP tightening."""

from __future__ import annotations

import numpy as np

from nnlang.bounds.region import Ball
from nnlang.bounds.symbolic import ordered, symbolic_bounds
from nnlang.encode.affine import Aff, interval
from nnlang.ir.milp import MilpModel


def input_balls(milp: MilpModel, value: float) -> dict[str, tuple[np.ndarray, np.ndarray, Ball]]:
    """Per application: its input box and the ball every solution with objective
    at most ``value`` lies in (``milp.objective_ball``), in network input coordinates.

    An input entry that is exactly one ball column (plus a constant) is centred
    at that column's centre (shifted); any other entry is left free in its box,
    which only enlarges the region (sound).
    """
    ob = milp.objective_ball
    if ob is None:
        return {}
    tol = 1e-6 * (1.0 + abs(value))
    radius = ob.radius(value + tol)
    centre_of = np.full(milp.n, np.nan)
    centre_of[ob.cols] = ob.center
    lb, ub = milp.column_bounds()
    out = {}
    for enc in milp.applications:
        A = enc.input_A.tocsr()
        lo, hi = interval(Aff(A, enc.input_c, (enc.input_c.size,)), lb, ub)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            continue
        single = np.diff(A.indptr) == 1
        rows = np.flatnonzero(single)
        col = A.indices[A.indptr[rows]]
        ok = A.data[A.indptr[rows]] == 1.0
        rows, col = rows[ok], col[ok]
        counts = np.bincount(col, minlength=milp.n)
        rows, col = rows[counts[col] == 1], col[counts[col] == 1]
        centre = np.full(enc.input_c.size, np.nan)
        centre[rows] = centre_of[col] + enc.input_c[rows]
        if np.isfinite(centre).any():
            out[enc.label] = (lo, hi, Ball(ob.norm, centre, radius))
    return out


def region_overrides(milp: MilpModel, value: float, overrides: dict | None = None) -> dict:
    """Symbolic bounds over the objective's ball of radius ``value`` (the incumbent),
    intersected with ``overrides``: sound for every solution at least as good."""
    out = {k: list(v) for k, v in (overrides or {}).items()}
    for label, (lo, hi, ball) in input_balls(milp, value).items():
        enc = next(e for e in milp.applications if e.label == label)
        try:
            bounds = symbolic_bounds(enc.network, lo, hi, ball)
        except ValueError:  # the ball misses the box: leave the bounds as they are
            continue
        old = out.get(label, enc.pre_bounds)
        out[label] = [ordered(np.maximum(L, oL), np.minimum(U, oU))
                      for (L, U), (oL, oU) in zip(bounds, old)]
    return out



def unstable_count(milp: MilpModel, overrides: dict) -> int:
    """Unstable ReLUs of every application under ``overrides`` (else its bounds)."""
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

    def __init__(self, milp: MilpModel):
        self.milp = milp
        self._cache: dict[float, dict] = {}

    def __call__(self, value: float) -> dict:
        if value not in self._cache:
            self._cache[value] = region_overrides(self.milp, value)
        return self._cache[value]

    def unstable(self, value: float) -> int:
        return unstable_count(self.milp, self(value))


