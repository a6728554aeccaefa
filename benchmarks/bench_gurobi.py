"""nnlang (HiGHS or Gurobi as its solver) beside Gurobi alone, image by image in one run
(docs/benchmarks.md, "Cheap radius steps grow faster").

For each image: the spec's big-M model over the whole input box with exact (MILP)
neuron bounds, written by ``nnlang compile --to mps --full-box --bounds milp``, read
and solved by Gurobi (one thread, gap 1e-4); then ``nnlang solve``'s API on the same
instance (one thread) in each ``--nnlang`` configuration: HiGHS or Gurobi as the
solver of the radius search's steps, or of one MILP over the box. All in the same
process, alternating per image, so that all see the same load; the seconds are the
solves' (compiling is outside, for Gurobi the MILP bounds too: they are computed once
per network and cached). Needs ``pip install gurobipy`` (its bundled license takes these sizes).

    python benchmarks/bench_gurobi.py examples/mnist_adversarial_dnn.nnq --count 10 \
        --nnlang highs:radius gurobi:radius gurobi:single
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
    ap.add_argument("--nnlang", nargs="+", default=["highs:radius"],
                    help="nnlang configurations SOLVER:STRATEGY, STRATEGY radius or single "
                         "(one MILP over the box with the attack's start), e.g. gurobi:radius")
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
            row = {"instance": i, "gurobi_seconds": round(grb, 3),
                   "gurobi_objective": g.ObjVal if g.SolCount else None,
                   "gurobi_optimal": g.Status == gp.GRB.OPTIMAL}
            m = nnlang.compile(args.spec, params={args.param: i})
            for config in args.nnlang:
                solver, _, strategy = config.partition(":")
                t = time.perf_counter()
                r = m.solve(time_limit=args.time_limit, threads=1, solver=solver,
                            radius_search=strategy != "single")
                key = "nnlang" if config == "highs:radius" else f"nnlang_{solver}_{strategy}"
                row.update({f"{key}_seconds": round(time.perf_counter() - t, 3),
                            f"{key}_objective": r.objective, f"{key}_status": r.status,
                            f"{key}_attack_seconds": (r.attack or {}).get("seconds")})
            row["load"] = os.getloadavg()[0]
            rows.append(row)
            print(json.dumps(rows[-1]), flush=True)
            g.dispose()
            env.dispose()
    keys = [k[: -len("_seconds")] for k in rows[0] if k.endswith("_seconds")
            and not k.endswith("attack_seconds")]
    summary = {k: statistics.median(r[f"{k}_seconds"] for r in rows) for k in keys}
    total = {k: sum(r[f"{k}_seconds"] for r in rows) for k in keys}
    print("median (sum) seconds: " + ", ".join(f"{k} {summary[k]:.3f} ({total[k]:.2f})"
                                               for k in keys))
    out = Path(args.out) if args.out else \
        ROOT / "benchmarks" / "results" / f"gurobi_{Path(args.spec).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "gurobi": gp.gurobi.version(),
                               "args": vars(args), "median": summary, "total": total,
                               "records": rows},
                              indent=1))


if __name__ == "__main__":
    main()
