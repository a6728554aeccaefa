"""The complementarity ReLU encoding (the WBO master's thesis eqs. 4.15-4.17), for MINLP solvers.

Same x, s, z and ``p = x - s`` rows as big-M; instead of the big-M rows, per
unstable neuron the products

    x * (1 - z) <= 0        s * z <= 0

(z = 1 means active). The rows are kept as conditional rows (``z = 0 -> x <= 0``,
``z = 1 -> s <= 0``) with role ``complementarity``; the AMPL emitter writes them
as the nonlinear products above. No linear format or backend takes them.
"""

from __future__ import annotations

from nnlang.encode.indicator import conditional_rows
from nnlang.encode.layers import ReluLayer

ROLE = "complementarity"


def encode_relu(builder, name: str, layer: ReluLayer):
    """Add one ReLU layer with complementarity rows; returns the x block."""
    return conditional_rows(builder, name, layer, ROLE)
