"""The batch's records: JSON lines appended and fsynced as instances finish, and
the batch.json that says what produced them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.batch.config import META, RESULTS, SAME, BatchConfig
from nnlang.errors import SemanticError
from nnlang.provenance import code_version


class Writer:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size:
            with path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                needs_newline = f.read(1) != b"\n"
        else:
            needs_newline = False
        self.f = path.open("a")
        if needs_newline:  # a line cut short by a crash: start a fresh one
            self.f.write("\n")

    def write(self, line: dict) -> None:
        self.f.write(json.dumps(line, default=json_default) + "\n")
        self.f.flush()
        try:
            os.fsync(self.f.fileno())
        except OSError:
            pass

    def close(self) -> None:
        self.f.close()


def json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


# ---------------------------------------------------------------- progress


def meta_code(config: BatchConfig) -> str:
    """The code version(s) recorded for this batch (``batch.json``), else the current."""
    try:
        return json.loads((config.out_dir / META).read_text())["code"]
    except (OSError, ValueError, KeyError):
        return code_version()


def digest(path: Path | str | None) -> str | None:
    """SHA-256 of a file's bytes (None without a file)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def batch_meta(config: BatchConfig) -> dict[str, Any]:
    return {"spec": str(config.spec.resolve()), "spec_sha256": digest(config.spec),
            "data": None if config.over is None else str(Path(config.over).resolve()),
            "data_sha256": digest(config.over),
            "param": config.param, "sets": {k: str(v) for k, v in config.sets.items()},
            "options": {k: v for k, v in config.options.items()},
            "time_limit": None if config.time_limit is None else float(config.time_limit),
            "tighten": config.tighten, "code": code_version()}


def same_entry(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``key`` of two batch records agrees. The spec and the data file are
    the same when their contents are (a moved or re-cloned checkout continues its
    batches); records written before the digests compare paths."""
    digest = f"{key}_sha256"
    if key in ("spec", "data") and old.get(digest) and new.get(digest):
        return old[digest] == new[digest]
    return json.dumps(old.get(key), sort_keys=True) == json.dumps(new.get(key), sort_keys=True)


def check_meta(config: BatchConfig, meta: dict[str, Any]) -> None:
    """Refuse to continue the results of a different batch; a continued batch run
    with other code keeps both code versions in ``meta["code"]``."""
    path = config.out_dir / META
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())
    except ValueError:
        return
    diff = [k for k in SAME if not same_entry(k, old, meta)]
    if diff and (config.out_dir / RESULTS).exists():
        k = diff[0]
        what = " (other contents)" if old.get(f"{k}_sha256") else ""
        raise SemanticError(f"'{config.out_dir}' holds the results of a different batch "
                            f"({k}{what}: {old.get(k)!r} there, {meta.get(k)!r} now): use another "
                            f"-o DIR, or remove that one to start over")
    before = old.get("code")
    if before and (config.out_dir / RESULTS).exists():
        seen = before.split(", then ")
        meta["code"] = before if meta["code"] in seen else f"{before}, then {meta['code']}"
