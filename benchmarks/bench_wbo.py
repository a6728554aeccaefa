"""The WBO master's thesis' training experiments (chapter 3) with nnlang, and
gradient training (PyTorch, Adam) of the same architectures beside them.

    python benchmarks/bench_wbo.py nlp            # breast cancer DNN1-4, energy DNN1-4
    python benchmarks/bench_wbo.py misclass       # eqs. 3.16-3.18 by SCIP, growing subsets
    python benchmarks/bench_wbo.py all --quick    # both, quick configuration

Every WBO network is trained through the language: a spec with ``train net on X,
y { method = "wbo" ... }`` (written here from a template per architecture, on the
data of examples/training/wbo/make_data.py) run by ``nnlang.train``. ``--quick``
takes fewer IPOPT starts (5, and 3 for the 8-8 networks) than the full run (10);
the misclassification count gets 300 s per subset in both. Results:
benchmarks/results/wbo/ (JSON, a Markdown summary, box plots as PNG).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nnlang
from nnlang.training.wbo import Problem, forward
from nnlang.training.wbo_global import count_proved, misclassified_count, solve_global

OUT = ROOT / "benchmarks" / "results" / "wbo"
DATA = ROOT / "examples" / "training" / "wbo"

BREAST = {"DNN1": [9, 3, 2], "DNN2": [9, 10, 2], "DNN3": [9, 3, 3, 2], "DNN4": [9, 8, 8, 2]}
ENERGY = {"DNN1": [8, 3, 1], "DNN2": [8, 10, 1], "DNN3": [8, 3, 3, 1], "DNN4": [8, 8, 8, 1]}
# the thesis' Fig. 3.7 (train, test accuracy) and its text on the regressions
THESIS_BREAST = {"DNN1": (98.2, 95.2), "DNN2": (98.3, 95.4), "DNN3": (95.6, 91.5),
                 "DNN4": (90.6, 78.3)}
THESIS_ENERGY = {"DNN1": "about 5 % train, 10 % test", "DNN2": "lower train, more spread test",
                 "DNN3": "train as DNN1, 7 % test", "DNN4": "lowest train, 50 % test (max 140 %)"}

SPEC = """network net {{
    input {n_in}
{layers}
}}
param X = data("{file}", "train_inputs")
param y = data("{file}", "{train_y}")
train net on X, y {{
    method = "wbo"
    loss = "{loss}"
    lambda = 0.01
    relu = "hyperbolic"
    eps = 1e-3
    starts = {starts}
    seed = 0
    test_inputs = data("{file}", "test_inputs")
    test_labels = data("{file}", "{test_y}")
}}
"""


def machine() -> dict:
    from importlib.metadata import version
    return {"python": platform.python_version(), "casadi": version("casadi"),
            "pyscipopt": version("pyscipopt"), "torch": version("torch"),
            "cpus": os.cpu_count(), "uptime_at_start": uptime()}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True,
                          check=False).stdout.strip()


def spec_text(sizes: list[int], task: str, starts: int) -> str:
    # Annex I's models put the (smoothed) ReLU on every layer, the output too
    layers = "\n".join(f"    dense {n} relu" for n in sizes[1:])
    if task == "breast":
        return SPEC.format(n_in=sizes[0], layers=layers, file="breast_cancer.npz",
                           train_y="train_labels", test_y="test_labels",
                           loss="expected_correct", starts=starts)
    return SPEC.format(n_in=sizes[0], layers=layers, file="energy.npz",
                       train_y="train_targets", test_y="test_targets", loss="squared",
                       starts=starts)


def predict(network, X: np.ndarray) -> np.ndarray:
    x = X
    for layer in network.layers:
        x = x @ layer.W.T + layer.b
        if layer.activation == "relu":
            x = np.maximum(x, 0.0)
    return x


def rel_errors(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.abs(out.ravel() - y) / np.abs(y)


def adam(sizes, X, y, Xt, yt, task: str, seed: int = 0, steps: int = 3000) -> dict:
    """Full-batch Adam on the same architecture (exact ReLUs, ReLU output as the
    WBO networks), cross-entropy or squared error, weight decay as lambda."""
    import torch
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    mods = []
    for a, b in itertools.pairwise(sizes):
        mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    if task == "breast":
        mods = mods[:-1]  # logits: a ReLU before cross-entropy only hides classes
    net = torch.nn.Sequential(*mods).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    Xs, ys = torch.tensor(X), torch.tensor(y)
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        out = net(Xs)
        if task == "breast":
            loss = torch.nn.functional.cross_entropy(out, ys.long(), reduction="sum")
        else:
            loss = ((out.ravel() - ys) ** 2).sum()
        loss = loss + 0.01 * sum((p ** 2).sum() for p in net.parameters())
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        out, out_t = net(Xs).numpy(), net(torch.tensor(Xt)).numpy()
    if task == "breast":
        return {"seconds": seconds, "train_accuracy": float((out.argmax(1) == y).mean()),
                "test_accuracy": float((out_t.argmax(1) == yt).mean())}
    e, et = rel_errors(out, y), rel_errors(out_t, yt)
    return {"seconds": seconds, "train_rel": e.tolist(), "test_rel": et.tolist()}


def run_nlp(quick: bool, nets: list[str]) -> dict:
    results = {}
    for task, table in (("breast", BREAST), ("energy", ENERGY)):
        table = {k: v for k, v in table.items() if k in nets}
        d = np.load(DATA / ("breast_cancer.npz" if task == "breast" else "energy.npz"))
        ykey = "labels" if task == "breast" else "targets"
        X, y = d["train_inputs"], d[f"train_{ykey}"]
        Xt, yt = d["test_inputs"], d[f"test_{ykey}"]
        for name, sizes in table.items():
            starts = (3 if max(sizes[1:]) == 8 else 5) if quick else 10
            t0 = time.perf_counter()
            trained = nnlang.train(DATA / "bench.nnq", text=spec_text(sizes, task, starts))
            seconds = time.perf_counter() - t0
            rec = {"sizes": sizes, "starts": [s.objective for s in trained.solution.starts],
                   "statuses": [s.status for s in trained.solution.starts],
                   "start_seconds": [s.seconds for s in trained.solution.starts],
                   "objective": trained.solution.objective, "seconds": seconds,
                   "model": trained.solution.kind}
            out, out_t = predict(trained.network, X), predict(trained.network, Xt)
            if task == "breast":
                rec["train_accuracy"] = float((out.argmax(1) == y).mean())
                rec["test_accuracy"] = float((out_t.argmax(1) == yt).mean())
            else:
                rec["train_rel"] = rel_errors(out, y).tolist()
                rec["test_rel"] = rel_errors(out_t, yt).tolist()
            rec["adam"] = adam(sizes, X, y, Xt, yt, task)
            results[f"{task}_{name}"] = rec
            print(f"{task} {name} {'-'.join(map(str, sizes))}: WBO {seconds:.1f} s, "
                  f"objectives {[f'{v:.4g}' for v in rec['starts']]}", flush=True)
    return results


def balanced(y: np.ndarray, n: int) -> np.ndarray:
    """The first n // 2 training samples of each class, in the file's order (the
    first rows alone are mostly benign, and one class is a trivial problem)."""
    return np.sort(np.concatenate([np.flatnonzero(y == c)[:n // 2] for c in (0, 1)]))


def run_misclass(time_limit: float = 300.0) -> dict:
    """Eqs. 3.16-3.18 with exact ReLUs on DNN1 9-3-2 by SCIP on balanced subsets of
    n = 4, 8, 16, ... training samples, until SCIP does not prove the minimal count
    within ``time_limit`` (it stops at an absolute gap of 0.5: the count is then
    proved minimal, the regularization term not); then the NLP (IPOPT, 5 starts) on
    the largest subset whose count was proved."""
    d = np.load(DATA / "breast_cancer.npz")
    X_all, y_all = d["train_inputs"], d["train_labels"]
    rows, best = [], None
    n = 4
    while n <= len(X_all):
        keep = balanced(y_all, n)
        X, y = X_all[keep], y_all[keep]
        p = Problem([9, 3, 2], ["relu", "relu"], X, y, "misclassified", 0.01,
                    relu="exact", margin=1e-3, weight_bound=1.0)
        try:
            s = solve_global(p, time_limit, count_gap=0.5)
            wrong = misclassified_count(p, s.theta, margin=0.0)
            row = {"n": n, "status": s.status, "objective": s.objective, "bound": s.bound,
                   "seconds": s.seconds, "misclassified": s.count, "wrong": wrong,
                   "proved": count_proved(s), "accuracy": 1 - wrong / n}
        except nnlang.NnlangError as exc:
            row = {"n": n, "status": f"no solution: {exc}", "seconds": time_limit,
                   "proved": False}
        rows.append(row)
        print(f"misclassified n={n}: {row['status']} {row.get('objective')} "
              f"proved {row['proved']} ({row['seconds']:.1f} s)", flush=True)
        if not row["proved"]:
            break
        best = n
        n *= 2
    out = {"rows": rows, "largest_optimal": best, "time_limit": time_limit}
    if best is not None:
        keep = balanced(y_all, best)
        X, y = X_all[keep], y_all[keep]
        p = Problem([9, 3, 2], ["relu", "relu"], X, y, "expected_correct", 0.01, 1e-3)
        from nnlang.training.wbo import solve_nlp
        s = solve_nlp(p, starts=5, seed=0)
        pred = forward(p, s.theta, smooth=False).argmax(1)
        out["nlp_accuracy"] = float((pred == y).mean())
        out["nlp_seconds"] = s.seconds
    return out


def _box_png(groups: list[tuple[str, np.ndarray]], path: Path, title: str) -> None:
    """Box plots (quartiles, whiskers at 1.5 IQR, outliers as dots) drawn with PIL."""
    from PIL import Image, ImageDraw
    W, H, pad, top = 110 * len(groups) + 60, 420, 50, 30
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    hi = max(float(np.max(v)) for _, v in groups) * 1.05
    y_of = lambda v: H - pad - (H - pad - top) * v / hi
    d.text((10, 8), title, fill="black")
    for tick in np.linspace(0, hi, 6):
        d.line([(45, y_of(tick)), (W - 10, y_of(tick))], fill=(225, 225, 225))
        d.text((2, y_of(tick) - 5), f"{100 * tick:.0f}%", fill="black")
    for g, (label, v) in enumerate(groups):
        x = 70 + 110 * g
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        lo = v[v >= q1 - 1.5 * (q3 - q1)].min()
        up = v[v <= q3 + 1.5 * (q3 - q1)].max()
        d.rectangle([x, y_of(q3), x + 60, y_of(q1)], outline="black", fill=(180, 200, 230))
        d.line([(x, y_of(med)), (x + 60, y_of(med))], fill="black", width=2)
        d.line([(x + 30, y_of(q3)), (x + 30, y_of(up))], fill="black")
        d.line([(x + 30, y_of(q1)), (x + 30, y_of(lo))], fill="black")
        for o in v[(v > up) | (v < lo)]:
            d.ellipse([x + 28, y_of(o) - 2, x + 32, y_of(o) + 2], outline="black")
        d.text((x, H - pad + 8), label, fill="black")
    img.save(path)


def summarize(nlp: dict | None, mis: dict | None, info: dict) -> str:
    lines = ["# The WBO master's thesis' training experiments (bench_wbo.py)", "",
             (f"Machine: {info['cpus']} CPUs, Python {info['python']}, casadi "
             f"{info['casadi']} (IPOPT), pyscipopt {info['pyscipopt']}, torch "
             f"{info['torch']}; load at start: `{info['uptime_at_start']}`"), ""]
    if nlp:
        lines += ["## Breast cancer (342 train / 341 test), accuracy %", "",
                  ("| net | thesis train/test | WBO train/test | WBO s (starts) | best-start "
                   "objective, all starts | Adam train/test | Adam s |"),
                  "|---|---|---|---|---|---|---|"]
        for name in BREAST:
            r = nlp.get(f"breast_{name}")
            if r:
                a = r["adam"]
                lines.append(
                    f"| {name} {'-'.join(map(str, r['sizes']))} | {THESIS_BREAST[name][0]} / "
                    f"{THESIS_BREAST[name][1]} | {100 * r['train_accuracy']:.1f} / "
                    f"{100 * r['test_accuracy']:.1f} | {r['seconds']:.1f} ({len(r['starts'])}) "
                    f"| {r['objective']:.2f}; {', '.join(f'{v:.2f}' for v in r['starts'])} | "
                    f"{100 * a['train_accuracy']:.1f} / {100 * a['test_accuracy']:.1f} | "
                    f"{a['seconds']:.1f} |")
        lines += ["", ("## Energy efficiency, heating load (400 train / 350 test), relative "
                       "error %"), "",
                  ("| net | thesis | WBO mean train/test | WBO max train/test | WBO s (starts) "
                   "| Adam mean train/test | Adam max train/test | Adam s |"),
                  "|---|---|---|---|---|---|---|---|"]
        for name in ENERGY:
            r = nlp.get(f"energy_{name}")
            if r:
                a = r["adam"]
                m = lambda v: 100 * float(np.mean(v))
                x = lambda v: 100 * float(np.max(v))
                lines.append(
                    f"| {name} {'-'.join(map(str, r['sizes']))} | {THESIS_ENERGY[name]} | "
                    f"{m(r['train_rel']):.1f} / {m(r['test_rel']):.1f} | "
                    f"{x(r['train_rel']):.1f} / {x(r['test_rel']):.1f} | "
                    f"{r['seconds']:.1f} ({len(r['starts'])}) | {m(a['train_rel']):.1f} / "
                    f"{m(a['test_rel']):.1f} | {x(a['train_rel']):.1f} / "
                    f"{x(a['test_rel']):.1f} | {a['seconds']:.1f} |")
    if mis:
        lines += ["", (f"## Misclassification count (eqs. 3.16-3.18), DNN1 9-3-2, exact "
                       f"ReLUs, SCIP, {mis['time_limit']:.0f} s per subset"), "",
                  ("| n (balanced) | SCIP status | objective | lower bound | sum z (count) "
                   "| count proved minimal | wrong by arg-max | s |"),
                  "|---|---|---|---|---|---|---|---|"]
        for r in mis["rows"]:
            lines.append(f"| {r['n']} | {r['status']} | {r.get('objective', float('nan')):.4f} "
                         f"| {r.get('bound', float('nan')):.4f} | "
                         f"{r.get('misclassified', '-')} | {r['proved']} | "
                         f"{r.get('wrong', '-')} | {r['seconds']:.1f} |")
        if mis.get("largest_optimal"):
            row = next(r for r in mis["rows"] if r["n"] == mis["largest_optimal"])
            lines += ["", (f"Largest subset whose count SCIP proved minimal: "
                           f"{mis['largest_optimal']} samples; "
                           f"SCIP accuracy on it {100 * row['accuracy']:.1f} %, the NLP's "
                           f"(IPOPT, 5 starts, {mis['nlp_seconds']:.1f} s) "
                           f"{100 * mis['nlp_accuracy']:.1f} %.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", choices=["nlp", "misclass", "all", "tables"],
                    help="tables: rewrite summary[_quick].md from the JSON results")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--time-limit", type=float, default=300.0,
                    help="seconds per SCIP subset (300)")
    ap.add_argument("--nets", nargs="+", default=list(BREAST), choices=list(BREAST),
                    help="architectures (default all four)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    suffix = "_quick" if args.quick else ""
    if args.experiment == "tables":
        nlp_file, mis_file = OUT / f"nlp{suffix}.json", OUT / f"misclass{suffix}.json"
        nlp = json.loads(nlp_file.read_text()) if nlp_file.exists() else None
        mis = json.loads(mis_file.read_text()) if mis_file.exists() else None
        parts = []
        if nlp:
            parts.append(summarize(nlp["results"], None, nlp["machine"]))
        if mis:
            parts.append(summarize(None, mis, mis["machine"]))
        (OUT / f"summary{suffix}.md").write_text("\n".join(parts))
        print("\n".join(parts))
        return
    nlp = mis = None
    if args.experiment in ("nlp", "all"):
        nlp = run_nlp(args.quick, args.nets)
        (OUT / f"nlp{suffix}.json").write_text(json.dumps({"machine": info, "results": nlp}))
        for who in ("wbo", "adam"):
            groups = []
            for name in args.nets:
                r = nlp[f"energy_{name}"] if who == "wbo" else nlp[f"energy_{name}"]["adam"]
                groups += [(f"{name} train", np.array(r["train_rel"])),
                           (f"{name} test", np.array(r["test_rel"]))]
            _box_png(groups, OUT / f"energy_relative_error_{who}{suffix}.png",
                     f"energy efficiency: relative error, {who.upper()}")
    if args.experiment in ("misclass", "all"):
        mis = run_misclass(args.time_limit)
        (OUT / f"misclass{suffix}.json").write_text(json.dumps({"machine": info, **mis}))
    info["uptime_at_end"] = uptime()
    text = summarize(nlp, mis, info) + f"\nLoad at end: `{info['uptime_at_end']}`\n"
    (OUT / f"summary_{args.experiment}{suffix}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
