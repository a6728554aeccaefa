"""nnlang verify against the VNN-COMP verdicts (docs/verification.md).

Runs the instances of ``../shared/data/vnncomp-mnistfc``, ``vnncomp-acasxu`` and
``vnncomp-eran-mnist`` (``instances.csv``: network, property, time limit) with
:func:`nnlang.verify.verify` and compares every answer with ``verdicts.csv``.
Per benchmark: correct sat, correct unsat, wrong (must be 0), timeouts or
unknown, total and median time. The instances run through ``nnlang suite``'s
:func:`nnlang.verify.suite.run_suite`: each in a fresh process (``--jobs`` at a
time), or as Dask tasks with ``--cluster ADDRESS|local:N`` (docs/distributed.md).

    python benchmarks/bench_vnncomp.py --quick            # subset, short limits (< 30 min)
    python benchmarks/bench_vnncomp.py                    # everything, VNN-COMP limits
    python benchmarks/bench_vnncomp.py --bench acasxu --limit 20
    python benchmarks/bench_vnncomp.py --network 256x4 --tag T --redo-undecided
    python benchmarks/bench_vnncomp.py --bench mnistfc --network 256x2 --tag vnncomp_mnist256x2
    python benchmarks/bench_vnncomp.py --quick --cluster tcp://scheduler:8786

Results: ``benchmarks/results/vnncomp[_quick].jsonl`` (one line per instance) and
``benchmarks/results/vnncomp[_quick].md`` (the table); the suite's own folders
``benchmarks/results/vnncomp/<tag>/<benchmark>/`` (``results.csv`` in the VNN-COMP
format, ``results.jsonl``) make a run resumable: instances already recorded there
are skipped unless ``--fresh``.

A *wrong* answer is a soundness bug (or a wrong reference verdict): the
script prints it loudly and exits with status 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from nnlang.provenance import machine
from nnlang.verify.suite import read_instances, run_suite

ROOT = Path(__file__).resolve().parents[1]
# ../shared/data beside the checkout (or beside the folder of worktrees holding it)
DATA = next((p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent)
             if (p / "shared" / "data").exists()), ROOT.parent / "shared" / "data")
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


def verdicts(bench: str) -> dict[tuple[str, str], str]:
    with open(DATA / BENCHES[bench] / "verdicts.csv", newline="") as f:
        return {(row["network"], row["property"]): row["expected"] for row in csv.DictReader(f)}


def instances(bench: str) -> list[dict]:
    known = verdicts(bench)
    return [dict(ln, bench=bench, expected=known.get((Path(ln["network"]).name,
                                                      ln["property"]), "unknown"))
            for ln in read_instances(DATA / BENCHES[bench] / "instances.csv")]


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
    ap.add_argument("--jobs", type=int, default=1, help="instances at a time, locally (1)")
    ap.add_argument("--cluster", metavar="ADDRESS",
                    help="run on a Dask cluster: a scheduler address or local:N")
    ap.add_argument("--redo-undecided", action="store_true",
                    help="run again the recorded instances that ended in timeout/unknown "
                    "and have a reference verdict")
    ap.add_argument("--tag", default=None, help="results file name (default vnncomp[_quick])")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"no benchmark data at {DATA}", file=sys.stderr)
        return 2
    tag = args.tag or ("vnncomp_quick" if args.quick else "vnncomp")
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = RESULTS / "vnncomp" / tag
    if args.fresh and runs.exists():
        shutil.rmtree(runs)
    records: list[dict] = []
    start = time.perf_counter()
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
        insts = insts[: args.limit] if args.limit else insts
        expected = {i["k"]: i["expected"] for i in insts}
        redo = ((lambda r, e=expected: r["status"] not in ("sat", "unsat")
                 and e.get(r["k"]) in ("sat", "unsat")) if args.redo_undecided else None)
        print(f"{bench}: {len(insts)} instances, at most "
              f"{sum(i['timeout'] for i in insts) / 60:.0f} min of time limits", flush=True)
        recs = run_suite(DATA / BENCHES[bench] / "instances.csv", runs / bench, lines=insts,
                         benchmark=bench, jobs=args.jobs, cluster=args.cluster,
                         threads=args.threads, redo=redo, isolate=True, echo=None)
        for rec in recs:
            rec.update(bench=bench, expected=expected[rec["k"]])
            if grade(rec) == "wrong":
                print(f"{bench} {Path(rec['network']).stem} {Path(rec['property']).name}: "
                      f"{rec['status']} (expected {rec['expected']})   <<< WRONG", flush=True)
        records += recs
    (RESULTS / f"{tag}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
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
