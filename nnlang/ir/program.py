"""The checked program: what ``nnlang.check`` produces and the encoder consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlang.errors import Span
from nnlang.ir.nodes import Apply, Expr, NetworkDef, Var
from nnlang.ir.options import Options


@dataclass(frozen=True, eq=False)
class Comparison:
    """One constraint instance ``left op right`` (elementwise for arrays)."""

    name: str  # the spec's name, or c<line> for unnamed constraints
    label: str  # name with the family index, e.g. misclassified[3]
    left: Expr
    op: str  # <= | >= | ==
    right: Expr
    span: Span


@dataclass(frozen=True, eq=False)
class Disjunction:
    """At least one of ``disjuncts`` holds; each is a list of comparisons that all hold."""

    name: str
    label: str
    disjuncts: list[list[Comparison]]
    span: Span


@dataclass(frozen=True)
class Objective:
    sense: str  # minimize | maximize
    expr: Expr
    span: Span


@dataclass(frozen=True, eq=False)
class Training:
    """``train NET on INPUTS, LABELS { settings }``: what ``nnlang train`` does."""

    net: NetworkDef
    inputs: np.ndarray  # (samples, features)
    labels: np.ndarray  # (samples,) class indices
    settings: dict
    span: Span


@dataclass(eq=False)
class Program:
    """A checked spec: every name resolved, every shape known, params folded."""

    path: Path
    source: str
    networks: dict[str, NetworkDef]
    params: dict[str, np.ndarray]
    variables: dict[str, Var]
    lets: dict[str, Expr]
    objective: Objective | None
    constraints: list[Comparison]
    options: Options
    disjunctions: list[Disjunction] = field(default_factory=list)
    applications: list[Apply] = field(default_factory=list)
    # located "file:line:col: warning: ..." lines for what is legal but suspicious
    warnings: list[str] = field(default_factory=list)
    training: Training | None = None
