"""``run_batch``: the instances, in worker processes, resumable."""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from nnlang.batch.config import META, RESULTS, SUMMARY, BatchConfig, BatchOutcome
from nnlang.batch.instances import load_results, prepare, solve_instance
from nnlang.batch.progress import Progress
from nnlang.batch.records import Writer, batch_meta, check_meta
from nnlang.batch.summary import picture_files, status_line, summarize, summary_table, write_summary
from nnlang.errors import NnlangError, SemanticError


def run_batch(config: BatchConfig, progress: TextIO | None = sys.stderr,
              echo: Callable[[str], Any] | None = print) -> BatchOutcome:
    """Solve the instances ``start .. start + count - 1`` not yet in ``results.jsonl``."""
    config.spec = Path(config.spec)
    config.out_dir = Path(config.out_dir)
    if config.jobs < 1:
        raise SemanticError(f"--jobs must be at least 1, got {config.jobs}")
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
    bar = Progress(len(wanted), len(wanted) - len(todo), progress)
    bar.begin()
    writer = Writer(results_path)
    ran = 0
    interrupted = False

    def finished(line: dict) -> None:
        nonlocal ran
        line["spec"] = str(config.spec)
        if config.over is not None:
            line["data"] = str(config.over)
        writer.write(line)
        done[line["instance"]] = line
        ran += 1
        bar.update(line)

    try:
        if config.jobs == 1 or len(todo) <= 1:
            for i in todo:
                finished(solve_instance({**base, "instance": i}))
        else:
            ctx = multiprocessing.get_context("spawn")
            pool = cf.ProcessPoolExecutor(max_workers=min(config.jobs, len(todo)),
                                          mp_context=ctx)
            try:
                futures = {pool.submit(solve_instance, {**base, "instance": i}): i
                           for i in todo}
                for fut in cf.as_completed(futures):
                    try:
                        line = fut.result()
                    except cf.process.BrokenProcessPool as exc:
                        raise NnlangError(
                            f"a worker process died ({exc}); the finished instances are "
                            f"in {results_path}: run the same command again to continue"
                        ) from None
                    except Exception as exc:  # noqa: BLE001 - the task failed outside solve_instance
                        line = {"instance": futures[fut], "param": config.param,
                                "status": "error",
                                "message": f"worker failed: {type(exc).__name__}: {exc}"}
                    finished(line)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
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
