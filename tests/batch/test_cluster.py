"""`nnlang batch --cluster`: a LocalCluster of 2 worker processes, started once here.

Worker-side hooks (slow instances, a marker file while one runs, an instance that
kills its worker) are installed through a Dask worker plugin, which the scheduler
also gives the workers that replace killed ones.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

import dask

from nnlang.batch import BatchConfig, cluster, execute, instances, run_batch
from nnlang.cli import main
from nnlang.errors import NnlangError

ROOT = Path(__file__).resolve().parents[2]
BREAST = ROOT / "examples" / "breast_cancer_adversarial.nnq"
COUNT = 10

# The plugin's source is executed into a module of its own so that cloudpickle ships it
# by value: the workers cannot import this test module.
HOOKS = '''
import os, signal, time
from pathlib import Path
import distributed


class Hooks(distributed.WorkerPlugin):
    name = "nnlang-test-hooks"

    def __init__(self, slow=0.0, crash=(), marks=None, hold=None):
        self.slow, self.crash, self.marks, self.hold = slow, tuple(crash), marks, hold

    def setup(self, worker):
        from nnlang.batch import instances
        self.real = instances.solve_instance
        real, slow, crash, marks, hold = self.real, self.slow, self.crash, self.marks, self.hold

        def hooked(task):
            i = task["instance"]
            if i in crash:
                os.kill(os.getpid(), signal.SIGKILL)
            if i == hold and not (Path(marks) / "released").exists():
                # runs (in effect) until the test kills this process
                (Path(marks) / f"{os.getpid()}-{i}").touch()
                for _ in range(3000):
                    if (Path(marks) / "released").exists():
                        break
                    time.sleep(0.01)
            time.sleep(slow)
            return real(task)

        instances.solve_instance = hooked

    def teardown(self, worker):
        from nnlang.batch import instances
        instances.solve_instance = self.real
'''


def _hooks(**kw):
    ns: dict = {"__name__": "nnlang_test_hooks"}
    exec(HOOKS, ns)  # noqa: S102
    return ns["Hooks"](**kw)


@pytest.fixture(scope="module")
def client():
    # allowed-failures 1: a second death of the same task's worker is the end of it
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=None, silence_logs=50) as lc, \
            distributed.Client(lc) as c:
        yield c


@pytest.fixture
def hooks(client):
    installed = []

    def install(**kw):
        client.register_plugin(_hooks(**kw))
        installed.append(True)

    yield install
    if installed:
        client.unregister_worker_plugin("nnlang-test-hooks")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    """COUNT breast-cancer-like samples (integer attributes 1..10), for --over."""
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("data") / "samples.npz"
    np.savez(path, inputs=rng.integers(1, 11, size=(COUNT, 9)).astype(float),
             labels=rng.integers(0, 2, size=COUNT).astype(float))
    return path


def _config(out: Path, samples: Path, **kw) -> BatchConfig:
    return BatchConfig(spec=BREAST, out_dir=out, param="sample", over=samples, count=COUNT,
                       time_limit=30, pictures=False, **kw)


def _lines(out: Path) -> list[dict]:
    return [json.loads(s) for s in (out / "results.jsonl").read_text().splitlines() if s]


@pytest.fixture(scope="module")
def serial(tmp_path_factory, samples) -> dict[int, dict]:
    out = tmp_path_factory.mktemp("serial")
    run_batch(_config(out, samples), progress=None, echo=None)
    return {ln["instance"]: ln for ln in _lines(out)}


def _same_as_serial(lines: list[dict], serial: dict[int, dict]) -> None:
    assert sorted(ln["instance"] for ln in lines) == list(range(COUNT))  # each exactly once
    for ln in lines:
        ref = serial[ln["instance"]]
        assert ln["status"] == ref["status"], ln["instance"]
        if ref.get("objective") is None:
            assert ln.get("objective") is None
        else:
            assert ln["objective"] == pytest.approx(ref["objective"], abs=1e-9, rel=1e-9)


def test_cluster_run_equals_a_jobs_1_run(tmp_path, client, samples, serial):
    out = run_batch(_config(tmp_path / "c", samples, cluster=client), progress=None,
                    echo=None)
    assert out.ran == COUNT and not out.interrupted
    lines = _lines(tmp_path / "c")
    _same_as_serial(lines, serial)
    assert {"optimal", "infeasible"} & {ln["status"] for ln in lines}
    workers = set(client.run(os.getpid).values())
    assert {ln["pid"] for ln in lines} <= workers and os.getpid() not in workers


def test_a_worker_killed_mid_instance_costs_only_that_instance(tmp_path, client, hooks,
                                                               samples, serial):
    marks = tmp_path / "marks"
    marks.mkdir()
    hooks(slow=0.05, marks=str(marks), hold=3)
    out_dir = tmp_path / "k"
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(out=run_batch(
        _config(out_dir, samples, cluster=client), progress=None, echo=None)))
    worker.start()
    deadline = time.monotonic() + 60
    while not list(marks.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    running = [p.name for p in marks.iterdir()]
    assert running, "instance 3 was not seen running"
    pid, instance = map(int, running[0].split("-"))
    assert instance == 3
    os.kill(pid, signal.SIGKILL)
    (marks / "released").touch()  # its rerun goes through
    worker.join(120)
    assert not worker.is_alive()
    assert result["out"].ran == COUNT
    lines = _lines(out_dir)
    _same_as_serial(lines, serial)
    again = next(ln for ln in lines if ln["instance"] == instance)
    assert again["pid"] != pid  # it ran again, on another worker process


def test_an_interrupted_client_resumes_without_solving_again(tmp_path, client, samples,
                                                             serial):
    class Stop(io.StringIO):
        """A progress stream that interrupts the run after its third finished instance."""

        def write(self, s):
            if s.startswith("instance ") and self.getvalue().count("\ninstance ") >= 2:
                raise KeyboardInterrupt
            return super().write("\n" + s)

    out_dir = tmp_path / "i"
    first = run_batch(_config(out_dir, samples, cluster=client), progress=Stop(), echo=None)
    assert first.interrupted and 1 <= first.ran < COUNT
    kept = {ln["instance"] for ln in _lines(out_dir)}
    second = run_batch(_config(out_dir, samples, cluster=client), progress=None, echo=None)
    assert second.skipped == len(kept) and second.ran == COUNT - len(kept)
    _same_as_serial(_lines(out_dir), serial)  # nothing solved twice, nothing lost


def test_an_instance_that_kills_its_worker_each_time_is_an_error(tmp_path, client, hooks,
                                                                 samples, serial):
    hooks(crash=(4,), slow=0.2)  # results reach the client long before a worker dies
    out = run_batch(_config(tmp_path / "x", samples, cluster=client), progress=None,
                    echo=None)
    lines = {ln["instance"]: ln for ln in _lines(tmp_path / "x")}
    assert sorted(lines) == list(range(COUNT))
    assert lines[4]["status"] == "error"
    assert "worker died each time" in lines[4]["message"]
    assert out.summary["errors"] == 1, {i: ln.get("message") for i, ln in lines.items() if ln["status"] == "error"}
    _same_as_serial(list(lines.values()), {**serial, 4: lines[4]})  # the others as usual


def test_a_missing_dependency_names_the_worker_before_anything_runs(client, tmp_path):
    ran: list = []
    with pytest.raises(NnlangError) as err:
        execute.run_tasks(instances.run_task, {}, [(0, 0)], lambda k, r: ran.append(k),
                          lambda k, why: why, cluster=client,
                          needs=["nnlang_no_such_solver"], files=[BREAST])
    text = str(err.value)
    assert "cannot import nnlang_no_such_solver" in text and "nothing was submitted" in text
    named = set(re.findall(r"worker (tcp://\S+) \(host", text))
    assert named and named <= set(client.scheduler_info()["workers"])
    assert not ran


def test_a_file_missing_on_the_workers_is_named(client, tmp_path):
    gone = tmp_path / "weights.npz"
    gone.write_bytes(b"client copy")
    answers = {}
    with pytest.raises(NnlangError, match="contents differ"):
        real = cluster.sha256
        try:
            cluster.sha256 = lambda p: "0" * 64  # the client's copy is another one
            answers = cluster.check_workers(client, files=[gone])
        finally:
            cluster.sha256 = real
    assert not answers


def test_without_dask_cluster_says_how_to_install(monkeypatch, tmp_path, capsys, samples):
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = main(["batch", str(BREAST), "--param", "sample", "--over", str(samples),
                 "--count", "2", "-o", str(tmp_path / "n"), "--cluster", "local:2", "-q"])
    assert code == 1
    assert 'pip install "nnlang[dask]"' in capsys.readouterr().err


def test_a_bad_local_spec_is_refused():
    with pytest.raises(NnlangError, match="local:N"):
        cluster.local_workers("local:zero")
    assert cluster.local_workers("tcp://h:8786") is None and cluster.local_workers("local:3") == 3


def test_networks_are_read_once_per_worker_process(tmp_path, monkeypatch):
    monkeypatch.setattr(instances, "NETWORKS", {})
    spec = ROOT / "examples" / "mnist_classify.nnq"
    calls: list = []
    real = instances.compile_spec

    def counting(*args, **kw):
        calls.append(kw.get("networks"))
        return real(*args, **kw)

    monkeypatch.setattr(instances, "compile_spec", counting)
    base = {"spec": str(spec), "text": None, "param": "index", "sets": {}, "options": {},
            "time_limit": 10, "tighten": None, "original": None}
    first = instances.run_task(base, 0)
    second = instances.run_task(base, 1)
    assert first["status"] == second["status"] == "optimal"
    assert calls[0] is None and set(calls[1]) == {"net"}  # the second reuses the first's


# ---------------------------------------------------------------- verification suites


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """A small VNN-COMP-style benchmark: two random networks, properties around points,
    each asking whether output 0 can fall below output 1 (some sat, some unsat)."""
    from nnlang.networks.onnx.write import save_onnx
    from nnlang.testing import random_network

    folder = tmp_path_factory.mktemp("bench")
    (folder / "onnx").mkdir()
    (folder / "vnnlib").mkdir()
    rows = []
    for n in range(2):
        net = random_network([3, 8, 8, 2], seed=10 + n)
        save_onnx(net, folder / "onnx" / f"net{n}.onnx")
        for p, eps in enumerate((0.01, 0.5, 2.0)):
            x = np.full(3, 0.1 * (p + 1))
            decl = [f"(declare-const X_{i} Real)" for i in range(3)] + [
                "(declare-const Y_0 Real)", "(declare-const Y_1 Real)"]
            box = [f"(assert (>= X_{i} {float(x[i] - eps)!r}))\n"
                   f"(assert (<= X_{i} {float(x[i] + eps)!r}))"
                   for i in range(3)]
            y0, y1 = net.forward(x)[-1]
            cond = "(assert (<= Y_0 Y_1))" if y0 > y1 else "(assert (<= Y_1 Y_0))"
            (folder / "vnnlib" / f"p{n}_{p}.vnnlib").write_text(
                "\n".join(decl + box + [cond]) + "\n")
            rows.append(f"onnx/net{n}.onnx,vnnlib/p{n}_{p}.vnnlib,20")
    (folder / "instances.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_suite_writes_the_vnncomp_csv_and_resumes(bench, tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["suite", str(bench / "instances.csv"), "-o", str(out), "-q"]) == 0
    rows = [r.split(",") for r in (out / "results.csv").read_text().splitlines()]
    assert [r[1:3] for r in rows] == [r.split(",")[:2] for r in
                                      (bench / "instances.csv").read_text().split()]
    assert all(r[0] == bench.name and r[4] in ("sat", "unsat") for r in rows)
    assert "sat" in {r[4] for r in rows} and "unsat" in {r[4] for r in rows}
    sats = [k for k, r in enumerate(rows) if r[4] == "sat"]
    assert sorted(int(p.stem) for p in (out / "counterexamples").iterdir()) == sats
    before = (out / "results.jsonl").read_text()
    assert main(["suite", str(bench / "instances.csv"), "-o", str(out), "-q"]) == 0
    assert (out / "results.jsonl").read_text() == before  # nothing ran again


def test_suite_on_the_cluster_agrees_with_a_local_run(bench, tmp_path, client):
    from nnlang.verify.suite import run_suite

    local = run_suite(bench / "instances.csv", tmp_path / "l", jobs=1, progress=None,
                      echo=None)
    remote = run_suite(bench / "instances.csv", tmp_path / "c", cluster=client, progress=None,
                       echo=None)
    assert [r["status"] for r in remote] == [r["status"] for r in local]
    workers = set(client.run(os.getpid).values())
    assert {r["pid"] for r in remote} <= workers
    assert (tmp_path / "c" / "results.csv").read_text().split("\n")[0].split(",")[4] \
        == local[0]["status"]


def test_jobs_and_cluster_together_are_refused(tmp_path, capsys, samples):
    code = main(["batch", str(BREAST), "--param", "sample", "--over", str(samples),
                 "--count", "2", "-o", str(tmp_path / "b"), "--jobs", "2", "--cluster",
                 "local:2", "-q"])
    assert code == 1 and "not both" in capsys.readouterr().err


def test_a_network_file_changed_since_is_read_again(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(instances, "NETWORKS", {})
    shutil.copy(BREAST, tmp_path / BREAST.name)
    shutil.copytree(ROOT / "examples" / "models", tmp_path / "models")
    shutil.copytree(ROOT / "examples" / "data", tmp_path / "data")
    spec = tmp_path / "breast_cancer_adversarial.nnq"
    base = {"spec": str(spec), "text": None, "param": "sample", "sets": {}, "options": {},
            "time_limit": 10, "tighten": None, "original": None}
    key = instances.networks_key(base)
    instances.run_task(base, 0)
    assert set(instances.known_networks(key)) == {"dnn3"}  # a weights block, kept
    weights = tmp_path / "models" / "breast_9_3_3_2.npz"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # as if rewritten
    assert instances.known_networks(key) is None  # changed on disk: read again
