"""HiGHS's presolve on nnlang's MILPs with and without its sparsify rule.

    python benchmarks/bench_presolve.py                          # widths 32..512
    python benchmarks/bench_presolve.py --widths 1024 --solve 3  # and a 3 s solve

The MNIST L1 problem (``bench_compile.py``'s spec) on random 784-w-w-10 networks
(seed 0; the 784-32-16-10 one for w = 32), interval bounds, big-M: for each
width, ``Highs.presolve()`` of the model with HiGHS's rules as they were before
(``presolve_rule_off = 0``) and with nnlang's ``nnlang.registry.HIGHS_DEFAULTS`` (no
sparsify): seconds and the presolved model's rows, columns and nonzeros. With
``--solve T`` also a whole solve with time limit T under each setting: the
seconds it really took.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_compile import SPEC, _network_path

import nnlang
from nnlang.provenance import machine
from nnlang.registry import HIGHS_DEFAULTS
from nnlang.solve.backends.highs import milp_to_highs


def measure(width: int, solve: float | None) -> list[str]:
    sizes = "784-32-16-10" if width == 32 else f"784-{width}-{width}-10"
    tmp = Path(tempfile.mkdtemp())
    spec = tmp / "spec.nnq"
    spec.write_text(SPEC.format(net=_network_path(sizes, tmp),
                                data=ROOT / "examples/data/mnist_samples.npz"))
    m = nnlang.compile(spec)
    rows = []
    for off, name in ((0, "all rules"), (HIGHS_DEFAULTS["presolve_rule_off"], "nnlang's (no sparsify)")):
        h, _ = milp_to_highs(m.milp)
        h.setOptionValue("presolve_rule_off", off)
        h.setOptionValue("threads", 1)
        start = time.perf_counter()
        h.presolve()
        seconds = time.perf_counter() - start
        lp = h.getPresolvedLp()
        row = (f"| {sizes} | {m.milp.nnz} | {name} | {seconds:.2f} | {lp.num_row_} | "
               f"{lp.num_col_} | {len(lp.a_matrix_.value_)} |")
        if solve is not None:
            h, _ = milp_to_highs(m.milp)
            h.setOptionValue("presolve_rule_off", off)
            h.setOptionValue("threads", 1)
            h.setOptionValue("time_limit", float(solve))
            start = time.perf_counter()
            h.run()
            row += f" {time.perf_counter() - start:.1f} |"
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="32,128,256,512",
                    help="comma-separated hidden widths (32 = the 784-32-16-10 network)")
    ap.add_argument("--solve", type=float, help="also a whole solve with this time limit (s)")
    a = ap.parse_args()
    print(f"# {machine()}", flush=True)
    head = "| network | nonzeros | presolve rules | presolve s | rows | columns | nonzeros after |"
    rule = "|---|---:|---|---:|---:|---:|---:|"
    if a.solve is not None:
        head += f" solve with a {a.solve:g} s limit: s |"
        rule += "---:|"
    print(head + "\n" + rule, flush=True)
    for w in a.widths.split(","):
        measure(int(w), a.solve)
    print(f"# {machine(code=False)}")


if __name__ == "__main__":
    main()
