"""Neuron bounds: pure functions over (lower, upper) arrays."""

from nnlang.bounds.interval import affine_bounds, interval_bounds
from nnlang.bounds.lp import lp_bounds
from nnlang.bounds.milp import milp_bounds
from nnlang.bounds.symbolic import BoundsResult, symbolic_bounds

METHODS = {"interval": interval_bounds, "symbolic": symbolic_bounds, "lp": lp_bounds,
           "milp": milp_bounds}

__all__ = ["METHODS", "BoundsResult", "affine_bounds", "interval_bounds", "lp_bounds",
           "milp_bounds", "symbolic_bounds"]
