"""nnlang batch three ways: --jobs 1, --jobs 2, --cluster local:2 (docs/distributed.md).

1. ``batch``: one batch of ``--count`` MNIST minimal-L1 adversarial instances
   (``examples/mnist_adversarial_l1.nnq``) under ``--time-limit`` seconds each, so every
   instance takes a few seconds whatever the load. Throughput (instances per minute)
   and per-instance overhead: wall time over the mean of the instances' own wall times.
2. ``tiny``: a batch of short breast-cancer instances (tens of milliseconds each), where
   the fixed cost per instance of each executor dominates.
3. ``client``: how many result records per second the client can take. (a) its own
   part alone: the results file write (JSON, flush, fsync) and the progress bar, for a
   real MNIST record; (b) end to end through Dask: trivial tasks that return that record.
4. ``bytes``: what travels per task (pickled function reference, token, instance) and
   per result (the pickled record), and the shared settings sent once per worker.
5. ``suite``: ``nnlang suite`` on the first ACAS Xu lines (../shared/data), ``--jobs 2``
   against ``--cluster local:2``.

    python benchmarks/bench_distributed.py                 # everything (~10 min, 2 cores)
    python benchmarks/bench_distributed.py --only client bytes

Writes ``benchmarks/results/distributed/<part>.json`` with machine, versions and load.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nnlang.batch import BatchConfig, run_batch
from nnlang.batch.progress import Progress
from nnlang.batch.records import Writer
from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "distributed"
MNIST = ROOT / "examples" / "mnist_adversarial_l1.nnq"
BREAST = ROOT / "examples" / "breast_cancer_adversarial.nnq"
WAYS = {"jobs1": {"jobs": 1}, "jobs2": {"jobs": 2}, "cluster2": {"cluster": "local:2"}}


def versions() -> dict:
    import dask
    import distributed

    return {"dask": dask.__version__, "distributed": distributed.__version__}


def record(part: str, data: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = {"part": part, "machine": machine(), "load_after": os.getloadavg(), **versions(),
            **data}
    (OUT / f"{part}.json").write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(data, indent=1))


def one_batch(spec: Path, count: int, way: dict, folder: Path, **kw) -> dict:
    shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()
    start = time.perf_counter()
    out = run_batch(BatchConfig(spec=spec, out_dir=folder, count=count, pictures=False,
                                **way, **kw), progress=None, echo=None)
    wall = time.perf_counter() - start
    walls = [ln["wall_seconds"] for ln in out.lines]
    workers = way.get("jobs", 2) if "cluster" in way else way["jobs"]
    return {"instances": len(out.lines), "wall_seconds": wall,
            "per_minute": 60.0 * len(out.lines) / wall,
            "mean_instance_seconds": statistics.fmean(walls),
            "mean_compile_seconds": statistics.fmean(ln.get("compile_seconds", 0.0)
                                                     for ln in out.lines),
            # what each worker spends beyond its instances' own time, per instance
            "overhead_per_instance_seconds": (wall * workers - sum(walls)) / len(walls),
            "statuses": out.summary["status"], "load_before": load}


def three_ways(spec: Path, count: int, tmp: Path, **kw) -> dict:
    res = {name: one_batch(spec, count, way, tmp / name, **kw) for name, way in WAYS.items()}
    res["cluster_vs_jobs2_wall"] = res["cluster2"]["wall_seconds"] / res["jobs2"]["wall_seconds"]
    return res


def part_batch(args, tmp: Path) -> None:
    res = three_ways(MNIST, args.count, tmp, time_limit=args.time_limit)
    record("batch", {"spec": str(MNIST.relative_to(ROOT)), "count": args.count,
                     "time_limit": args.time_limit, **res})


def part_tiny(args, tmp: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp / "breast.npz"
    np.savez(data, inputs=rng.integers(1, 11, size=(args.tiny, 9)).astype(float),
             labels=rng.integers(0, 2, size=args.tiny).astype(float))
    res = three_ways(BREAST, args.tiny, tmp, param="sample", over=data)
    record("tiny", {"spec": str(BREAST.relative_to(ROOT)), "count": args.tiny, **res})


def mnist_line(tmp: Path) -> dict:
    out = run_batch(BatchConfig(spec=MNIST, out_dir=tmp / "line", count=1, time_limit=5,
                                pictures=False), progress=None, echo=None)
    return out.lines[0]


def echo_line(line: dict, i: int) -> dict:
    return {**line, "instance": i}


def client_write(line: dict, n: int, folder: Path, fsync: bool = True) -> float:
    """Records per second through the client's own part: results file and progress bar."""
    real = os.fsync
    if not fsync:
        os.fsync = lambda fd: None
    try:
        writer = Writer(folder / "results.jsonl")
        bar = Progress(n, 0, io.StringIO())
        start = time.perf_counter()
        for i in range(n):
            rec = {**line, "instance": i}
            writer.write(rec)
            bar.update(rec)
        writer.close()
        return n / (time.perf_counter() - start)
    finally:
        os.fsync = real


def part_client(args, tmp: Path) -> None:
    from nnlang.batch import cluster

    line = mnist_line(tmp)
    n = args.records
    alone = client_write(line, n, tmp / "client")
    no_sync = client_write(line, n, tmp / "client_nosync", fsync=False)
    got: list[int] = []
    with cluster.client_for("local:2") as client:
        cluster.run(client, echo_line, line, [(0, 0)], lambda k, r: None, lambda k, why: why)
        start = time.perf_counter()  # the cluster is up and warm: tasks and results only
        cluster.run(client, echo_line, line, [(i, i) for i in range(n)],
                    lambda k, r: got.append(k), lambda k, why: why)
        through = n / (time.perf_counter() - start)
    record("client", {"record_bytes_json": len(json.dumps(line)), "records": n,
                      "client_write_records_per_second": alone,
                      "client_write_records_per_second_without_fsync": no_sync,
                      "dask_trivial_tasks_records_per_second": through,
                      "dask_all_returned": sorted(got) == list(range(n))})


def part_bytes(args, tmp: Path) -> None:
    import cloudpickle

    from nnlang.batch import instances, worker

    line = mnist_line(tmp)
    base = {"spec": str(MNIST.resolve()), "text": MNIST.read_text(), "param": "index",
            "sets": {}, "options": {}, "time_limit": 5.0, "tighten": None, "original": None}
    task = cloudpickle.dumps((worker.task, instances.run_task, "0123456789", 17))
    record("bytes", {"per_task_bytes": len(task),
                     "per_result_bytes_pickle": len(pickle.dumps(line, protocol=5)),
                     "per_result_bytes_json": len(json.dumps(line)),
                     "shared_once_per_worker_bytes": len(cloudpickle.dumps(
                         worker.SharedSettings("0123456789", base))),
                     "result_fields": sorted(line)})


def part_suite(args, tmp: Path) -> None:
    from nnlang.verify.suite import read_instances, run_suite

    csv = next((p / "shared" / "data" / "vnncomp-acasxu" / "instances.csv"
                for p in (ROOT.parent, ROOT.parent.parent)
                if (p / "shared" / "data" / "vnncomp-acasxu").exists()), None)
    if csv is None:
        print("suite: no ../shared/data/vnncomp-acasxu here, skipped")
        return
    lines = [dict(ln, timeout=args.suite_timeout) for ln in read_instances(csv)[:args.suite]]
    res = {}
    for name, way in (("jobs2", {"jobs": 2}), ("cluster2", {"cluster": "local:2"})):
        load = os.getloadavg()
        start = time.perf_counter()
        recs = run_suite(csv, tmp / f"suite_{name}", lines=lines, progress=None, echo=None,
                         **way)
        res[name] = {"wall_seconds": time.perf_counter() - start, "load_before": load,
                     "statuses": [r["status"] for r in recs],
                     "sum_line_seconds": sum(r["seconds"] for r in recs)}
    res["cluster_vs_jobs2_wall"] = res["cluster2"]["wall_seconds"] / res["jobs2"]["wall_seconds"]
    record("suite", {"instances": f"vnncomp-acasxu lines 1-{args.suite}",
                     "timeout": args.suite_timeout, **res})


PARTS = {"batch": part_batch, "tiny": part_tiny, "client": part_client, "bytes": part_bytes,
         "suite": part_suite}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=list(PARTS), help="these parts only")
    ap.add_argument("--count", type=int, default=40, help="MNIST instances (40)")
    ap.add_argument("--time-limit", type=float, default=2.0, help="seconds per MNIST MILP (2)")
    ap.add_argument("--tiny", type=int, default=80, help="breast-cancer instances (80)")
    ap.add_argument("--records", type=int, default=2000, help="client records (2000)")
    ap.add_argument("--suite", type=int, default=12, help="ACAS Xu lines for 'suite' (12)")
    ap.add_argument("--suite-timeout", type=float, default=10.0,
                    help="seconds per ACAS Xu line (10)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or list(PARTS):
            PARTS[name](args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
