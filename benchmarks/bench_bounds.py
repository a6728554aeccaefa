"""Bound methods on Zhu's (2021) networks: L1 adversarial examples, Table 2 style.

    python benchmarks/bench_bounds.py --quick --out benchmarks/results/bounds_quick
    python benchmarks/bench_bounds.py --count 100 --time-limit 300 --out DIR   # full

For every network and every bound method, minimal-L1 adversarial images with target
``(d + 5) mod 10`` (``examples/mnist_adversarial_dnn.nnq``) on the first N test images
the network classifies correctly, solved with HiGHS. Per method it reports, like
Zhu (2021) Table 2: % solved, the average gap (all instances, optimal = 0, as Zhu (2021)
does; and over the unsolved ones only), average nodes, average solve time, average
t.pre (seconds spent in the bound method at compile time) and the LP tightening time,
and the median / max total time (compile + bounds + solve, wall clock).

Networks: ``dnn1`` .. ``dnn5`` (Zhu (2021) Table 1; ``dnn1`` is
``mnist_784_8_8_8_10.npz``, the others ``mnist_dnn{2..5}.npz``) and ``mnist32``
(784-32-16-10, Linkola's (2023) network; ``--count-32`` images, 20 by default).

Methods (``--methods``, comma separated; default: all available at run time):
``basic`` = interval bounds without LP tightening (Zhu's (2021) "basic model");
every name in ``nnlang.registry.BOUND_METHODS`` with ``tighten=True``; and, when ``milp``
is available, ``milp(time_limit=1)`` (1 s per bound: Zhu's (2021) "weaker bounds";
plain ``milp`` is its "exact bounds"). Any ``NAME(key=value)`` and a
``-notighten`` suffix are accepted too, e.g. ``lp-notighten``; a ``+radius`` suffix
turns on the radius search (``radius_search = true``, docs/language.md; off otherwise),
e.g. ``interval+radius`` (nnlang's defaults) or ``lp+radius``.

Encodings (``--encodings``, comma separated, default ``bigm``): every method runs with
every encoding (``nnlang.ir.options.ENCODINGS``, e.g. ``bigm``, ``partition``).
``--configs METHOD/ENCODING,...`` lists the pairs explicitly instead (and
``--configs-32`` for ``mnist32``), e.g. ``basic/bigm,lp/bigm,lp/partition``.

``--quick``: 3 images per Zhu (2021) network and the 20 images of ``mnist32``, 30 s per
instance, configurations ``basic/bigm``, ``lp/bigm`` and ``interval+radius/bigm`` (nnlang's
defaults; ``mnist32``: ``lp/bigm`` and ``interval+radius/bigm``), at most 1750 s of instances started (so that it
ends within 30 minutes). Instances run round-robin, so a budget cut leaves every
configuration with about as many instances.

Bounds are cached on disk per network and input box (``nnlang.bounds.cache``); the
benchmark uses a fresh, temporary cache folder (unless ``--keep-cache``), so the first
instance of every (network, method) pays the full bound computation: the tables show
that first t.pre next to the mean.

Output (``--out DIR``): ``instances.jsonl`` (one line per instance, written as it
finishes), ``summary.md`` (the tables) and ``summary.json``. ``--resume`` keeps an existing
``instances.jsonl`` and runs only the instances it does not hold (so a long full
configuration can be run in pieces); ``--threads N`` sets the solver's threads (two
benchmark streams side by side on 2 cores: ``--threads 1`` each). The spec copies (one
per network, with absolute paths) go to a temporary folder.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import nnlang
from nnlang.networks.npz import load_npz
from nnlang.provenance import machine, versions

SPEC = REPO / "examples" / "mnist_adversarial_dnn.nnq"
SPEC_NETWORK = "models/mnist_784_8_8_8_10.npz"
SAMPLES = REPO / "examples" / "data" / "mnist_samples.npz"
DEFAULT_SHARED = REPO.parent / "shared"

# key -> (file in examples/models, label in the tables)
NETWORKS = {
    "dnn1": ("mnist_784_8_8_8_10.npz", "DNN1 784-8-8-8-10"),
    "dnn2": ("mnist_dnn2.npz", "DNN2 784-8x6-10"),
    "dnn3": ("mnist_dnn3.npz", "DNN3 784-20-10-8-8-10"),
    "dnn4": ("mnist_dnn4.npz", "DNN4 784-20-10-8-8-8-10"),
    "dnn5": ("mnist_dnn5.npz", "DNN5 784-20-20-10-10-10-10"),
    "mnist32": ("mnist_784_32_16_10.npz", "784-32-16-10 (Linkola (2023))"),
}
QUICK_BUDGET = 1750.0  # so that --quick ends within 30 minutes (last instance <= 50 s)
SEED003 = ("dnn1", "dnn2", "dnn3", "dnn4", "dnn5")

# Zhu (2021) (Zhu 2021), Table 2: CPLEX 20.1, 100 instances, 300 s.
# (%solved, %gap, nodes, time s) for the basic model; (t.pre, %solved, %gap, nodes,
# time) for the exact and the weaker (1 s per bound) bounds.
SEED003_TABLE2 = {
    "dnn1": ((100, 0.00, 1994, 0.99), (6.48, 100, 0.00, 313, 0.50), (6.48, 100, 0.00, 313, 0.50)),
    "dnn2": ((99, 0.08, 108412, 38.09), (20.93, 100, 0.00, 7133, 4.51),
             (20.93, 100, 0.00, 7133, 4.51)),
    "dnn3": ((63, 17.32, 468387, 165.16), (329.54, 99, 0.27, 10564, 19.49),
             (56.27, 99, 0.29, 46742, 20.81)),
    "dnn4": ((48, 21.65, 613642, 214.48), (343.36, 99, 0.32, 63686, 41.93),
             (73.43, 98, 0.36, 63123, 48.80)),
    "dnn5": ((8, 66.48, 580653, 290.04), (6947.64, 80, 8.97, 74135, 142.65),
             (69.67, 70, 10.68, 188455, 165.58)),
}


# ---------------------------------------------------------------------------
# methods


def parse_method(text: str) -> dict:
    """``basic`` | ``NAME`` | ``NAME(k=v, ...)``, optionally with ``-notighten``."""
    text = text.strip()
    if text == "basic":
        return {"label": "basic", "bounds": "interval", "bounds_args": {}, "tighten": False,
                "radius_search": False}
    tighten = True
    body = text
    radius = body.endswith("+radius")
    if radius:
        body = body[: -len("+radius")]
    if body.endswith("-notighten"):
        tighten, body = False, body[: -len("-notighten")]
    m = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:\((.*)\))?", body)
    if not m:
        raise SystemExit(f"bad method '{text}' (expected NAME, NAME(k=v) or basic)")
    args = {}
    for part in filter(None, (p.strip() for p in (m.group(2) or "").split(","))):
        key, _, value = part.partition("=")
        try:
            args[key.strip()] = float(value)
        except ValueError:
            args[key.strip()] = value.strip()
    return {"label": text, "bounds": m.group(1), "bounds_args": args, "tighten": tighten,
            "radius_search": radius}


def available_methods() -> list[str]:
    from nnlang.registry import BOUND_METHODS as METHODS

    names = ["basic"] + list(METHODS)
    if "milp" in METHODS:
        names.append("milp(time_limit=1)")
    return names


# ---------------------------------------------------------------------------
# data


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = int.from_bytes(raw[0:4], "big") & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_images(need: int, shared: Path, tmp: Path, log) -> tuple[Path, np.ndarray, np.ndarray]:
    """(npz path with ``images``/``labels``, images, labels): the 100 committed samples,
    or, if ``need`` > 100, the 10,000 test images from the shared folder."""
    if need <= 100:
        with np.load(SAMPLES) as d:
            return SAMPLES, d["images"], d["labels"]
    folder = shared / "data" / "mnist"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    path = tmp / "mnist_test.npz"
    np.savez(path, images=images, labels=labels)
    log(f"# using the 10,000 test images from {folder}")
    return path, images, labels


def spec_copy(key: str, data_path: Path, tmp: Path) -> Path:
    """The DNN spec with the network and data paths replaced (absolute)."""
    text = SPEC.read_text()
    assert f'load("{SPEC_NETWORK}")' in text and '"data/mnist_samples.npz"' in text
    net = REPO / "examples" / "models" / NETWORKS[key][0]
    text = text.replace(f'load("{SPEC_NETWORK}")', f'load("{net.as_posix()}")')
    text = text.replace('"data/mnist_samples.npz"', f'"{data_path.as_posix()}"')
    path = tmp / f"mnist_adversarial_{key}.nnq"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------
# running


def parse_config(text: str) -> dict:
    """``METHOD/ENCODING`` (encoding ``bigm`` if omitted)."""
    body, _, encoding = text.strip().rpartition("/") if "/" in text else (text, "", "bigm")
    method = parse_method(body)
    method["encoding"] = encoding.strip() or "bigm"
    method["config"] = f"{method['label']}/{method['encoding']}"
    return method


def run_instance(spec: Path, index: int, method: dict, time_limit: float,
                 threads: int | None = None) -> dict:
    t0 = time.perf_counter()
    opts = {"bounds": method["bounds"], "tighten": method["tighten"],
            "encoding": method.get("encoding", "bigm"),
            "radius_search": method.get("radius_search", False)}
    if method["bounds_args"]:
        opts["bounds_args"] = method["bounds_args"]
    row = {"index": index, "method": method["label"], "bounds": method["bounds"],
           "bounds_args": method["bounds_args"], "tighten": method["tighten"],
           "encoding": opts["encoding"], "config": method.get("config", method["label"])}
    try:
        m = nnlang.compile(spec, params={"index": index}, **opts)
        t_compile = time.perf_counter() - t0
        r = m.solve(time_limit=time_limit, **({"threads": threads} if threads else {}))
    except Exception as exc:  # noqa: BLE001 - a benchmark records and goes on
        row.update(status="error", message=f"{type(exc).__name__}: {exc}",
                   total_seconds=time.perf_counter() - t0)
        return row
    total = time.perf_counter() - t0
    label, target = int(m.program.params["label"]), int(m.program.params["target"])
    net = r.networks.get("y")
    row.update(
        label=label, target=target, status=r.status, objective=_num(r.objective),
        bound=_num(r.bound), gap=_num(r.gap), nodes=r.nodes, solve_seconds=r.solve_seconds,
        compile_seconds=t_compile, bounds_seconds=m.timings.get("bounds", 0.0),
        tighten_seconds=(r.tighten or {}).get("seconds", 0.0),
        tighten_rounds=(r.tighten or {}).get("rounds"), total_seconds=total,
        radius_steps=(r.search or {}).get("steps"),
        forward_gap=r.forward_gap, predicted=net.predicted if net else None,
        adversarial=bool(net and net.predicted == target), model_size=r.model_size)
    return row


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def gap_of(row) -> float:
    """Relative gap in [0, 1]; an unsolved instance without an incumbent counts 1."""
    if row["status"] == "optimal":
        return 0.0
    g = row.get("gap")
    return 1.0 if g is None else min(float(g), 1.0)


def summarize(rows: list[dict]) -> dict:
    n = len(rows)
    solved = [r for r in rows if r["status"] == "optimal"]
    unsolved = [r for r in rows if r["status"] != "optimal"]
    mean = lambda xs: statistics.mean(xs) if xs else float("nan")
    totals = [r["total_seconds"] for r in rows]
    return {
        "n": n, "solved": len(solved), "pct_solved": 100.0 * len(solved) / n if n else 0.0,
        "errors": sum(r["status"] == "error" for r in rows),
        "gap_all_pct": 100 * mean([gap_of(r) for r in rows]),
        "gap_unsolved_pct": 100 * mean([gap_of(r) for r in unsolved]),
        "no_incumbent": sum(r.get("objective") is None for r in unsolved),
        "nodes": mean([r.get("nodes") or 0 for r in rows]),
        "solve_seconds": mean([r.get("solve_seconds", 0.0) for r in rows]),
        "tpre_seconds": mean([r.get("bounds_seconds", 0.0) for r in rows]),
        "tpre_max": max((r.get("bounds_seconds", 0.0) for r in rows), default=float("nan")),
        "tighten_seconds": mean([r.get("tighten_seconds", 0.0) for r in rows]),
        "total_median": statistics.median(totals) if totals else float("nan"),
        "total_mean": mean(totals),
        "total_max": max(totals) if totals else float("nan"),
        "not_adversarial": sum(r["status"] != "error" and r.get("objective") is not None
                               and not r.get("adversarial") for r in rows),
    }


def table(groups: dict, time_limit: float | None) -> str:
    head = ("| network | method/encoding | n | % solved | % gap (all) | % gap (unsolved) | "
            "nodes | solve s | t.pre s (first) | tighten s | total s median | total s max |")
    lines = [head, "| --- | --- |" + " ---: |" * 10]
    for key, methods in groups.items():
        for label, s in methods.items():
            gap_u = "-" if s["n"] == s["solved"] else f"{s['gap_unsolved_pct']:.2f}"
            if s["no_incumbent"]:
                gap_u += f" ({s['no_incumbent']} w/o sol.)"
            lines.append(
                f"| {NETWORKS[key][1]} | {label} | {s['n']} | {s['pct_solved']:.0f} | "
                f"{s['gap_all_pct']:.2f} | {gap_u} | {s['nodes']:,.0f} | "
                f"{s['solve_seconds']:.2f} | {s['tpre_seconds']:.2f} "
                f"({s.get('tpre_max', float('nan')):.2f}) | "
                f"{s['tighten_seconds']:.2f} | {s['total_median']:.2f} | {s['total_max']:.2f} |")
    if time_limit is None:
        return "\n".join(lines)
    lines.append("")
    lines.append(f"Time limit {time_limit:g} s per instance (covers the solve and the LP "
                 f"tightening rounds, not t.pre). % gap: unsolved instances without a "
                 f"solution count as 100 %.")
    return "\n".join(lines)


def zhu_table() -> str:
    lines = [("| network | basic: % solved | % gap | nodes | time s | exact: t.pre s | % solved "
              "| % gap | nodes | time s | weaker: t.pre s | % solved | % gap | nodes | time s |"),
             "| --- " + "| ---: " * 14 + "|"]
    for key, (basic, exact, weak) in SEED003_TABLE2.items():
        cells = [f"{basic[0]}", f"{basic[1]:.2f}", f"{basic[2]:,}", f"{basic[3]:.2f}"]
        for t in (exact, weak):
            cells += [f"{t[0]:,.2f}", f"{t[1]}", f"{t[2]:.2f}", f"{t[3]:,}", f"{t[4]:.2f}"]
        lines.append(f"| {key.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", default=",".join(list(SEED003) + ["mnist32"]),
                    help="comma separated, from " + ", ".join(NETWORKS))
    ap.add_argument("--methods", default=None, help="comma separated (default: all available)")
    ap.add_argument("--count", type=int, default=100, help="instances per Zhu (2021) network")
    ap.add_argument("--count-32", type=int, default=20, help="instances for mnist32")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--encodings", default="bigm", help="comma separated (default bigm)")
    ap.add_argument("--configs", default=None,
                    help="METHOD/ENCODING pairs, comma separated (instead of the product)")
    ap.add_argument("--configs-32", default=None, help="the same for mnist32")
    ap.add_argument("--keep-cache", action="store_true",
                    help="use the usual bounds cache instead of a fresh temporary one")
    ap.add_argument("--quick", action="store_true",
                    help="3 images per DNN, 20 for mnist32, 30 s, basic/bigm, lp/bigm, "
                         "lp/partition, 1750 s budget")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                    help="folder holding data/mnist (only for more than 100 images)")
    ap.add_argument("--budget", type=float, default=None,
                    help="start no instance after this many seconds (--quick: 1750)")
    ap.add_argument("--threads", type=int, default=None,
                    help="solver threads per instance (default: the solver's)")
    ap.add_argument("--resume", action="store_true",
                    help="keep --out's instances.jsonl and skip the instances it holds")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--from-jsonl", type=Path, default=None,
                    help="only rebuild the tables from an instances.jsonl (with --budget: "
                         "the instances started within that many seconds)")
    args = ap.parse_args(argv)
    if args.from_jsonl:
        return from_jsonl(args.from_jsonl, args.budget)
    if args.quick:
        args.count, args.count_32, args.time_limit = 3, 20, 30.0
        args.budget = args.budget or QUICK_BUDGET
        args.configs = args.configs or "basic/bigm,lp/bigm,interval+radius/bigm"
        args.configs_32 = args.configs_32 or "lp/bigm,interval+radius/bigm"
    if args.configs:
        methods = [parse_config(t) for t in _split_methods(args.configs)]
    else:
        method_names = (args.methods.split(",") if args.methods else available_methods())
        methods = [parse_config(f"{t}/{e.strip()}")
                   for t in _split_methods(",".join(method_names))
                   for e in args.encodings.split(",") if e.strip()]
    methods_32 = ([parse_config(t) for t in _split_methods(args.configs_32)]
                  if args.configs_32 else methods)
    if not args.keep_cache:
        os.environ["NNLANG_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_bounds_cache_")
    keys = [k.strip() for k in args.networks.split(",") if k.strip()]
    for k in keys:
        if k not in NETWORKS:
            raise SystemExit(f"unknown network '{k}' (expected one of {', '.join(NETWORKS)})")
    out_dir = args.out
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    log = lambda msg: print(msg, flush=True)

    header = (f"# {machine()}; nnlang {nnlang.__version__}; time limit {args.time_limit:g} s; "
              "methods " + ", ".join(m["config"] for m in methods)
              + (f"; mnist32: {', '.join(m['config'] for m in methods_32)}"
                 if methods_32 is not methods else ""))
    log(header)
    counts = {k: (args.count_32 if k == "mnist32" else args.count) for k in keys}
    done: dict[tuple, dict] = {}
    if args.resume and out_dir and (out_dir / "instances.jsonl").exists():
        for line in (out_dir / "instances.jsonl").read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[(row["network"], row["config"], row["index"])] = row
        log(f"# resuming: {len(done)} instances already in {out_dir / 'instances.jsonl'}")
    # kept open for the whole run (a line per instance as it finishes), closed at the end
    jsonl = open(out_dir / "instances.jsonl", "a" if args.resume else "w") if out_dir else None  # noqa: SIM115
    groups: dict[str, dict[str, dict]] = {}
    results: dict[tuple[str, str], list[dict]] = {}
    plan: list[tuple] = []
    stopped = None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench_bounds_") as tmpname:
        tmp = Path(tmpname)
        with np.load(SAMPLES) as d:
            sample_labels = d["labels"]
        data_path, images, labels = SAMPLES, None, sample_labels
        for key in keys:
            net = load_npz(REPO / "examples" / "models" / NETWORKS[key][0])
            need = counts[key]
            if data_path == SAMPLES:
                with np.load(SAMPLES) as d:
                    pred = np.argmax(net.predict(d["images"].reshape(-1, 28, 28)), axis=1)
                if np.sum(pred == sample_labels) < need:
                    data_path, images, labels = load_images(101, args.shared, tmp, log)
            if images is None:
                with np.load(data_path) as d:
                    images, labels = d["images"], d["labels"]
            pred = np.argmax(net.predict(images.reshape(-1, 28, 28)), axis=1)
            chosen = np.flatnonzero(pred == labels)[:need].tolist()
            if len(chosen) < need:
                raise SystemExit(f"{key}: only {len(chosen)} correctly classified images")
            spec = spec_copy(key, data_path, tmp)
            log(f"## {NETWORKS[key][1]}: images {chosen[0]}..{chosen[-1]} "
                f"({need} correctly classified of the first {chosen[-1] + 1})")
            for method in (methods_32 if key == "mnist32" else methods):
                plan.append((key, method, spec, chosen))
                results[(key, method["config"])] = []
        # Instance-major order: round r runs instance r of every (network, method), so
        # a --budget cut leaves every group with (nearly) the same number of instances.
        rounds = max(len(p[3]) for p in plan) if plan else 0
        stopped = None
        for r in range(rounds):
            for key, method, spec, chosen in plan:
                if r >= len(chosen):
                    continue
                if args.budget and time.perf_counter() - started > args.budget:
                    stopped = stopped or (r, key, method["config"])
                    continue
                index = chosen[r]
                if (key, method["config"], index) in done:
                    results[(key, method["config"])].append(done[(key, method["config"], index)])
                    continue
                at = time.perf_counter() - started
                row = run_instance(spec, index, method, args.time_limit, args.threads)
                row.update(network=key, round=r, started_at=at)
                results[(key, method["config"])].append(row)
                if jsonl:
                    jsonl.write(json.dumps(row) + "\n")
                    jsonl.flush()
                if row["status"] == "error":
                    log(f"{key} {method['config']:>22} {index:5d} error {row['message']}")
                    continue
                obj = row["objective"] if row["objective"] is not None else float("nan")
                log(f"{key} {method['config']:>22} {index:5d} {row['status']:>10} "
                    f"obj {obj:9.4f} gap {100 * gap_of(row):6.2f}% nodes "
                    f"{row['nodes'] or 0:8d} solve {row['solve_seconds']:7.2f} "
                    f"t.pre {row['bounds_seconds']:6.2f} tighten "
                    f"{row['tighten_seconds']:6.2f} total {row['total_seconds']:7.2f}")
            groups = {}
            for (key, label), rows in results.items():
                if rows:
                    groups.setdefault(key, {})[label] = summarize(rows)
            if out_dir:
                _write_summary(out_dir, header, {"nnlang": nnlang.__version__, **versions()}, args, groups, started, stopped)
            log(f"# round {r + 1}/{rounds} done, elapsed {time.perf_counter() - started:.0f} s")
        if stopped:
            log(f"# budget of {args.budget:g} s reached in round {stopped[0] + 1} "
                f"(at {stopped[1]} {stopped[2]}): later instances not run")
    if jsonl:
        jsonl.close()
    text = table(groups, args.time_limit)
    log("\n" + text)
    log(f"\nwall clock {time.perf_counter() - started:.0f} s")
    if out_dir:
        _write_summary(out_dir, header, {"nnlang": nnlang.__version__, **versions()}, args, groups, started, stopped)
    return 0


def from_jsonl(path: Path, budget: float | None) -> int:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if budget is not None:
        rows = [r for r in rows if r.get("started_at", 0.0) <= budget]
    by_group: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        by_group.setdefault((r["network"], r.get("config", r["method"])), []).append(r)
    groups: dict[str, dict[str, dict]] = {}
    for (key, label), rs in by_group.items():
        groups.setdefault(key, {})[label] = summarize(rs)
    last = max((r.get("started_at", 0.0) + r["total_seconds"] for r in rows), default=0.0)
    print(table(groups, None))
    print(f"\n{len(rows)} instances; the last one ended {last:.0f} s after the start")
    return 0


def _split_methods(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _write_summary(out_dir: Path, header, versions, args, groups, started, stopped) -> None:
    wall = time.perf_counter() - started
    cut = ("" if not stopped else f" Budget of {args.budget:g} s reached in round "
           f"{stopped[0] + 1}: later instances were not run (see n).")
    (out_dir / "summary.md").write_text(
        header + "\n\n" + table(groups, args.time_limit)
        + f"\n\nWall clock so far: {wall:.0f} s.{cut}\n\nZhu (2021), Table 2 (CPLEX 20.1, 100 "
          f"instances, 300 s):\n\n" + zhu_table() + "\n")
    (out_dir / "summary.json").write_text(json.dumps(
        {"versions": versions, "time_limit": args.time_limit, "count": args.count,
         "count_32": args.count_32, "budget": args.budget, "stopped": stopped,
         "wall_seconds": wall, "groups": groups}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
