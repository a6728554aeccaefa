"""The instances of a batch: which data they read, and one solved in a worker."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nnlang import pictures
from nnlang.api import compile as compile_spec
from nnlang.batch.config import BatchConfig
from nnlang.errors import DataError, NnlangError, SemanticError
from nnlang.networks.network import Network
from nnlang.networks.npz import read_npz
from nnlang.parse import ast, parse_file, parse_text


def walk(node: Any) -> Iterable[Any]:
    yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name in ("span", "source"):
                continue
            yield from walk(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)


def data_calls(prog) -> list:
    return [n for n in walk(prog) if isinstance(n, ast.Call) and n.func == "data"
            and n.args and isinstance(n.args[0], ast.String)]


def npz_keys(path: Path) -> dict[str, tuple[int, ...]]:
    return {k: v.shape for k, v in read_npz(path, "data file").items()}


def prepare(config: BatchConfig) -> tuple[str | None, int | None]:
    """Check the spec names the instance parameter; redirect its data to ``--over``.

    Returns the spec text to compile (None: the file as it is) and how many
    instances the data holds (None when unknown).
    """
    prog = parse_file(config.spec)
    params = [s.name for s in prog.statements if isinstance(s, ast.ParamDecl)]
    if config.param not in params:
        raise SemanticError(f"the spec declares no parameter '{config.param}' to select "
                            f"instances with (parameters: {', '.join(params) or 'none'}): "
                            f"use --param NAME")
    calls = data_calls(prog)
    text = None
    sizes: list[int] = []
    if config.over is not None:
        over = Path(config.over).resolve()
        if over.suffix.lower() != ".npz":
            raise DataError(f"--over expects an .npz file, got '{config.over}'")
        if not over.exists():
            raise DataError(f"--over: data file '{config.over}' not found")
        if '"' in str(over):
            raise DataError(f"--over: the path '{over}' contains a double quote")
        keys = npz_keys(over)
        lines = prog.source.splitlines(keepends=True)
        edits = []
        for call in calls:
            key = call.args[1].value if len(call.args) > 1 and isinstance(
                call.args[1], ast.String) else None
            if key is None and len(keys) == 1:
                key = next(iter(keys))
            if key in keys:
                edits.append(call.args[0].span)
                sizes.append(keys[key][0] if keys[key] else 0)
        if not edits:
            read = sorted({c.args[1].value for c in calls if len(c.args) > 1
                           and isinstance(c.args[1], ast.String)})
            raise DataError(f"--over: '{config.over}' holds none of the arrays the spec reads "
                            f"(it has {', '.join(keys) or 'none'}; the spec reads "
                            f"{', '.join(read) or 'no data'})")
        for span in sorted(edits, key=lambda s: (s.line, s.column), reverse=True):
            row = lines[span.line - 1]
            lines[span.line - 1] = (row[:span.column - 1] + f'"{over}"'
                                    + row[span.end_column - 1:])
        text = "".join(lines)
    else:
        for call in calls:
            path = config.spec.parent / call.args[0].value
            if path.suffix.lower() != ".npz" or not path.exists():
                continue
            key = call.args[1].value if len(call.args) > 1 and isinstance(
                call.args[1], ast.String) else None
            shapes = npz_keys(path)
            if key is None and len(shapes) == 1:
                key = next(iter(shapes))
            if shapes.get(key):
                sizes.append(shapes[key][0])
    return text, (min(sizes) if sizes else None)


def spec_files(config: BatchConfig, text: str | None) -> list[Path]:
    """The files a batch's instances read: the spec, then its data and its networks
    (which every worker of a cluster must see at the same path)."""
    prog = parse_text(text, str(config.spec)) if text is not None else parse_file(config.spec)
    base = config.spec.resolve().parent
    rels = [c.args[0].value for c in data_calls(prog)]
    rels += [s.value.args[0].value for s in prog.statements if isinstance(s, ast.NetworkStmt)
             and _loaded(s)]
    rels += [n.path for n in walk(prog) if isinstance(n, ast.NetWeights)]
    return [config.spec.resolve()] + [p for p in ((base / r).resolve()
                                                  for r in dict.fromkeys(rels)) if p.is_file()]


def _loaded(stmt: Any) -> bool:
    """A network the same for every instance: ``network f = load("file")``, or a block
    that names no parameter."""
    if isinstance(stmt, ast.NetworkBlock):
        return not any(isinstance(n, ast.Name) for n in walk(stmt.items))
    v = getattr(stmt, "value", None)
    return (isinstance(stmt, ast.NetworkStmt) and isinstance(v, ast.Call) and v.func == "load"
            and len(v.args) == 1 and isinstance(v.args[0], ast.String))


# ---------------------------------------------------------------- one instance

# Per process (a pool's or a Dask worker's): the networks a spec loads from files, read
# once and handed to every later instance's compile instead of parsing the file again,
# with the files' (mtime, size) so that a file changed since is read again.
NETWORKS: dict[str, tuple[dict[str, Network], dict[Path, tuple[int, int]]]] = {}


def networks_key(task: dict[str, Any]) -> str:
    spec = Path(task["spec"]).resolve()
    text = task.get("text")
    if text is None:
        try:
            text = spec.read_text()
        except OSError:
            text = ""
    return hashlib.sha256(f"{spec}\0{text}".encode()).hexdigest()


def _stamps(paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    out = {}
    for p in paths:
        try:
            st = p.stat()
            out[p] = (st.st_mtime_ns, st.st_size)
        except OSError:
            out[p] = (-1, -1)
    return out


def known_networks(key: str) -> dict[str, Network] | None:
    entry = NETWORKS.get(key)
    if entry is None or _stamps(entry[1]) != entry[1]:
        NETWORKS.pop(key, None)
        return None
    return entry[0]


def remember_networks(key: str, m: Any, text: str | None, spec: str) -> None:
    prog = parse_text(text, spec) if text is not None else parse_file(spec)
    loaded = [s for s in prog.statements if _loaded(s)]
    base = Path(spec).resolve().parent
    rels = [s.value.args[0].value for s in loaded if isinstance(s, ast.NetworkStmt)]
    rels += [n.path for s in loaded for n in walk(s) if isinstance(n, ast.NetWeights)]
    if len(NETWORKS) >= 4:  # a long-lived cluster worker serves batch after batch
        NETWORKS.clear()
    names = {s.name for s in loaded}
    NETWORKS[key] = ({name: nd.network for name, nd in m.program.networks.items()
                      if name in names}, _stamps((base / r).resolve() for r in rels))


def run_task(base: dict[str, Any], instance: int) -> dict[str, Any]:
    """One instance of a batch whose shared settings are ``base`` (a pool's or a
    cluster's task: only ``instance`` differs from task to task)."""
    return solve_instance({**base, "instance": instance})


def solve_instance(task: dict[str, Any]) -> dict[str, Any]:
    """Compile and solve one instance; never raises for the instance's own errors.

    Runs in a worker process when ``--jobs`` > 1 or on a cluster, so it takes and
    returns plain data.
    """
    start = time.perf_counter()
    i = task["instance"]
    params = dict(task["sets"])
    params[task["param"]] = i
    line: dict[str, Any] = {"instance": i, "param": task["param"],
                            "params": {k: v for k, v in params.items()}}
    key = networks_key(task)
    try:
        given = known_networks(key)
        m = compile_spec(task["spec"], params=params, text=task.get("text"),
                         networks=given, **task["options"])
        if given is None:
            remember_networks(key, m, task.get("text"), task["spec"])
        result = m.solve(time_limit=task.get("time_limit"), tighten=task.get("tighten"))
    except NnlangError as err:
        line.update(status="error", message=err.render())
        m = result = None
    except Exception as exc:  # noqa: BLE001 - a bug in nnlang: record it and keep the batch going
        line.update(status="error", message=f"internal error: {type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc())
        m = result = None
    if result is not None:
        d = result.to_dict()
        d["networks"] = {k: {"output": v["output"], "predicted": v["predicted"],
                             "forward_gap": v["forward_gap"]}
                         for k, v in d["networks"].items()}
        line.update(d)
        try:
            subs = pictures.subjects(m, result, task.get("original"), with_missing=True)
        except Exception as exc:  # noqa: BLE001 - pictures are a bonus: never lose a solve to them
            subs = []
            line.setdefault("warnings", []).append(f"pictures: {type(exc).__name__}: {exc}")
        line["pictures"] = {
            s.name: {"image_shape": list(s.image_shape) if s.image_shape else None,
                     "lo": s.lo, "hi": s.hi, "original_param": s.original_param,
                     "original": None if s.original is None else s.original.tolist(),
                     "original_predicted": s.original_predicted, "predicted": s.predicted}
            for s in subs}
    line["time_limit"] = task.get("time_limit")
    line["wall_seconds"] = time.perf_counter() - start
    line["pid"] = os.getpid()
    line["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return line


# ---------------------------------------------------------------- results file


def load_results(path: Path) -> tuple[dict[int, dict], int]:
    """The last valid line per instance, and how many lines could not be read."""
    done: dict[int, dict] = {}
    bad = 0
    if not path.exists():
        return done, bad
    with path.open() as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                done[int(line["instance"])] = line
            except (ValueError, KeyError, TypeError):
                bad += 1  # e.g. a line cut short by a crash
    return done, bad
