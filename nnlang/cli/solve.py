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
from nnlang.emit import emit_files
from nnlang.errors import NnlangError
from nnlang.solve.diagnose import diagnose_infeasible
from nnlang.solve.task import Task
from nnlang.solve.tight import tight_model


def parse_sets(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SystemExit(f"nnlang: error: --set expects NAME=VALUE, got '{item}'")
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


def _compile(args: argparse.Namespace) -> CompiledModel:
    opts = {k: v for k, v in solver_options(args).items() if v is not None}
    if "bounds" in opts:
        opts.update(bounds_option(opts["bounds"]))
    m = compile_spec(args.file, params=parse_sets(args.set), **opts)
    for warning in m.program.warnings:  # the checker's warnings (check, solve, compile)
        print(warning, file=sys.stderr)
    return m


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
    m = _compile(args)
    label = f"solving with {m.options.solver}"
    shown = _Progress(label, not args.quiet,
                      sys.stderr.isatty() and not args.verbose and not args.quiet)
    with shown:
        result = m.solve(progress=shown.listener if shown.enabled else None,
                         verbose=args.verbose or None,
                         tighten=False if args.no_tighten else None,
                         radius_search=False if args.no_radius_search else None,
                         attack=False if getattr(args, "no_attack", False) else None)
    payload = result.to_dict()
    payload["spec"] = str(args.file)
    payload["params"] = {k: v for k, v in parse_sets(args.set).items()}
    diagnosis = None
    if result.status == "infeasible" and not args.no_diagnose:
        diagnosis = diagnose_infeasible(m.milp, m.options)
        if diagnosis is not None:
            payload["infeasible_constraints"] = diagnosis.names
    if not args.quiet:
        print(result.summary())
    if getattr(args, "png", None):
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
    tight = None
    if not getattr(args, "full_box", False) and m.milp.objective_ball is not None:
        tight = tight_model(Task(m.milp, m.encode), m.options)
    if tight is None:
        paths = emit_files(m, args.to, Path(args.output))
    else:
        paths = emit_files(m, args.to, Path(args.output), tight.milp,
                           {"region": tight.region})
    for path in paths:
        print(path)
    return 0
