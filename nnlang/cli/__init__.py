"""The ``nnlang`` command: a thin layer over the Python API.

The parser is built from ``nnlang.registry`` (choices and help texts) and loads
nothing but the standard library, so ``nnlang --help`` is instant; a command's
module (numpy, the compiler, a solver) loads once its arguments have parsed.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import textwrap
import time

from nnlang import registry
from nnlang.cli import args as types
from nnlang.cli.outputs import stdout_error
from nnlang.errors import NnlangError
from nnlang.version import __version__

# exit code -> meaning: the one table every command uses (``nnlang --help`` prints
# it, docs/language.md repeats it)
EXIT_CODES = {
    0: "success: solved (optimal, or a time limit with a solution); verify: sat or "
       "unsat; check, compile, import, export, compare: done",
    1: "an error in the spec, its data, a network, a property or an output path "
       "(file:line:col and a caret where there is a location); nothing is written",
    2: "bad command-line usage (an unknown option, a value of the wrong kind)",
    3: "infeasible or unbounded",
    4: "time limit without a solution, or a solver failure; batch: some instance "
       "failed; verify: timeout or unknown",
    130: "interrupted (Ctrl-C)",
}

# when the command started: a --time-limit counts from here (main() resets it)
_STARTED = [time.perf_counter()]


def elapsed() -> float:
    """Seconds since the command started."""
    return time.perf_counter() - _STARTED[0]


# command -> the function that runs it (module:function, loaded after parsing)
COMMANDS = {
    "check": "nnlang.cli.solve:cmd_check",
    "solve": "nnlang.cli.solve:cmd_solve",
    "batch": "nnlang.cli.batch:cmd_batch",
    "compile": "nnlang.cli.solve:cmd_compile",
    "verify": "nnlang.cli.verify:cmd_verify",
    "suite": "nnlang.cli.suite:cmd_suite",
    "import": "nnlang.cli.verify:cmd_import",
    "train": "nnlang.cli.train:cmd_train",
    "export": "nnlang.cli.export:cmd_export",
    "compare": "nnlang.cli.export:cmd_compare",
}

_EPILOG = ("exit codes (every command):\n"
           + "\n".join(textwrap.fill(text, 79, initial_indent=f"  {code:<4} ",
                                      subsequent_indent=" " * 7)
                       for code, text in EXIT_CODES.items())
           + "\n\noptions a spec's options block can also set: docs/language.md; every "
             "extension point: docs/architecture.md")


def _names(table: dict) -> str:
    return ", ".join(table)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnlang",
        description="Optimization over trained ReLU networks, compiled to exact 0-1 MILPs.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"nnlang {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(command=name)
        return p

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", help="the .nnq spec")
        p.add_argument("--set", action="append", metavar="NAME=VALUE", type=types.assignment,
                       help="override a parameter (repeatable), e.g. --set index=3")
        p.add_argument("--bounds", metavar="METHOD", type=types.bounds,
                       help=f"neuron-bounds method: {_names(registry.BOUND_METHODS)}, with "
                            "arguments as in 'milp(time_limit=1, budget=60)' (default interval)")
        p.add_argument("--encoding", metavar="NAME",
                       help=f"ReLU formulation: {_names(registry.FORMULATIONS)} (default bigm)")

    def time_limit(p: argparse.ArgumentParser, what: str, alias: str | None = None) -> None:
        names = ["--time-limit"] + ([alias] if alias else [])
        p.add_argument(*names, dest="time_limit", type=types.positive_float, metavar="SECONDS",
                       help=what)

    def solving(p: argparse.ArgumentParser, per_instance: bool = False) -> None:
        """The solver flags ``solve`` and ``batch`` share."""
        p.add_argument("--solver", metavar="NAME",
                       help=f"{_names(registry.SOLVERS)} or any installed CVXPY solver "
                            "(default highs)")
        time_limit(p, "seconds" + (" per instance" if per_instance else "") +
                   " for the solve (the bounds' own limit: --bounds 'milp(time_limit=1)')")
        p.add_argument("--mip-gap", type=types.nonnegative_float, metavar="GAP", help="relative MIP gap")
        p.add_argument("--threads", type=types.positive_int, help="solver threads" + (
            " per instance" if per_instance else ""))
        p.add_argument("--no-tighten", action="store_true",
                       help="solve once, without the LP bound tightening after a first "
                            "incumbent")
        p.add_argument("--no-radius-search", action="store_true",
                       help="for minimal-distance objectives, solve one MILP over the input "
                            "box instead of growing balls (docs/language.md)")
        p.add_argument("--no-attack", action="store_true",
                       help="no attack before the MILP (no incumbent from projected "
                            "gradient steps, the LP relaxation and region LPs)")

    p = add("check", "parse and check a spec, report errors")
    common(p)

    p = add("solve", "compile and solve a spec")
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

    p = add("batch", "solve many instances of a spec (docs/batch.md)")
    common(p)
    p.add_argument("--over", metavar="DATA",
                   help="an .npz whose arrays replace the spec's data() arrays of the same name")
    p.add_argument("--count", type=types.positive_int, metavar="N",
                   help="number of instances (default: all the data holds from --start)")
    p.add_argument("--start", type=types.nonnegative_int, default=0, metavar="S", help="first instance (0)")
    p.add_argument("--param", default="index", metavar="NAME",
                   help="the parameter instance i binds to i (default index)")
    solving(p, per_instance=True)
    p.add_argument("--jobs", type=types.positive_int, default=1, metavar="J",
                   help="worker processes (1)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run the instances on a Dask cluster: a scheduler address "
                        "(tcp://host:8786) or local:N for N local worker processes "
                        "(pip install \"nnlang[dask]\"; docs/distributed.md)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="results folder (default <spec stem>_batch)")
    p.add_argument("--original", metavar="NAME",
                   help="the parameter holding the original input (default: guessed)")
    p.add_argument("--retry-errors", action="store_true",
                   help="re-run instances whose recorded status is 'error'")
    p.add_argument("--no-pictures", action="store_true", help="no grid.png / changes.md")
    p.add_argument("--export", metavar="FILE.npz",
                   help="afterwards, write the adversarial examples found as a data set "
                        "(as 'nnlang export' does)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no table")

    p = add("export", "write the adversarial examples a batch found as an .npz data set "
                      "(docs/batch.md, 'Exporting')")
    p.add_argument("batch", metavar="BATCH_DIR", help="a batch folder (nnlang batch -o DIR)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.npz", help="the file to write")
    p.add_argument("--label", default="label", metavar="NAME",
                   help="the spec's parameter holding the true label (default label)")
    p.add_argument("--variable", metavar="NAME",
                   help="the spec's input variable (default: the one the batch drew)")

    p = add("compare", "pair the instances of two batches on the same data and compare "
                       "their average objectives (Zhu (2021) Table 8's %%difference)")
    p.add_argument("batch_a", metavar="BATCH_A", help="the reference batch folder")
    p.add_argument("batch_b", metavar="BATCH_B", help="the batch compared against it")
    p.add_argument("--optimal-only", action="store_true",
                   help="pair only instances solved to optimality in both")
    p.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")

    p = add("compile", "write the MILP as files for other solvers")
    common(p)
    p.add_argument("--to", required=True, choices=list(registry.FORMATS),
                   help="; ".join(f"{k}: {v.summary}" for k, v in registry.FORMATS.items()))
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--full-box", action="store_true",
                   help="for minimal-distance specs, the model over the whole input box "
                        "(default: over the ball of an attack's point, which holds the "
                        "optimum; the header says which)")

    p = add("verify", "decide a VNN-LIB property on an ONNX network (prints sat, unsat, "
                      "timeout or unknown)")
    p.add_argument("network", help="the .onnx network")
    p.add_argument("property", help="the .vnnlib property (may be gzipped)")
    time_limit(p, "seconds for everything (default 60; --timeout is the same, for "
                  "VNN-COMP scripts)", alias="--timeout")
    p.add_argument("--result", metavar="FILE",
                   help="write the VNN-COMP result file (status, counterexample for sat)")
    p.add_argument("--bounds", metavar="METHOD", type=types.bounds,
                   help=f"neuron-bounds method: {_names(registry.BOUND_METHODS)} "
                        "(default symbolic)")
    p.add_argument("--threads", type=types.positive_int, help="solver threads")
    p.add_argument("--no-split", action="store_true",
                   help="do not split small input boxes before the MILP")
    p.add_argument("--obbt", type=types.share, default=0.0, metavar="SHARE",
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

    p = add("suite", "verify every line of a VNN-COMP instances.csv, locally or on a Dask "
                     "cluster, and write the VNN-COMP results CSV (docs/distributed.md)")
    p.add_argument("instances", help="the instances.csv (network,property,timeout per line)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="results folder (default <benchmark folder>_results): results.csv, "
                        "results.jsonl (resumable), counterexamples/")
    p.add_argument("--benchmark", metavar="NAME",
                   help="the benchmark name in results.csv (default: the csv's folder name)")
    time_limit(p, "override every line's timeout (seconds)", alias="--timeout")
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="worker processes (1)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="a Dask scheduler address (tcp://host:8786) or local:N")
    p.add_argument("--threads", type=int, default=1, help="solver threads per line (1)")
    p.add_argument("--bounds", metavar="METHOD",
                   help=f"neuron-bounds method: {_names(registry.BOUND_METHODS)}")
    p.add_argument("--retry-errors", action="store_true",
                   help="run again the lines whose recorded status is 'error'")
    p.add_argument("--isolate", action="store_true",
                   help="locally, each line in a fresh process (as VNN-COMP runs them), "
                        "killed 30 s after its timeout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")

    p = add("import", "write a VNN-LIB problem as an nnlang spec (feasible = counterexample)")
    p.add_argument("network", help="the .onnx network")
    p.add_argument("property", help="the .vnnlib property (may be gzipped)")
    p.add_argument("-o", "--output", required=True, metavar="SPEC.nnq",
                   help="the spec to write; the box goes to <stem>_box.npz beside it")

    p = add("train", "train a spec's network by its 'train' statement (Goebbels 2021: "
                     "layer by layer with MILPs and LPs; method = \"wbo\": the WBO "
                     "master's thesis' NLP by IPOPT multi-start, or SCIP)")
    p.add_argument("file", help="the .nnq spec with a 'train NET on INPUTS, LABELS' statement")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", type=types.assignment,
                   help="override a parameter (repeatable)")
    p.add_argument("-o", "--output", metavar="DIR",
                   help="the run directory (default <spec>_trained): network.npz, "
                        "network.onnx, history.json; an interrupted run resumes from it")
    p.add_argument("--time-limit", type=types.positive_float, metavar="S",
                   help="seconds per program (the incumbent is kept)")
    p.add_argument("--workers", type=types.positive_int, help="programs solved in parallel processes")
    p.add_argument("--batches", type=types.positive_int, help="batches to train")
    p.add_argument("--starts", type=types.positive_int,
                   help="method wbo: IPOPT starting points")
    p.add_argument("--to", choices=list(registry.FORMATS), metavar="FORMAT",
                   help="method wbo: write the model as files (ampl: .mod/.dat/.run in the "
                        "spirit of the thesis' Annex I) into -o DIR instead of training")
    p.add_argument("--ampl-solver", default="minos", metavar="NAME",
                   help="with --to ampl: the solver the .run file names (minos, ipopt, "
                        "knitro, ...; default minos, the thesis')")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    return parser


class _Stdout:
    """Standard output that never raises mid-command: a closed pipe (``| head``)
    drops the rest of the text and the command goes on to its exit code (its
    files are written before anything is printed); any other write error
    (``> /dev/full``) is kept and reported when the command ends."""

    def __init__(self, inner):
        self.inner, self.closed_pipe, self.error = inner, False, None

    def _guard(self, call, *args):
        if self.closed_pipe or self.error is not None:
            return None
        try:
            return call(*args)
        except BrokenPipeError:
            self.closed_pipe = True
        except OSError as exc:
            self.error = exc
        self._detach()
        return None

    def _detach(self) -> None:
        # later flushes (at exit too) go nowhere instead of failing again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.inner.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def write(self, text: str) -> int:
        self._guard(self.inner.write, text)
        return len(text)

    def flush(self) -> None:
        self._guard(self.inner.flush)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _run(argv: list[str] | None, out: _Stdout) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    module, _, name = COMMANDS[args.command].partition(":")
    try:
        code = getattr(importlib.import_module(module), name)(args)
        out.flush()
    except NnlangError as err:
        out.flush()
        print(err.render(), file=sys.stderr)
        code = err.exit_code
    except OSError as exc:  # a file the user named cannot be used (each stage names its own
        out.flush()         # files; this is the net under the ones it does not)
        where = f"'{exc.filename}': " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        code = 1
    if out.error is not None:
        print(stdout_error(out.error).render(), file=sys.stderr)
        return 1
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code (``EXIT_CODES``)."""
    _STARTED[0] = time.perf_counter()
    real = sys.stdout
    out = _Stdout(real)
    sys.stdout = out
    try:
        return _run(argv, out)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        sys.stdout = real


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
