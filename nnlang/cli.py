"""The ``nnlang`` command: a thin layer over the Python API.

Exit codes: 0 solved (optimal, or a time limit with a solution), 1 an error in
the spec or its data, 2 bad command-line usage, 3 infeasible or unbounded,
4 time limit without a solution or a solver failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from nnlang.errors import NnlangError


def _parse_sets(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SystemExit(f"nnlang: error: --set expects NAME=VALUE, got '{item}'")
        out[name.strip()] = value.strip()
    return out


def _options(args: argparse.Namespace) -> dict:
    return {
        "solver": getattr(args, "solver", None),
        "time_limit": getattr(args, "time_limit", None),
        "mip_gap": getattr(args, "mip_gap", None),
        "threads": getattr(args, "threads", None),
        "bounds": getattr(args, "bounds", None),
        "encoding": getattr(args, "encoding", None),
    }


def _bounds_option(value: str) -> dict:
    """``--bounds milp(time_limit=1)`` -> bounds + bounds_args."""
    name, _, rest = value.partition("(")
    args = {}
    if rest:
        for part in rest.rstrip(")").split(","):
            if part.strip():
                k, _, v = part.partition("=")
                args[k.strip()] = float(v)
    return {"bounds": name.strip(), "bounds_args": args}


class _Progress:
    """What a solve is doing, on stderr: milestones (radius steps, masters) as lines
    with the elapsed time; on a terminal also one status line, redrawn twice a
    second, with the elapsed time and the latest message (HiGHS's nodes and
    bounds). Off with ``-q``."""

    def __init__(self, label: str, enabled: bool, live: bool):
        self.label, self.enabled, self.live = label, enabled, live
        self.latest = ""
        self.start = time.perf_counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def listener(self, message: str, transient: bool) -> None:
        with self._lock:
            if not transient:
                elapsed = time.perf_counter() - self.start
                clear = "\r\033[K" if self.live else ""
                sys.stderr.write(f"{clear}[{elapsed:7.1f} s] {message}\n")
                sys.stderr.flush()
            self.latest = message
            if self.live:
                self._draw()

    def _draw(self) -> None:
        line = f"{self.label} {time.perf_counter() - self.start:6.1f} s"
        if self.latest:
            line += f"  {self.latest}"
        sys.stderr.write("\r\033[K" + line[:160])
        sys.stderr.flush()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                self._draw()

    def __enter__(self):
        if self.live:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.live:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        return False


def _compile(args: argparse.Namespace):
    import nnlang

    opts = {k: v for k, v in _options(args).items() if v is not None}
    if "bounds" in opts:
        opts.update(_bounds_option(opts["bounds"]))
    return nnlang.compile(args.file, params=_parse_sets(args.set), **opts)


def cmd_check(args: argparse.Namespace) -> int:
    from nnlang.api import model_size

    m = _compile(args)
    size = model_size(m.milp)
    print(f"{args.file}: ok: {len(m.program.variables)} variable declaration(s), "
          f"{len(m.program.constraints)} constraint(s), {len(m.program.applications)} network "
          f"application(s); MILP with {size['variables']} columns ({size['binaries']} binary), "
          f"{size['constraints']} rows")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    m = _compile(args)
    label = f"solving with {m.options.solver}"
    shown = _Progress(label, not args.quiet,
                      sys.stderr.isatty() and not args.verbose and not args.quiet)
    with shown:
        result = m.solve(progress=shown.listener if shown.enabled else None,
                         verbose=args.verbose or None,
                         tighten=False if args.no_tighten else None,
                         radius_search=False if args.no_radius_search else None)
    payload = result.to_dict()
    payload["spec"] = str(args.file)
    payload["params"] = {k: v for k, v in _parse_sets(args.set).items()}
    diagnosis = None
    if result.status == "infeasible" and not args.no_diagnose:
        from nnlang.diagnose import diagnose_infeasible

        diagnosis = diagnose_infeasible(m.milp, m.options)
        if diagnosis is not None:
            payload["infeasible_constraints"] = diagnosis.names
    if not args.quiet:
        print(result.summary())
    if getattr(args, "png", None):
        from nnlang import pictures

        pictures.write_pictures(m, result, args.png, echo=None if args.quiet else print)
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=1))
    if diagnosis is not None:
        err = NnlangError(diagnosis.message(), diagnosis.span, m.program.source)
        print(err.render(), file=sys.stderr)
    if result.status == "optimal" or (result.status == "time_limit" and result.values):
        return 0
    return 3 if result.status in ("infeasible", "unbounded") else 4


def cmd_compile(args: argparse.Namespace) -> int:
    m = _compile(args)
    try:
        from nnlang.emit import emit_files
    except ImportError:
        raise NnlangError("file emitters are not available in this build") from None
    for path in emit_files(m, args.to, Path(args.output)):
        print(path)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    """Solve many instances of one spec (``nnlang.batch``); exit 4 if any failed."""
    from nnlang.batch import BatchConfig, run_batch

    opts = {k: v for k, v in _options(args).items()
            if v is not None and k != "time_limit"}
    if "bounds" in opts:
        opts.update(_bounds_option(opts["bounds"]))
    if args.no_radius_search:
        opts["radius_search"] = False
    spec = Path(args.file)
    config = BatchConfig(
        spec=spec, out_dir=Path(args.output or f"{spec.stem}_batch"), count=args.count,
        start=args.start, param=args.param, over=Path(args.over) if args.over else None,
        time_limit=args.time_limit, jobs=args.jobs, sets=_parse_sets(args.set),
        options=opts, tighten=False if args.no_tighten else None, original=args.original,
        retry_errors=args.retry_errors, pictures=not args.no_pictures)
    out = run_batch(config, progress=None if args.quiet else sys.stderr,
                    echo=(lambda s: None) if args.quiet else print)
    if out.interrupted:
        return 130
    return 4 if out.summary.get("errors") else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnlang",
        description="Optimization over trained ReLU networks, compiled to exact 0-1 MILPs.")
    from nnlang import __version__

    parser.add_argument("--version", action="version", version=f"nnlang {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", help="the .nnq spec")
        p.add_argument("--set", action="append", metavar="NAME=VALUE",
                       help="override a parameter (repeatable), e.g. --set index=3")
        p.add_argument("--bounds", help="bounds method, e.g. interval")
        p.add_argument("--encoding", help="ReLU encoding, e.g. bigm")

    def solving(p: argparse.ArgumentParser, time_help: str | None = None) -> None:
        """The solver flags ``solve`` and ``batch`` share."""
        p.add_argument("--solver", help="any installed CVXPY solver (default highs)")
        p.add_argument("--time-limit", type=float, metavar="SECONDS", help=time_help)
        p.add_argument("--mip-gap", type=float, metavar="GAP", help="relative MIP gap")
        p.add_argument("--threads", type=int, help="solver threads" + (
            " per instance" if time_help else ""))
        p.add_argument("--no-tighten", action="store_true",
                       help="solve once, without the LP bound tightening after a first "
                            "incumbent")
        p.add_argument("--no-radius-search", action="store_true",
                       help="for minimal-distance objectives, solve one MILP over the input "
                            "box instead of growing balls (docs/language.md)")

    p = sub.add_parser("check", help="parse and check a spec, report errors")
    common(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("solve", help="compile and solve a spec")
    common(p)
    solving(p)
    p.add_argument("--json", metavar="FILE", help="write the result as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="show the solver log")
    p.add_argument("-q", "--quiet", action="store_true", help="print no summary")
    p.add_argument("--no-diagnose", action="store_true",
                   help="do not look for the constraints that make a problem infeasible")
    p.add_argument("--png", metavar="DIR",
                   help="write pictures of the solution (PNG images, or a table for small "
                        "1-D inputs) into DIR")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("batch", help="solve many instances of a spec (docs/batch.md)")
    common(p)
    p.add_argument("--over", metavar="DATA",
                   help="an .npz whose arrays replace the spec's data() arrays of the same name")
    p.add_argument("--count", type=int, metavar="N",
                   help="number of instances (default: all the data holds from --start)")
    p.add_argument("--start", type=int, default=0, metavar="S", help="first instance (0)")
    p.add_argument("--param", default="index", metavar="NAME",
                   help="the parameter instance i binds to i (default index)")
    solving(p, time_help="per instance")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (1)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="results folder (default <spec stem>_batch)")
    p.add_argument("--original", metavar="NAME",
                   help="the parameter holding the original input (default: guessed)")
    p.add_argument("--retry-errors", action="store_true",
                   help="re-run instances whose recorded status is 'error'")
    p.add_argument("--no-pictures", action="store_true", help="no grid.png / changes.md")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no table")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("compile", help="write the MILP as LP, MPS or AMPL files")
    common(p)
    p.add_argument("--to", required=True, choices=["lp", "mps", "ampl"])
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.set_defaults(func=cmd_compile)
    from nnlang.verify.cli import add_commands
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NnlangError as err:
        print(err.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. head
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
