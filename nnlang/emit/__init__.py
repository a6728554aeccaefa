"""Write a compiled model as files other solvers and modeling systems read.

One module per format, each with one entry point
``write(milp, stream(s), options) -> SymbolMap`` and a ``CAPABILITIES`` record:

- ``lp``: CPLEX LP (``model.lp``), read by CPLEX, Gurobi, HiGHS, SCIP, GLPK, ...
- ``mps``: free MPS (``model.mps``) with integer markers and QUADOBJ.
- ``ampl``: AMPL ``model.mod`` + ``model.dat`` + ``model.run``; the ``.mod``
  and ``.dat`` are also GNU MathProg (``glpsol --math model.mod --data model.dat``).

``write(model, fmt, out_dir, stem, header)`` writes the files of one format
atomically (see ``nnlang.emit.files``); ``emit_files(compiled, fmt, out_dir)``
is what ``nnlang compile FILE --to FMT -o DIR`` calls.

Example:
    >>> import nnlang, nnlang.emit                                   # doctest: +SKIP
    >>> m = nnlang.compile("examples/breast_cancer_adversarial.nnq")  # doctest: +SKIP
    >>> nnlang.emit.emit_files(m, "lp", "out")                       # doctest: +SKIP
    [PosixPath('out/breast_cancer_adversarial.lp')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnlang import registry
from nnlang.emit.files import replace_together
from nnlang.emit.names import SymbolMap, fingerprint
from nnlang.errors import UnsupportedError
from nnlang.ir.milp import MilpModel
from nnlang.version import __version__

__all__ = [
    "FORMATS",
    "Capabilities",
    "EmitOptions",
    "SymbolMap",
    "emit_files",
    "model_features",
    "refuse_unsupported",
    "write",
]

# the formats: ``nnlang.registry.FORMATS``
FORMATS = registry.FORMATS


@dataclass(frozen=True)
class Capabilities:
    """What a format can express; anything else is refused before writing."""

    integers: bool = True
    quadratic_objective: bool = False
    indicators: bool = False
    complementarity: bool = False


@dataclass
class EmitOptions:
    """Options every writer accepts.

    ``header`` lines (``key: value``) open each file as comments; ``stem`` names
    companion files (the AMPL ``.run`` loads ``<stem>.mod``/``<stem>.dat``);
    ``source`` is the spec text, quoted next to the rows it produced where a
    format has room for it; ``solver`` is the AMPL ``option solver``.
    """

    header: dict[str, str] = field(default_factory=dict)
    stem: str = "model"
    source: str | None = None
    solver: str = "highs"


def model_features(milp: MilpModel) -> set[str]:
    """The features a model uses, in ``Capabilities`` field names."""
    found: set[str] = set()
    if any(b.kind != "continuous" for b in milp.blocks):
        found.add("integers")
    if milp.objective.quad:
        found.add("quadratic_objective")
    if any(r.role == "indicator" for r in milp.rows):
        found.add("indicators")
    if any(r.role == "complementarity" for r in milp.rows):
        found.add("complementarity")
    return found


_FEATURE_TEXT = {
    "integers": "integer or binary variables",
    "quadratic_objective": "a quadratic objective (sumsq)",
    "indicators": "indicator constraints (encoding = indicator)",
    "complementarity": "complementarity constraints x * (1 - z) <= 0 "
                       "(encoding = complementarity; write AMPL for a MINLP solver)",
}


def refuse_unsupported(milp: MilpModel, caps: Capabilities, fmt: str, hint: str = "") -> None:
    """Raise ``UnsupportedError`` if ``milp`` needs what ``caps`` lacks; check finiteness."""
    missing = sorted(f for f in model_features(milp) if not getattr(caps, f))
    if missing:
        what = ", ".join(_FEATURE_TEXT[f] for f in missing)
        raise UnsupportedError(f"the {fmt} format cannot express {what}" + (f": {hint}" if hint
                                                                           else ""))
    for block in milp.rows:
        if not np.all(np.isfinite(block.A.data)):
            raise UnsupportedError(f"constraint '{block.name}' has a NaN or infinite "
                                   f"coefficient; nothing written", block.span)
        if np.isnan(block.lo).any() or np.isnan(block.hi).any():
            raise UnsupportedError(f"constraint '{block.name}' has a NaN bound", block.span)
    obj = milp.objective
    if not (np.all(np.isfinite(obj.c)) and np.isfinite(obj.constant)):
        raise UnsupportedError("the objective has a NaN or infinite coefficient")
    for b in milp.blocks:
        if np.isnan(b.lb).any() or np.isnan(b.ub).any() or np.any(b.lb > b.ub):
            raise UnsupportedError(f"variable '{b.name}' has NaN or crossed bounds", b.span)


def _module(fmt: str) -> Any:
    if fmt not in FORMATS:
        raise UnsupportedError(f"unknown output format '{fmt}' (expected one of "
                               f"{', '.join(FORMATS)})")
    return registry.load(FORMATS[fmt])


def _milp_of(model: Any) -> MilpModel:
    return model if isinstance(model, MilpModel) else model.milp


def default_header(compiled: Any, fmt: str) -> dict[str, str]:
    """The comment header of a compile: spec, options, sizes, the HiGHS options
    nnlang solves it with (files do not carry them), fingerprint."""
    opts = compiled.options
    bounds = opts.bounds + (f"({', '.join(f'{k}={v}' for k, v in opts.bounds_args.items())})"
                            if opts.bounds_args else "")
    size = compiled.milp.size()
    return {
        "written by": f"nnlang {__version__} (--to {fmt})",
        "spec": str(compiled.program.path),
        "options": f"encoding={opts.encoding} bounds={bounds}",
        "size": ", ".join(f"{v} {k}" for k, v in size.items()),
        "highs options": highs_options_line(
            {**registry.HIGHS_DEFAULTS, **compiled.milp.solver_args.get("HIGHS", {})}),
    }


def highs_options_line(options: dict[str, Any]) -> str:
    """``options`` as the lines of a HiGHS options file, joined by ``; ``."""
    return "; ".join(f"{k} = {v}" for k, v in options.items()) + \
        " (as nnlang solves it; for a HiGHS options file)"


def write(model: Any, fmt: str, out_dir: str | Path, stem: str,
          header: dict[str, str] | None = None, source: str | None = None,
          solver: str = "highs") -> list[Path]:
    """Write ``model`` (a ``CompiledModel`` or a ``MilpModel``) as ``fmt`` files.

    Returns the paths written, in the format's order. Nothing is written (and
    earlier files stay) if the format cannot express the model.
    """
    module = _module(fmt)
    milp = _milp_of(model)
    header = dict(header or {})
    header.setdefault("fingerprint", fingerprint(milp))
    options = EmitOptions(header=header, stem=stem, source=source, solver=solver)
    module.check(milp)
    names = [f"{stem}.{suffix}" for suffix in module.SUFFIXES]
    stale = [f"{stem}.{suffix}" for suffix in module.OWNED_SUFFIXES]
    with replace_together(Path(out_dir), names, stale) as streams:
        if len(names) == 1:
            module.write(milp, streams[names[0]], options)
        else:
            module.write(milp, {s: streams[f"{stem}.{s}"] for s in module.SUFFIXES}, options)
    return [Path(out_dir) / n for n in names]


def emit_files(compiled: Any, fmt: str, out_dir: str | Path, model: MilpModel | None = None,
               notes: dict[str, str] | None = None) -> list[Path]:
    """Write ``compiled`` (an ``nnlang.api.CompiledModel``) as ``fmt`` files in ``out_dir``,
    named after the spec (``examples/foo.nnq`` -> ``out_dir/foo.lp``). ``model``: a
    model of the same spec to write instead (the tight model of ``nnlang compile``),
    ``notes``: header lines added (e.g. which region it covers)."""
    stem = Path(compiled.program.path).stem or "model"
    milp = compiled.milp if model is None else model
    solver = compiled.options.solver if fmt == "ampl" else "highs"
    if milp.conditional_rows and any(r.role == "complementarity" for r in
                                     milp.conditional_rows) \
            and not registry.solver(solver).capabilities.products:
        # the products x * (1 - z) need a (nonconvex) MINLP solver
        solver = next(k for k, v in registry.SOLVERS.items() if v.capabilities.products)
    header = default_header(compiled, fmt)
    if model is not None:
        header["size"] = ", ".join(f"{v} {k}" for k, v in milp.size().items())
    header.update(notes or {})
    return write(milp, fmt, out_dir, stem, header, source=compiled.program.source,
                 solver=solver)
