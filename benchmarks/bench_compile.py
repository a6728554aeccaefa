"""Compile-time benchmark: the MNIST L1 adversarial problem, nnlang vs hand-written CVXPY.

"Compile" = parse + check + bounds + encode + CVXPY problem built and
canonicalized for HiGHS (``get_problem_data``), excluding the solve.
Each measurement runs in a fresh subprocess so peak memory (ru_maxrss) is its own.

    python benchmarks/bench_compile.py            # both sizes, 3 repeats
    python benchmarks/bench_compile.py --sizes 784-32-16-10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEC = """network net = load("{net}")
param image[784] = data("{data}", "images")[0]
param label = data("{data}", "labels")[0]
param target = (label + 5) % 10
var x[784] in [0, 1]
y = net(x)
minimize norm1(x - image)
subject to
    misclassified: y[target] >= y[j] + 0.2  for j in 0..9 if j != target
"""


def _network_path(sizes: str, tmp: Path) -> Path:
    if sizes == "784-32-16-10":
        return ROOT / "examples/models/mnist_784_32_16_10.npz"
    from nnlang.testing import random_network, write_network

    dims = [int(s) for s in sizes.split("-")]
    return write_network(random_network(dims, seed=0), tmp / f"random_{sizes}.npz")


def run_nnlang(net: Path) -> dict:
    import cvxpy as cp

    import nnlang
    import nnlang.api  # loaded before the clock starts: compile time, not import time

    spec = Path(tempfile.mkdtemp()) / "spec.nnq"
    spec.write_text(SPEC.format(net=net, data=ROOT / "examples/data/mnist_samples.npz"))
    c0 = time.process_time()
    t0 = time.perf_counter()
    m = nnlang.compile(spec)
    t1 = time.perf_counter()
    problem = m.problem
    t2 = time.perf_counter()
    problem.get_problem_data(cp.HIGHS)
    t3 = time.perf_counter()
    return {"encode": t1 - t0, "cvxpy_build": t2 - t1, "cvxpy_canon": t3 - t2,
            "total": t3 - t0, "cpu": time.process_time() - c0, "timings": m.timings, "nnz": m.milp.nnz,
            "binaries": sum(b.size for b in m.milp.blocks if b.kind == "binary")}


def run_baseline(net: Path) -> dict:
    """The same MILP written by hand in vectorized CVXPY (interval bounds, big-M)."""
    import cvxpy as cp

    from nnlang.networks.npz import load_npz

    c0 = time.process_time()
    t0 = time.perf_counter()
    network = load_npz(net)
    with np.load(ROOT / "examples/data/mnist_samples.npz") as d:
        image, label = d["images"][0], int(d["labels"][0])
    target = (label + 5) % 10
    x = cp.Variable(784, bounds=[np.zeros(784), np.ones(784)])
    t = cp.Variable(784)
    cons = [t >= x - image, t >= image - x]
    lo, hi = np.zeros(784), np.ones(784)
    h = x
    for layer in network.layers:
        Wp, Wn = np.maximum(layer.W, 0), np.minimum(layer.W, 0)
        L, U = Wp @ lo + Wn @ hi + layer.b, Wp @ hi + Wn @ lo + layer.b
        n = layer.n_out
        if layer.activation == "relu":
            xs, s = cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)
            z = cp.Variable(n, boolean=True)
            cons += [layer.W @ h + layer.b == xs - s, xs <= cp.multiply(np.maximum(U, 0), z),
                     s <= cp.multiply(np.maximum(-L, 0), 1 - z)]
            lo, hi, h = np.maximum(L, 0), np.maximum(U, 0), xs
        else:
            out = cp.Variable(n)
            cons += [out == layer.W @ h + layer.b]
            lo, hi, h = L, U, out
    others = [j for j in range(10) if j != target]
    cons += [h[target] >= h[others] + 0.2]
    problem = cp.Problem(cp.Minimize(cp.sum(t)), cons)
    t1 = time.perf_counter()
    problem.get_problem_data(cp.HIGHS)
    t2 = time.perf_counter()
    return {"build": t1 - t0, "cvxpy_canon": t2 - t1, "total": t2 - t0,
            "cpu": time.process_time() - c0}


def _child(kind: str, net: str) -> None:
    result = run_nnlang(Path(net)) if kind == "nnlang" else run_baseline(Path(net))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, net: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(net)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", default=["784-32-16-10", "784-1024-1024-10"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return

    from nnlang.provenance import machine
    print(f"# machine: {machine()}")
    tmp = Path(tempfile.mkdtemp())
    print(f"# load average at the start: {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"on {os.cpu_count()} cores; best of {args.repeats} (wall), CPU time of that run")
    print("| network | nnlang compile wall (s) | CPU (s) | of which CVXPY canon (s) | nnlang peak MB "
          "| hand-written CVXPY wall (s) | CPU (s) | baseline peak MB | nonzeros | binaries |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for sizes in args.sizes:
        net = _network_path(sizes, tmp)
        ours = [measure("nnlang", net) for _ in range(args.repeats)]
        base = [measure("baseline", net) for _ in range(args.repeats)]
        best = min(ours, key=lambda r: r["total"])
        bbest = min(base, key=lambda r: r["total"])
        print(f"| {sizes} | {best['total']:.2f} | {best['cpu']:.2f} | {best['cvxpy_canon']:.2f} | "
              f"{max(r['peak_mb'] for r in ours):.0f} | {bbest['total']:.2f} | {bbest['cpu']:.2f} | "
              f"{max(r['peak_mb'] for r in base):.0f} | {best['nnz']} | {best['binaries']} |")
    print(f"# load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
