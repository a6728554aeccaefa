"""The ``nnlang verify`` and ``nnlang import`` commands (registered by ``nnlang.cli``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlang.errors import DataError

EXIT = {"sat": 0, "unsat": 0, "timeout": 4, "unknown": 4}


def cmd_verify(args: argparse.Namespace) -> int:
    from nnlang.verify.verify import verify

    if args.timeout is not None and not args.timeout > 0:
        raise DataError(f"--timeout must be positive, got {args.timeout}")
    if not 0.0 <= args.obbt < 1.0:
        raise DataError(f"--obbt must be in [0, 1), got {args.obbt}")
    log = (lambda s: print(s, file=sys.stderr)) if args.verbose else None
    result = verify(args.network, args.property, args.timeout or 60.0, bounds=args.bounds,
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
            Path(args.result).write_text(result.vnncomp_text())
        except OSError as exc:
            raise DataError(f"cannot write '{args.result}': {exc.strerror or exc}") from None
    return EXIT[result.status]


def _short(v) -> str:
    import numpy as np

    return np.array2string(np.asarray(v), precision=5, threshold=12, max_line_width=120)


def cmd_import(args: argparse.Namespace) -> int:
    from nnlang.networks.load import load_network
    from nnlang.verify.importer import write_spec
    from nnlang.verify.verify import check_sizes
    from nnlang.verify.vnnlib import read_vnnlib

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


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``verify`` and ``import`` on the main parser's subcommands."""
    p = sub.add_parser("verify", help="decide a VNN-LIB property on an ONNX network "
                       "(prints sat, unsat, timeout or unknown)")
    p.add_argument("network", help="the .onnx network")
    p.add_argument("property", help="the .vnnlib property (may be gzipped)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit (default 60)")
    p.add_argument("--result", metavar="FILE",
                   help="write the VNN-COMP result file (status, counterexample for sat)")
    p.add_argument("--bounds", help="neuron-bounds method (default: the best available)")
    p.add_argument("--threads", type=int, help="solver threads")
    p.add_argument("--no-split", action="store_true",
                   help="do not split small input boxes before the MILP")
    p.add_argument("--obbt", type=float, default=0.0, metavar="SHARE",
                   help="spend this share (0-1) of the MILP's time on LP bound tightening "
                        "first (default 0: off)")
    p.add_argument("--no-alpha", action="store_true",
                   help="no optimized-slope bound tightening before branch and bound / MILP")
    p.add_argument("--no-bab", action="store_true",
                   help="no branch and bound over ReLU splits before the MILP")
    p.add_argument("--one-milp", action="store_true",
                   help="one MILP with a binary per branch of the output condition instead "
                        "of one MILP per branch")
    p.add_argument("-v", "--verbose", action="store_true", help="show progress")
    p.add_argument("-q", "--quiet", action="store_true", help="print the status only")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("import", help="write a VNN-LIB problem as an nnlang spec "
                       "(feasible = counterexample)")
    p.add_argument("network", help="the .onnx network")
    p.add_argument("property", help="the .vnnlib property (may be gzipped)")
    p.add_argument("-o", "--output", required=True, metavar="SPEC.nnq",
                   help="the spec to write; the box goes to <stem>_box.npz beside it")
    p.set_defaults(func=cmd_import)
