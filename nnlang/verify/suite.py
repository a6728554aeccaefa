"""Verification suites: every line of a VNN-COMP ``instances.csv``, locally or on a cluster.

``instances.csv`` holds ``network,property,timeout`` lines (no header; paths relative
to its folder), as VNN-COMP benchmarks ship them. ``run_suite`` decides each line with
:func:`nnlang.verify.verify` through the same executor as ``nnlang batch`` (in this
process, a local process pool, or Dask tasks) and writes, in the output folder:

- ``results.jsonl``: one record per line as it finishes (flushed and fsynced), so an
  interrupted suite resumes where it stopped;
- ``results.csv``: the VNN-COMP results table, one row per line in the order of
  ``instances.csv``: ``benchmark,network,property,prepare_seconds,result,run_seconds``
  (``prepare_seconds`` is 0: nnlang has no separate preparation step);
- ``counterexamples/<line>.txt``: the VNN-COMP result file of each ``sat`` line.

    >>> recs = run_suite("vnncomp-acasxu/instances.csv", "acas_run", jobs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from nnlang.batch.execute import run_tasks
from nnlang.batch.instances import load_results
from nnlang.batch.progress import Progress
from nnlang.batch.records import Writer
from nnlang.errors import DataError, NnlangError
from nnlang.verify.verify import verify

RESULTS_JSONL = "results.jsonl"
RESULTS_CSV = "results.csv"
COUNTEREXAMPLES = "counterexamples"
NEEDS = ("nnlang.verify", "highspy", "onnx")  # what every cluster worker must import
KILL_GRACE = 30.0  # with isolate: seconds past a line's timeout before its process is killed


def read_instances(path: str | Path) -> list[dict[str, Any]]:
    """The lines of an ``instances.csv``: ``k`` (the line's index), network, property,
    timeout (seconds)."""
    path = Path(path)
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None
    out = []
    for k, row in enumerate(rows):
        if not row or not "".join(row).strip():
            continue
        try:
            net, prop, limit = row[0].strip(), row[1].strip(), float(row[2])
        except (IndexError, ValueError):
            raise DataError(f"{path}:{k + 1}:1: error: expected 'network,property,timeout', "
                            f"got {','.join(row)!r}") from None
        out.append({"k": k, "network": net, "property": prop, "timeout": limit})
    if not out:
        raise DataError(f"'{path}' lists no instances")
    return out


def run_line(options: dict[str, Any], line: dict[str, Any]) -> dict[str, Any]:
    """Decide one line (the per-instance entry point; runs on a pool or cluster worker).

    Never raises for the instance's own errors: they become ``status: error``."""
    start = time.perf_counter()
    folder = Path(options["folder"])
    rec: dict[str, Any] = {**line, "instance": line["k"]}
    try:
        r = verify(folder / line["network"], folder / line["property"], line["timeout"],
                   bounds=options.get("bounds"), threads=options.get("threads"))
        rec.update(status=r.status, method=r.method, message=r.message,
                   result_text=r.vnncomp_text() if r.status == "sat" else None)
    except NnlangError as err:
        rec.update(status="error", method="", message=err.render())
    except Exception as exc:  # noqa: BLE001 - a bug in nnlang: record it, keep the suite going
        rec.update(status="error", method="", message=f"internal error: "
                   f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    rec.update(seconds=time.perf_counter() - start, host=socket.gethostname(), pid=os.getpid())
    rec["wall_seconds"] = rec["seconds"]
    return rec


def vnncomp_result(status: str) -> str:
    return status if status in ("sat", "unsat", "timeout", "unknown") else "error"


def write_csv(path: Path, benchmark: str, lines: Sequence[dict], records: dict[int, dict]
              ) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        for ln in lines:
            rec = records.get(ln["k"])
            if rec is not None:
                w.writerow([benchmark, ln["network"], ln["property"], "0",
                            vnncomp_result(rec["status"]), f"{rec['seconds']:.3f}"])


def same_line(rec: dict, line: dict) -> bool:
    return all(rec.get(k) == line[k] for k in ("network", "property", "timeout"))


def run_suite(instances: str | Path, out_dir: str | Path, *, lines: Sequence[dict] | None = None,
              benchmark: str | None = None, jobs: int = 1, cluster: Any = None,
              threads: int | None = 1, bounds: str | None = None,
              redo: Callable[[dict], bool] | None = None, isolate: bool = False,
              progress: TextIO | None = sys.stderr,
              echo: Callable[[str], Any] | None = print) -> list[dict]:
    """Run the lines of ``instances`` (or ``lines``, a selection of them, e.g. with other
    time limits) not yet in ``out_dir/results.jsonl``; the records, in line order.

    ``redo(record)``: run a recorded line again (e.g. the errors). ``isolate``: locally,
    each line in a fresh process, killed ``KILL_GRACE`` seconds after its timeout (then
    recorded as a ``timeout``).
    """
    instances = Path(instances).resolve()
    out = Path(out_dir)
    if jobs < 1:
        raise DataError(f"--jobs must be at least 1, got {jobs}")
    if cluster is not None and jobs != 1:
        raise DataError("give --jobs or --cluster, not both (on a cluster, the workers are "
                        "its processes)")
    lines = list(lines) if lines is not None else read_instances(instances)
    benchmark = benchmark or instances.parent.name
    folder = instances.parent
    out.mkdir(parents=True, exist_ok=True)
    done, bad = load_results(out / RESULTS_JSONL)
    if bad and echo:
        echo(f"warning: {bad} unreadable line(s) in {out / RESULTS_JSONL} ignored")
    todo = [ln for ln in lines if ln["k"] not in done or not same_line(done[ln["k"]], ln)
            or (redo is not None and redo(done[ln["k"]]))]
    bar = Progress(len(lines), len(lines) - len(todo), progress)
    bar.begin()
    writer = Writer(out / RESULTS_JSONL)
    seen: set[int] = set()

    def finished(k: int, rec: dict) -> None:
        if k in seen:
            return
        seen.add(k)
        rec["benchmark"] = benchmark
        writer.write(rec)
        done[k] = rec
        bar.update(rec)

    by_k = {ln["k"]: ln for ln in todo}

    def failed(k: int, reason: str) -> dict:
        killed = reason.startswith("killed after")  # no answer in time: a timeout
        return {**by_k[k], "instance": k, "status": "timeout" if killed else "error",
                "method": "killed" if killed else "", "message": f"line {k + 1}: {reason}",
                "seconds": by_k[k]["timeout"] + KILL_GRACE if killed else 0.0}

    files = ([folder / p for ln in todo for p in dict.fromkeys((ln["network"], ln["property"]))]
             if cluster is not None else [])
    interrupted = False
    try:
        run_tasks(run_line, {"folder": str(folder), "threads": threads, "bounds": bounds},
                  [(ln["k"], ln) for ln in todo], finished, failed, jobs=jobs,
                  cluster=cluster, files=list(dict.fromkeys(files)), needs=NEEDS,
                  resume_hint=f"the finished lines are in {out / RESULTS_JSONL}: run the same "
                              "command again to continue", isolate=isolate,
                  kill_after=lambda ln: ln["timeout"] + KILL_GRACE)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        writer.close()
        bar.end()
    records = [done[ln["k"]] for ln in lines if ln["k"] in done]
    write_csv(out / RESULTS_CSV, benchmark, lines, done)
    sats = [r for r in records if r.get("result_text")]
    if sats:
        (out / COUNTEREXAMPLES).mkdir(exist_ok=True)
        for r in sats:
            (out / COUNTEREXAMPLES / f"{r['k']}.txt").write_text(r["result_text"])
    if echo:
        if interrupted:
            echo(f"interrupted: {len(records)} of {len(lines)} lines are in "
                 f"{out / RESULTS_JSONL}; run the same command again to continue")
        counts: dict[str, int] = {}
        for r in records:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        echo("results: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        echo(f"wrote {out / RESULTS_CSV}")
    if interrupted:
        raise KeyboardInterrupt
    return records

