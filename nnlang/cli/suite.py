"""``nnlang suite``: a VNN-COMP benchmark's instances (``nnlang.verify.suite``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlang.errors import DataError
from nnlang.verify.suite import read_instances, run_suite


def cmd_suite(args: argparse.Namespace) -> int:
    """Decide every line of an instances.csv; exit 4 if some line ended in an error."""
    if args.time_limit is not None and not args.time_limit > 0:
        raise DataError(f"--timeout must be positive, got {args.time_limit}")
    csv_path = Path(args.instances)
    lines = read_instances(csv_path)
    if args.time_limit is not None:
        lines = [dict(ln, timeout=args.time_limit) for ln in lines]
    out = Path(args.output or f"{csv_path.resolve().parent.name}_results")
    records = run_suite(csv_path, out, lines=lines, benchmark=args.benchmark, jobs=args.jobs,
                        cluster=args.cluster, threads=args.threads, bounds=args.bounds,
                        redo=(lambda r: r.get("status") == "error") if args.retry_errors
                        else None,
                        isolate=args.isolate, progress=None if args.quiet else sys.stderr,
                        echo=(lambda s: None) if args.quiet else print)
    return 4 if any(r["status"] == "error" for r in records) else 0
