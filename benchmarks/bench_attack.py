"""The attack stage on networks of real size (docs/benchmarks.md, "Attack-seeded
incumbents").

Per network and norm: minimal-distance adversarial examples (target ``(d + 5) mod 10``,
additive margin) for the first test images the network classifies correctly, each
solved by ``nnlang solve``'s API with the attack on (and, with ``--compare``, off).
Each record: status, objective, bound, the attack's objective and seconds (the time to
the first incumbent), the stage that found the point returned, and the time split
into attack, bounds and MILP.

    python benchmarks/bench_attack.py --net vnn256x2 --norm norm1 --images 10 --limit 150
    python benchmarks/bench_attack.py --net mlp64 --norm norminf --images 10 --limit 300
    python benchmarks/bench_attack.py --net cnn --norm norm1 --images 3 --limit 60 --compare

Results: ``benchmarks/results/attack/<net>_<norm>_<limit>s.json``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import nnlang
from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data from the main checkout, ../../shared/data from a worktree under /work/wt
DATA = next((p / "shared" / "data" for p in ROOT.parents if (p / "shared" / "data").is_dir()),
            ROOT.parent / "shared" / "data")
RESULTS = ROOT / "benchmarks" / "results" / "attack"
NETS = {
    "vnn256x2": (DATA / "vnncomp-mnistfc" / "onnx" / "mnist-net_256x2.onnx", 0.1),
    "mlp64": (ROOT / "examples" / "real_size" / "mnist_mlp_64_32.onnx", 0.1),
    "cnn": (ROOT / "examples" / "real_size" / "mnist_cnn4.onnx", 0.1),
}

SPEC = """network net = load("{net}")
param image[784] = data("{data}", "images")[{index}]
param target = {target}
var x[784] in [0, 1]
y = net(x)
minimize {norm}(x - image)
subject to
    adversarial: y[target] >= y[j] + {margin}  for j in 0..9 if j != target
"""


def mnist_test(count: int) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(DATA / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:count]
    with gzip.open(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return images.astype(float) / 255.0, labels.astype(int)


def correct_images(net_path: Path, count: int) -> list[int]:
    """The first ``count`` test images the network classifies correctly."""
    images, labels = mnist_test(200)
    net = nnlang.Network.from_onnx(net_path)
    pred = np.argmax(net.forward(images)[-1], axis=1)
    return [int(i) for i in np.flatnonzero(pred == labels)[:count]]


def run_one(spec_dir: Path, net_path: Path, margin: float, norm: str, index: int,
            label: int, limit: float, attack: bool) -> dict:
    spec = spec_dir / f"img{index}.nnq"
    spec.write_text(SPEC.format(net=net_path, data=spec_dir / "mnist.npz", index=index,
                                target=(label + 5) % 10, norm=norm, margin=margin))
    t = time.perf_counter()
    m = nnlang.compile(spec)
    r = m.solve(time_limit=limit, threads=1, attack=attack)
    total = time.perf_counter() - t
    a = r.attack or {}
    return {"image": index, "label": label, "attack_on": attack, "status": r.status,
            "objective": r.objective, "bound": r.bound, "found_by": r.found_by,
            "attack_objective": a.get("objective"), "attack_seconds": a.get("seconds"),
            "first_incumbent_seconds": a.get("first_seconds"),
            "attack_by": a.get("found_by"), "attack_log": a.get("log"),
            "bounds_seconds": round(r.bounds_seconds, 3),
            "solve_seconds": round(r.solve_seconds, 3), "total_seconds": round(total, 3),
            "milp_seconds": round(r.solve_seconds - (a.get("seconds") or 0.0), 3),
            "search": None if r.search is None else r.search.get("steps"),
            "forward_gap": r.forward_gap, "load": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", choices=sorted(NETS), default="vnn256x2")
    ap.add_argument("--norm", choices=["norm1", "norminf"], default="norm1")
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--limit", type=float, default=150.0)
    ap.add_argument("--compare", action="store_true", help="also solve with the attack off")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    net_path, margin = NETS[args.net]
    images, labels = mnist_test(200)
    chosen = correct_images(net_path, args.images)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.net}_{args.norm}_{int(args.limit)}s{args.tag}.json"
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.savez(d / "mnist.npz", images=images, labels=labels)
        for index in chosen:
            for attack in ([True, False] if args.compare else [True]):
                rec = run_one(d, net_path, margin, args.norm, index, int(labels[index]),
                              args.limit, attack)
                records.append(rec)
                print(json.dumps({k: v for k, v in rec.items()
                                  if k not in ("attack_log", "search")}), flush=True)
                out.write_text(json.dumps({"machine": machine(), "args": vars(args),
                                           "records": records}, indent=1))
    on = [r for r in records if r["attack_on"]]
    solved = [r for r in on if r["status"] == "optimal"]
    print(f"{len(solved)}/{len(on)} optimal; median total "
          f"{statistics.median(r['total_seconds'] for r in on):.1f} s")


if __name__ == "__main__":
    main()
