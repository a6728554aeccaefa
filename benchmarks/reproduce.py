"""Reproduce the source documents' studies with nnlang batch (docs/reproductions.md).

    python benchmarks/reproduce.py --quick      # 3 images, 30 s each: 11-13 min measured on 2 cores
    python benchmarks/reproduce.py              # 100 images, 300 s each (days on 2 cores)
    python benchmarks/reproduce.py --tables --quick   # only reprint the tables

Studies (specs in ``examples/reproductions/``, the WBO master's thesis' in ``examples/``):

- Linkola (2023) Table 2 (784-32-16-10): L1 (HiGHS and SCIP) and the exact L2 (HiGHS by
  outer approximation, and SCIP on the MIQP);
- Zhu (2021) Tables 4-6 on DNN1 and DNN2: L0, L1, L-infinity, and L2 by a
  piecewise-linear approximation with 5, 9 and 17 breakpoints, in nnlang's
  epigraph form and in Zhu's (2021) lambda-formulation; exact (MILP) neuron bounds;
- the WBO master's thesis figs. 4.2-4.4 (Wisconsin breast cancer, 9-3-3-2): the two samples.

Every study is one ``nnlang batch`` command over the first N sample images (the
command is printed and written to ``commands.txt``); up to ``--jobs`` of them run
at the same time, each in its own process with ``--threads 1``. The networks'
exact bounds are computed once per network before its studies start (``t.pre``
in the tables) and shared through a bounds cache in ``OUT/bounds_cache``.
Batches are resumable: running the same command again skips finished instances.

Output: ``OUT/<study>/`` (each batch's folder: results.jsonl, summary.md,
grid.png or changes.md), ``OUT/logs/``, ``OUT/commands.txt``, ``OUT/summary.md``
(the tables next to the source documents' numbers) and ``OUT/summary.json``. ``OUT`` is
``benchmarks/results/reproductions/quick`` or ``.../full`` unless ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from nnlang.batch import load_results, summarize
from nnlang.provenance import machine

SPECS = REPO / "examples" / "reproductions"
RESULTS = REPO / "benchmarks" / "results" / "reproductions"
QUICK = {"count": 3, "time_limit": 30.0}
FULL = {"count": 100, "time_limit": 300.0}
BREAKPOINTS = (5, 9, 17)
NETWORKS = {"dnn1": "DNN1", "dnn2": "DNN2"}

# ---------------------------------------------------------------- the source documents' numbers

# Linkola (2023) (Linkola 2023) Table 2, Gurobi on an Apple M2 laptop, 100 images:
# (variables, constraints, avg time s, min time s, max time s)
SEED001 = {"l1": (1742, 27338, 6.31, 0.32, 43.12), "l2": (1742, 27338, 107.12, 8.13, 784.62)}

# Zhu (2021) (Zhu 2021) Tables 4-6, CPLEX, exact bounds, 100 instances, 300 s:
# (Obj., %bound or None, %solved, %gap, Nodes, Time s)
SEED003 = {
    ("dnn1", "l0"): (8.50, None, 100, 0.00, 1349, 3.17),
    ("dnn2", "l0"): (7.53, None, 97, 1.07, 30908, 53.38),
    ("dnn1", "l1"): (7.70, None, 100, 0.00, 313, 0.50),
    ("dnn2", "l1"): (6.71, None, 100, 0.00, 7133, 4.51),
    ("dnn1", "linf"): (0.07, None, 100, 0.00, 348, 2.37),
    ("dnn2", "linf"): (0.06, None, 100, 0.00, 6034, 16.82),
    ("dnn1", "l2_5"): (11.12, 6.73, 100, 0.00, 514, 1.66),
    ("dnn2", "l2_5"): (9.54, 3.13, 100, 0.00, 9089, 14.58),
    ("dnn1", "l2_9"): (13.76, 4.22, 100, 0.00, 488, 2.17),
    ("dnn2", "l2_9"): (11.73, 2.02, 100, 0.00, 7395, 17.20),
    ("dnn1", "l2_17"): (15.96, 2.66, 100, 0.00, 453, 4.32),
    ("dnn2", "l2_17"): (13.96, 1.38, 100, 0.00, 7446, 28.41),
}
# Zhu (2021) Table 2, exact bounds: preprocessing seconds per network
SEED003_TPRE = {"dnn1": 6.48, "dnn2": 20.93}

# The WBO master's thesis figs. 4.2-4.4 (AMPL/CPLEX, its own 9-3-3-2 network): sum of |changes|
# for the benign and the malignant sample (None: infeasible)
SEED000 = {
    "fig4.2": ("breast_cancer_adversarial", "minimal L1 change", (12, 17)),
    "fig4.3": ("breast_cancer_max_change", "change <= 4 per attribute", (15, 20)),
    "fig4.4": ("breast_cancer_few_changes", "at most 2 attributes changed", (12, None)),
}


# ---------------------------------------------------------------- studies


@dataclass
class Study:
    name: str  # folder under OUT
    spec: Path
    args: list[str] = field(default_factory=list)  # extra nnlang batch arguments
    needs: str | None = None  # the network whose bounds must be cached first
    count: int | None = None  # None: the configuration's count


def studies() -> list[Study]:
    out = []
    for net in NETWORKS:
        for dist in ("l0", "l1", "linf"):
            out.append(Study(f"zhu_{net}_{dist}", SPECS / f"zhu_{net}_{dist}.nnq",
                             needs=net))
        for n in BREAKPOINTS:
            for form, stem in (("epigraph", "l2_pwl"), ("lambda", "l2_lambda")):
                out.append(Study(f"zhu_{net}_l2_{form}{n}",
                                 SPECS / f"zhu_{net}_{stem}.nnq",
                                 ["--set", f"breakpoints={n}"], needs=net))
    out.append(Study("linkola_l1", SPECS / "linkola_l1.nnq"))
    out.append(Study("linkola_l2", SPECS / "linkola_l2.nnq"))  # HiGHS, outer approximation
    out.append(Study("linkola_l2_scip", SPECS / "linkola_l2.nnq", ["--solver", "scip"]))
    # L1 with SCIP too: compares the distances with the same solver
    out.append(Study("linkola_l1_scip", SPECS / "linkola_l1.nnq", ["--solver", "scip"]))
    for fig, (stem, _, _) in SEED000.items():
        out.append(Study(f"wbo_{fig.replace('.', '_')}", REPO / "examples" / f"{stem}.nnq",
                         ["--param", "sample"], count=2))
    return out


def rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def batch_command(s: Study, out: Path, count: int, time_limit: float) -> list[str]:
    n = s.count or count
    return (["nnlang", "batch", rel(s.spec), "--count", str(n), "--time-limit",
             f"{time_limit:g}", "--threads", "1", "-o", rel(out / s.name)] + s.args)


def warm_command(net: str) -> list[str]:
    """Compile one instance: computes the network's exact bounds into the cache."""
    spec = rel(SPECS / f"zhu_{net}_l1.nnq")
    code = ("import json, sys, time, nnlang; t = time.perf_counter(); "
            f"m = nnlang.compile({spec!r}); "
            "print(json.dumps({'bounds_seconds': m.timings.get('bounds'), "
            "'compile_seconds': m.compile_seconds, 'wall': time.perf_counter() - t}))")
    return [sys.executable, "-c", code]


# ---------------------------------------------------------------- running


def run_all(todo: list[Study], out: Path, count: int, time_limit: float, jobs: int,
            nice: int) -> dict:
    """Run the warm-ups and the batches, ``jobs`` processes at a time."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("NNLANG_CACHE_DIR", str(out / "bounds_cache"))
    prefix = ["nice", "-n", str(nice)] if nice else []
    nets = sorted({s.needs for s in todo if s.needs}, key=lambda n: n != "dnn2")  # slowest first
    pending: list[tuple[str, list[str], str | None]] = [
        (f"warm_{n}", warm_command(n), None) for n in nets]
    pending += [(s.name, batch_command(s, out, count, time_limit),
                 f"warm_{s.needs}" if s.needs else None) for s in todo]
    # the slow networks' studies first, so that the short ones fill the gaps at the end
    order = {"dnn2": 0, None: 1, "dnn1": 2}
    pending[len(nets):] = sorted(pending[len(nets):],
                                 key=lambda t: order.get(t[2] and t[2][5:], 1))
    with open(out / "commands.txt", "a") as f:
        f.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} "
                f"NNLANG_CACHE_DIR={env['NNLANG_CACHE_DIR']}\n")
        for name, cmd, _ in pending:
            if not name.startswith("warm_"):
                f.write(shlex.join(cmd) + "\n")
    done: set[str] = set()
    running: dict[str, tuple[subprocess.Popen, float, object]] = {}
    record: dict[str, dict] = {}
    start = time.time()
    while pending or running:
        for name, (proc, t0, fh) in list(running.items()):
            if proc.poll() is not None:
                fh.close()
                secs = time.time() - t0
                record[name] = {"returncode": proc.returncode, "wall_seconds": secs}
                if name.startswith("warm_"):
                    try:
                        record[name].update(json.loads(
                            (logs / f"{name}.log").read_text().strip().splitlines()[-1]))
                    except (ValueError, IndexError):
                        pass
                print(f"[{time.time() - start:7.0f} s] done {name} (exit {proc.returncode}, "
                      f"{secs:.0f} s)", flush=True)
                done.add(name)
                del running[name]
        while len(running) < jobs:
            ready = [t for t in pending if t[2] is None or t[2] in done]
            if not ready:
                break
            name, cmd, _ = ready[0]
            pending.remove(ready[0])
            fh = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed when it ends
            print(f"[{time.time() - start:7.0f} s] start {name}: {shlex.join(cmd)}", flush=True)
            running[name] = (subprocess.Popen(prefix + cmd, cwd=REPO, env=env, stdout=fh,
                                              stderr=subprocess.STDOUT), time.time(), fh)
        time.sleep(0.5)
    record["_total_wall_seconds"] = time.time() - start
    return record


# ---------------------------------------------------------------- tables


def _f(v, fmt="{:.2f}") -> str:
    return "-" if v is None else fmt.format(v)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if k == 0 else c.rjust(w)
                                 for k, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 2) if k == 0 else "-" * (w + 1) + ":"
                         for k, w in enumerate(widths)) + "|"
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def load(out: Path, name: str) -> list[dict]:
    done, _ = load_results(out / name / "results.jsonl")
    return [done[i] for i in sorted(done)]


def stats(lines: list[dict]) -> dict:
    s = summarize(lines) if lines else {}
    ran = [ln for ln in lines if ln.get("status") != "error"]
    times = [ln.get("solve_seconds", 0.0) for ln in ran]
    walls = [ln.get("wall_seconds", 0.0) for ln in ran]
    sizes = [ln.get("model_size") or {} for ln in ran]
    s.update(
        min_time=min(times) if times else None, max_time=max(times) if times else None,
        wall=sum(walls) / len(walls) if walls else None,
        variables=sizes[0].get("variables") if sizes else None,
        constraints=sizes[0].get("constraints") if sizes else None,
        binaries=sizes[0].get("binaries") if sizes else None,
        forward_ok=all(ln.get("forward_check_ok", True) for ln in ran),
    )
    return s


def tables(out: Path, record: dict | None = None) -> tuple[str, dict]:
    parts: list[str] = []
    data: dict = {}
    # Linkola (2023)
    rows = []
    for d in ("l1", "l1_scip", "l2", "l2_scip"):
        s = stats(load(out, f"linkola_{d}"))
        data[f"linkola_{d}"] = s
        v, c, avg, lo, hi = SEED001[d[:2]]
        label = {"l1": "L1-norm (HiGHS)", "l1_scip": "L1-norm (SCIP)",
                 "l2": "L2-norm, exact (HiGHS, outer approx.)",
                 "l2_scip": "L2-norm, exact MIQP (SCIP)"}[d]
        rows.append([label, _f(s.get("instances"), "{:.0f}"), _f(s.get("variables"), "{:,}"),
                     _f(s.get("constraints"), "{:,}"), _f(s.get("objective"), "{:.3f}"),
                     _f(s.get("solved_pct"), "{:.0f}"), _f(s.get("gap_pct")),
                     _f(s.get("time")), _f(s.get("min_time")), _f(s.get("max_time")),
                     _f(s.get("wall")), f"{v:,} / {c:,}", f"{avg} / {lo} / {hi}"])
    parts.append("### Linkola (2023) Table 2 (784-32-16-10)\n\n" + table(
        ["", "n", "Variables", "Constraints", "Obj.", "%solved", "%gap", "Avg. time (s)",
         "Min. time (s)", "Max. time (s)", "wall (s)", "seed: var. / constr.",
         "seed: avg / min / max (s)"], rows))
    for d2, what2 in (("l2", "HiGHS"), ("l2_scip", "SCIP")):
        l2 = {ln["instance"]: ln for ln in load(out, f"linkola_{d2}")
              if ln.get("status") == "optimal"}
        for d, what in (("l1", "HiGHS"), ("l1_scip", "SCIP")):
            l1 = {ln["instance"]: ln for ln in load(out, f"linkola_{d}")
                  if ln.get("status") == "optimal"}
            both = sorted(set(l1) & set(l2))
            if both:
                r = (sum(l2[i]["solve_seconds"] for i in both)
                     / max(sum(l1[i]["solve_seconds"] for i in both), 1e-9))
                parts.append(f"L2 ({what2}) / L1 ({what}) solve time over the {len(both)} "
                             f"image(s) both solved: {r:.2f}x (Linkola (2023) with Gurobi: "
                             f"{107.12 / 6.31:.1f}x; goal: within 2x)")
            else:
                parts.append(f"L2 ({what2}) / L1 ({what}): no image solved to optimality by "
                             "both, so no time ratio (goal: within 2x; Linkola (2023) with Gurobi: "
                             "17.0x)")

    # Zhu (2021)
    tpre = {n: (record or {}).get(f"warm_{n}", {}).get("bounds_seconds") for n in NETWORKS}
    def row(label, s, seed):
        ours = [label, _f(s.get("instances"), "{:.0f}"), _f(s.get("objective"), "{:.3f}"),
                _f(s.get("bound_pct")), _f(s.get("solved_pct"), "{:.0f}"), _f(s.get("gap_pct")),
                _f(s.get("nodes"), "{:,.0f}"), _f(s.get("time")), _f(s.get("wall")),
                _f(s.get("binaries"), "{:,}")]
        if seed is None:
            return ours + ["", "", "", "", "", ""]
        obj, bnd, sol, gap, nodes, t = seed
        return ours + [f"{obj:.2f}", _f(bnd), f"{sol}", f"{gap:.2f}", f"{nodes:,}", f"{t:.2f}"]
    header = ["", "n", "Obj.", "%bound", "%solved", "%gap", "Nodes", "Time (s)", "wall (s)",
              "binaries", "seed Obj.", "seed %bound", "seed %solved", "seed %gap", "seed Nodes",
              "seed Time (s)"]
    for net, netlabel in NETWORKS.items():
        rows = []
        for d, label in (("l0", "L0"), ("l1", "L1"), ("linf", "Linf")):
            s = stats(load(out, f"zhu_{net}_{d}"))
            data[f"zhu_{net}_{d}"] = s
            rows.append(row(label, s, SEED003[(net, d)]))
        for n in BREAKPOINTS:
            for form in ("epigraph", "lambda"):
                s = stats(load(out, f"zhu_{net}_l2_{form}{n}"))
                data[f"zhu_{net}_l2_{form}{n}"] = s
                rows.append(row(f"L2 pwl({n}) {form}", s,
                                SEED003[(net, f"l2_{n}")] if form == "lambda" else None))
        tp = tpre.get(net)
        parts.append(f"### Zhu (2021) Tables 4-6, {netlabel} (exact bounds: t.pre "
                     f"{_f(tp)} s here, {SEED003_TPRE[net]} s in Zhu (2021))\n\n"
                     + table(header, rows))
        cmp = []
        for n in BREAKPOINTS:
            e = data[f"zhu_{net}_l2_epigraph{n}"]
            lam = data[f"zhu_{net}_l2_lambda{n}"]
            if e.get("wall") and lam.get("wall"):
                ok = {f: {ln["instance"]: ln["solve_seconds"] for ln in
                          load(out, f"zhu_{net}_l2_{f}{n}") if ln.get("status") == "optimal"}
                      for f in ("epigraph", "lambda")}
                both = sorted(set(ok["epigraph"]) & set(ok["lambda"]))
                ratio = ", no image solved by both"
                if both:
                    te = sum(ok["epigraph"][i] for i in both)
                    tl = sum(ok["lambda"][i] for i in both)
                    ratio = (f", lambda/epigraph solve time {tl / max(te, 1e-9):.1f}x on the "
                             f"{len(both)} solved by both")
                cmp.append(f"pwl({n}): epigraph {_f(e.get('wall'))} s vs lambda "
                           f"{_f(lam.get('wall'))} s mean wall, "
                           f"solved {_f(e.get('solved_pct'), '{:.0f}')} % vs "
                           f"{_f(lam.get('solved_pct'), '{:.0f}')} %{ratio}")
        if cmp:
            parts.append(f"{netlabel} epigraph vs lambda:\n\n" + "\n".join(f"- {c}" for c in cmp))

    # the WBO master's thesis
    rows = []
    for fig, (stem, what, seed) in SEED000.items():
        lines = load(out, f"wbo_{fig.replace('.', '_')}")
        data[f"wbo_{fig}"] = lines and stats(lines)
        by = {ln["instance"]: ln for ln in lines}
        for i, who in enumerate(("benign", "malignant")):
            ln = by.get(i, {})
            x = (ln.get("values") or {}).get("x")
            new = "infeasible" if ln.get("status") == "infeasible" else (
                "(" + ", ".join(f"{round(v):d}" for v in x) + ")" if x else "-")
            rows.append([f"fig. {fig[3:]} {who}", what, ln.get("status", "-"),
                         _f(ln.get("objective"), "{:.0f}"), new,
                         "infeasible" if seed[i] is None else str(seed[i])])
    parts.append("### The WBO master's thesis figs. 4.2-4.4 (Wisconsin, 9-3-3-2)\n\n" + table(
        ["", "constraint", "status", "sum of abs. changes", "adversarial input",
         "seed: sum of abs. changes"],
        rows))
    return "\n\n".join(parts) + "\n", data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK['count']} images, {QUICK['time_limit']:g} s each")
    ap.add_argument("--count", type=int, help="images per MNIST study (default 100; quick 3)")
    ap.add_argument("--time-limit", type=float, help="seconds per instance (300; quick 30)")
    ap.add_argument("--jobs", type=int, default=2, help="batches at the same time (2)")
    ap.add_argument("--nice", type=int, default=0, help="run the batches under nice -n N")
    ap.add_argument("--only", default="", help="comma-separated substrings of study names")
    ap.add_argument("--out", type=Path, help="output folder")
    ap.add_argument("--tables", action="store_true", help="only print the tables from OUT")
    args = ap.parse_args(argv)
    conf = dict(QUICK if args.quick else FULL)
    if args.count:
        conf["count"] = args.count
    if args.time_limit:
        conf["time_limit"] = args.time_limit
    out = args.out or RESULTS / ("quick" if args.quick else "full")
    out = out if out.is_absolute() else Path.cwd() / out
    out.mkdir(parents=True, exist_ok=True)
    todo = studies()
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        todo = [s for s in todo if any(k in s.name for k in keys)]
    rec_path = out / "run.json"
    record = json.loads(rec_path.read_text()) if rec_path.exists() else {}
    if not args.tables:
        print(f"{len(todo)} studies, {conf['count']} images, {conf['time_limit']:g} s each, "
              f"{args.jobs} at a time -> {rel(out)}", flush=True)
        mach = machine()
        new = run_all(todo, out, conf["count"], conf["time_limit"], args.jobs, args.nice)
        record = {**record, **new, "machine_at_start": mach, "machine_at_end": machine(),
                  "config": {**conf, "jobs": args.jobs, "nice": args.nice, "only": args.only}}
        rec_path.write_text(json.dumps(record, indent=1) + "\n")
    text, data = tables(out, record)
    conf = record.get("config", conf)
    head = (f"# Reproductions: {conf['count']} images, {conf['time_limit']:g} s per instance\n\n"
            f"{record.get('machine_at_start', machine())}\n"
            + (f"at the end: {record['machine_at_end']}\n" if "machine_at_end" in record else "")
            + (f"total wall time {record['_total_wall_seconds']:.0f} s\n"
               if "_total_wall_seconds" in record else "") + "\n")
    (out / "summary.md").write_text(head + text)
    (out / "summary.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(head + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
