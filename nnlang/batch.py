"""Batch runs: one spec solved for many instances, as in Zhu's (2021) Tables 2-6.

Instance ``i`` binds the spec's instance parameter (``index`` by default) to
``i``; everything else is the spec's (plus ``--set`` overrides). ``--over
DATA.npz`` makes the spec's ``data("...npz", "key")`` calls read ``DATA.npz``
instead, for every key that file holds.

Each finished instance is appended as one JSON line to ``DIR/results.jsonl``
(flushed and fsynced at once), so an interrupted run loses nothing already
solved and a re-run skips the instances already in the file. At the end
``DIR/summary.md`` gets the Zhu (2021)-style table; for image inputs
``DIR/grid.png`` shows original / adversarial / difference per instance, and
for small tabular inputs ``DIR/changes.md`` lists the changed attributes (the WBO master's
thesis fig. 4.2).

Every instance re-runs ``nnlang.compile`` (parse, check, bounds, encode) in the
process that solves it; see docs/batch.md for what that costs.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from nnlang import pictures
from nnlang.api import compile as compile_spec
from nnlang.errors import DataError, NnlangError, SemanticError
from nnlang.parse import ast, parse_file
from nnlang.provenance import code_version, machine

RESULTS = "results.jsonl"
SUMMARY = "summary.md"
META = "batch.json"
GRID = "grid.png"
CHANGES = "changes.md"

# settings that must match for a re-run to continue an existing results file
_SAME = ("spec", "data", "param", "sets", "options", "time_limit", "tighten")


@dataclass
class BatchConfig:
    spec: Path
    out_dir: Path
    count: int | None = None  # None: every instance from ``start`` on (size of the data)
    start: int = 0
    param: str = "index"
    over: Path | None = None
    time_limit: float | None = None
    jobs: int = 1
    sets: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # compile options (bounds, solver..)
    tighten: bool | None = None
    original: str | None = None  # the parameter holding the original input
    retry_errors: bool = False
    pictures: bool = True


@dataclass
class BatchOutcome:
    lines: list[dict]  # the requested instances' lines, in instance order
    summary: dict[str, Any]
    ran: int  # instances solved by this run
    skipped: int  # instances already in results.jsonl
    interrupted: bool = False
    files: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------- spec preparation


def _walk(node: Any) -> Iterable[Any]:
    yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name in ("span", "source"):
                continue
            yield from _walk(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _walk(item)


def _data_calls(prog) -> list:
    return [n for n in _walk(prog) if isinstance(n, ast.Call) and n.func == "data"
            and n.args and isinstance(n.args[0], ast.String)]


def _npz_keys(path: Path) -> dict[str, tuple[int, ...]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k].shape for k in z.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read '{path}': {exc}") from None


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
    calls = _data_calls(prog)
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
        keys = _npz_keys(over)
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
            shapes = _npz_keys(path)
            if key is None and len(shapes) == 1:
                key = next(iter(shapes))
            if shapes.get(key):
                sizes.append(shapes[key][0])
    return text, (min(sizes) if sizes else None)


# ---------------------------------------------------------------- one instance


def solve_instance(task: dict[str, Any]) -> dict[str, Any]:
    """Compile and solve one instance; never raises for the instance's own errors.

    Runs in a worker process when ``--jobs`` > 1, so it takes and returns plain data.
    """
    start = time.perf_counter()
    i = task["instance"]
    params = dict(task["sets"])
    params[task["param"]] = i
    line: dict[str, Any] = {"instance": i, "param": task["param"],
                            "params": {k: v for k, v in params.items()}}
    try:
        m = compile_spec(task["spec"], params=params, text=task.get("text"),
                           **task["options"])
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


class _Writer:
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
        self.f.write(json.dumps(line, default=_json_default) + "\n")
        self.f.flush()
        try:
            os.fsync(self.f.fileno())
        except OSError:
            pass

    def close(self) -> None:
        self.f.close()


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


# ---------------------------------------------------------------- progress


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    return f"{h}:{rem // 60:02d}:{rem % 60:02d}" if h else f"{rem // 60:02d}:{rem % 60:02d}"


class Progress:
    """A text progress bar on a stream: count, elapsed, ETA (per finished line
    when the stream is not a terminal)."""

    def __init__(self, total: int, already: int, stream: TextIO | None, width: int = 24):
        self.total, self.already, self.stream, self.width = total, already, stream, width
        self.done = 0
        self.start = time.perf_counter()
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def text(self) -> str:
        n = self.already + self.done
        frac = n / self.total if self.total else 1.0
        filled = round(frac * self.width)
        elapsed = time.perf_counter() - self.start
        left = self.total - n
        eta = elapsed / self.done * left if self.done else math.inf
        if left == 0:
            eta = 0.0
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {n}/{self.total}  "
                f"elapsed {_clock(elapsed)}  ETA {_clock(eta)}" + (f"  ({counts})" if counts
                                                                   else ""))

    def begin(self) -> None:
        if self.stream is None:
            return
        if self.already:
            self.stream.write(f"{self.already} instance(s) already in the results file: "
                              "skipped\n")
        if self.tty:
            self.stream.write("\r" + self.text())
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        self.stream.flush()

    def _tick(self) -> None:
        """Redraw once a second on a terminal, so elapsed time moves during long solves."""
        while not self._stop.wait(1.0):
            with self._lock:
                self.stream.write("\r" + self.text() + "\033[K")
                self.stream.flush()

    def update(self, line: dict) -> None:
        self.done += 1
        status = line.get("status", "?")
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.stream is None:
            return
        if self.tty:
            with self._lock:
                self.stream.write("\r" + self.text() + "\033[K")
        else:
            obj = line.get("objective")
            what = f"{status}" + (f" {obj:.6g}" if isinstance(obj, (int, float)) else "")
            self.stream.write(f"instance {line['instance']}: {what} "
                              f"({line.get('wall_seconds', 0):.1f} s)  {self.text()}\n")
        self.stream.flush()

    def end(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------- summary


def _bound_gap(line: dict) -> float | None:
    """The piecewise-linear bound gap of a line (``pwl_bound_gap``, else the largest
    ``approximations[*].bound_gap``), as a fraction."""
    if line.get("pwl_bound_gap") is not None:
        return float(line["pwl_bound_gap"])
    gaps = [a.get("bound_gap") for a in (line.get("approximations") or {}).values()
            if isinstance(a, dict) and a.get("bound_gap") is not None]
    return max(gaps) if gaps else None


def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def summarize(lines: list[dict]) -> dict[str, Any]:
    """Zhu's (2021) columns over the lines (see docs/batch.md for the definitions)."""
    n = len(lines)
    status: dict[str, int] = {}
    for ln in lines:
        status[ln.get("status", "error")] = status.get(ln.get("status", "error"), 0) + 1
    ran = [ln for ln in lines if ln.get("status") != "error"]
    solved = [ln for ln in ran if ln["status"] in ("optimal", "infeasible", "unbounded")]
    gaps = []  # percent, per instance that has (or should have) a solution
    unsolved_gaps = []
    for ln in ran:
        if ln["status"] == "optimal":
            gaps.append(0.0)
        elif ln["status"] == "time_limit":
            g = ln.get("gap")
            g = 100.0 if g is None or not ln.get("values") else min(100.0 * float(g), 100.0)
            gaps.append(g)
            unsolved_gaps.append(g)
    bgaps = [g for g in (_bound_gap(ln) for ln in ran) if g is not None]
    return {
        "instances": n,
        "status": status,
        "objective": _mean([ln["objective"] for ln in ran if ln.get("objective") is not None]),
        "solved_pct": 100.0 * len(solved) / len(ran) if ran else None,
        "gap_pct": _mean(gaps),
        "gap_unsolved_pct": _mean(unsolved_gaps),
        "nodes": _mean([ln["nodes"] for ln in ran if ln.get("nodes") is not None]),
        "time": _mean([ln.get("solve_seconds", 0.0) for ln in ran]),
        "tpre": _mean([ln.get("bounds_seconds", 0.0) for ln in ran]),
        "compile": _mean([ln.get("compile_seconds", 0.0) for ln in ran]),
        "wall": _mean([ln.get("wall_seconds", 0.0) for ln in lines]),
        "bound_pct": 100.0 * _mean(bgaps) if bgaps else None,
        "errors": status.get("error", 0),
    }


COLUMNS = [  # (key, header, format)
    ("instances", "n", "{:.0f}"),
    ("objective", "Obj.", "{:.2f}"),
    ("bound_pct", "%bound", "{:.2f}"),
    ("solved_pct", "%solved", "{:.1f}"),
    ("gap_pct", "%gap", "{:.2f}"),
    ("gap_unsolved_pct", "%gap unsolved", "{:.2f}"),
    ("nodes", "Nodes", "{:,.0f}"),
    ("time", "Time (s)", "{:.2f}"),
    ("tpre", "t.pre (s)", "{:.2f}"),
    ("compile", "compile (s)", "{:.2f}"),
    ("wall", "wall (s)", "{:.2f}"),
]


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h)
              for k, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if k in right else c.ljust(w)
                                 for k, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if k in right else "-" * (w + 2)
                         for k, w in enumerate(widths)) + "|"
    return "\n".join([fmt(header), sep] + [fmt(r) for r in rows])


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    """A Markdown table, one row per labelled summary (Zhu (2021) Tables 2-6).

    ``%bound`` appears only when some summary has it; ``%gap unsolved`` only
    when some instance hit the time limit.
    """
    cols = [c for c in COLUMNS
            if (c[0] != "bound_pct" or any(s.get("bound_pct") is not None
                                           for s in summaries.values()))
            and (c[0] != "gap_unsolved_pct" or any(s.get("gap_unsolved_pct") is not None
                                                   for s in summaries.values()))]
    header = [""] + [c[1] for c in cols]
    rows = []
    for label, s in summaries.items():
        row = [label]
        for key, _, f in cols:
            v = s.get(key)
            row.append("-" if v is None else f.format(v))
        rows.append(row)
    return _table(header, rows, set(range(1, len(header))))


def _status_line(s: dict[str, Any]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(s["status"].items()))


def _instance_table(lines: list[dict]) -> str:
    header = ["instance", "status", "objective", "%gap", "nodes", "time (s)", "t.pre (s)",
              "compile (s)", "predicted"]
    rows = []
    for ln in lines:
        nets = ln.get("networks") or {}
        pred = ", ".join(str(v.get("predicted")) for v in nets.values())
        pics = [p for p in (ln.get("pictures") or {}).values()
                if p.get("original_predicted") is not None]
        if pics and pred:
            pred = f"{pics[0]['original_predicted']} -> {pred}"
        obj, gap = ln.get("objective"), ln.get("gap")
        rows.append([str(ln["instance"]), ln.get("status", "?"),
                     "-" if obj is None else f"{obj:.6g}",
                     "-" if gap is None else f"{100 * gap:.2f}",
                     "-" if ln.get("nodes") is None else f"{ln['nodes']:,}",
                     f"{ln.get('solve_seconds', 0.0):.2f}",
                     f"{ln.get('bounds_seconds', 0.0):.2f}",
                     f"{ln.get('compile_seconds', 0.0):.2f}", pred or "-"])
    return _table(header, rows, {0, 2, 3, 4, 5, 6, 7})


def write_summary(config: BatchConfig, lines: list[dict], summary: dict,
                  extra: list[str]) -> str:
    stem = config.spec.stem
    ids = [ln["instance"] for ln in lines]
    contiguous = ids == list(range(ids[0], ids[0] + len(ids)))
    which = f"{ids[0]}..{ids[-1]}" if contiguous else ", ".join(map(str, ids))
    data = config.over or "the spec's own"
    opts = json.dumps(config.options) if config.options else "the spec's"
    head = [f"# Batch: {config.spec}", "",
            f"- instances: {config.param} = {which} ({len(lines)})",
            f"- data: {data}",
            f"- time limit: {config.time_limit if config.time_limit is not None else 'spec'} s",
            f"- options: {opts}"
            + (f"; --set {json.dumps(config.sets)}" if config.sets else ""),
            f"- machine: {machine(load=False, code=False)}",
            f"- code: {_meta_code(config)}", ""]
    body = [summary_table({stem: summary}), "", f"Statuses: {_status_line(summary)}.", "",
            ("Columns: Obj. = mean objective of the instances with a solution; %solved = "
             "instances the solver finished (optimal or proven infeasible); %gap = mean "
             "optimality gap, 0 for optimal instances, 100 without a solution; "
             "%gap unsolved = the same over time-limited instances only; Nodes = mean "
             "branch-and-bound nodes; Time = mean solver seconds; t.pre = mean bound "
             "computation seconds; compile = mean parse+check+encode seconds (and the "
             "CVXPY problem when the solver needs it); "
             "wall = mean seconds per instance end to end (docs/batch.md)."), ""]
    body += ["## Instances", "", _instance_table(lines), ""] + extra
    text = "\n".join(head + body) + "\n"
    (config.out_dir / SUMMARY).write_text(text)
    return text


def _picture_files(config: BatchConfig, lines: list[dict]) -> tuple[list[Path], list[str]]:
    """grid.png for image variables, changes.md for tabular ones; Markdown to add."""
    infos = [(ln, name, p) for ln in lines for name, p in (ln.get("pictures") or {}).items()]
    names = sorted({name for _, name, _ in infos})
    files: list[Path] = []
    extra: list[str] = []
    for name in names:
        mine = [(ln, p) for ln, n, p in infos if n == name]
        rows = []
        for ln, p in mine:
            value = (ln.get("values") or {}).get(name)
            orig = p.get("original")
            rows.append(pictures.GridRow(
                str(ln["instance"]), None if value is None else np.asarray(value, float),
                None if orig is None else np.asarray(orig, float), p.get("predicted"),
                p.get("original_predicted"), ln.get("status", "?")))
        suffix = "" if len(names) == 1 else f"_{name}"
        shape = next((p["image_shape"] for _, p in mine if p.get("image_shape")), None)
        if shape is not None:
            lo = min(p["lo"] for _, p in mine)
            hi = max(p["hi"] for _, p in mine)
            img = pictures.grid_image(rows, tuple(shape), lo, hi)
            path = config.out_dir / GRID.replace(".png", f"{suffix}.png")
            img.save(path)
            files.append(path)
            extra += [f"![{name}]({path.name})", ""]
        else:
            text = pictures.changes_table(rows)
            path = config.out_dir / CHANGES.replace(".md", f"{suffix}.md")
            path.write_text(f"# {name}: original and changed attributes\n\n{text}")
            files.append(path)
            extra += [f"## Changed attributes ({name})", "", text]
    return files, extra


# ---------------------------------------------------------------- the run


def _meta_code(config: BatchConfig) -> str:
    """The code version(s) recorded for this batch (``batch.json``), else the current."""
    try:
        return json.loads((config.out_dir / META).read_text())["code"]
    except (OSError, ValueError, KeyError):
        return code_version()


def _digest(path: Path | str | None) -> str | None:
    """SHA-256 of a file's bytes (None without a file)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _meta(config: BatchConfig) -> dict[str, Any]:
    return {"spec": str(config.spec.resolve()), "spec_sha256": _digest(config.spec),
            "data": None if config.over is None else str(Path(config.over).resolve()),
            "data_sha256": _digest(config.over),
            "param": config.param, "sets": {k: str(v) for k, v in config.sets.items()},
            "options": {k: v for k, v in config.options.items()},
            "time_limit": None if config.time_limit is None else float(config.time_limit),
            "tighten": config.tighten, "code": code_version()}


def _same_entry(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether ``key`` of two batch records agrees. The spec and the data file are
    the same when their contents are (a moved or re-cloned checkout continues its
    batches); records written before the digests compare paths."""
    digest = f"{key}_sha256"
    if key in ("spec", "data") and old.get(digest) and new.get(digest):
        return old[digest] == new[digest]
    return json.dumps(old.get(key), sort_keys=True) == json.dumps(new.get(key), sort_keys=True)


def _check_meta(config: BatchConfig, meta: dict[str, Any]) -> None:
    """Refuse to continue the results of a different batch; a continued batch run
    with other code keeps both code versions in ``meta["code"]``."""
    path = config.out_dir / META
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text())
    except ValueError:
        return
    diff = [k for k in _SAME if not _same_entry(k, old, meta)]
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
    meta = _meta(config)
    _check_meta(config, meta)
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
    writer = _Writer(results_path)
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
            pics, extra = _picture_files(config, lines)
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
            echo(f"statuses: {_status_line(summary)}")
        for p in files:
            echo(f"wrote {p}")
    return BatchOutcome(lines, summary, ran, len(wanted) - len(todo), interrupted, files)
