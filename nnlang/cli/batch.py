"""``nnlang batch``: many instances of one spec (``nnlang.batch``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlang.batch import BatchConfig, run_batch
from nnlang.batch.lock import batch_lock
from nnlang.cli.export import export
from nnlang.cli.outputs import check_output_dir, check_output_file
from nnlang.cli.solve import bounds_option, parse_sets, solver_options


def cmd_batch(args: argparse.Namespace) -> int:
    """Solve many instances of one spec (``nnlang.batch``); exit 4 if any failed."""
    opts = {k: v for k, v in solver_options(args).items()
            if v is not None and k != "time_limit"}
    if "bounds" in opts:
        opts.update(bounds_option(opts["bounds"]))
    if args.no_radius_search:
        opts["radius_search"] = False
    spec = Path(args.file)
    out_dir = Path(args.output or f"{spec.stem}_batch")
    check_output_dir(out_dir, "-o")
    if args.export:
        check_output_file(Path(args.export), "--export")
    config = BatchConfig(
        spec=spec, out_dir=out_dir, count=args.count,
        start=args.start, param=args.param, over=Path(args.over) if args.over else None,
        time_limit=args.time_limit, jobs=args.jobs, cluster=args.cluster,
        sets=parse_sets(args.set),
        options=opts, tighten=False if args.no_tighten else None, original=args.original,
        retry_errors=args.retry_errors, pictures=not args.no_pictures)
    with batch_lock(out_dir):  # a second run on the same folder is refused
        out = run_batch(config, progress=None if args.quiet else sys.stderr,
                        echo=(lambda s: None) if args.quiet else print)
    if out.interrupted:
        return 130
    if args.export:
        export(out_dir, Path(args.export))
    return 4 if out.summary.get("errors") else 0
