"""Solve results: the answer in the spec's names, its checks, and how it renders
(a summary, a dict, JSON)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnlang.ir.milp import MilpModel

STATUSES = ("optimal", "infeasible", "unbounded", "time_limit", "error")
FORWARD_GAP_WARN = 1e-5
# the largest relative gap a solver's own default tolerance leaves (HiGHS's mip_rel_gap):
# an "optimal" result with a larger gap was stopped by a gap the caller asked for
SOLVER_GAP = 1e-4


@dataclass
class NetworkResult:
    """One network application at the solution."""

    label: str
    layers: list[np.ndarray]  # the MILP's values, layer 0 = input
    forward: list[np.ndarray]  # the numpy forward pass of the same input
    gap: float  # largest relative gap between the two
    kind: str = ""  # the network's: "regression", "classifier" (logits) or "" (not known)
    classes: tuple = ()

    @property
    def output(self) -> np.ndarray:
        return self.forward[-1]

    @property
    def predicted(self) -> int | None:
        """The class index (arg-max; one logit: 1 when positive), None for a regression
        or any one-output network not known to be a classifier."""
        out = np.ravel(self.forward[-1])
        if self.kind == "regression" or (out.size == 1 and self.kind != "classifier"):
            return None
        return int(out[0] > 0) if out.size == 1 else int(np.argmax(out))

    @property
    def predicted_label(self) -> Any:
        """The class label the source names for ``predicted`` (else the index)."""
        k = self.predicted
        return self.classes[k] if k is not None and k < len(self.classes) else k

    def describe(self) -> str:
        out = np.array2string(self.output, precision=4, max_line_width=200)
        if self.predicted is None:
            return f"predicts {out}" if self.output.size > 1 else \
                f"predicts {float(np.ravel(self.output)[0]):.6g}"
        label = self.predicted_label
        name = f"class {self.predicted}" + (f" ({label!r})" if label != self.predicted else "")
        return f"predicts {name}; output {out}"


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``|objective - bound| / |objective|`` (denominator at least 1e-9): the gap of
    every result, whichever solver or search produced it."""
    if objective is None or bound is None:
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


@dataclass
class Result:
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    compile_seconds: float = 0.0
    bounds_seconds: float = 0.0
    nodes: int | None = None
    solver: str = ""
    message: str = ""
    values: dict[str, np.ndarray] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)  # a variable's entry names
    networks: dict[str, NetworkResult] = field(default_factory=dict)
    forward_gap: float | None = None
    max_violation: float | None = None
    warnings: list[str] = field(default_factory=list)
    model_size: dict[str, int] = field(default_factory=dict)
    layer_stats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tighten: dict[str, Any] | None = None
    search: dict[str, Any] | None = None  # radius search steps, outer approximation rounds
    approximations: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # which stage found the point returned: "attack (pgd)", "attack (lp)", "milp", "" (none)
    found_by: str = ""
    # the attack stage: its best objective, seconds, and what each attack found
    attack: dict[str, Any] | None = None
    # (value, model, column values) of a point a sub-problem found outside its region
    # (a radius step's ball, the outer approximation): not a solution until the radius
    # search confirms it in the original model. Not serialized.
    candidate: tuple[float, MilpModel, np.ndarray] | None = field(default=None, repr=False)
    # (model, column values) as a backend returned them, before nnlang.solve.answer
    # polishes, maps back and checks them. Not serialized.
    point: tuple[MilpModel, np.ndarray] | None = field(default=None, repr=False)

    @property
    def layers(self) -> dict[str, list[np.ndarray]]:
        """Every application's layer values (layer 0 = input), by label."""
        return {k: v.layers for k, v in self.networks.items()}

    def to_dict(self) -> dict[str, Any]:
        def num(v):
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

        return {
            "status": self.status,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "solve_seconds": self.solve_seconds,
            "compile_seconds": self.compile_seconds,
            "bounds_seconds": self.bounds_seconds,
            "nodes": self.nodes,
            "solver": self.solver,
            "message": self.message,
            "values": {k: v.tolist() for k, v in self.values.items()},
            "names": self.names,
            "networks": {
                k: {"output": v.output.tolist(), "predicted": v.predicted,
                    "label": _plain(v.predicted_label), "kind": v.kind or None,
                    "layers": [a.tolist() for a in v.layers], "forward_gap": v.gap}
                for k, v in self.networks.items()
            },
            "forward_gap": self.forward_gap,
            "forward_check_ok": (self.forward_gap is None
                                 or self.forward_gap <= FORWARD_GAP_WARN),
            "max_violation": self.max_violation,
            "warnings": self.warnings,
            "model_size": self.model_size,
            "layer_stats": self.layer_stats,
            "tighten": self.tighten,
            "search": self.search,
            "approximations": self.approximations,
            "notes": self.notes,
            "found_by": self.found_by,
            "attack": self.attack,
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def summary(self) -> str:
        """A readable multi-line summary."""
        message = self.message
        loose = self.status == "optimal" and self.gap is not None and self.gap > SOLVER_GAP
        if loose and not message:  # a gap tolerance stopped it: not the proven optimum
            message = f"within the MIP gap: {100 * self.gap:.2f} % from the bound"
        lines = [f"status      {self.status}" + (f" ({message})" if message else "")]
        if self.objective is not None:
            lines.append(f"objective   {self.objective:.10g}")
        if self.bound is not None and (self.status == "time_limit" or loose):
            lines.append(f"bound       {self.bound:.10g}"
                         + (f"  (gap {100 * self.gap:.2f} %)" if self.gap is not None else ""))
        if self.found_by and self.objective is not None:
            lines.append(f"found by    {self.found_by}"
                         + (f"; attack {self.attack['objective']:.6g} in "
                            f"{self.attack['seconds']:.2f} s" if self.attack else ""))
        timing = (f"solve {self.solve_seconds:.3f} s, compile {self.compile_seconds:.3f} s "
                  f"(bounds {self.bounds_seconds:.3f} s)")
        lines.append(f"time        {timing}")
        if self.model_size:
            ms = self.model_size
            lines.append(f"model       {ms['variables']} variables ({ms['binaries']} binary, "
                         f"{ms['integers']} integer), {ms['constraints']} constraints, "
                         f"{ms['nonzeros']} nonzeros; solver {self.solver}")
        for label, stats in self.layer_stats.items():
            parts = [f"L{k + 1}: {s['unstable']}/{s['size']}" for k, s in enumerate(stats)
                     if s["activation"] == "relu"]
            if parts:
                lines.append(f"{label:<11} unstable ReLUs (need a binary) {', '.join(parts)}")
        for label, net in self.networks.items():
            if np.ndim(net.output) > 1:  # one output per sample of a data set
                out = np.array2string(net.output, precision=4, max_line_width=200)
                out = " ".join(out.split())
                lines.append(f"{label:<11} {net.output.shape[0]} samples; outputs {out}")
                continue
            lines.append(f"{label:<11} {net.describe()}")
        if self.forward_gap is not None:
            ok = "ok" if self.forward_gap <= FORWARD_GAP_WARN else "MISMATCH"
            lines.append(f"check       forward pass vs MILP: max relative gap "
                         f"{self.forward_gap:.2e} ({ok}); max constraint violation "
                         f"{self.max_violation:.2e}")
        for name, value in self.values.items():
            if name in self.names and len(self.names[name]) == value.size:
                width = max(len(n) for n in self.names[name])
                lines.append(f"{name:<11} " + "\n            ".join(
                    f"{n:<{width}}  {v:.6g}" for n, v in zip(self.names[name], value.ravel())))
                continue
            lines.append(f"{name:<11} {_describe_value(value)}")
        for name, a in self.approximations.items():
            lines.append(f"{name:<11} pwl {a['approx']:.6g} vs exact sum of squares "
                         f"{a['exact']:.6g}: %bound {100 * a['bound_gap']:.2f} %")
        for n in self.notes:
            lines.append(f"note: {n}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


def _plain(v: Any) -> Any:
    """A class label as JSON takes it (numpy scalars to Python)."""
    return v.item() if hasattr(v, "item") else v


def _describe_value(value: np.ndarray) -> str:
    if value.size <= 20:
        txt = np.array2string(value, precision=6, suppress_small=True, max_line_width=120)
        return txt.replace("\n", " ")
    nz = int(np.count_nonzero(np.abs(value) > 1e-9))
    return (f"shape {list(value.shape)}: min {value.min():.4g}, max {value.max():.4g}, "
            f"{nz} nonzero entries")
