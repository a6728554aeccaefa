"""Neuron bounds: pure functions over (lower, upper) arrays."""

from nnlang.bounds.interval import affine_bounds, interval_bounds

METHODS = {"interval": interval_bounds}

__all__ = ["METHODS", "affine_bounds", "interval_bounds"]
