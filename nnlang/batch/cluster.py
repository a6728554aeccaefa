"""Tasks on a Dask cluster: ``--cluster tcp://host:8786`` or ``--cluster local:N``.

The client (the ``nnlang`` process) submits one Dask task per instance, takes the
results as they finish and alone writes the output; workers only compute. Before
anything is submitted every worker is asked to import what the tasks need and to
read the files they read, so a missing dependency is an error naming the worker
rather than lost instances. The settings every task shares reach each worker once
(``nnlang.batch.worker``), so a task carries its instance's parameters only. A worker that dies
mid-task costs that task: the scheduler runs it again elsewhere, and after
``distributed.scheduler.allowed-failures`` deaths (3 by default) gives up on it,
which the caller records as an error. See docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from nnlang.errors import NnlangError
from nnlang.version import __version__

INSTALL = ('pip install "nnlang[dask]" (or pip install "dask[distributed]>=2024.8" into '
           'the environment nnlang runs in)')
CONNECT_SECONDS = 30.0  # to reach a scheduler, and for a first worker to join it

# Run on each worker by value (cloudpickle ships functions of modules the worker cannot
# import), so it can say what is missing there even when nnlang itself is.
PROBE = '''
def probe(modules, files):
    import hashlib, importlib, os, socket
    out = {"host": socket.gethostname(), "pid": os.getpid(), "missing": {}, "files": {},
           "version": None}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            out["missing"][name] = f"{type(exc).__name__}: {exc}"
    try:
        out["version"] = importlib.import_module("nnlang.version").__version__
    except Exception:
        pass
    for path, want in files:
        try:
            with open(path, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
        except OSError as exc:
            out["files"][path] = f"cannot read it ({exc.strerror or exc})"
            continue
        if got != want:
            out["files"][path] = "its contents differ from the client's copy"
    return out
'''


def distributed() -> Any:
    """The ``distributed`` package, or an error saying how to install it."""
    try:
        import distributed as dist
    except ImportError:
        raise NnlangError(f"--cluster needs Dask's distributed scheduler, which is not "
                          f"installed: {INSTALL}") from None
    return dist


def local_workers(spec: str) -> int | None:
    """N of ``local:N`` (None for a scheduler address)."""
    if not spec.startswith("local:"):
        return None
    try:
        n = int(spec.split(":", 1)[1])
    except ValueError:
        n = 0
    if n < 1:
        raise NnlangError(f"--cluster {spec}: expected local:N with N >= 1 worker processes")
    return n


@contextlib.contextmanager
def client_for(cluster: Any) -> Iterator[Any]:
    """A ``distributed.Client`` for ``cluster`` (an address, ``local:N`` or a Client),
    closed afterwards unless it was given."""
    dist = distributed()
    if isinstance(cluster, dist.Client):
        yield cluster
        return
    spec = str(cluster)
    n = local_workers(spec)
    local = None
    if n is not None:
        import dask

        # one task at a time per worker: a worker that dies then takes only the instance it
        # was running with it (the scheduler counts a death against every task it held)
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            local = dist.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                      dashboard_address=None, silence_logs=logging.ERROR)
        client = dist.Client(local)
    else:
        try:
            client = dist.Client(spec, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            raise NnlangError(f"--cluster {spec}: no Dask scheduler answers there ({exc}); "
                              "start one with 'dask scheduler' (docs/distributed.md)") from None
    try:
        yield client
    finally:
        client.close()
        if local is not None:
            local.close()


def sha256(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise NnlangError(f"cannot read '{path}': {exc.strerror or exc}") from None


def probe_function() -> Callable[..., dict]:
    ns: dict[str, Any] = {"__name__": "nnlang_worker_probe"}
    exec(PROBE, ns)  # noqa: S102 - a fixed text, so that it is pickled by value
    return ns["probe"]


def check_workers(client: Any, files: Sequence[Path] = (), needs: Sequence[str] = ()) -> dict:
    """Every worker imports ``nnlang`` (this version) and ``needs`` and reads ``files``
    with the client's contents, and the scheduler imports ``nnlang``; else an error
    naming each one that falls short. Returns the workers' probes."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_SECONDS)
    except (TimeoutError, OSError):
        raise NnlangError(f"the Dask scheduler {client.scheduler.address} has no workers "
                          f"after {CONNECT_SECONDS:.0f} s: start some with "
                          "'dask worker ADDRESS' (docs/distributed.md)") from None
    wanted = [(str(p), sha256(p)) for p in files]
    modules = ["nnlang", *needs]
    probe = probe_function()
    answers = client.run(probe, modules, wanted, on_error="return")
    problems = []
    try:  # the scheduler unpickles the tasks, so it needs nnlang too (not the solvers)
        on_scheduler = client.run_on_scheduler(probe, ["nnlang"], [])
    except Exception as exc:  # noqa: BLE001 - reported with the workers' problems
        on_scheduler = {"missing": {"nnlang": f"{type(exc).__name__}: {exc}"}, "host": "?"}
    if on_scheduler["missing"]:
        problems.append(f"the scheduler {client.scheduler.address} (host "
                        f"{on_scheduler['host']}): cannot import nnlang "
                        f"({on_scheduler['missing']['nnlang']})")
    for worker, got in sorted(answers.items()):
        if isinstance(got, BaseException):
            problems.append(f"worker {worker}: the check failed: {type(got).__name__}: {got}")
            continue
        where = f"worker {worker} (host {got['host']})"
        for name, why in got["missing"].items():
            if name.startswith("nnlang.") and "nnlang" in got["missing"]:
                continue  # said once, for nnlang itself
            problems.append(f"{where}: cannot import {name} ({why})")
        if not got["missing"].get("nnlang") and got["version"] != __version__:
            problems.append(f"{where}: nnlang {got['version']} there, {__version__} here")
        for path, why in got["files"].items():
            problems.append(f"{where}: '{path}': {why}")
    if problems:
        raise NnlangError("the cluster cannot run these tasks, nothing was submitted:\n  "
                          + "\n  ".join(problems)
                          + "\nevery worker needs the same nnlang with its solvers ("
                          + INSTALL.replace(" (or", ";").rstrip(")")
                          + ") and the spec's files at the same paths (docs/distributed.md)")
    return answers


def run(cluster: Any, fn: Callable[[Any, Any], Any], shared: Any,
        items: Sequence[tuple[Any, Any]], done: Callable[[Any, Any], None],
        failed: Callable[[Any, str], Any], files: Sequence[Path] = (),
        needs: Sequence[str] = ()) -> None:
    """``fn(shared, item)`` as one Dask task per item; ``done(key, result)`` here as each
    finishes. On an interrupt the tasks not yet finished are cancelled."""
    dist = distributed()
    with client_for(cluster) as client:
        check_workers(client, files, needs)
        token = uuid.uuid4().hex[:10]
        worker = importlib.import_module("nnlang.batch.worker")  # it needs distributed
        plugin = worker.SharedSettings(token, shared)
        client.register_plugin(plugin)
        pending = {client.submit(worker.task, fn, token, item, key=f"nnlang-{token}-{key}",
                                 pure=False): key
                   for key, item in items}
        try:
            for fut in dist.as_completed(list(pending)):
                key = pending.pop(fut)
                try:
                    result = fut.result()
                except dist.KilledWorker as exc:
                    result = failed(key, f"its worker died each time it ran it (the "
                                    f"scheduler gave up: {exc})")
                except Exception as exc:  # noqa: BLE001 - the task failed outside fn
                    result = failed(key, f"task failed on the cluster: "
                                    f"{type(exc).__name__}: {exc}")
                fut.release()
                done(key, result)
        finally:
            if pending:
                client.cancel(list(pending))
            with contextlib.suppress(Exception):  # the scheduler may be gone already
                client.unregister_worker_plugin(plugin.name)
