"""Emitter benchmark: write the MNIST L1 adversarial problem on a random 784-1024-1024-10
network as LP, MPS and AMPL, and report time, file size and peak memory.

Each format runs in a fresh subprocess (the model is compiled there first, outside
the timing), so the reported peak memory is the process's own high-water mark
(ru_maxrss) and the tracemalloc peak of the write alone (Python allocations:
numpy buffers and strings).

    python benchmarks/bench_emit.py                   # 784-1024-1024-10, seed 0
    python benchmarks/bench_emit.py --sizes 784-32-16-10 --json out.json

Targets: LP under 3 s and 1 GB; AMPL .dat under 3 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = """network net = load("{net}")
param index = 0
param image[784] = data("{data}", "images")[index]
param label = data("{data}", "labels")[index]
param target = (label + 5) % 10
var x[28, 28] in [0, 1]
y = net(x)
minimize norm1(flatten(x) - image)
subject to
    misclassified: y[target] >= y[j] + 0.2  for j in 0..9 if j != target
"""


def measure(fmt: str, sizes: str, seed: int, traced: bool) -> dict:
    """Compile, then time ``nnlang.emit.emit_files`` of one format (runs in the child)."""
    import gc
    import tracemalloc

    import nnlang
    import nnlang.emit
    from nnlang.testing import random_network, write_network

    tmp = Path(tempfile.mkdtemp(prefix="bench_emit_"))
    dims = [int(s) for s in sizes.split("-")]
    net = write_network(random_network(dims, seed=seed), tmp / "net.npz")
    spec = tmp / "spec.nnq"
    spec.write_text(SPEC.format(net=net, data=ROOT / "examples/data/mnist_samples.npz"))
    t0 = time.perf_counter()
    model = nnlang.compile(spec)
    compile_s = time.perf_counter() - t0
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w0, c0 = time.perf_counter(), time.process_time()
    if fmt == "highs-lp":  # baseline: HiGHS's own LP writer on the same matrix
        paths = [highs_write(model.milp, tmp / "out" / "highs.lp")]
    else:
        paths = nnlang.emit.emit_files(model, fmt, tmp / "out")
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    traced_peak = None
    if traced and fmt != "highs-lp":  # tracemalloc slows allocation-heavy code several times: a separate run
        gc.collect()
        tracemalloc.start()
        nnlang.emit.emit_files(model, fmt, tmp / "out")
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    files = {p.suffix.lstrip("."): p.stat().st_size for p in paths}
    for p in paths:
        p.unlink()
    return {"format": fmt, "sizes": sizes, "compile_s": compile_s, "write_s": wall,
            "write_cpu_s": cpu, "traced_peak_mb": traced_peak,
            "rss_before_mb": rss_before / 1024, "rss_peak_mb": rss_after / 1024,
            "files": files, "nnz": model.milp.nnz, "columns": model.milp.n,
            "rows": model.milp.num_rows}


def highs_write(milp, path: Path) -> Path:
    """Pass ``milp`` to highspy (CSR rows, bounds, integrality) and ``writeModel`` it.

    The time includes building HiGHS's model from the matrices, as the nnlang
    writers' time includes naming and formatting.
    """
    import highspy
    import numpy as np
    import scipy.sparse as sp

    path.parent.mkdir(parents=True, exist_ok=True)
    A = sp.vstack([r.A for r in milp.rows], format="csr")
    lo = np.concatenate([r.lo for r in milp.rows])
    hi = np.concatenate([r.hi for r in milp.rows])
    lb, ub = milp.column_bounds()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = milp.n, A.shape[0]
    lp.col_cost_ = np.asarray(milp.objective.c, dtype=float)
    lp.col_lower_, lp.col_upper_ = lb.astype(float), ub.astype(float)
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    kinds = np.concatenate([np.full(b.size, b.kind != "continuous") for b in milp.blocks])
    lp.integrality_ = [highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                       for k in kinds]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.writeModel(str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="784-1024-1024-10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default="lp,mps,ampl,highs-lp",
                        help="highs-lp: HiGHS's own writer on the same model, a baseline")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report the tracemalloc peak of a second (slow) write")
    parser.add_argument("--child", nargs=4, metavar=("FMT", "SIZES", "SEED", "TRACED"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fmt, sizes, seed, traced = args.child
        print(json.dumps(measure(fmt, sizes, int(seed), traced == "1")))
        return
    results = []
    for fmt in args.formats.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", fmt, args.sizes,
                              str(args.seed), "1" if args.tracemalloc else "0"], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))

    first = results[0]
    print(f"MNIST L1 adversarial on a random {args.sizes} network (seed {args.seed}): "
          f"{first['columns']} columns, {first['rows']} rows, {first['nnz']} nonzeros; "
          f"compile {first['compile_s']:.2f} s")
    from nnlang.provenance import machine
    print(f"machine: {machine()}")
    print()
    print("| format | file(s) | size (MB) | write wall (s) | write CPU (s) | RSS after compile (MB) "
          "| peak RSS (MB) | tracemalloc peak (MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        names = ", ".join(f".{k}" for k in r["files"])
        size = " + ".join(f"{v / 1e6:.1f}" for v in r["files"].values())
        traced = "-" if r["traced_peak_mb"] is None else f"{r['traced_peak_mb']:.0f}"
        print(f"| {r['format']} | {names} | {size} | {r['write_s']:.2f} | {r['write_cpu_s']:.2f} "
              f"| {r['rss_before_mb']:.0f} | {r['rss_peak_mb']:.0f} | {traced} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
