"""What a batch is given and what it returns, and the files it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = "results.jsonl"
SUMMARY = "summary.md"
META = "batch.json"
GRID = "grid.png"
CHANGES = "changes.md"

# settings that must match for a re-run to continue an existing results file
SAME = ("spec", "data", "param", "sets", "options", "time_limit", "tighten")


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
    cluster: Any = None  # "local:N", a Dask scheduler address or a distributed.Client
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
