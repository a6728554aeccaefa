"""nnlang inside the user's own CVXPY model: ``embed(network, x, lower, upper)``.

The peers' core API (OMLT's ``OmltBlock``, gurobi-machinelearning's
``add_predictor_constr``) for CVXPY users: a trained network and a CVXPY expression for
its input, with finite bounds, give the network's output as a CVXPY expression and the
constraints that make it exact, to add to any problem the user builds::

    x = cp.Variable(8)
    e = nnlang.embed(net, x, lower, upper)
    cost = e.output[0] + 0.1 * cp.sum(x)
    cp.Problem(cp.Minimize(cost), e.constraints + [x[0] + x[1] <= 1]).solve("HIGHS")

It is the same pipeline as a spec: the network goes through nnlang's checker, neuron
bounds (``bounds=``, as the spec option) and ReLU encoding (``encoding=``), and the
matrix-form model is lowered by the CVXPY backend; the only addition is one equality
tying nnlang's copy of the input to the user's expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.api import CompiledModel, compile
from nnlang.errors import DataError
from nnlang.networks.load import load_network
from nnlang.networks.network import Network

SPEC = """network net
param lo[{n}]
param hi[{n}]
var x[{n}] in [lo, hi]
y = net(x)
"""


@dataclass(eq=False)
class Embedding:
    """A network encoded for a CVXPY problem.

    Attributes:
        output: the network output, a CVXPY expression of shape ``(n_out,)`` (a
            classifier's logits when it was read with ``output="logits"``).
        constraints: the constraints that make ``output`` the network's value at the
            input; add them all to the problem.
        input: nnlang's copy of the (flattened) input, equal to the user's expression.
        layers: every layer's post-activation values, first hidden layer first.
        model: the compiled model behind it (``model.milp``: the matrix form).
    """

    network: Network
    output: Any
    constraints: list
    input: Any
    layers: list
    model: CompiledModel

    def predict(self) -> np.ndarray:
        """The numpy forward pass at the solved input (a check of ``output.value``)."""
        if self.input.value is None:
            raise ValueError("the problem has not been solved")
        return self.network.predict(np.asarray(self.input.value, dtype=float))


def embed(network: Network | str | Path, x: Any, lower: Any = None, upper: Any = None,
          **options: Any) -> Embedding:
    """Encode ``network`` applied to the CVXPY expression ``x``.

    Args:
        network: an ``nnlang.Network`` (``Network.from_sklearn``, ``from_torch``,
            ``from_onnx``) or the path of an ``.onnx`` / ``.npz`` file.
        x: a CVXPY expression with as many entries as the network has inputs (read in
            row-major order).
        lower, upper: finite bounds on ``x`` (scalars or arrays); if omitted, those of
            ``x`` when it is a ``cp.Variable`` made with ``bounds=[lower, upper]``.
        **options: ``encoding``, ``bounds``, ``bounds_args`` as in a spec's options
            block (the neuron bounds come from the input box).
    """
    import cvxpy as cp

    if not isinstance(network, Network):
        network = load_network(Path(network))
    n = network.n_in
    if int(np.prod(x.shape)) != n:
        raise DataError(f"embed: the network takes {n} inputs, the expression has shape "
                        f"{tuple(x.shape)}")
    if lower is None and upper is None and isinstance(x, cp.Variable):
        given = x.attributes.get("bounds")
        lower, upper = given if given is not None else (None, None)
    if lower is None or upper is None:
        raise DataError("embed: give finite lower and upper bounds for the network input "
                        "(the exact ReLU encoding needs them)")
    lo = np.broadcast_to(np.asarray(lower, dtype=float), x.shape).ravel()
    hi = np.broadcast_to(np.asarray(upper, dtype=float), x.shape).ravel()
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise DataError("embed: the input bounds must be finite (the exact ReLU encoding "
                        "needs them)")
    model = compile(text=SPEC.format(n=n), path="<embed>", networks={"net": network},
                    params={"lo": lo, "hi": hi}, **options)
    cvx = model.cvxpy
    app = model.milp.applications[0]
    layers = [cvx.variables[block.name] for block in app.layers]
    copy = cvx.variables["x"]
    flat = x if x.shape == (n,) else cp.reshape(x, (n,), order="C")
    constraints = [*cvx.problem.constraints, copy == flat]
    return Embedding(network, layers[-1], constraints, copy, layers, model)
