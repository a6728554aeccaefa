"""Every extension point of nnlang, as one table each.

A table maps the name a user writes (in a spec's ``options`` block, on the command
line, in Python) to the module that implements it and a one-line summary. The CLI
builds its choices and help text from these tables, the checker validates option
values against them, and ``docs/architecture.md`` lists them. Adding a ReLU
formulation, a bound method, a solve strategy, a solver, an output format or a
weight format is one new module plus one entry here (ONNX operators have their
own table, ``nnlang.networks.onnx.ops.OPS``, which only the ONNX reader needs).

This module imports nothing but the standard library, so that ``nnlang --help``
and the checker can read the tables without loading numpy, CVXPY or a solver;
:func:`load` imports an implementation when it is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Entry:
    """``target`` is ``"package.module"`` or ``"package.module:attribute"``."""

    target: str
    summary: str


@dataclass(frozen=True)
class Formulation(Entry):
    """A ReLU formulation: the module defines ``encode_relu(builder, name, layer)``.
    ``emit_only``: its rows are conditional (indicator or product form), which only
    the file emitters write; no in-process backend solves them."""

    emit_only: bool = False


@dataclass(frozen=True)
class BoundMethod(Entry):
    """``function(network, lo, hi, **args) -> list of (L, U)`` per layer; ``args`` the
    keyword arguments a spec may give (``bounds = milp(time_limit=1)``); ``cached``:
    costly enough to keep on disk (``nnlang.bounds.cache``)."""

    args: tuple[str, ...] = ()
    cached: bool = False


@dataclass(frozen=True)
class Strategy(Entry):
    """A solve strategy: the module defines ``applies(task, options) -> bool`` and
    ``solve(task, options) -> Result``. ``switch``: the ``Options`` field that turns it
    off (None: always on). The first strategy that is on and applies is used."""

    switch: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a solver takes, as nnlang reaches it. No in-process backend takes
    indicator or complementarity rows (the emitters write them, ``Formulation.emit_only``)."""

    mip: bool = True  # integer columns
    quadratic: bool = False  # a convex quadratic objective over continuous columns
    quadratic_mip: bool = False  # a convex quadratic objective with integer columns
    time_limit: bool = True
    callbacks: bool = False  # progress ticks while it runs (nnlang.solve.progress)
    # a sum of squares with integers by nnlang's outer approximation over this solver's
    # MILPs and QPs (nnlang.solve.strategies.outer, written for highspy)
    outer_approximation: bool = False
    # products of variables (nonconvex MINLP): a solver an AMPL .run file may name for
    # the complementarity encoding's files
    products: bool = False


@dataclass(frozen=True)
class Solver(Entry):
    """A solver. ``target`` is its backend module; with ``direct`` a linear model goes
    there without CVXPY, and everything else through :data:`CVXPY` under the name
    ``cvxpy_name`` (after the backend module's ``prepare(options)``, if it has one). ``options``: the keyword the native parameters go under (None: top
    level) and the native names of the time limit, relative MIP gap and threads (None:
    not passed). ``defaults``: native options nnlang always sets. ``limit_statuses``:
    the solver's own status words (as CVXPY's ``extra_stats`` report them) that mean a
    limit was hit, where CVXPY reports something else."""

    cvxpy_name: str = ""
    capabilities: Capabilities = field(default_factory=Capabilities)
    options: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)
    whole_seconds: bool = False
    defaults: dict[str, Any] = field(default_factory=dict)
    limit_statuses: tuple[str, ...] = ()
    direct: bool = False


@dataclass(frozen=True)
class Format(Entry):
    """An output format: the module defines ``SUFFIXES``, ``OWNED_SUFFIXES``,
    ``CAPABILITIES``, ``check(milp)`` and ``write(milp, stream(s), options)``."""


FORMULATIONS: dict[str, Formulation] = {
    "bigm": Formulation("nnlang.encode.bigm", "big-M with sound bounds (Fischetti and Jo 2018)"),
    "partition": Formulation("nnlang.encode.partition",
                             "big-M plus partition groups of each neuron's inputs (Tsay et "
                             "al. 2021); option partition_parts"),
    "indicator": Formulation("nnlang.encode.indicator",
                             "indicator constraints z = 0 -> x <= 0 (files only)", True),
    "complementarity": Formulation("nnlang.encode.complementarity",
                                   "products (A x - hi) (1 - z) <= 0 of the WBO master's "
                                   "thesis, eq. 4.16 (files only)", True),
}

BOUND_METHODS: dict[str, BoundMethod] = {
    "interval": BoundMethod("nnlang.bounds.interval:interval_bounds",
                            "interval arithmetic (the WBO master's thesis, eqs. 4.7-4.14)"),
    "symbolic": BoundMethod("nnlang.bounds.symbolic:symbolic_bounds",
                            "back-substitution through linear ReLU relaxations (DeepPoly)"),
    "lp": BoundMethod("nnlang.bounds.lp:lp_bounds",
                      "LP bound tightening over the triangle relaxation", cached=True),
    "milp": BoundMethod("nnlang.bounds.milp:milp_bounds",
                        "MILP bound tightening (Fischetti and Jo 2018; Zhu 2021)",
                        args=("time_limit", "budget"), cached=True),
}

STRATEGIES: dict[str, Strategy] = {
    "radius": Strategy("nnlang.solve.strategies.radius",
                       "minimal-distance objectives: MILPs over growing balls around the "
                       "centre, with neuron bounds over each ball", "radius_search"),
    "tighten": Strategy("nnlang.solve.strategies.tighten",
                        "a first solve for an incumbent, then LP bound tightening with the "
                        "objective cut off at it, then a second solve", "tighten"),
    "single": Strategy("nnlang.solve.strategies.single", "one MILP"),
}

# cheap points before the MILP (nnlang.solve.attack), tried in this order: each a
# function ``(problem, deadline) -> user-column points``, every point then completed,
# forward-checked and improved over the networks' linear regions
ATTACKS: dict[str, Entry] = {
    "centre": Entry("nnlang.solve.attack.search:centre",
                    "region moves from the objective's centre alone (no gradient steps)"),
    "pgd": Entry("nnlang.solve.attack.search:pgd",
                 "projected DeepFool steps on the spec's rows from the objective's centre"),
    "lp": Entry("nnlang.solve.attack.search:lp_relaxation",
                "the LP relaxation's point, repaired by its forward pass's ReLU pattern"),
}

_HIGHS_OPTIONS = (None, "time_limit", "mip_rel_gap", "threads")
# bits of HiGHS's presolve_rule_off option (its PresolveRuleType numbers)
HIGHS_SPARSIFY, HIGHS_PROBING = 1 << 14, 1 << 15
# HiGHS's presolve rule "sparsify" removed no nonzero from nnlang's MILPs and took most
# of their presolve time, ignoring the time limit (docs/benchmarks.md): off everywhere
HIGHS_DEFAULTS: dict[str, Any] = {"presolve_rule_off": HIGHS_SPARSIFY}

SOLVERS: dict[str, Solver] = {
    "highs": Solver("nnlang.solve.backends.highs",
                    "HiGHS (the default): linear models through highspy directly; sums of "
                    "squares with integers by outer approximation", "HIGHS",
                    Capabilities(quadratic=True, callbacks=True, outer_approximation=True),
                    _HIGHS_OPTIONS,
                    defaults=HIGHS_DEFAULTS,
                    direct=True),
    "scip": Solver("nnlang.solve.backends.cvxpy", "SCIP through CVXPY (pip install pyscipopt)",
                   "SCIP", Capabilities(quadratic=True, quadratic_mip=True, products=True),
                   ("scip_params", "limits/time", "limits/gap", None),
                   limit_statuses=("timelimit", "nodelimit", "totalnodelimit",
                                   "stallnodelimit", "memlimit", "userinterrupt")),
    "gurobi": Solver("nnlang.solve.backends.cvxpy", "Gurobi through CVXPY", "GUROBI",
                     Capabilities(quadratic=True, quadratic_mip=True),
                     (None, "TimeLimit", "MIPGap", "Threads")),
    "cplex": Solver("nnlang.solve.backends.cvxpy", "CPLEX through CVXPY", "CPLEX",
                    Capabilities(quadratic=True, quadratic_mip=True),
                    ("cplex_params", "timelimit", "mip.tolerances.mipgap", None)),
    "cbc": Solver("nnlang.solve.backends.cvxpy", "CBC through CVXPY", "CBC", Capabilities(),
                  (None, "maximumSeconds", "allowableFractionGap", None), whole_seconds=True),
}


# the backend of every model that does not go to a solver directly
CVXPY = Entry("nnlang.solve.backends.cvxpy", "any installed CVXPY solver")


def solver(name: str) -> Solver:
    """The entry of ``name``; any other CVXPY solver gets a plain entry (linear
    models, no native options nnlang knows of)."""
    key = name.lower()
    if key in SOLVERS:
        return SOLVERS[key]
    return Solver("nnlang.solve.backends.cvxpy", f"{name.upper()} through CVXPY", name.upper(),
                  Capabilities(time_limit=False))


FORMATS: dict[str, Format] = {
    "lp": Format("nnlang.emit.lp", "CPLEX LP, read by CPLEX, Gurobi, HiGHS, SCIP, GLPK"),
    "mps": Format("nnlang.emit.mps", "free MPS with integer markers and QUADOBJ"),
    "ampl": Format("nnlang.emit.ampl", "AMPL .mod/.dat/.run (also GNU MathProg)"),
}

@dataclass(frozen=True)
class Trainer:
    """A training algorithm: a module with ``train(program_training, options, ...)``
    and the settings a ``train ... { }`` block may give it (name -> (kind, meaning);
    kinds: int, number, pair, bool, array, ``choice:a,b,c`` (one of the words, as a
    string))."""

    module: str
    summary: str
    settings: dict[str, tuple[str, str]]

    def choices(self, name: str) -> tuple[str, ...]:
        """The words a ``choice:a,b`` setting takes (empty for other kinds)."""
        kind = self.settings[name][0]
        return tuple(kind.partition(":")[2].split(",")) if kind.startswith("choice:") else ()


TRAINERS: dict[str, Trainer] = {
    "goebbels": Trainer(
        "nnlang.training.spec",
        "layer by layer with MILPs and LPs, batch learning (Goebbels 2021, Algorithm 1)",
        {
            "batch_size": ("int", "samples per batch (100)"),
            "batches": ("int", "consecutive batches to train (1)"),
            "weight_bound": ("number", "weights and biases in [-bound, bound] (1)"),
            "init": ("pair", "uniform initialization range [lo, hi] ([-1, 1])"),
            "seed": ("int", "seed of the initialization (0)"),
            "init_trials": ("int", "initializations screened by the output LP (1)"),
            "change": ("number", "eq. 10's factor from the second batch on, 0 = off (0.6)"),
            "change_offset": ("number", "eq. 10's constant (0.01)"),
            "proposal_box": ("pair", "eq. 9's relative and absolute move [0.1, 0.1]"),
            "post_every": ("int", "post-processing LP on all data every k batches (0: never)"),
            "max_iterations": ("int", "cap on the iterations per batch (20)"),
            "patience": ("int", "iterations without progress that end a batch (1: the report)"),
            "time_limit": ("number", "seconds per program; the incumbent is kept (60)"),
            "workers": ("int", "programs solved in parallel processes (1)"),
            "lp_solver": ("choice:" + ",".join(SOLVERS),
                          "the LPs' solver (default: the spec's solver, as the MILPs')"),
            "final_post": ("bool", "the post-processing LP after a batch below accuracy 1"),
            "test_inputs": ("array", "test samples, evaluated after every batch"),
            "test_labels": ("array", "their classes"),
        }),
    "wbo": Trainer(
        "nnlang.training.wbo_spec",
        "every layer at once as one NLP or MINLP, the weight and bias optimization problem "
        "of the WBO master's thesis (eq. 3.1): IPOPT multi-start, or SCIP globally",
        {
            "loss": ("choice:squared,expected_correct,misclassified",
                     ("squared error (eq. 3.11), minus the expected number of correct "
                      "classifications (softmax, eq. 3.13), or the misclassification count "
                      "(eqs. 3.16-3.18) (squared)")),
            "lambda": ("number", "weight of the regularization ||w||^2 + ||b||^2 (0.01)"),
            "relu": ("choice:hyperbolic,exact",
                     "ReLU as (sqrt(t^2 + eps) + t) / 2 (eq. 3.10) or exact (hyperbolic)"),
            "eps": ("number", "the hyperbolic ReLU's eps (1e-3)"),
            "solver": ("choice:ipopt,scip", ("IPOPT (local, the smooth NLP) or SCIP (global); "
                                             "default IPOPT for the smooth NLP, else SCIP")),
            "starts": ("int", "IPOPT starting points, seeded (10)"),
            "seed": ("int", "seed of the starting points (0)"),
            "init": ("pair", ("starting weights and biases uniform in [lo, hi] (default: "
                              "Glorot's range per layer, biases 0)")),
            "max_iterations": ("int", "IPOPT iterations per start (3000)"),
            "tolerance": ("number", "IPOPT's convergence tolerance (1e-8)"),
            "time_limit": ("number", "seconds per IPOPT start, or for the SCIP solve (300)"),
            "weight_bound": ("number", "SCIP: weights and biases in [-bound, bound] (1)"),
            "margin": ("number", ("misclassified: how much the right class's output must "
                                  "exceed the others' for a sample to count as correct (1e-3)")),
            "test_inputs": ("array", "test samples, evaluated after training"),
            "test_labels": ("array", "their classes or targets"),
        }),
}

# the setting that picks the trainer (``method = "wbo"``); without it, "goebbels"
TRAINER_SETTING, DEFAULT_TRAINER = "method", "goebbels"


NETWORK_FORMATS: dict[str, Entry] = {
    ".npz": Entry("nnlang.networks.npz:load_npz", "numpy arrays W0, b0, W1, b1, ..."),
    ".onnx": Entry("nnlang.networks.onnx:load_onnx", "ONNX graphs of the operators in "
                   "nnlang.networks.onnx.ops.OPS"),
}

# Python model objects -> Network (``Network.from_sklearn`` / ``from_torch``): each
# converter imports its library only when called, so importing nnlang never needs it.
NETWORK_OBJECTS: dict[str, Entry] = {
    "sklearn": Entry("nnlang.networks.sklearn:from_sklearn", "fitted MLPRegressor, "
                     "MLPClassifier, or a Pipeline of scalers ending in one"),
    "torch": Entry("nnlang.networks.torch:from_torch", "torch.nn.Module (nn.Sequential) "
                   "of the layers the ONNX reader takes"),
}


def load(entry: Entry) -> Any:
    """The module or attribute an entry names, imported now."""
    module, _, attr = entry.target.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod


def choices(table: dict[str, Entry]) -> str:
    """``name: summary`` lines of a table, for help texts."""
    return "; ".join(f"{name} ({entry.summary})" for name, entry in table.items())
