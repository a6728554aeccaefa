"""Start-up of the ``nnlang`` command: ``--help``, ``check`` and a small ``solve``.

    python benchmarks/bench_startup.py                     # this checkout
    python benchmarks/bench_startup.py --against ../old    # and another checkout, side by side

Each command runs ``--runs`` times in a fresh process (the console script's own
start-up included: ``python -m nnlang`` would count the same); the table gives
the median wall time. ``--against DIR`` runs the same commands with ``DIR`` first
on ``PYTHONPATH``, so an older checkout of nnlang is measured on the same machine
in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "breast_cancer_adversarial.nnq"
COMMANDS = {
    "nnlang --help": ["--help"],
    "nnlang check (breast cancer 9-3-3-2)": ["check", str(EXAMPLE)],
    "nnlang solve -q (breast cancer 9-3-3-2)": ["solve", str(EXAMPLE), "-q"],
}


def median_seconds(argv: list[str], runs: int, tree: Path | None) -> float:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    code = "import sys; from nnlang.cli import main; sys.exit(main(sys.argv[1:]))"
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *argv], env=env, cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--against", type=Path, help="another nnlang checkout to measure too")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from nnlang.provenance import machine

    trees = [("this checkout", ROOT)] + ([("--against", args.against.resolve())]
                                         if args.against else [])
    print(f"# {machine()}")
    print(f"# median of {args.runs} runs, wall seconds, one fresh process each")
    print("| command | " + " | ".join(name for name, _ in trees) + " |")
    print("|---|" + "---|" * len(trees))
    for label, argv in COMMANDS.items():
        cells = [f"{median_seconds(argv, args.runs, tree):.3f}" for _, tree in trees]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
