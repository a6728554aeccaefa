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
              resume_hint: str = "", isolate: bool = False) -> None:
    """Run ``fn(shared, item)`` for each ``(key, item)``; report each result by ``done``.

    Args:
        jobs: local worker processes (1: in this process), when ``cluster`` is None.
        cluster: ``"local:N"``, a scheduler address, or a ``distributed.Client``.
        files: files every cluster worker must read at the same path (checked first).
        needs: modules every cluster worker must import (e.g. the solver).
        resume_hint: said when a local pool breaks (where the finished results are).
        isolate: locally, each item in a fresh process (memory and solver state start
            clean, as VNN-COMP runs its instances), even with ``jobs`` 1.
    """
    if cluster is not None:
        dask_cluster.run(cluster, fn, shared, items, done, failed, files=files, needs=needs)
    elif (jobs == 1 or len(items) <= 1) and not isolate:
        for key, item in items:
            done(key, fn(shared, item))
    elif items:
        run_pool(fn, shared, items, done, failed, jobs, resume_hint, isolate)


def run_pool(fn: Callable[[Any, Any], Any], shared: Any, items: Sequence[tuple[Any, Any]],
             done: Done, failed: Failed, jobs: int, resume_hint: str = "",
             isolate: bool = False) -> None:
    """A local pool of ``jobs`` spawned processes (a new one per item with ``isolate``)."""
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=ctx,
                                  max_tasks_per_child=1 if isolate else None)
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
