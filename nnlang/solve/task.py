"""What a solve strategy is given: the encoded model and how to encode it again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnlang.ir.milp import MilpModel


@dataclass(eq=False)
class Task:
    """``milp``: the model as compiled. ``reencode(overrides)``: the same spec encoded
    with tighter neuron bounds (``{application label: [(L, U) per layer]}``,
    intersected with the compiled ones), which is how a strategy narrows a model
    without reaching back into the compiler. ``shared``: state that every model of
    one solve shares (the outer approximation's tangents). ``incumbent``: the
    attack's checked point, or None."""

    milp: MilpModel
    reencode: Callable[[dict], MilpModel]
    shared: Any = None
    # the attack's checked point (nnlang.solve.attack.Incumbent), found before the MILP
    incumbent: Any = None
