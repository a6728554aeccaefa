"""``run_batch``: the instances, in worker processes, resumable."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from nnlang.batch.config import META, RESULTS, SUMMARY, BatchConfig, BatchOutcome
from nnlang.batch.execute import run_tasks
from nnlang.batch.instances import load_results, prepare, run_task, spec_files
from nnlang.batch.progress import Progress
from nnlang.batch.records import Writer, batch_meta, check_meta
from nnlang.batch.summary import picture_files, status_line, summarize, summary_table, write_summary
from nnlang.errors import SemanticError
from nnlang.registry import solver

# modules a solver needs besides its nnlang backend (checked on every cluster worker)
SOLVER_PACKAGES = {"highs": "highspy", "scip": "pyscipopt"}


def solver_modules(name: str | None) -> list[str]:
    key = (name or "highs").lower()
    return [solver(key).target.partition(":")[0]] + ([SOLVER_PACKAGES[key]] if key in SOLVER_PACKAGES else [])


def run_batch(config: BatchConfig, progress: TextIO | None = sys.stderr,
              echo: Callable[[str], Any] | None = print) -> BatchOutcome:
    """Solve the instances ``start .. start + count - 1`` not yet in ``results.jsonl``."""
    config.spec = Path(config.spec)
    config.out_dir = Path(config.out_dir)
    if config.jobs < 1:
        raise SemanticError(f"--jobs must be at least 1, got {config.jobs}")
    if config.cluster is not None and config.jobs != 1:
        raise SemanticError("give --jobs or --cluster, not both (on a cluster, the workers "
                            "are its processes)")
    if config.start < 0:
        raise SemanticError(f"--start must be >= 0, got {config.start}")
    text, available = prepare(config)
    count = config.count
    if count is None:
        if available is None:
            raise SemanticError("cannot tell how many instances the data holds: give --count")
        count = available - config.start
    if count < 1:
        raise SemanticError(f"nothing to run: --count {count} (the data holds "
                            f"{available} instances, --start {config.start})")
    if available is not None and config.start + count > available:
        raise SemanticError(f"instances {config.start}..{config.start + count - 1} asked for, "
                            f"but the data holds only {available} (0..{available - 1})")
    meta = batch_meta(config)
    check_meta(config, meta)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    (config.out_dir / META).write_text(json.dumps(meta, indent=1) + "\n")
    results_path = config.out_dir / RESULTS
    done, bad = load_results(results_path)
    if bad and echo:
        echo(f"warning: {bad} unreadable line(s) in {results_path} ignored")
    wanted = list(range(config.start, config.start + count))
    todo = [i for i in wanted if i not in done
            or (config.retry_errors and done[i].get("status") == "error")]
    base = {"spec": str(config.spec), "text": text, "param": config.param,
            "sets": dict(config.sets), "options": dict(config.options),
            "time_limit": config.time_limit, "tighten": config.tighten,
            "original": config.original}
    if config.cluster is not None:  # workers get the spec's text, and read its files by path
        base.update(spec=str(config.spec.resolve()), text=text or config.spec.read_text())
    bar = Progress(len(wanted), len(wanted) - len(todo), progress)
    bar.begin()
    writer = Writer(results_path)
    ran = 0
    interrupted = False
    seen: set[int] = set()

    def finished(line: dict) -> None:
        nonlocal ran
        if line["instance"] in seen:  # never twice in the file, whatever the executor does
            return
        seen.add(line["instance"])
        line["spec"] = str(config.spec)
        if config.over is not None:
            line["data"] = str(config.over)
        writer.write(line)
        done[line["instance"]] = line
        ran += 1
        bar.update(line)

    def failed(i: int, reason: str) -> dict:
        return {"instance": i, "param": config.param, "status": "error",
                "message": f"instance {i}: {reason}"}

    try:
        run_tasks(run_task, base, [(i, i) for i in todo], lambda _, line: finished(line),
                  failed, jobs=config.jobs, cluster=config.cluster,
                  files=spec_files(config, text)[1:] if config.cluster is not None else (),
                  needs=solver_modules(config.options.get("solver")),
                  resume_hint=f"the finished instances are in {results_path}: run the same "
                              "command again to continue")
    except KeyboardInterrupt:
        interrupted = True
    finally:
        writer.close()
        bar.end()
    lines = [done[i] for i in wanted if i in done]
    summary = summarize(lines)
    files: list[Path] = [results_path]
    extra: list[str] = []
    if config.pictures and lines:
        try:
            pics, extra = picture_files(config, lines)
            files += pics
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - never lose a summary to a picture
            if echo:
                echo(f"warning: pictures failed: {type(exc).__name__}: {exc}")
    if lines:
        write_summary(config, lines, summary, extra)
        files.insert(1, config.out_dir / SUMMARY)
    if echo:
        if interrupted:
            echo(f"interrupted: {len(lines)} of {len(wanted)} instances are in {results_path}; "
                 "run the same command again to continue")
        if lines:
            echo(summary_table({config.spec.stem: summary}))
            echo(f"statuses: {status_line(summary)}")
        for p in files:
            echo(f"wrote {p}")
    return BatchOutcome(lines, summary, ran, len(wanted) - len(todo), interrupted, files)
