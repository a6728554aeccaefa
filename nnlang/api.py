"""The Python API: ``nnlang.compile(path) -> CompiledModel``; ``.solve() -> Result``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cvxpy as cp

from nnlang import radius
from nnlang.check import check_program
from nnlang.encode import encode_program
from nnlang.ir.milp import MilpModel
from nnlang.ir.options import Options
from nnlang.ir.program import Program
from nnlang.lower.cvxpy import CvxpyModel, to_cvxpy
from nnlang.outer import Envelope, outer_highs, run_outer
from nnlang.parse import parse_file, parse_text
from nnlang.progress import Listener, listening
from nnlang.results import Result
from nnlang.solve import direct_highs, run_highs, run_solver


@dataclass(eq=False)
class CompiledModel:
    """A spec compiled to a MILP; the CVXPY problem is built on first use."""

    program: Program
    milp: MilpModel
    options: Options
    timings: dict[str, float] = field(default_factory=dict)
    _cvx: CvxpyModel | None = None

    @property
    def cvxpy(self) -> CvxpyModel:
        if self._cvx is None:
            start = time.perf_counter()
            self._cvx = to_cvxpy(self.milp)
            self.timings["cvxpy"] = time.perf_counter() - start
        return self._cvx

    @property
    def problem(self) -> cp.Problem:
        """The ``cvxpy.Problem`` (one Variable per block, matrix-form constraints)."""
        return self.cvxpy.problem

    @property
    def compile_seconds(self) -> float:
        return sum(self.timings.values())

    def solve(self, progress: Listener | None = None, **options: Any) -> Result:
        """Solve with the spec's options, overridden by ``options``
        (``solver``, ``time_limit``, ``mip_gap``, ``threads``, ``verbose``,
        ``tighten``, ``radius_search``). ``progress(message, transient)`` hears
        what a long solve is doing (radius steps, masters, HiGHS's nodes and
        bounds about every second: ``transient``): :mod:`nnlang.progress`."""
        with listening(progress):
            return self._solve(**options)

    def _solve(self, **options: Any) -> Result:
        for key in ("encoding", "bounds"):
            if options.get(key) is not None and options[key] != getattr(self.options, key):
                raise ValueError(f"'{key}' changes the encoding: pass it to nnlang.compile()")
        opts = self.options.updated(**options)
        hints = self.milp.solver_args  # the encoding's, overridden by the caller's
        if hints:
            merged = {k: {**v, **opts.solver_args.get(k, {})} for k, v in hints.items()}
            opts = opts.updated(solver_args={**opts.solver_args, **merged})

        # an exact sum of squares with HiGHS: tangents shared by every sub-problem
        shared = Envelope.for_model(self.milp) if outer_highs(self.milp, opts) else None

        def run(milp: MilpModel, o: Options, model_at=None) -> Result:
            if outer_highs(milp, o):
                r = run_outer(milp, o, model_at, shared)
            elif direct_highs(milp, o):
                r = run_highs(milp, o)  # straight to highspy: no CVXPY lowering
            else:
                cvx = self.cvxpy if milp is self.milp else to_cvxpy(milp)
                r = run_solver(milp, cvx, o)
            r.model_size = model_size(milp)
            r.layer_stats = {e.label: [s.__dict__.copy() for s in e.stats]
                             for e in milp.applications}
            return r

        binaries = any(b.kind == "binary" and b.role == "relu_binary" for b in self.milp.blocks)
        if opts.radius_search and radius.applicable(self.milp, opts.solver):
            result = radius.solve_by_radius(self, opts, run, shrink=shared is not None)
        elif opts.tighten and binaries and not self.milp.objective.quad:
            from nnlang.tighten import solve_tightened

            result = solve_tightened(self, opts, run)
        else:
            result = run(self.milp, opts)
        result.compile_seconds = self.compile_seconds
        result.bounds_seconds += self.timings.get("bounds", 0.0)
        return result


def model_size(milp: MilpModel) -> dict[str, int]:
    return {
        "variables": milp.n,
        "binaries": sum(b.size for b in milp.blocks if b.kind == "binary"),
        "integers": sum(b.size for b in milp.blocks if b.kind == "integer"),
        "constraints": milp.num_rows,
        "nonzeros": milp.nnz,
    }


def compile(
    path: str | Path | None = None,
    params: dict[str, Any] | None = None,
    *,
    text: str | None = None,
    **options: Any,
) -> CompiledModel:
    """Parse, check, bound and encode a spec.

    Args:
        path: the ``.nnq`` file (relative data paths resolve against its folder).
        params: parameter overrides, like ``--set`` (numbers, lists, arrays or
            strings holding an nnlang expression).
        text: the spec's text instead of reading ``path`` (``path`` then only
            names the file in messages and anchors relative paths).
        **options: ``encoding``, ``bounds``, ``solver``, ``time_limit``,
            ``mip_gap``, ``threads``, ``verbose`` (override the spec's options block).

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
    program = check_program(prog_ast, path, params)
    opts = program.options.updated(**options)
    program.options = opts  # type: ignore[misc]
    timings["check"] = time.perf_counter() - start
    start = time.perf_counter()
    milp = encode_program(program)
    timings["encode"] = time.perf_counter() - start - milp.bounds_seconds
    timings["bounds"] = milp.bounds_seconds
    return CompiledModel(program, milp, opts, timings)
