"""HiGHS on nnlang's MILPs with the rows in CVXPY's order or in the model's.

    NNLANG_CACHE_DIR=... python benchmarks/row_order.py SPEC --images 10 --time-limit 120

``nnlang.highs.milp_to_highs`` gives HiGHS a model's rows either as the model
lists them or as CVXPY does (``nnlang.highs.cvxpy_row_order``: equalities first,
then upper sides, then negated lower sides). HiGHS's search depends on that
order. For each image ``0..N-1`` of SPEC this solves the spec both ways
(``m.solve()``, radius search and all, one thread; which goes first alternates)
and prints status, objective, nodes and solve seconds, then the totals.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlang
from nnlang import highs
from nnlang.provenance import machine


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    a = ap.parse_args()
    sets = dict(s.split("=", 1) for s in a.set)
    print(f"# {machine()}\n# {a.spec} {sets or ''}, {a.time_limit:g} s", flush=True)
    print("| image | rows | status | objective | nodes | solve s |\n|---:|---|---|---:|---:|---:|")
    total = {True: 0.0, False: 0.0}
    solved = {True: 0, False: 0}
    for i in range(a.start, a.start + a.images):
        for cvx in ((True, False) if i % 2 == 0 else (False, True)):
            highs.CVXPY_ROW_ORDER = cvx
            m = nnlang.compile(a.spec, params={"index": i, **sets})
            r = m.solve(time_limit=a.time_limit, threads=1)
            total[cvx] += r.solve_seconds
            solved[cvx] += r.status == "optimal"
            obj = "-" if r.objective is None else f"{r.objective:.6g}"
            print(f"| {i} | {'cvxpy' if cvx else 'model'} | {r.status} | {obj} | {r.nodes} | "
                  f"{r.solve_seconds:.2f} |", flush=True)
    for cvx in (True, False):
        print(f"# {'cvxpy' if cvx else 'model'} order: {solved[cvx]} optimal, "
              f"{total[cvx]:.1f} s of solving")
    print(f"# {machine(code=False)}")


if __name__ == "__main__":
    main()
