"""``train NET on INPUTS, LABELS { method = "wbo" ... }``: the weight and bias
optimization problem of the WBO master's thesis, from a spec to a trained network.

Every dense layer of the network is trained at once (the thesis' ``w`` and ``b``
are all variables); the layers' activations come from the network block, so an
output layer written ``dense 2 relu`` has the (smoothed) ReLU of the thesis'
Annex I models and ``dense 1`` a linear output. :func:`problem_of` builds the
:class:`~nnlang.training.wbo.Problem`, :func:`train_program` solves it (IPOPT
multi-start for the smooth NLP, SCIP for the MINLPs) and writes the network.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nnlang.errors import SemanticError
from nnlang.ir.program import Program
from nnlang.networks.network import Network
from nnlang.training import wbo
from nnlang.training.run import save_json, write_network
from nnlang.training.wbo_global import solve_global

DEFAULTS = {"loss": "squared", "lambda": 0.01, "relu": "hyperbolic", "eps": 1e-3,
            "starts": 10, "seed": 0, "max_iterations": 3000, "tolerance": 1e-8,
            "time_limit": 300.0, "weight_bound": 1.0, "margin": 1e-3}


def setting(program: Program, name: str):
    return program.training.settings.get(name, DEFAULTS.get(name))


def problem_of(program: Program) -> wbo.Problem:
    """The WBO instance a checked spec's ``train`` statement states."""
    training = program.training
    net = training.net
    if net.variable:
        raise SemanticError(f"method \"wbo\" trains every weight of network '{net.name}' "
                            f"freely: drop the 'weights W, b' lines with variables (they are "
                            f"for Goebbels' layer-by-layer method)", training.span)
    network = net.network
    loss = setting(program, "loss")
    acts = [layer.activation for layer in network.layers]
    odd = [a for a in acts if a not in ("relu", "linear")]
    if odd:
        raise SemanticError(f"method \"wbo\" takes relu and linear layers, not '{odd[0]}'",
                            training.span)
    if loss != "squared" and network.n_out < 2:
        raise SemanticError(f"loss \"{loss}\" compares the outputs of the classes: the "
                            f"network needs an output per class (2 or more)", training.span)
    eps = float(setting(program, "eps"))
    if setting(program, "relu") == "hyperbolic" and eps <= 0:
        raise SemanticError("the hyperbolic ReLU needs eps > 0", training.span)
    return wbo.Problem(list(network.sizes), acts, training.inputs, training.labels, loss,
                       float(setting(program, "lambda")), eps, setting(program, "relu"),
                       float(setting(program, "margin")),
                       float(setting(program, "weight_bound")))


def solver_of(program: Program, problem: wbo.Problem) -> str:
    smooth = problem.relu == "hyperbolic" and problem.loss != "misclassified"
    chosen = program.training.settings.get("solver", "ipopt" if smooth else "scip")
    if chosen == "ipopt" and not smooth:
        raise SemanticError(f"IPOPT is a local NLP solver: the model with relu = "
                            f"\"{problem.relu}\" and loss = \"{problem.loss}\" has binaries; "
                            f"use solver = \"scip\"", program.training.span)
    return chosen


@dataclass
class WboTrained:
    """The trained network, the solve's record and the data's scores."""

    network: Network
    solution: wbo.Solution
    solver: str
    scores: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        s = self.solution
        return {"method": "wbo", "model": s.kind, "solvers": s.solvers, "solver": self.solver,
                "objective": s.objective, "best_start": s.best, "status": s.status,
                "bound": s.bound, "misclassified": s.count,
                "starts": [asdict(r) for r in s.starts], "scores": self.scores,
                "seconds": self.seconds}


def scores(problem: wbo.Problem, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy (classification) or relative errors (regression) of the trained
    network with exact ReLUs, the network that is written."""
    out = wbo.forward(problem, theta, X, smooth=False)
    if problem.loss == "squared":
        target = np.asarray(y, float).reshape(out.shape)
        rel = np.abs(out - target) / np.maximum(np.abs(target), 1e-12)
        return {"mean_relative_error": float(rel.mean()), "max_relative_error": float(rel.max()),
                "squared_error": float(((out - target) ** 2).sum())}
    return {"accuracy": float((out.argmax(axis=1) == np.asarray(y, int)).mean())}


def solve(problem: wbo.Problem, solver: str, program_settings: dict, report=None,
          start: np.ndarray | None = None) -> wbo.Solution:
    """``problem`` by IPOPT multi-start or SCIP, with a ``train`` block's settings."""
    get = lambda name: program_settings.get(name, DEFAULTS.get(name))
    if solver == "scip":
        return solve_global(problem, time_limit=float(get("time_limit")))
    return wbo.solve_nlp(problem, starts=max(1, int(get("starts"))), seed=int(get("seed")),
                         init=program_settings.get("init"),
                         max_iterations=int(get("max_iterations")),
                         tolerance=float(get("tolerance")),
                         time_limit=float(get("time_limit")), report=report, first=start)


def train_program(program: Program, run_dir: Path | None = None, report=None) -> WboTrained:
    """Solve a checked spec's WBO problem; ``report(kind, what)`` hears ``("model",
    (kind, solvers))`` first and ``("start", Start)`` after each IPOPT start."""
    report = report or (lambda kind, what: None)
    t0 = time.perf_counter()
    problem = problem_of(program)
    solver = solver_of(program, problem)
    report("model", problem.kind())
    net = program.training.net
    start = None
    if not net.untrained:
        start = wbo.pack([(layer.W, layer.b) for layer in net.network.layers])
    solution = solve(problem, solver, program.training.settings,
                     lambda rec: report("start", rec), start)
    task = "regression" if problem.loss == "squared" else "classifier"
    network = wbo.to_network(problem, solution.theta, net.name,
                             net.network.input_shape, task)
    result = {"train": scores(problem, solution.theta, problem.X, problem.y)}
    settings = program.training.settings
    if "test_inputs" in settings:
        result["test"] = scores(problem, solution.theta, settings["test_inputs"],
                                settings["test_labels"])
    trained = WboTrained(network, solution, solver, result, time.perf_counter() - t0)
    if run_dir is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        write_network(network, Path(run_dir))
        save_json(Path(run_dir) / "history.json", trained.to_dict())
    return trained
