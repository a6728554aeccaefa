"""Solver and compiler options, from the spec's ``options`` block and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from nnlang import registry
from nnlang.errors import SemanticError, Span

# the names of nnlang.registry's tables, as the checker validates them
ENCODINGS = tuple(registry.FORMULATIONS)
# encodings whose models only the emitters can write (no in-process backend)
EMIT_ONLY_ENCODINGS = tuple(k for k, v in registry.FORMULATIONS.items() if v.emit_only)
BOUND_METHODS = tuple(registry.BOUND_METHODS)
BOUND_ARGS = {k: v.args for k, v in registry.BOUND_METHODS.items()}


@dataclass(frozen=True)
class Options:
    encoding: str = "bigm"
    bounds: str = "interval"
    bounds_args: dict[str, Any] = field(default_factory=dict)
    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    verbose: bool = False
    tighten: bool = True
    radius_search: bool = True
    # an attack's forward-checked point before the MILP (nnlang.solve.attack)
    attack: bool = True
    # groups per unstable neuron of the partition encoding (Tsay et al. found 2-4
    # fastest to solve)
    partition_parts: int = 2
    # extra native options per solver, e.g. {"HIGHS": {"mip_heuristic_run_rins": False}}
    # (set by nnlang's own solve strategies; not a spec option)
    solver_args: dict[str, dict[str, Any]] = field(default_factory=dict)

    def updated(self, **changes: Any) -> Options:
        """A copy with the non-None ``changes`` applied and validated."""
        changes = {k: v for k, v in changes.items() if v is not None}
        new = replace(self, **changes)
        validate(new, None)
        return new


OPTION_NAMES = ("encoding", "bounds", "solver", "time_limit", "mip_gap", "threads", "verbose",
                "tighten", "radius_search", "attack", "partition_parts")


def validate(opts: Options, span: Span | None) -> None:
    """Raise a located error for an unknown or unsupported option value."""
    if opts.encoding not in ENCODINGS:
        raise SemanticError(f"unknown encoding '{opts.encoding}' "
                            f"(expected one of {', '.join(ENCODINGS)})", span)
    if opts.bounds not in BOUND_METHODS:
        raise SemanticError(f"unknown bounds method '{opts.bounds}' "
                            f"(expected one of {', '.join(BOUND_METHODS)})", span)
    for arg, value in opts.bounds_args.items():
        if arg not in BOUND_ARGS[opts.bounds]:
            allowed = ", ".join(BOUND_ARGS[opts.bounds]) or "none"
            raise SemanticError(f"bounds method '{opts.bounds}' takes no argument '{arg}' "
                                f"(arguments: {allowed})", span)
        if not value > 0:
            raise SemanticError(f"bounds argument {arg} must be positive, got {value}", span)
    if opts.time_limit is not None and not opts.time_limit > 0:
        raise SemanticError(f"time_limit must be positive, got {opts.time_limit}", span)
    if opts.mip_gap is not None and not opts.mip_gap >= 0:
        raise SemanticError(f"mip_gap must be >= 0, got {opts.mip_gap}", span)
    if opts.partition_parts < 1:
        raise SemanticError(f"partition_parts must be >= 1, got {opts.partition_parts}", span)
    if opts.threads is not None and opts.threads < 1:
        raise SemanticError(f"threads must be >= 1, got {opts.threads}", span)
