"""``nnlang verify`` and ``nnlang import`` (VNN-LIB properties on ONNX networks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nnlang.cli import elapsed
from nnlang.cli.outputs import check_output_file
from nnlang.emit.files import write_file_atomically
from nnlang.errors import DataError
from nnlang.networks.load import load_network
from nnlang.verify.importer import write_spec
from nnlang.verify.verify import check_sizes, verify
from nnlang.verify.vnnlib import read_vnnlib

EXIT = {"sat": 0, "unsat": 0, "timeout": 4, "unknown": 4}


def cmd_verify(args: argparse.Namespace) -> int:
    check_output_file(args.result, "--result")
    log = (lambda s: print(s, file=sys.stderr)) if args.verbose else None
    # the timeout counts from the command's start (starting Python and imports too)
    timeout = max((args.time_limit or 60.0) - elapsed(), 0.05)
    result = verify(args.network, args.property, timeout, bounds=args.bounds,
                    split_inputs=0 if args.no_split else 10, threads=args.threads,
                    obbt=args.obbt, alpha=not args.no_alpha, bab=not args.no_bab,
                    per_branch=not args.one_milp, log=log)
    print(result.status, flush=True)
    if not args.quiet:
        print(f"# {result.method}: {result.message or result.status} "
              f"({result.seconds:.2f} s)", file=sys.stderr)
        ce = result.counterexample
        if ce is not None:
            print(f"# counterexample: input {_short(ce.x)}; output {_short(ce.y)}",
                  file=sys.stderr)
    if args.result:
        try:
            write_file_atomically(Path(args.result), result.vnncomp_text())
        except OSError as exc:
            raise DataError(f"cannot write '{args.result}': {exc.strerror or exc}") from None
    return EXIT[result.status]


def _short(v) -> str:
    return np.array2string(np.asarray(v), precision=5, threshold=12, max_line_width=120)


def cmd_import(args: argparse.Namespace) -> int:
    check_output_file(args.output, "-o", makes_folder=True)
    prop = read_vnnlib(args.property)
    network = Path(args.network)
    if network.suffix.lower() != ".onnx":
        raise DataError(f"'{network}': import needs an .onnx network")
    check_sizes(load_network(network), prop)
    if not prop.cases:
        raise DataError(f"'{args.property}': the property's formula cannot hold (every "
                        "branch has an empty box or a false constant): it is unsat as it "
                        "stands, there is nothing to import")
    files = write_spec(network, prop, args.output)
    print(files.spec)
    print(files.box)
    return 0
