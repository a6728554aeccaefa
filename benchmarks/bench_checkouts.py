"""One spec over several instances, solved by ``nnlang solve`` from two or more
checkouts (or encodings), alternating per instance so that all see the same load.

    python benchmarks/bench_checkouts.py examples/mnist_adversarial_l1.nnq --count 20 \
        --config before=/path/to/old/checkout:bigm after=.:bigm after-partition=.:partition

Each config is ``NAME=CHECKOUT:ENCODING``: the checkout whose ``nnlang`` package
runs the solve (``.`` for this one; it is put first on ``PYTHONPATH`` and the solve
runs outside any checkout, so no other copy is picked up), and the ReLU encoding.
One thread, the spec's options otherwise (the radius search and the attack on).
Prints one line per solve and per config the solved count, median and total wall
seconds (the process's, compiling included); ``--out`` writes them as JSON.
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

from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]


def solve(checkout: Path, encoding: str, spec: Path, param: str, index: int,
          limit: float, tmp: Path) -> dict:
    out = tmp / "result.json"
    out.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "nnlang", "solve", str(spec), "--set",
                          f"{param}={index}", "--encoding", encoding, "--threads", "1",
                          "--time-limit", str(limit), "--json", str(out), "-q"],
                         check=False, capture_output=True, text=True, env=env, cwd=tmp)
    seconds = time.perf_counter() - t
    if not out.exists():
        return {"status": "error", "seconds": round(seconds, 3), "stderr": run.stderr[-500:]}
    r = json.loads(out.read_text())
    return {"status": r["status"], "objective": r.get("objective"), "bound": r.get("bound"),
            "seconds": round(seconds, 3), "load": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spec", type=Path)
    ap.add_argument("--config", nargs="+", required=True, help="NAME=CHECKOUT:ENCODING")
    ap.add_argument("--param", default="index")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    configs = []
    for item in args.config:
        name, _, rest = item.partition("=")
        checkout, _, encoding = rest.rpartition(":")
        configs.append((name, Path(checkout).resolve(), encoding or "bigm"))
    spec = args.spec.resolve()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.start, args.start + args.count):
            for name, checkout, encoding in configs:
                r = {"index": index, "config": name,
                     **solve(checkout, encoding, spec, args.param, index, args.time_limit,
                             Path(tmp))}
                records.append(r)
                print(json.dumps(r), flush=True)
    for name, _, _ in configs:
        rs = [r for r in records if r["config"] == name]
        ok = [r["seconds"] for r in rs if r["status"] == "optimal"]
        print(f"{name}: {len(ok)}/{len(rs)} optimal, median "
              f"{statistics.median(ok) if ok else float('nan'):.2f} s, total "
              f"{sum(r['seconds'] for r in rs):.1f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine(), "args": {
            **vars(args), "spec": str(args.spec), "out": str(args.out)},
            "configs": [[n, str(c), e] for n, c, e in configs], "records": records},
            indent=1) + "\n")


if __name__ == "__main__":
    main()
