"""The indicator ReLU encoding (Zhu (2021) eqs. 8-9), for solvers that take indicators.

Same x, s, z and ``p = x - s`` rows as big-M; instead of the big-M rows, per
unstable neuron (z = 1 means active, as everywhere in nnlang; Zhu (2021) writes
the opposite convention):

    z = 0  ->  x <= 0
    z = 1  ->  s <= 0

The bounds of x and s stay as column bounds (the solver may use them as its
own big-M). CPLEX and Gurobi read these from the LP file; SCIP too; HiGHS,
GLPK and the in-process CVXPY backend cannot, and refuse the model up front.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from nnlang.encode.bigm import relu_columns
from nnlang.encode.layers import ReluLayer

ROLE = "indicator"


def conditional_rows(builder, name: str, layer: ReluLayer, role: str):
    """Add ``z = 0 -> x <= 0`` and ``z = 1 -> s <= 0`` rows with ``role``."""
    x, s, z, iu = relu_columns(builder, name, layer)
    nu, n = iu.size, builder.n
    r = np.arange(nu)
    zcols = z.offset + r
    off = sp.csr_matrix((np.ones(nu), (r, x.offset + iu)), shape=(nu, n))
    builder.add_rows(f"{name}.off", off, np.full(nu, -np.inf), np.zeros(nu), role,
                     when=(zcols, np.zeros(nu, dtype=int)))
    on = sp.csr_matrix((np.ones(nu), (r, s.offset + r)), shape=(nu, n))
    builder.add_rows(f"{name}.on", on, np.full(nu, -np.inf), np.zeros(nu), role,
                     when=(zcols, np.ones(nu, dtype=int)))
    return x


def encode_relu(builder, name: str, layer: ReluLayer):
    """Add one ReLU layer with indicator rows; returns the x block."""
    return conditional_rows(builder, name, layer, ROLE)
