"""The weight and bias optimization (WBO) problem of the WBO master's thesis (a
master's thesis on training ReLU networks by weight-and-bias optimization and on
the inverse problem as a 0-1 MILP, with AMPL annexes), chapter 3:

    min  sum_i E_i(w, b) + lambda (||w||^2 + ||b||^2)                      (3.1)

with every layer's weights and biases variable, ``E_i`` the squared error of a
regression (3.11) or minus the softmax probability of the right class, whose
sum is the expected number of correctly classified samples (3.13), and each ReLU
replaced by its hyperbolic approximation ``(sqrt(t^2 + eps) + t) / 2`` (3.10).
The result is a smooth NLP; this module solves it with IPOPT (through casadi,
whose wheel bundles IPOPT and MUMPS) from several seeded starting points, the
thesis' multi-start, and keeps the best.

The in-process NLP is written in the reduced space: the layer outputs are
expressions of ``(w, b)``, not variables with equality constraints as in the
thesis' AMPL models (Annex I, :mod:`nnlang.training.wbo_ampl`). Both describe the same
function of ``(w, b)`` (the constraints define each ``x`` uniquely), and the
reduced form leaves IPOPT an unconstrained problem of a few hundred variables
instead of one with a variable and a row per sample and neuron.

Exact ReLUs with several variable layers make a nonconvex MINLP, and the
misclassification count (3.16-3.18) has a binary per sample: both go to SCIP,
:mod:`nnlang.training.wbo_global`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nnlang.errors import NnlangError, SolverError
from nnlang.networks.network import Dense, Network

LOSSES = ("squared", "expected_correct", "misclassified")
RELUS = ("hyperbolic", "exact")


@dataclass
class Problem:
    """A WBO instance: layer sizes ``[n0, n1, ..., nK]``, each layer's activation
    (``relu`` or ``linear``), the data and the model's constants."""

    sizes: list[int]
    activations: list[str]
    X: np.ndarray  # (samples, n0)
    y: np.ndarray  # (samples,) class indices, or (samples, nK) targets
    loss: str = "squared"
    lam: float = 0.01
    eps: float = 1e-3
    relu: str = "hyperbolic"
    margin: float = 1e-3  # misclassified: how much the right output must win by
    weight_bound: float | None = None  # |w|, |b| <= bound (needed by the global models)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return [(b, a) for a, b in zip(self.sizes[:-1], self.sizes[1:])]

    @property
    def n_params(self) -> int:
        return sum(o * i + o for o, i in self.shapes)

    def targets(self) -> np.ndarray:
        """Regression targets as (samples, nK)."""
        return np.asarray(self.y, float).reshape(len(self.X), -1)

    def kind(self) -> tuple[str, str]:
        """What the model is, and the solvers that take it."""
        variable_layers = len(self.shapes)
        if self.loss == "misclassified":
            return ("nonconvex MINLP (a binary per sample, eqs. 3.16-3.18)",
                    "SCIP (in-process, global), or BARON/Couenne from the AMPL files")
        if self.relu == "exact" and variable_layers > 1:
            return (("nonconvex MINLP (exact ReLUs with weights variable in several layers: "
                     "products of variables and a binary per neuron and sample)"),
                    ("SCIP (in-process, global, tiny instances), or BARON/Couenne from "
                     "the AMPL files"))
        if self.relu == "exact":
            return ("MIQP (exact ReLUs, one variable layer)", "SCIP (in-process), Gurobi")
        return ("smooth NLP (hyperbolic ReLU, eq. 3.10)",
                ("IPOPT (in-process, local, multi-start), or MINOS/IPOPT/KNITRO from the "
                 "AMPL files"))


def smooth_relu(t, eps: float, sqrt=np.sqrt):
    """The hyperbolic ReLU (3.10): above max(t, 0) by at most sqrt(eps)/2 (at t = 0)."""
    return 0.5 * (sqrt(t * t + eps) + t)


def unpack(problem: Problem, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``theta`` = W0 (row-major), b0, W1, b1, ...: the order of the AMPL ``W[k,i,j]``."""
    out, at = [], 0
    for n_out, n_in in problem.shapes:
        W = theta[at:at + n_out * n_in].reshape(n_out, n_in)
        at += n_out * n_in
        out.append((W, theta[at:at + n_out]))
        at += n_out
    return out


def pack(layers) -> np.ndarray:
    return np.concatenate([np.concatenate([np.ravel(W), np.ravel(b)]) for W, b in layers])


def forward(problem: Problem, theta: np.ndarray, X: np.ndarray | None = None,
            smooth: bool = True) -> np.ndarray:
    """The network's outputs, with the hyperbolic (``smooth``) or the exact ReLU."""
    x = problem.X if X is None else X
    for (W, b), act in zip(unpack(problem, theta), problem.activations):
        t = x @ W.T + b
        x = t if act == "linear" else (smooth_relu(t, problem.eps) if smooth
                                       else np.maximum(t, 0.0))
    return x


def objective(problem: Problem, theta: np.ndarray) -> float:
    """The smooth model's objective (3.11 or 3.14) at ``theta``, in numpy."""
    out = forward(problem, theta)
    reg = problem.lam * float(theta @ theta)
    if problem.loss == "squared":
        return float(((out - problem.targets()) ** 2).sum()) + reg
    e = np.exp(out)
    right = e[np.arange(len(out)), problem.y.astype(int)]
    return float(-(right / e.sum(axis=1)).sum()) + reg


def _casadi_objective(problem: Problem, ca):
    theta = ca.MX.sym("theta", problem.n_params)
    x = ca.DM(problem.X)
    at = 0
    for (n_out, n_in), act in zip(problem.shapes, problem.activations):
        # casadi reshapes column-major: the transpose of a row-major (n_out, n_in)
        Wt = ca.reshape(theta[at:at + n_out * n_in], n_in, n_out)
        at += n_out * n_in
        b = theta[at:at + n_out]
        at += n_out
        t = ca.mtimes(x, Wt) + ca.repmat(b.T, problem.X.shape[0], 1)
        x = t if act == "linear" else smooth_relu(t, problem.eps, ca.sqrt)
    reg = problem.lam * ca.sumsqr(theta)
    if problem.loss == "squared":
        return theta, ca.sumsqr(x - ca.DM(problem.targets())) + reg
    onehot = np.zeros((problem.X.shape[0], problem.sizes[-1]))
    onehot[np.arange(len(onehot)), problem.y.astype(int)] = 1.0
    e = ca.exp(x)
    right = ca.sum2(e * ca.DM(onehot))
    return theta, -ca.sum1(right / ca.sum2(e)) + reg


def starting_point(problem: Problem, rng: np.random.Generator,
                   init: tuple[float, float] | None) -> np.ndarray:
    """Uniform in ``init``, or (None) Glorot's uniform range per layer, biases zero."""
    layers = []
    for n_out, n_in in problem.shapes:
        if init is None:
            r = np.sqrt(6.0 / (n_in + n_out))
            layers.append((rng.uniform(-r, r, (n_out, n_in)), np.zeros(n_out)))
        else:
            layers.append((rng.uniform(*init, (n_out, n_in)), rng.uniform(*init, n_out)))
    return pack(layers)


@dataclass
class Start:
    """One start of the multi-start: its seed-derived point, IPOPT's end."""

    index: int
    objective: float
    status: str
    iterations: int
    seconds: float


@dataclass
class Solution:
    theta: np.ndarray
    objective: float
    starts: list[Start] = field(default_factory=list)
    best: int = 0
    seconds: float = 0.0
    kind: str = ""
    solvers: str = ""
    status: str = ""  # a global solve's status ("optimal", "timelimit", ...)
    bound: float = float("nan")  # a global solve's lower bound on the objective
    count: int = -1  # misclassified: the model's sum z_i at the solution


def solve_nlp(problem: Problem, *, starts: int = 10, seed: int = 0,
              init: tuple[float, float] | None = None, max_iterations: int = 3000,
              tolerance: float = 1e-8, time_limit: float | None = None,
              report=None, first: np.ndarray | None = None) -> Solution:
    """Multi-start IPOPT on the smooth model; ``report(start)`` hears each start.
    ``time_limit`` caps each start's wall time (IPOPT's ``max_wall_time``); ``first``
    (a network's weights, packed) replaces the first random start."""
    if problem.loss not in ("squared", "expected_correct") or problem.relu != "hyperbolic":
        raise NnlangError(f"IPOPT takes the smooth model (relu = \"hyperbolic\", loss "
                          f"\"squared\" or \"expected_correct\"), not loss = "
                          f"\"{problem.loss}\" with relu = \"{problem.relu}\": use "
                          f"solver = \"scip\"")
    try:
        import casadi as ca
    except ImportError:
        raise SolverError("the WBO NLP needs casadi, whose wheel bundles IPOPT: "
                          "pip install casadi (or pip install \"nnlang[wbo]\")") from None
    theta, f = _casadi_objective(problem, ca)
    # show_eval_warnings off: a trial step that overflows exp() is IPOPT's to reject
    opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes",
            "show_eval_warnings": False,
            "ipopt.max_iter": int(max_iterations), "ipopt.tol": float(tolerance)}
    if time_limit:
        opts["ipopt.max_wall_time"] = float(time_limit)
    solver = ca.nlpsol("wbo", "ipopt", {"x": theta, "f": f}, opts)
    rng = np.random.default_rng(seed)
    t_all = time.perf_counter()
    best, records = None, []
    for k in range(starts):
        x0 = starting_point(problem, rng, init)
        if k == 0 and first is not None:
            x0 = np.asarray(first, float)
        t0 = time.perf_counter()
        res = solver(x0=x0)
        stats = solver.stats()
        value = float(res["f"])
        rec = Start(k, value, str(stats.get("return_status", "")),
                    int(stats.get("iter_count", -1)), time.perf_counter() - t0)
        records.append(rec)
        if report is not None:
            report(rec)
        if np.isfinite(value) and (best is None or value < best[0]):
            best = (value, np.asarray(res["x"]).ravel(), k)
    if best is None:
        raise SolverError("IPOPT ended every start at a non-finite objective")
    kind, solvers = problem.kind()
    return Solution(best[1], best[0], records, best[2], time.perf_counter() - t_all,
                    kind, solvers)


def to_network(problem: Problem, theta: np.ndarray, name: str = "net",
               input_shape=(), task: str = "") -> Network:
    """The trained network, with exact ReLUs (the approximation served the training)."""
    layers = tuple(Dense(np.array(W), np.array(b), act)
                   for (W, b), act in zip(unpack(problem, theta), problem.activations))
    return Network(layers, name, "WBO (the WBO master's thesis, ch. 3)", tuple(input_shape),
                   task)
