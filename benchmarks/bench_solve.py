"""Solve-time benchmark: one spec over several instances (e.g. MNIST test images).

    python benchmarks/bench_solve.py examples/mnist_adversarial_l1.nnq --count 20 \
        --time-limit 60 [--bounds interval] [--out results.jsonl]

Prints one line per instance and a summary (median / max time, % solved), the
statistics of Linkola (2023) Table 2 and Zhu (2021) Tables 2-6.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import nnlang
from nnlang.provenance import machine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--param", default="index", help="the parameter that selects the instance")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--bounds", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-tighten", action="store_true", help="one solve, no LP tightening rounds")
    args = ap.parse_args()
    import highspy  # noqa: F401

    print(f"# {machine()}; nnlang {nnlang.__version__}; spec {args.spec}; "
          f"time limit {args.time_limit} s; bounds {args.bounds or 'spec default'}; "
          f"tighten {'off' if args.no_tighten else 'on'}")
    rows = []
    # kept open for the whole run (a line per instance as it finishes), closed after the loop
    out = open(args.out, "w") if args.out else None  # noqa: SIM115
    for i in range(args.start, args.start + args.count):
        t0 = time.perf_counter()
        opts = {"bounds": args.bounds} if args.bounds else {}
        m = nnlang.compile(args.spec, params={args.param: i}, **opts)
        r = m.solve(time_limit=args.time_limit, tighten=False if args.no_tighten else None)
        total = time.perf_counter() - t0
        row = {"instance": i, "status": r.status, "objective": r.objective, "bound": r.bound,
               "gap": r.gap, "nodes": r.nodes, "solve_seconds": r.solve_seconds,
               "compile_seconds": r.compile_seconds, "bounds_seconds": r.bounds_seconds,
               "total_seconds": total, "forward_gap": r.forward_gap}
        rows.append(row)
        print(f"{i:4d} {r.status:>10} obj {r.objective if r.objective is not None else float('nan'):10.4f}"
              f" gap {100 * (r.gap or 0):6.2f}% nodes {r.nodes or 0:8d} "
              f"solve {r.solve_seconds:8.2f} s total {total:8.2f} s", flush=True)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
    if out:
        out.close()
    times = [r["total_seconds"] for r in rows]
    solved = sum(r["status"] == "optimal" for r in rows)
    print(f"solved {solved}/{len(rows)} ({100 * solved / len(rows):.0f} %); total time median "
          f"{statistics.median(times):.2f} s, mean {statistics.mean(times):.2f} s, "
          f"max {max(times):.2f} s (time-limited instances count at their limit)")


if __name__ == "__main__":
    main()
