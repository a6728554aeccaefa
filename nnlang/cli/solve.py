"""``nnlang check``, ``nnlang solve`` and ``nnlang compile`` (exit codes:
``nnlang.cli.EXIT_CODES``)."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from nnlang import pictures
from nnlang.api import CompiledModel
from nnlang.api import compile as compile_spec
from nnlang.cli import elapsed
from nnlang.cli.args import parse_bounds
from nnlang.cli.outputs import check_output_dir, check_output_file
from nnlang.emit import emit_files
from nnlang.emit.files import write_file_atomically
from nnlang.errors import DataError, NnlangError, SemanticError, Span
from nnlang.solve.diagnose import diagnose_infeasible
from nnlang.solve.task import Task
from nnlang.solve.tight import tight_model
from nnlang.training.wbo_ampl import write_wbo

# a solve always gets this much, even when reading and encoding used up the limit
MIN_SOLVE_SECONDS = 0.05


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``--set`` items (already checked by ``nnlang.cli.args.assignment``) by name."""
    out: dict[str, str] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        out[name.strip()] = value.strip()
    return out


def solver_options(args: argparse.Namespace) -> dict:
    return {
        "solver": getattr(args, "solver", None),
        "time_limit": getattr(args, "time_limit", None),
        "mip_gap": getattr(args, "mip_gap", None),
        "threads": getattr(args, "threads", None),
        "bounds": getattr(args, "bounds", None),
        "encoding": getattr(args, "encoding", None),
    }


def bounds_option(value: str) -> dict:
    """``--bounds milp(time_limit=1)`` -> bounds + bounds_args."""
    name, args = parse_bounds(value)
    return {"bounds": name, "bounds_args": args}


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


def _compile(args: argparse.Namespace, timed: bool = False) -> CompiledModel:
    """``timed``: a time limit counts from the command's start and stops compiling
    too (solve)."""
    opts = {k: v for k, v in solver_options(args).items() if v is not None}
    if "bounds" in opts:
        opts.update(bounds_option(opts["bounds"]))
    started = time.perf_counter() - elapsed() if timed else None
    m = compile_spec(args.file, params=parse_sets(args.set), started=started, **opts)
    for warning in m.program.warnings:  # the checker's warnings (check, solve, compile)
        print(warning, file=sys.stderr)
    return m


def _needs_variables(m: CompiledModel, what: str) -> None:
    """A spec of networks and parameters alone checks, but there is nothing to ``what``."""
    if m.milp.size()["variables"] == 0:
        raise SemanticError(f"the spec declares no variables: there is nothing to {what} "
                            "(write e.g. 'var x in [0, 1]')", Span(str(m.program.path), 1, 1),
                            m.program.source)


def cmd_check(args: argparse.Namespace) -> int:
    m = _compile(args)
    size = m.milp.size()
    print(f"{args.file}: ok: {len(m.program.variables)} variable declaration(s), "
          f"{len(m.program.constraints)} constraint(s), {len(m.program.applications)} network "
          f"application(s); MILP with {size['variables']} columns ({size['binaries']} binary), "
          f"{size['constraints']} rows")
    training = m.program.training
    if training is not None:
        print(f"train {training.net.name} on {training.inputs.shape[0]} samples of "
              f"{training.inputs.shape[1]} features (nnlang train)")
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    check_output_file(args.json, "--json")
    check_output_dir(args.png, "--png")
    m = _compile(args, timed=True)
    _needs_variables(m, "solve")
    label = f"solving with {m.options.solver}"
    shown = _Progress(label, not args.quiet,
                      sys.stderr.isatty() and not args.verbose and not args.quiet)
    limit = {}
    if m.options.time_limit is not None:  # counted from the command's start
        limit["time_limit"] = max(m.options.time_limit - elapsed(),
                                  MIN_SOLVE_SECONDS)
    with shown:
        result = m.solve(progress=shown.listener if shown.enabled else None,
                         verbose=args.verbose or None,
                         tighten=False if args.no_tighten else None,
                         radius_search=False if args.no_radius_search else None,
                         attack=False if getattr(args, "no_attack", False) else None, **limit)
    payload = result.to_dict()
    payload["spec"] = str(args.file)
    payload["params"] = {k: v for k, v in parse_sets(args.set).items()}
    diagnosis = None
    if result.status == "infeasible" and not args.no_diagnose:
        diagnosis = diagnose_infeasible(m.milp, m.options)
        if diagnosis is not None:
            payload["infeasible_constraints"] = diagnosis.names
    # the files first, the text last: a closed pipe or a full terminal loses no file
    lines: list[str] = []
    try:
        if getattr(args, "png", None):
            pictures.write_pictures(m, result, args.png, echo=lines.append)
        if args.json:
            write_file_atomically(Path(args.json), json.dumps(payload, indent=1))
    except OSError as exc:
        raise DataError(f"cannot write '{exc.filename or args.json}': "
                        f"{exc.strerror or exc}") from None
    if not args.quiet:
        print(result.summary())
        for line in lines:
            print(line)
    if diagnosis is not None:
        err = NnlangError(diagnosis.message(), diagnosis.span, m.program.source)
        print(err.render(), file=sys.stderr)
    if result.status == "optimal" or (result.status == "time_limit" and result.values):
        return 0
    return 3 if result.status in ("infeasible", "unbounded") else 4


def cmd_compile(args: argparse.Namespace) -> int:
    check_output_dir(args.output, "-o")
    m = _compile(args)
    training = m.program.training
    if training is not None and training.settings.get("method") == "wbo" \
            and not m.program.variables:
        # the spec states a WBO training problem (the WBO master's thesis, ch. 3)
        for path in write_wbo(m.program, args.to, Path(args.output)):
            print(path)
        return 0
    _needs_variables(m, "write")
    tight = None
    if not getattr(args, "full_box", False) and m.milp.objective_ball is not None:
        tight = tight_model(Task(m.milp, m.encode), m.options)
    try:
        if tight is None:
            paths = emit_files(m, args.to, Path(args.output))
        else:
            paths = emit_files(m, args.to, Path(args.output), tight.milp,
                               {"region": tight.region})
    except OSError as exc:
        raise DataError(f"cannot write '{exc.filename or args.output}': "
                        f"{exc.strerror or exc}; nothing was written") from None
    for path in paths:
        print(path)
    return 0
