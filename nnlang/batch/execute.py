"""Running independent tasks: in this process, a local process pool, or a Dask cluster.

``run_tasks(fn, shared, items, done, failed, ...)`` calls ``fn(shared, item)`` for
every ``(key, item)`` and ``done(key, result)`` in the calling (client) process as
each result arrives, so the caller alone writes files. ``failed(key, reason)``
turns a task that died outside ``fn`` (its worker killed, a crash) into a result.
``nnlang batch`` and ``nnlang suite`` both run through it.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nnlang.batch import cluster as dask_cluster
from nnlang.errors import NnlangError

Done = Callable[[Any, Any], None]
Failed = Callable[[Any, str], Any]


def run_tasks(fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[tuple[Any, Any]],
              done: Done, failed: Failed, jobs: int = 1, cluster: Any = None,
              files: Sequence[Path] = (), needs: Sequence[str] = (),
              resume_hint: str = "", isolate: bool = False,
              kill_after: Callable[[Any], float] | None = None) -> None:
    """Run ``fn(shared, item)`` for each ``(key, item)``; report each result by ``done``.

    Args:
        jobs: local worker processes (1: in this process), when ``cluster`` is None.
        cluster: ``"local:N"``, a scheduler address, or a ``distributed.Client``.
        files: files every cluster worker must read at the same path (checked first).
        needs: modules every cluster worker must import (e.g. the solver).
        resume_hint: said when a local pool breaks (where the finished results are).
        isolate: locally, each item in a fresh process (memory and solver state start
            clean, as VNN-COMP runs its instances), even with ``jobs`` 1.
        kill_after: with ``isolate``, seconds after which an item's process is killed
            (``failed(key, "killed after ...")``), so one stuck solver cannot stall a run.
    """
    if cluster is not None:
        dask_cluster.run(cluster, fn, shared, items, done, failed, files=files, needs=needs)
    elif (jobs == 1 or len(items) <= 1) and not isolate:
        for key, item in items:
            done(key, fn(shared, item))
    elif isolate:
        run_isolated(fn, shared, items, done, failed, jobs, kill_after)
    elif items:
        run_pool(fn, shared, items, done, failed, jobs, resume_hint)


def run_pool(fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[tuple[Any, Any]],
             done: Done, failed: Failed, jobs: int, resume_hint: str = "") -> None:
    """A local pool of ``jobs`` spawned processes."""
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=ctx)
    try:
        futures = {pool.submit(fn, shared, item): key for key, item in items}
        for fut in cf.as_completed(futures):
            try:
                result = fut.result()
            except cf.process.BrokenProcessPool as exc:
                raise NnlangError(f"a worker process died ({exc}); {resume_hint}"
                                  if resume_hint else f"a worker process died ({exc})"
                                  ) from None
            except Exception as exc:  # noqa: BLE001 - the task failed outside fn
                result = failed(futures[fut], f"worker failed: {type(exc).__name__}: {exc}")
            done(futures[fut], result)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _child(fn: Callable[[Any, Any], Any], shared: Any, item: Any, conn: Any) -> None:
    try:
        conn.send(("ok", fn(shared, item)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the reason
        conn.send(("error", f"worker failed: {type(exc).__name__}: {exc}"))
    conn.close()


def run_isolated(fn: Callable[[Any, Any], Any], shared: Any,
                 items: Sequence[tuple[Any, Any]], done: Done, failed: Failed, jobs: int,
                 kill_after: Callable[[Any], float] | None = None) -> None:
    """Each item in a spawned process of its own, ``jobs`` at a time, killed after
    ``kill_after(item)`` seconds."""
    ctx = multiprocessing.get_context("spawn")
    results: queue.Queue = queue.Queue()
    live: set = set()

    def one(key: Any, item: Any) -> None:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(fn, shared, item, send), daemon=True)
        proc.start()
        live.add(proc)
        send.close()
        limit = kill_after(item) if kill_after is not None else None
        got, reason = None, ""
        if recv.poll(limit):
            try:
                got = recv.recv()
            except (EOFError, OSError):
                reason = "its process died"
        else:
            reason = f"killed after {limit:.0f} s without an answer"
        if got is None:
            proc.kill()
        proc.join()
        live.discard(proc)
        if got is None and reason == "its process died":
            reason += f" (exit code {proc.exitcode})"
        results.put((key, got, reason))

    pool = cf.ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items))))
    try:
        for key, item in items:
            pool.submit(one, key, item)
        for _ in items:
            key, got, reason = results.get()
            if got is not None and got[0] == "ok":
                done(key, got[1])
            else:
                done(key, failed(key, got[1] if got is not None else reason))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(live):
            proc.kill()
        raise
    pool.shutdown(wait=True)
