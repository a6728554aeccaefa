"""The small programs of Goebbels' (2021) layer-by-layer training, built with the
encoder's own pieces and solved by the solve stage.

Every program here fits one building block ``o = act(W x + c)`` of a network:

- :func:`neuron_weights` - the weights of one neuron with the inputs fixed: the
  MILP of eqs. 1-6 (l1 error to the targets, the report's objective 2) for a
  ReLU neuron, the LP of eqs. 7-8 for an output neuron (ReLU replaced by the
  identity, a negative output counting as a match for a zero target), or the
  post-processing LP of §2.3 (slacks ``0 <= s <= 0.49``, ``s <= delta``). The
  report notes that the layer's MILP splits into one MILP per neuron; each is
  built over the exact per-sample range of the pre-activation
  (:mod:`nnlang.encode.weights`), never wider than the report's ``M``.
- :func:`layer_inputs` - the input proposal of §2.2: the weights fixed, the
  inputs of one sample variable within eq. 9's bounds, the same objectives.

Each solve's answer is re-checked here by a numpy forward pass: the objective of
the returned weights or inputs is recomputed from the data, and a mismatch
beyond the solver's tolerance is an error, not a silent result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nnlang.encode import atoms
from nnlang.encode.affine import Aff, interval
from nnlang.encode.builder import Builder
from nnlang.encode.weights import encode_activation, encode_weight_layer, pre_activation
from nnlang.errors import SolverError
from nnlang.ir.milp import LinearObjective, MilpModel
from nnlang.ir.options import Options
from nnlang.solve.strategies.single import solve_model
from nnlang.training.layers import LayerParams

# the kinds of objective: l1 (eq. 2), the output layer's LP (eqs. 7-8) and the
# post-processing LP (§2.3)
L1, OUTPUT, POST = "l1", "output", "post"
SLACK = 0.49  # §2.3: deviations up to 0.49 keep zeros and ones of the targets apart


@dataclass
class Solved:
    """One program's answer: the values (weights then bias, or inputs), the
    objective recomputed by the forward pass, and how the solve went."""

    value: np.ndarray
    objective: float
    status: str
    seconds: float
    size: dict = field(default_factory=dict)
    bound: float | None = None


EQ9 = (0.1, 0.1)  # eq. 9's relative and absolute move of a proposed input


def error(kind: str, out: np.ndarray, target: np.ndarray) -> float:
    """The objective of ``kind`` for outputs ``out`` (post-activation for ``l1``,
    pre-activation otherwise) against ``target``, computed by numpy."""
    out, target = np.asarray(out, float), np.asarray(target, float)
    if kind == L1:
        return float(np.abs(out - target).sum())
    # eq. 8: delta+ only where the target is 0, |.| where it is 1
    delta = np.where(target > 0.5, np.abs(out - target), np.maximum(out - target, 0.0))
    if kind == OUTPUT:
        return float(delta.sum())
    return float(np.maximum(delta - SLACK, 0.0).sum())


def _hinge(b: Builder, err: Aff, target: np.ndarray) -> Aff:
    """``delta`` of eq. 8 per entry: ``delta >= err``, plus ``delta >= -err`` where
    the target is 1; ``delta >= 0`` (the report's delta+ and delta-)."""
    m = err.size
    ones = target.ravel() > 0.5
    lo, hi = interval(err.padded(b.n), *b.column_bounds())
    top = np.maximum(np.maximum(hi, -lo), 0.0)
    d = b.add_block(b.fresh("delta", None), (m,), "continuous", np.zeros(m), top, "aux")
    n = b.n
    D = sp.csr_matrix((np.ones(m), (np.arange(m), d.offset + np.arange(m))), shape=(m, n))
    A = err.padded(n).A
    b.add_rows("delta.pos", (D - A).tocsr(), err.c, np.full(m, np.inf), "aux")
    idx = np.flatnonzero(ones)
    if idx.size:
        b.add_rows("delta.neg", (D + A)[idx].tocsr(), -err.c[idx], np.full(idx.size, np.inf),
                   "aux")
    return Aff.columns(d.offset, m, n, (m,))


def _slack(b: Builder, delta: Aff) -> Aff:
    """§2.3: ``0 <= s <= 0.49``, ``s <= delta``; returns ``delta - s``."""
    m = delta.size
    s = b.add_block(b.fresh("slack", None), (m,), "continuous", np.zeros(m),
                    np.full(m, SLACK), "aux")
    S = Aff.columns(s.offset, m, b.n, (m,))
    gap = delta.padded(b.n) - S
    b.add_rows("slack.le", gap.A, -gap.c, np.full(m, np.inf), "aux")
    return gap


def _objective_terms(b: Builder, kind: str, out: Aff, target: np.ndarray) -> Aff:
    err = out - Aff.const(target.reshape(out.shape), b.n)
    if kind == L1:
        return atoms.encode_abs(b, err, None)
    delta = _hinge(b, err, target)
    return delta if kind == OUTPUT else _slack(b, delta)


def _l1_terms(b: Builder, pre: Aff, target: np.ndarray, big_m: float | None) -> Aff:
    """``|relu(p) - t|`` per entry, with a binary only where ``t > 0``.

    Where the target is 0 the error is ``relu(p)`` itself, a convex function of the
    weights: the epigraph ``e >= p, e >= 0`` is exact under minimization (the
    report's eqs. 4-6 spend a binary on it). Targets of hidden layers are ReLU
    outputs, so many are 0."""
    t = target.ravel()
    zero = np.flatnonzero(t <= 0)
    pos = np.flatnonzero(t > 0)
    parts = []
    if zero.size:
        parts.append((zero, _hinge(b, pre.rows(zero, (zero.size,)), np.zeros(zero.size))))
    if pos.size:
        block, _ = encode_activation(b, "o", pre.rows(pos, (pos.size,)), "relu", big_m)
        o = Aff.columns(block.offset, pos.size, b.n, (pos.size,))
        parts.append((pos, atoms.encode_abs(b, o - Aff.const(t[pos], b.n), None)))
    A = sp.vstack([q.padded(b.n).A for _, q in parts], format="csr")
    c = np.concatenate([q.c for _, q in parts])
    return Aff(A, c, (A.shape[0],))


def _model(b: Builder, terms: Aff) -> MilpModel:
    terms = terms.padded(b.n)
    c = np.asarray(terms.A.sum(axis=0)).ravel()
    return b.model(LinearObjective("minimize", c, float(terms.c.sum())))


def _solve(model: MilpModel, options: Options, what: str) -> tuple[np.ndarray, object]:
    result = solve_model(model, options)
    if result.point is None or result.status not in ("optimal", "time_limit"):
        raise SolverError(f"{what}: {result.status}"
                          + (f" ({result.message})" if result.message else ""))
    return result.point[1], result


def _placed(T: sp.csr_matrix, offset: int, n: int) -> sp.csr_matrix:
    """``T`` (over the parameters) as rows over the model's columns from ``offset``."""
    T = T.tocsr()
    return sp.csr_matrix((T.data, T.indices + offset, T.indptr), shape=(T.shape[0], n))


def report_big_m(X: np.ndarray) -> float:
    """Goebbels' (2021) constant ``M = d (1.1 M~ + 0.1) + 1`` (weights in [-1, 1])."""
    return X.shape[1] * (1.1 * float(np.max(X, initial=0.0)) + 0.1) + 1.0


def weight_model(X: np.ndarray, target: np.ndarray, params: LayerParams, kind: str,
                 options: Options, start: np.ndarray | None = None,
                 big_m: float | None = None,
                 exact_zeros: bool = True) -> tuple[MilpModel, int]:
    """The program for the parameters of a group of neurons (``params``, see
    :mod:`nnlang.training.layers`) over the samples ``X`` (m x d) and the targets
    (m x the group's neurons); returns the model and the offset of the parameters.
    The big-M constants are the exact per-sample ranges, or ``big_m`` for all (to
    compare with the report's :func:`report_big_m`). ``exact_zeros``: no binary
    where a target is 0 (:func:`_l1_terms`); off, every sample has one, as in the
    report's eqs. 4-6."""
    X = np.asarray(X, float)
    m = X.shape[0]
    g, d = params.n_out, params.n_in
    b = Builder(options)
    theta = b.add_block("w", (params.size,), "continuous", params.lo, params.hi, "user")
    k = g * d
    T = params.T.tocsr()
    W = Aff(_placed(T[:k], theta.offset, b.n), np.zeros(k), (g, d))
    bias = Aff(_placed(T[k:], theta.offset, b.n), np.zeros(g), (g,))
    target = np.asarray(target, float).reshape(m, g)
    if kind == L1 and exact_zeros:
        terms = _l1_terms(b, pre_activation(X, W, bias, b.n), target, big_m)
    else:
        act = "relu" if kind == L1 else "linear"
        out, _ = encode_weight_layer(b, "o", X, W, bias, act, big_m)
        o = Aff.columns(out.offset, m * g, b.n, (m, g))
        terms = _objective_terms(b, kind, o, target)
    model = _model(b, terms)
    if start is not None:
        s = np.clip(np.asarray(start, float), params.lo, params.hi)
        model.start = (theta.offset + np.arange(params.size), s)
    return model, theta.offset


def group_weights(X: np.ndarray, target: np.ndarray, params: LayerParams, kind: str,
                  options: Options, start: np.ndarray | None = None,
                  big_m: float | None = None, exact_zeros: bool = True) -> Solved:
    """Solve :func:`weight_model`; the answer's objective is recomputed by numpy.
    ``Solved.value`` is the parameter vector."""
    model, offset = weight_model(X, target, params, kind, options, start, big_m,
                                 exact_zeros)
    x, result = _solve(model, options, "weight program")
    theta = np.clip(x[offset: offset + params.size], params.lo, params.hi)
    W, bias = params.weights(theta)
    pre = np.asarray(X, float) @ W.T + bias
    out = np.maximum(pre, 0.0) if kind == L1 else pre
    value = error(kind, out, np.asarray(target, float).reshape(out.shape))
    _agrees(value, result, "weight program")
    return Solved(theta, value, result.status, result.solve_seconds or 0.0, model.size(),
                  result.bound)


def input_model(W: np.ndarray, bias: np.ndarray, x_lo: np.ndarray, x_hi: np.ndarray,
                target: np.ndarray, kind: str, options: Options) -> tuple[MilpModel, int]:
    """§2.2 for one sample: inputs ``x_lo <= x <= x_hi`` (eq. 9), the layer's weights
    ``W`` (n x d) and bias fixed; ReLU outputs for ``l1``, the identity otherwise."""
    d = W.shape[1]
    b = Builder(options)
    x = b.add_block("x", (d,), "continuous", x_lo, x_hi, "user")
    X = Aff.columns(x.offset, d, b.n, (d,))
    pre = Aff(sp.csr_matrix(W) @ X.A, W @ X.c + bias, (W.shape[0],))
    if kind == L1:
        block, _ = encode_activation(b, "o", pre, "relu")
        out = Aff.columns(block.offset, block.size, b.n, pre.shape)
    else:
        out = pre
    return _model(b, _objective_terms(b, kind, out, target)), x.offset


def layer_inputs(W: np.ndarray, bias: np.ndarray, x_now: np.ndarray, target: np.ndarray,
                 kind: str, options: Options, box: tuple[float, float] = EQ9) -> Solved:
    """The input proposal of §2.2 for one sample whose current input is ``x_now``:
    ``max(0, 0.9 x~ - 0.1) <= x <= 1.1 x~ + 0.1`` (eq. 9; ``box`` = its 0.1, 0.1)."""
    x_lo, x_hi = proposal_bounds(x_now, box)
    model, offset = input_model(W, bias, x_lo, x_hi, target, kind, options)
    x, result = _solve(model, options, "input proposal")
    value = np.clip(x[offset: offset + W.shape[1]], x_lo, x_hi)
    pre = W @ value + bias
    out = np.maximum(pre, 0.0) if kind == L1 else pre
    objective = error(kind, out, target)
    _agrees(objective, result, "input proposal")
    return Solved(value, objective, result.status, result.solve_seconds or 0.0, model.size(),
                  result.bound)


def proposal_bounds(x_now: np.ndarray, box: tuple[float, float] = EQ9
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 9: ``max(0, 0.9 x~ - 0.1) <= x <= 1.1 x~ + 0.1``; ``box = (r, a)`` gives
    ``max(0, (1 - r) x~ - a) <= x <= (1 + r) x~ + a``."""
    r, a = box
    x_now = np.asarray(x_now, float)
    return np.maximum(0.0, (1 - r) * x_now - a), (1 + r) * x_now + a


def _agrees(value: float, result, what: str) -> None:
    """The forward pass's objective against the solver's (its tolerances allow a
    little slack per sample)."""
    if result.objective is None:
        return
    tol = 1e-5 * (1.0 + abs(value)) + 1e-6 * max(result.model_size.get("constraints", 0), 1)
    if abs(value - result.objective) > max(tol, 1e-4 * (1.0 + abs(value))):
        raise SolverError(f"{what}: the forward pass gives objective {value:.9g}, the solver "
                          f"{result.objective:.9g}")
