"""The verifier's answer: ``sat`` (with a checked counterexample), ``unsat``,
``timeout`` or ``unknown``, and the VNN-COMP result file."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnlang.verify.attack import Counterexample

STATUSES = ("sat", "unsat", "timeout", "unknown")


@dataclass
class VerifyResult:
    """The answer, its counterexample (for ``sat``) and how it was reached."""

    status: str
    counterexample: Counterexample | None = None
    seconds: float = 0.0
    method: str = ""  # attack | bounds | split | milp | ...
    message: str = ""
    stats: dict = field(default_factory=dict)
    n_in: int = 0
    n_out: int = 0

    def vnncomp_text(self) -> str:
        """The VNN-COMP result file: the status line, then for ``sat`` the
        counterexample ``((X_0 v) ... (Y_0 v) ...)``."""
        lines = [self.status]
        ce = self.counterexample
        if self.status == "sat" and ce is not None:
            items = [f"(X_{i} {float(v)!r})" for i, v in enumerate(ce.x)]
            items += [f"(Y_{j} {float(v)!r})" for j, v in enumerate(ce.y)]
            lines.append("(" + "\n ".join(items) + ")")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        out = [f"{self.status}"]
        detail = f"{self.method}" + (f": {self.message}" if self.message else "")
        out.append(f"  ({detail}; {self.seconds:.2f} s)")
        return " ".join(out)


def read_counterexample(path: str | Path) -> tuple[str, np.ndarray, np.ndarray]:
    """Read a VNN-COMP result or counterexample file: ``(status, x, y)``.

    The status line is optional (``sat`` is assumed when it is missing); the
    file may be gzipped.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    first = text.lstrip().split(None, 1)[0] if text.strip() else ""
    status = first if first in STATUSES or first in ("violated", "holds") else "sat"
    xs: dict[int, float] = {}
    ys: dict[int, float] = {}
    for kind, idx, val in re.findall(r"\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)", text):
        (xs if kind == "X" else ys)[int(idx)] = float(val)
    x = np.array([xs[i] for i in range(len(xs))]) if xs else np.zeros(0)
    y = np.array([ys[i] for i in range(len(ys))]) if ys else np.zeros(0)
    return status, x, y
