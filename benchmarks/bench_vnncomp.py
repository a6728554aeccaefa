"""nnlang verify against the VNN-COMP verdicts (docs/verification.md).

Runs the instances of ``../shared/data/vnncomp-mnistfc``, ``vnncomp-acasxu`` and
``vnncomp-eran-mnist`` (``instances.csv``: network, property, time limit) with
:func:`nnlang.verify.verify` and compares every answer with ``verdicts.csv``.
Per benchmark: correct sat, correct unsat, wrong (must be 0), timeouts or
unknown, total and median time. Each instance runs in its own process (a hard
kill 30 s after its time limit, so one stuck solver cannot stall the run).

    python benchmarks/bench_vnncomp.py --quick            # subset, short limits (< 30 min)
    python benchmarks/bench_vnncomp.py                    # everything, VNN-COMP limits
    python benchmarks/bench_vnncomp.py --bench acasxu --limit 20
    python benchmarks/bench_vnncomp.py --network 256x4 --tag T --redo-undecided
    python benchmarks/bench_vnncomp.py --bench mnistfc --network 256x2 --tag vnncomp_mnist256x2

Results: ``benchmarks/results/vnncomp[_quick].jsonl`` (one line per instance,
resumable: instances already recorded are skipped unless ``--fresh``) and
``benchmarks/results/vnncomp[_quick].md`` (the table).

A *wrong* answer is a soundness bug (or a wrong reference verdict): the
script prints it loudly and exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
BENCHES = {"mnistfc": "vnncomp-mnistfc", "acasxu": "vnncomp-acasxu",
           "eran-mnist": "vnncomp-eran-mnist"}

# The quick configuration: a deterministic subset with short limits; about 25
# minutes on 2 busy cores in the worst case (every instance timing out).
QUICK = {
    # benchmark: (instance filter, time limit in seconds)
    "mnistfc": (lambda k, net, prop: "256x2" in net
                or ("2022" in prop and "_0.03." in prop), 25.0),
    "acasxu": (lambda k, net, prop: k % 5 == 0, 10.0),
    "eran-mnist": (lambda k, net, prop: k % 6 == 0, 30.0),
}


def instances(bench: str) -> list[dict]:
    folder = DATA / BENCHES[bench]
    verdicts = {}
    with open(folder / "verdicts.csv", newline="") as f:
        for row in csv.DictReader(f):
            verdicts[(row["network"], row["property"])] = row["expected"]
    out = []
    with open(folder / "instances.csv", newline="") as f:
        for k, row in enumerate(csv.reader(f)):
            if not row:
                continue
            net, prop, limit = row[0].strip(), row[1].strip(), float(row[2])
            out.append({"bench": bench, "k": k, "network": net, "property": prop,
                        "timeout": limit,
                        "expected": verdicts.get((Path(net).name, prop), "unknown")})
    return out


def _worker(inst: dict, folder: str, queue) -> None:
    from nnlang.verify import verify

    start = time.perf_counter()
    try:
        r = verify(Path(folder) / inst["network"], Path(folder) / inst["property"],
                   inst["timeout"], threads=inst.get("threads"))
        queue.put({"status": r.status, "method": r.method, "message": r.message,
                   "seconds": time.perf_counter() - start})
    except Exception as exc:  # noqa: BLE001 - recorded as an error, never as an answer
        queue.put({"status": "error", "method": "", "message": f"{type(exc).__name__}: {exc}",
                   "seconds": time.perf_counter() - start})


def run_one(inst: dict) -> dict:
    folder = DATA / BENCHES[inst["bench"]]
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_worker, args=(inst, str(folder), queue))
    start = time.perf_counter()
    proc.start()
    res = None
    try:
        res = queue.get(timeout=inst["timeout"] + 30.0)
    except Exception:  # noqa: BLE001, S110 - queue.Empty: killed below
        pass
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if res is None:
        res = {"status": "timeout", "method": "killed", "message": "no answer, process killed",
               "seconds": time.perf_counter() - start}
    return {**inst, **res}


def grade(rec: dict) -> str:
    got, want = rec["status"], rec["expected"]
    if got in ("sat", "unsat"):
        if want in ("sat", "unsat"):
            return f"correct_{got}" if got == want else "wrong"
        return f"decided_{got}"  # no reference verdict
    return "timeout" if got in ("timeout", "unknown") else "error"


def table(records: list[dict]) -> str:
    lines = [("| benchmark | instances | correct sat | correct unsat | wrong | timeout/unknown "
              "| errors | decided w/o reference | total time (s) | median time (s) |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for bench in BENCHES:
        recs = [r for r in records if r["bench"] == bench]
        if not recs:
            continue
        g = [grade(r) for r in recs]
        times = [r["seconds"] for r in recs]
        lines.append(
            f"| {bench} | {len(recs)} | {g.count('correct_sat')} | {g.count('correct_unsat')} "
            f"| {g.count('wrong')} | {g.count('timeout')} | {g.count('error')} "
            f"| {g.count('decided_sat') + g.count('decided_unsat')} | {sum(times):.0f} "
            f"| {statistics.median(times):.1f} |")
    return "\n".join(lines)


def subtable(records: list[dict]) -> str:
    """mnistfc per network (the issue's goal is stated per network size)."""
    lines = ["| network | instances | correct sat | correct unsat | wrong | timeout/unknown |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    nets = sorted({r["network"] for r in records if r["bench"] == "mnistfc"})
    for net in nets:
        g = [grade(r) for r in records if r["network"] == net]
        lines.append(f"| {Path(net).stem} | {len(g)} | {g.count('correct_sat')} | "
                     f"{g.count('correct_unsat')} | {g.count('wrong')} | {g.count('timeout')} |")
    return "\n".join(lines) if nets else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="subset with short time limits")
    ap.add_argument("--bench", action="append", choices=list(BENCHES),
                    help="only this benchmark (repeatable)")
    ap.add_argument("--network", help="only instances whose network name contains this "
                    "(e.g. 256x2)")
    ap.add_argument("--limit", type=int, help="at most this many instances per benchmark")
    ap.add_argument("--timeout", type=float, help="override every time limit (seconds)")
    ap.add_argument("--threads", type=int, default=1,
                    help="HiGHS threads per instance (default 1; the bounds are single-threaded)")
    ap.add_argument("--fresh", action="store_true", help="ignore recorded results")
    ap.add_argument("--redo-undecided", action="store_true",
                    help="run again the recorded instances that ended in timeout/unknown "
                    "and have a reference verdict (their old lines are replaced)")
    ap.add_argument("--tag", default=None, help="results file name (default vnncomp[_quick])")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"no benchmark data at {DATA}", file=sys.stderr)
        return 2
    tag = args.tag or ("vnncomp_quick" if args.quick else "vnncomp")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / f"{tag}.jsonl"
    done: dict[tuple, dict] = {}
    if log.exists() and not args.fresh:
        for line in log.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[(rec["bench"], rec["k"])] = rec
    elif log.exists():
        log.unlink()
    if args.redo_undecided and done:
        redo = {key for key, rec in done.items() if rec["status"] not in ("sat", "unsat")
                and rec.get("expected") in ("sat", "unsat")}
        done = {key: rec for key, rec in done.items() if key not in redo}
        log.write_text("".join(json.dumps(rec) + "\n" for rec in done.values()))
        print(f"{len(redo)} undecided instances with a reference verdict to run again",
              flush=True)
    todo = []
    for bench in args.bench or list(BENCHES):
        insts = instances(bench)
        if args.quick:
            keep, limit = QUICK[bench]
            insts = [dict(i, timeout=limit if "256x2" in i["network"] or bench != "mnistfc"
                          else 20.0)
                     for i in insts if keep(i["k"], i["network"], i["property"])]
        if args.network:
            insts = [i for i in insts if args.network in Path(i["network"]).name]
        if args.timeout:
            insts = [dict(i, timeout=args.timeout) for i in insts]
        insts = [dict(i, threads=args.threads) for i in insts]
        todo += insts[: args.limit] if args.limit else insts
    budget = sum(i["timeout"] for i in todo if (i["bench"], i["k"]) not in done)
    print(f"{len(todo)} instances, at most {budget / 60:.0f} min of time limits", flush=True)
    records = []
    start = time.perf_counter()
    for n, inst in enumerate(todo, 1):
        key = (inst["bench"], inst["k"])
        if key in done:
            records.append(done[key])
            continue
        rec = run_one(inst)
        records.append(rec)
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        mark = grade(rec)
        print(f"[{n}/{len(todo)}] {inst['bench']} {Path(inst['network']).stem} "
              f"{Path(inst['property']).name}: {rec['status']} (expected {inst['expected']}) "
              f"{rec['seconds']:.1f} s {rec['method']}" + ("   <<< WRONG" if mark == "wrong"
                                                          else ""), flush=True)
    wall = time.perf_counter() - start
    text = table(records)
    sub = subtable(records)
    cfg = "quick (subset, short limits)" if args.quick else "full (VNN-COMP time limits)"
    if args.timeout:
        which = "quick subset" if args.quick else "all instances"
        cfg = f"{which}, every time limit {args.timeout:g} s"
    if args.network:
        cfg += f", networks *{args.network}*"
    md = (f"# VNN-COMP agreement, {cfg}\n\n{text}\n\n{sub}\n\n"
          f"Wall time of this run: {wall / 60:.1f} min. Machine: {machine()}.\n")
    (RESULTS / f"{tag}.md").write_text(md)
    print(md)
    wrong = [r for r in records if grade(r) == "wrong"]
    for r in wrong:
        print(f"WRONG: {r['bench']} {r['network']} {r['property']}: {r['status']}, expected "
              f"{r['expected']}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
