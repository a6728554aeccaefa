"""``nnlang train``: a spec's ``train`` statement by Goebbels' (2021) algorithm, with
progress on stderr and a resumable run directory, or (``method = "wbo"``) by the WBO
master's thesis' NLP; ``--to ampl`` writes that model's files instead."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nnlang.api import compile as compile_spec
from nnlang.cli.solve import parse_sets
from nnlang.training.goebbels import Step
from nnlang.training.spec import train
from nnlang.training.wbo_ampl import write_wbo
from nnlang.training.wbo_spec import WboTrained


def _reporter(quiet: bool):
    def report(kind: str, what) -> None:
        if quiet:
            return
        if kind == "init":
            print(f"{len(what)} initializations screened: output-LP accuracy "
                  f"{min(what):.3f}-{max(what):.3f}, the best starts", file=sys.stderr,
                  flush=True)
        elif kind == "step":
            s: Step = what
            where = "post-processing LP" if s.iteration == 0 else \
                f"iteration {s.iteration} layer {s.layer}"
            late = f", {s.timed_out} stopped at the time limit" if s.timed_out else ""
            print(f"batch {s.batch + 1} {where}: accuracy {s.accuracy:.3f} "
                  f"({s.programs} programs, {s.seconds:.1f} s{late})", file=sys.stderr,
                  flush=True)
        else:
            test = (f", test {what['test_accuracy']:.4f}" if "test_accuracy" in what else "")
            print(f"batch {what['batch'] + 1} done: batch accuracy "
                  f"{what['batch_accuracy']:.3f}, all training data "
                  f"{what['train_accuracy']:.4f}{test} ({what['seconds']:.1f} s)",
                  file=sys.stderr, flush=True)
    return report


def _wbo_reporter(quiet: bool):
    def report(kind: str, what) -> None:
        if quiet:
            return
        if kind == "model":
            print(f"built a {what[0]}; solvers that take it: {what[1]}", file=sys.stderr,
                  flush=True)
        elif kind == "start":
            print(f"start {what.index + 1}: objective {what.objective:.6g} ({what.status}, "
                  f"{what.iterations} iterations, {what.seconds:.1f} s)", file=sys.stderr,
                  flush=True)
    return report


def _print_wbo(trained, out: Path) -> None:
    s = trained.solution
    print(f"trained by {trained.solver.upper()} in {trained.seconds:.1f} s: {s.kind}")
    if s.starts:
        print(f"best of {len(s.starts)} start(s): start {s.best + 1}, objective "
              f"{s.objective:.6g}")
    else:
        count = f", {s.count} sample(s) miss the margin" if s.count >= 0 else ""
        print(f"objective {s.objective:.8g} ({s.status}, lower bound {s.bound:.8g}{count})")
    for part, values in trained.scores.items():
        print(f"{part}: " + ", ".join(f"{k.replace('_', ' ')} {v:.4f}"
                                      for k, v in values.items()))
    print(f"wrote {out / 'network.npz'}, {out / 'network.onnx'}, {out / 'history.json'}")


def _write_files(args: argparse.Namespace) -> int:
    program = compile_spec(args.file, parse_sets(args.set)).program
    for path in write_wbo(program, args.to, Path(args.output), args.ampl_solver):
        print(path)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if args.to is not None:
        if args.output is None:
            print("nnlang train: error: --to needs -o DIR, the folder for the files",
                  file=sys.stderr)
            return 2
        return _write_files(args)
    out = Path(args.output) if args.output else Path(args.file).with_suffix("")
    if args.output is None:
        out = out.with_name(out.name + "_trained")
    settings = {k: v for k, v in (("time_limit", args.time_limit),
                                  ("workers", args.workers),
                                  ("batches", args.batches),
                                  ("starts", args.starts)) if v is not None}
    quiet = args.quiet
    trained = train(args.file, parse_sets(args.set), run_dir=out,
                    report=lambda kind, what: (_wbo_reporter(quiet) if kind in
                                               ("model", "start") else _reporter(quiet))(
                        kind, what), **settings)
    if isinstance(trained, WboTrained):
        _print_wbo(trained, out)
        return 0
    last = trained.batches[-1] if trained.batches else {}
    resumed = (f" (resumed after batch {trained.resumed_from})" if trained.resumed_from
               else "")
    print(f"trained {len(trained.batches)} batch(es){resumed} in {trained.seconds:.1f} s; "
          f"{', '.join(f'{v} {k}' for k, v in trained.counts.items())}")
    if last:
        test = f", test {last['test_accuracy']:.4f}" if "test_accuracy" in last else ""
        print(f"accuracy: last batch {last['batch_accuracy']:.4f}, all training data "
              f"{last['train_accuracy']:.4f}{test}")
    print(f"wrote {out / 'network.npz'}, {out / 'network.onnx'}, {out / 'history.json'}")
    return 0
