"""The batch's tables (summary.md) and pictures (grid.png, changes.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nnlang import pictures
from nnlang.batch.config import CHANGES, GRID, SUMMARY, BatchConfig
from nnlang.batch.records import meta_code
from nnlang.provenance import machine


def bound_gap(line: dict) -> float | None:
    """The piecewise-linear bound gap of a line (``pwl_bound_gap``, else the largest
    ``approximations[*].bound_gap``), as a fraction."""
    if line.get("pwl_bound_gap") is not None:
        return float(line["pwl_bound_gap"])
    gaps = [a.get("bound_gap") for a in (line.get("approximations") or {}).values()
            if isinstance(a, dict) and a.get("bound_gap") is not None]
    return max(gaps) if gaps else None


def mean(xs: list[float]) -> float | None:
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
    bgaps = [g for g in (bound_gap(ln) for ln in ran) if g is not None]
    return {
        "instances": n,
        "status": status,
        "objective": mean([ln["objective"] for ln in ran if ln.get("objective") is not None]),
        "solved_pct": 100.0 * len(solved) / len(ran) if ran else None,
        "gap_pct": mean(gaps),
        "gap_unsolved_pct": mean(unsolved_gaps),
        "nodes": mean([ln["nodes"] for ln in ran if ln.get("nodes") is not None]),
        "time": mean([ln.get("solve_seconds", 0.0) for ln in ran]),
        "tpre": mean([ln.get("bounds_seconds", 0.0) for ln in ran]),
        "compile": mean([ln.get("compile_seconds", 0.0) for ln in ran]),
        "wall": mean([ln.get("wall_seconds", 0.0) for ln in lines]),
        "bound_pct": 100.0 * mean(bgaps) if bgaps else None,
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


def markdown_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
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
    return markdown_table(header, rows, set(range(1, len(header))))


def status_line(s: dict[str, Any]) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(s["status"].items()))


def instance_table(lines: list[dict]) -> str:
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
    return markdown_table(header, rows, {0, 2, 3, 4, 5, 6, 7})


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
            f"- code: {meta_code(config)}", ""]
    body = [summary_table({stem: summary}), "", f"Statuses: {status_line(summary)}.", "",
            ("Columns: Obj. = mean objective of the instances with a solution; %solved = "
             "instances the solver finished (optimal or proven infeasible); %gap = mean "
             "optimality gap, 0 for optimal instances, 100 without a solution; "
             "%gap unsolved = the same over time-limited instances only; Nodes = mean "
             "branch-and-bound nodes; Time = mean solver seconds; t.pre = mean bound "
             "computation seconds; compile = mean parse+check+encode seconds (and the "
             "CVXPY problem when the solver needs it); "
             "wall = mean seconds per instance end to end (docs/batch.md)."), ""]
    body += ["## Instances", "", instance_table(lines), ""] + extra
    text = "\n".join(head + body) + "\n"
    (config.out_dir / SUMMARY).write_text(text)
    return text


def picture_files(config: BatchConfig, lines: list[dict]) -> tuple[list[Path], list[str]]:
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
