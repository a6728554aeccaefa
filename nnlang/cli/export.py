"""``nnlang export`` and ``nnlang compare``: a batch's examples as a data set, and two
batches' minimal distances side by side (``nnlang.batch.export``, ``nnlang.batch.compare``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlang.batch.compare import compare_batches, render, write_json
from nnlang.batch.export import export_batch
from nnlang.cli.outputs import check_output_file


def export(batch_dir: Path, out: Path, label: str = "label", variable: str | None = None) -> None:
    """Export and print the counts (also used by ``nnlang batch --export``)."""
    s = export_batch(batch_dir, out, variable=variable, label_param=label)
    print(f"{out}: {s.report()}", file=sys.stderr)


def cmd_export(args: argparse.Namespace) -> int:
    check_output_file(Path(args.output), "-o")
    export(Path(args.batch), Path(args.output), args.label, args.variable)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    if args.json:
        check_output_file(Path(args.json), "--json")
    c = compare_batches(args.batch_a, args.batch_b, optimal_only=args.optimal_only)
    if args.json:
        write_json(c, args.json)
    print(render(c))
    return 0
