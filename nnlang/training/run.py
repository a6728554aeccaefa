"""Batch learning (Goebbels (2021) §3) with a resumable run directory.

The run directory holds ``state.npz`` (the parameters after the last finished
batch and its number), ``history.json`` (a line per layer update and per batch)
and, at the end, the trained network as ``network.npz`` and ``network.onnx``.
Each file is written to a temporary name and renamed, so an interrupted run
leaves the last finished batch intact and ``train`` continues from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nnlang.errors import NnlangError
from nnlang.ir.options import Options
from nnlang.networks.network import Network
from nnlang.networks.npz import save_npz
from nnlang.networks.onnx.write import save_onnx
from nnlang.training.goebbels import Settings, Step, Trainer, accuracy
from nnlang.training.layers import LayerParams


@dataclass
class Trained:
    """The trained network and how it got there."""

    network: Network
    batches: list[dict] = field(default_factory=list)  # one record per finished batch
    steps: list[Step] = field(default_factory=list)  # every layer update
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from: int = 0

    def to_dict(self) -> dict:
        return {"batches": self.batches, "steps": [asdict(s) for s in self.steps],
                "counts": self.counts, "seconds": self.seconds,
                "resumed_from": self.resumed_from}


def _fingerprint(layers: list[LayerParams], settings: Settings, X: np.ndarray) -> str:
    h = hashlib.sha256()
    # more batches or more workers continue the same run
    same = {k: v for k, v in asdict(settings).items() if k not in ("batches", "workers")}
    h.update(json.dumps(same, sort_keys=True, default=str).encode())
    for p in layers:
        h.update(np.asarray([p.n_out, p.n_in, p.size]).tobytes())
        h.update(p.lo.tobytes() + p.hi.tobytes())
    h.update(np.ascontiguousarray(X[:5]).tobytes())
    return h.hexdigest()[:16]


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")
    write(tmp)
    os.replace(tmp, path)


def save_json(path: Path, data) -> None:
    _atomic(path, lambda p: p.write_text(json.dumps(data, indent=1, default=float)))


def train_batches(layers: list[LayerParams], X: np.ndarray, labels: np.ndarray,
                  settings: Settings, options: Options | None = None, *,
                  run_dir: Path | None = None, test: tuple | None = None,
                  report: Callable[[str, object], None] | None = None,
                  input_shape=(), start: Network | None = None) -> Trained:
    """Train consecutive batches of ``settings.batch_size`` samples of ``(X, labels)``.

    ``test`` = ``(X_test, labels_test)`` is evaluated after every batch; ``start``
    is a network to start from instead of the seeded random initialization;
    ``report(kind, what)`` hears ``("step", Step)`` and ``("batch", record)``."""
    X = np.asarray(X, float)
    labels = np.asarray(labels).astype(int)
    report = report or (lambda kind, what: None)
    trainer = Trainer(layers, settings, options or Options(),
                      lambda step: report("step", step), input_shape)
    if start is not None:
        trainer.theta = [p.theta_of(layer.W, layer.b) for p, layer in zip(layers, start.layers)]
    key = _fingerprint(layers, settings, X)
    first, batches, steps = 0, [], []
    state = None if run_dir is None else Path(run_dir) / "state.npz"
    if state is not None:
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        if state.exists():
            with np.load(state) as saved:
                if str(saved["key"]) != key:
                    raise NnlangError(f"{run_dir} holds a run of other settings or data: "
                                      f"use another directory (or delete it to start over)")
                trainer.theta = [saved[f"theta{i}"] for i in range(len(layers))]
                first = int(saved["next_batch"])
            history = json.loads((Path(run_dir) / "history.json").read_text())
            batches = history["batches"]
            steps = [Step(**s) for s in history["steps"]]
            trainer.counts = history["counts"]
    trainer.history = steps
    if start is None and first == 0 and settings.init_trials > 1:
        scores = trainer.choose_initialization(X[:settings.batch_size],
                                               labels[:settings.batch_size])
        report("init", scores)
    start = time.perf_counter()
    n_batches = min(settings.batches, -(-len(X) // settings.batch_size))
    try:
        for bi in range(first, n_batches):
            t0 = time.perf_counter()
            lo, hi = bi * settings.batch_size, (bi + 1) * settings.batch_size
            bounds = trainer.change_bounds() if bi > 0 and settings.change is not None else None
            batch_acc = trainer.train_batch(X[lo:hi], labels[lo:hi], bi, bounds)
            post = bool(settings.post_every) and (bi + 1) % settings.post_every == 0
            if post:
                trainer.post_process(X, labels, bi)
            net = trainer.network()
            record = {"batch": bi, "batch_accuracy": batch_acc,
                      "seen_accuracy": accuracy(net, X[:hi], labels[:hi]),
                      "train_accuracy": accuracy(net, X, labels),
                      "post_processed": post, "seconds": time.perf_counter() - t0,
                      "counts": dict(trainer.counts)}
            if test is not None:
                record["test_accuracy"] = accuracy(net, test[0], test[1])
            batches.append(record)
            report("batch", record)
            if state is not None:
                arrays = {f"theta{i}": t for i, t in enumerate(trainer.theta)}
                arrays.update(key=np.array(key), next_batch=np.array(bi + 1))
                _atomic(state, lambda p, arrays=arrays: np.savez(p, **arrays))
                save_json(Path(run_dir) / "history.json",
                           {"batches": batches, "steps": [asdict(s) for s in trainer.history],
                            "counts": trainer.counts})
    finally:
        trainer.close()
    result = Trained(trainer.network(), batches, trainer.history, dict(trainer.counts),
                     time.perf_counter() - start, first)
    if run_dir is not None:
        write_network(result.network, Path(run_dir))
        save_json(Path(run_dir) / "history.json", result.to_dict())
    return result


def write_network(network: Network, folder: Path) -> None:
    """``network.npz`` and ``network.onnx`` in ``folder`` (each complete or absent)."""
    _atomic(folder / "network.npz", lambda p: save_npz(network, p))
    _atomic(folder / "network.onnx", lambda p: save_onnx(network, p))
