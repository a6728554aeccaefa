"""nnlang (radius search, HiGHS) beside Gurobi alone, image by image in one run
(docs/benchmarks.md, "Cheap radius steps grow faster").

For each image: the spec's big-M model over the whole input box with exact (MILP)
neuron bounds, written by ``nnlang compile --to mps --full-box --bounds milp``, read
and solved by Gurobi (one thread, gap 1e-4); then ``nnlang solve``'s API on the same
instance (one thread). Both in the same process, alternating, so that both see the
same load. Needs ``pip install gurobipy`` (its bundled license takes these sizes).

    python benchmarks/bench_gurobi.py examples/mnist_adversarial_dnn.nnq --count 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nnlang
from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec")
    ap.add_argument("--param", default="index")
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import gurobipy as gp

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.count):
            out = Path(tmp) / f"i{i}"
            subprocess.run([sys.executable, "-m", "nnlang", "compile", args.spec, "--to", "mps",
                            "--full-box", "--bounds", "milp", "--set", f"{args.param}={i}",
                            "-o", str(out)], check=True, capture_output=True)
            env = gp.Env(params={"OutputFlag": 0, "Threads": 1})
            g = gp.read(str(next(out.glob("*.mps"))), env=env)
            g.Params.TimeLimit, g.Params.MIPGap = args.time_limit, 1e-4
            t = time.perf_counter()
            g.optimize()
            grb = time.perf_counter() - t
            m = nnlang.compile(args.spec, params={args.param: i})
            t = time.perf_counter()
            r = m.solve(time_limit=args.time_limit, threads=1)
            rows.append({"instance": i, "gurobi_seconds": round(grb, 3),
                         "gurobi_objective": g.ObjVal if g.SolCount else None,
                         "gurobi_optimal": g.Status == gp.GRB.OPTIMAL,
                         "nnlang_seconds": round(time.perf_counter() - t, 3),
                         "nnlang_objective": r.objective, "nnlang_status": r.status,
                         "load": os.getloadavg()[0]})
            print(json.dumps(rows[-1]), flush=True)
            g.dispose()
            env.dispose()
    summary = {k: statistics.median(r[f"{k}_seconds"] for r in rows) for k in ("gurobi", "nnlang")}
    print(f"median seconds: Gurobi {summary['gurobi']:.3f}, nnlang {summary['nnlang']:.3f}")
    out = Path(args.out) if args.out else \
        ROOT / "benchmarks" / "results" / f"gurobi_{Path(args.spec).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "gurobi": gp.gurobi.version(),
                               "args": vars(args), "median": summary, "records": rows},
                              indent=1))


if __name__ == "__main__":
    main()
