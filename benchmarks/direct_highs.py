"""A whole model to HiGHS through CVXPY against straight through highspy.

    python benchmarks/direct_highs.py                       # both studies
    python benchmarks/direct_highs.py --images 5 --time-limit 120 --large-limit 10

the CVXPY route (``nnlang.solve.backends.cvxpy``) lowers the MilpModel to a CVXPY problem, which CVXPY
canonicalizes and hands to HiGHS; the direct route (``nnlang.solve.backends.highs``) passes the same
matrices to highspy directly. Two studies, each path measured in the same
process, alternating which goes first:

- **small**: Linkola's (2023) L1 problem on the 784-32-16-10 network
  (``examples/reproductions/linkola_l1.nnq``), images ``0..N-1``, one MILP each
  (no radius search, no tightening), solved to optimality if the limit allows:
  wall time, HiGHS's own time, nodes, objective of each path;
- **large**: the same L1 problem on a random 784-1024-1024-10 network (seed 0,
  about 1.9 million nonzeros), time-limited: the wall time outside HiGHS (the
  lowering, canonicalization and the answer's checks) of each path.

Prints a Markdown table per study and the machine line (docs/benchmarks.md).
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

from bench_compile import SPEC as LARGE  # the same L1 problem as the compile benchmark
from bench_compile import _network_path

import nnlang
from nnlang.provenance import machine
from nnlang.solve.strategies.single import CVXPY, DIRECT, solve_via

SMALL = ROOT / "examples/reproductions/linkola_l1.nnq"


def one(path: str, compiled, limit: float) -> dict:
    """Solve ``compiled`` by one path; wall time from the call, lowering included."""
    opts = compiled.options.updated(time_limit=limit, threads=1)
    start = time.perf_counter()
    if path == "cvxpy":
        r = solve_via(CVXPY, compiled.milp, opts)  # lowers on first use
    else:
        r = solve_via(DIRECT, compiled.milp, opts)
    wall = time.perf_counter() - start
    return {"path": path, "wall": wall, "solver": r.solve_seconds, "outside": wall - r.solve_seconds,
            "status": r.status, "objective": r.objective, "nodes": r.nodes}


def small(images: int, limit: float) -> list[str]:
    rows = ["| image | path | status | objective | nodes | HiGHS s | wall s |",
            "|---:|---|---|---:|---:|---:|---:|"]
    totals = {"cvxpy": 0.0, "highspy": 0.0}
    for i in range(images):
        order = ("cvxpy", "highspy") if i % 2 == 0 else ("highspy", "cvxpy")
        for path in order:
            m = nnlang.compile(SMALL, params={"index": i})
            d = one(path, m, limit)
            totals[path] += d["wall"]
            obj = "-" if d["objective"] is None else f"{d['objective']:.6f}"
            rows.append(f"| {i} | {path} | {d['status']} | {obj} | {d['nodes']} | "
                        f"{d['solver']:.2f} | {d['wall']:.2f} |")
            print(rows[-1], flush=True)
    rows.append(f"\ntotal wall: CVXPY {totals['cvxpy']:.1f} s, highspy {totals['highspy']:.1f} s")
    return rows


def large(limit: float, repeats: int) -> list[str]:
    tmp = Path(tempfile.mkdtemp())
    net = _network_path("784-1024-1024-10", tmp)
    spec = tmp / "spec.nnq"
    spec.write_text(LARGE.format(net=net, data=ROOT / "examples/data/mnist_samples.npz"))
    rows = ["| run | path | status | HiGHS s | outside HiGHS s | wall s |",
            "|---:|---|---|---:|---:|---:|"]
    for k in range(repeats):
        for path in (("cvxpy", "highspy") if k % 2 == 0 else ("highspy", "cvxpy")):
            m = nnlang.compile(spec)
            d = one(path, m, limit)
            rows.append(f"| {k} | {path} | {d['status']} | {d['solver']:.2f} | "
                        f"{d['outside']:.2f} | {d['wall']:.2f} |")
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--large-limit", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only", choices=("small", "large"))
    a = ap.parse_args()
    print(f"# {machine()}", flush=True)
    out = []
    if a.only in (None, "small"):
        out += [f"## small: {SMALL.name}, images 0-{a.images - 1}, {a.time_limit:g} s", ""]
        out += small(a.images, a.time_limit) + [""]
    if a.only in (None, "large"):
        out += [f"## large: random 784-1024-1024-10, {a.large_limit:g} s", ""]
        out += large(a.large_limit, a.repeats) + [""]
    print("\n".join(out))
    print(f"# {machine(code=False)}")


if __name__ == "__main__":
    main()
