"""The region LPs of one attack run that crashed HiGHS 1.16 (a segmentation fault
in the interior point method on the eleventh run of the same object), replayed
through :func:`nnlang.solve.attack.region._run`: the MNIST L1 example, test image
15, ``encoding = partition``. Each line is one run's ReLU binaries (``x``: relaxed
to [0, 1], as the LP-relaxation attack leaves them). Run as a script, in its own
process, so that a crash fails one test instead of ending the test session."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import nnlang
from nnlang.solve.attack.region import Problem, _run

RUNS = [
    "010111000110011101001101110010111111111111110111",
    "001111000110011111001101010010110111111111111111",
    "011111000110011111001101100010111111111111111111",
    "011111000110011111001101110010111111111111110111",
    "011111000110011111001101110010111111111111110111",
    "011111000110011111001101110010111111111111110111",
    "011111000110011111001101110010111111111111110111",
    "011111000111011111001101110010111111111111110111",
    "011111000110011111001101110010111111111111110111",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "010111000110011101001101110010111111111111110111",
]


def main() -> int:
    spec = Path(__file__).resolve().parents[2] / "examples" / "mnist_adversarial_l1.nnq"
    m = nnlang.compile(spec, {"index": 15}, encoding="partition")
    problem = Problem.build(m.milp)
    h = problem.highs
    zc = np.concatenate([r.z for r in problem.relus]).astype(np.int32)
    assert zc.size == len(RUNS[0]), "the example's model changed: re-record the runs"
    for run in RUNS:
        lo = np.array([0.0 if b == "x" else float(b) for b in run])
        hi = np.array([1.0 if b == "x" else float(b) for b in run])
        h.changeColsBounds(int(zc.size), zc, lo, hi)
        h.changeColsBounds(int(problem.cols.size), problem.cols.astype(np.int32),
                           np.asarray(problem.lb, float), np.asarray(problem.ub, float))
        if not _run(h, 60.0):
            print(f"run {run} did not end optimal", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
