"""The Python API: ``nnlang.compile(path) -> CompiledModel``; ``.solve() -> Result``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlang import registry
from nnlang.check import check_program
from nnlang.check.limits import Budget, spec_time_limit
from nnlang.encode.builder import encode_program
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.ir.program import Program
from nnlang.networks.network import Network
from nnlang.parse import parse_file, parse_text
from nnlang.solve import dispatch
from nnlang.solve.progress import Listener, listening
from nnlang.solve.results import Result
from nnlang.solve.task import Task


@dataclass(eq=False)
class CompiledModel:
    """A spec compiled to a MILP; the CVXPY problem is built on first use."""

    program: Program
    milp: MilpModel
    options: Options
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cvxpy(self):
        """The model lowered to CVXPY (``nnlang.solve.backends.cvxpy.CvxpyModel``)."""
        cvx = registry.load(registry.CVXPY).lowered(self.milp)
        self.timings["cvxpy"] = cvx.seconds
        return cvx

    @property
    def problem(self):
        """The ``cvxpy.Problem`` (one Variable per block, matrix-form constraints)."""
        return self.cvxpy.problem

    # The model extended from Python: ``cp.Problem(cp.Minimize(m.objective.expr + cost),
    # m.constraints + mine)`` is the spec's problem with the user's additions
    # (docs/surrogate.md).
    @property
    def variables(self) -> dict[str, Any]:
        """The spec's variables by name, as CVXPY expressions of their declared shapes."""
        cvx = self.cvxpy
        out = {}
        for name, var in self.program.variables.items():
            v = cvx.variables.get(name)
            if v is not None:
                out[name] = v[0] if var.shape == () else v if len(var.shape) == 1 \
                    else v.reshape(var.shape, order="C")
        return out

    @property
    def outputs(self) -> dict[str, Any]:
        """Each network application's output (its last layer) by label (``y`` for
        ``y = f(x)``), as a CVXPY variable."""
        cvx = self.cvxpy
        return {app.label: cvx.variables[app.layers[-1].name]
                for app in self.milp.applications}

    @property
    def constraints(self) -> list:
        """The CVXPY constraints of the whole encoding (the spec's and the networks')."""
        return list(self.cvxpy.problem.constraints)

    @property
    def objective(self):
        """The spec's ``cp.Minimize`` / ``cp.Maximize`` (its ``.expr`` is the expression)."""
        return self.cvxpy.problem.objective

    @property
    def compile_seconds(self) -> float:
        return sum(self.timings.values())

    def encode(self, overrides: dict) -> MilpModel:
        """The spec encoded again with tighter neuron bounds (``{label: [(L, U)]}``)."""
        return encode_program(self.program, overrides)

    def solve(self, progress: Listener | None = None, **options: Any) -> Result:
        """Solve with the spec's options, overridden by ``options``
        (``solver``, ``time_limit``, ``mip_gap``, ``threads``, ``verbose``,
        ``tighten``, ``radius_search``). ``progress(message, transient)`` hears
        what a long solve is doing (radius steps, masters, HiGHS's nodes and
        bounds about every second: ``transient``): :mod:`nnlang.solve.progress`."""
        for key in ("encoding", "bounds", "partition_parts"):
            if options.get(key) is not None and options[key] != getattr(self.options, key):
                raise ValueError(f"'{key}' changes the encoding: pass it to nnlang.compile()")
        opts = self.options.updated(**options)
        with listening(progress):
            result = dispatch.solve(Task(self.milp, self.encode), opts)
        lowering = sys.modules.get(registry.CVXPY.target)  # loaded only if a solve used it
        if lowering is not None and lowering.is_lowered(self.milp):
            self.timings["cvxpy"] = lowering.lowered(self.milp).seconds
        result.compile_seconds = self.compile_seconds
        result.names = {name: list(var.entry_names) for name, var in
                        self.program.variables.items() if var.entry_names}
        result.bounds_seconds += self.timings.get("bounds", 0.0)
        return result


def compile(
    path: str | Path | None = None,
    params: dict[str, Any] | None = None,
    *,
    text: str | None = None,
    networks: dict[str, Network] | None = None,
    started: float | None = None,
    **options: Any,
) -> CompiledModel:
    """Parse, check, bound and encode a spec.

    Args:
        path: the ``.nnq`` file (relative data paths resolve against its folder).
        params: parameter overrides, like ``--set`` (numbers, lists, arrays or
            strings holding an nnlang expression).
        text: the spec's text instead of reading ``path`` (``path`` then only
            names the file in messages and anchors relative paths).
        networks: ``nnlang.Network`` objects (``Network.from_sklearn``,
            ``from_torch``, ``from_onnx``) for the networks the spec declares under
            those names (``network f`` with no file, or in place of its ``load()``).
            A ``Network`` in ``params`` is taken the same way.
        started: when a time limit starts counting (a ``time.perf_counter()``
            value; the CLI passes its own start). Given, and with a time limit in
            ``options`` or in the spec's options block, compiling stops with
            ``TimeLimitError`` when the limit runs out before the model is built.
        **options: ``encoding``, ``bounds``, ``solver``, ``time_limit``,
            ``mip_gap``, ``threads``, ``verbose``, ... (override the spec's options
            block; every field of ``nnlang.ir.options.Options``).

    Example:
        >>> m = nnlang.compile("examples/breast_cancer_adversarial.nnq")  # doctest: +SKIP
        >>> m.solve().objective  # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if text is not None:
        filename = str(path) if path is not None else "<string>"
        prog_ast = parse_text(text, filename)
        path = Path(filename if path is not None else "spec.nnq")
    else:
        if path is None:
            raise ValueError("give a path or text")
        prog_ast = parse_file(path)
    timings["parse"] = time.perf_counter() - start
    start = time.perf_counter()
    params = dict(params or {})
    given = {k: params.pop(k) for k in [k for k, v in params.items() if isinstance(v, Network)]}
    given.update(networks or {})
    deadline = None
    if started is not None:  # only a timed caller (nnlang solve) stops compiling
        limit = options.get("time_limit")
        limit = spec_time_limit(prog_ast) if limit is None else limit
        deadline = None if limit is None else started + float(limit)
    program = check_program(prog_ast, path, params, given, deadline)
    opts = program.options.updated(**options)
    program.options = opts  # type: ignore[misc]
    timings["check"] = time.perf_counter() - start
    start = time.perf_counter()
    milp = encode_program(program, budget=Budget(deadline=deadline))
    timings["encode"] = time.perf_counter() - start - milp.bounds_seconds
    timings["bounds"] = milp.bounds_seconds
    return CompiledModel(program, milp, opts, timings)
