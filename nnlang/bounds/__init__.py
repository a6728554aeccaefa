"""Neuron bounds: pure functions over (lower, upper) arrays.

The methods a spec may name are ``nnlang.registry.BOUND_METHODS``; :func:`method`
returns one's function.
"""

from collections.abc import Callable

from nnlang import registry


def method(name: str) -> Callable:
    """The function of bound method ``name`` (``nnlang.registry.BOUND_METHODS``)."""
    return registry.load(registry.BOUND_METHODS[name])


__all__ = ["method"]
