"""Zhu (2021) §5.4 in one command: adversarial training of DNN1, Tables 7 and 8.

    python benchmarks/adversarial_training.py --quick          # 100 examples per distance, 30 s
    python benchmarks/adversarial_training.py                  # 2,000 per distance, 300 s
    python benchmarks/adversarial_training.py --quick --tables-only   # the tables from the files

Steps, each skipped when its files exist (so a stopped run resumes; a batch
skips the instances already in its ``results.jsonl``):

1. ``pool.npz``: N training images (a seeded permutation of the 5,000 in
   ``mnist_5k.csv.gz``) with their labels, the same images for every distance.
2. ``attack/<d>/``: one ``nnlang batch`` per distance on DNN1 (784-8-8-8-10)
   over the pool, with the specs of ``examples/reproductions/zhu_dnn1_*.nnq``
   (exact bounds, target (label + 5) mod 10): L0, L1, L2 (epigraph PWL with 17
   breakpoints, as Zhu (2021) §5.4, one MILP over the input box as in Zhu (2021):
   no radius search) and L-infinity.
3. ``attack/<d>.npz``: the examples exported (``nnlang.batch.export``), split by a
   seeded permutation into halves: ``split/<d>.json`` (train, held out).
4. ``networks/<d>.npz``: DNN1 retrained by the project's seeded trainer
   (``examples/models/train.py``, DNN1's seed and settings) on the 5,000
   training images plus the training half with the true labels.
5. ``robust/<net>_<d>/``: Table 8's batches: new adversarial examples for the
   first M test images (``examples/data/mnist_samples.npz``) on the original
   DNN1 and on each retrained network, every distance.
   ``networks/control.npz`` (not in Zhu (2021); ``--no-control`` leaves it out): DNN1
   retrained the same way on the 5,000 images plus the training half's pool images
   *unperturbed*: as many added images as the adversarial networks get, so that its
   rows show how much of theirs is retraining alone, not the examples' perturbations.
6. ``tables.md`` / ``tables.json`` (``--tables-only`` redoes only this step):
   Table 7 (accuracy on the MNIST test set and on each held-out set) and Table 8
   (average objective over the instances paired with the original DNN1's batch,
   ``nnlang.batch.compare``, and the % difference), beside Zhu's (2021) numbers.

Steps 2-5 run one distance at a time, the cheapest first (L1, L-infinity, L0,
L2), each followed by the Table 8 cells it completes, so that a run stopped
early leaves smaller but complete tables. ``run.json`` records every step's
seconds and the retraining's determinism check.
"""

from __future__ import annotations

import os

# the trainer's weights must not depend on the core count (examples/models/train.py)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
for _p in (REPO, REPO / "examples" / "models"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import train as trainer

from nnlang.batch.compare import compare_batches
from nnlang.batch.export import export_batch, read_export

# the folder holding data/mnist: the first ``shared`` beside the clone or above it
SHARED = next((p / "shared" for p in REPO.parents if (p / "shared" / "data").is_dir()),
              REPO.parent / "shared")
DNN1 = REPO / "examples" / "models" / "mnist_784_8_8_8_10.npz"
SAMPLES = REPO / "examples" / "data" / "mnist_samples.npz"
SPECS = REPO / "examples" / "reproductions"
RESULTS = REPO / "benchmarks" / "results" / "adversarial_training"
# distance -> (spec, --set values, batch options); the cheapest first (docs/reproductions.md, DNN1 at 300 s)
DISTANCES = {"l1": ("zhu_dnn1_l1.nnq", {}, {}), "linf": ("zhu_dnn1_linf.nnq", {}, {}),
             "l0": ("zhu_dnn1_l0.nnq", {}, {}),
             "l2": ("zhu_dnn1_l2_pwl.nnq", {"breakpoints": 17}, {"radius_search": False})}
LABELS = {"l0": "L0", "l1": "L1", "l2": "L2", "linf": "Linf"}
CONTROL = "control"
ORDER = ("l0", "l1", "l2", "linf")  # the seed's row and column order
# DNN1 as examples/models/train.py trains it (docs/models.md): seed 1, 60 epochs, batch 64
DNN1_TRAINING = {"seed": 1, "epochs": 60, "batch": 64, "lr": 1e-3, "weight_decay": 1e-4}
SIZES, ACTS = [784, 8, 8, 8, 10], ["relu", "relu", "relu", "linear"]
POOL_SEED, SPLIT_SEED = 0, 1
QUICK = {"examples": 100, "time_limit": 30.0, "robust": 10, "robust_time_limit": 30.0}
FULL = {"examples": 2000, "time_limit": 300.0, "robust": 100, "robust_time_limit": 300.0}

# Zhu (2021) Table 7: training data -> accuracy on the L0, L1, L2, Linf sets, MNIST test
SEED_TABLE7 = {"l0": (0.123, 0.107, 0.091, 0.086, 0.923), "l1": (0.105, 0.125, 0.092, 0.094, 0.918),
               "l2": (0.108, 0.104, 0.109, 0.104, 0.916),
               "linf": (0.094, 0.102, 0.104, 0.105, 0.928),
               "original": (0.081, 0.081, 0.083, 0.084, 0.932)}
# Zhu (2021) Table 8: objective L0, L1, L2, Linf, then % difference (Tables 4-6: original)
SEED_TABLE8 = {"l0": (6.85, 6.43, 13.16, 0.06, -19.41, -16.49, -17.54, -14.29),
               "l1": (7.67, 6.93, 14.53, 0.06, -9.76, -10.00, -8.96, -14.29),
               "l2": (8.28, 7.53, 15.04, 0.07, -2.59, -2.21, -5.76, 0.00),
               "linf": (8.91, 8.13, 16.44, 0.07, 4.82, 5.58, 3.01, 0.00),
               "original": (8.50, 7.70, 15.96, 0.07)}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- data and specs


def read_train(shared: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return trainer.read_mnist(shared)


def make_pool(out: Path, x_train: np.ndarray, y_train: np.ndarray, n: int) -> Path:
    path = out / "pool.npz"
    if not path.exists():
        perm = np.random.default_rng(POOL_SEED).permutation(len(y_train))[:n]
        np.savez(path, images=x_train[perm], labels=y_train[perm], indices=perm)
    return path


def write_spec(out: Path, net_name: str, net_file: Path, dist: str) -> Path:
    """The reproduction spec of ``dist`` with absolute paths and another network."""
    text = (SPECS / DISTANCES[dist][0]).read_text()
    text = text.replace('load("../models/mnist_784_8_8_8_10.npz")', f'load("{net_file}")')
    text = text.replace('"../data/mnist_samples.npz"', f'"{SAMPLES}"')
    path = out / "specs" / f"{net_name}_{dist}.nnq"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def run_batch_step(spec: Path, folder: Path, *, count: int, time_limit: float, sets: dict,
                   over: Path | None, jobs: int, cluster: str | None, options: dict) -> dict:
    from nnlang.batch import BatchConfig, run_batch
    from nnlang.batch.lock import batch_lock

    config = BatchConfig(spec=spec, out_dir=folder, count=count, over=over,
                         time_limit=time_limit, jobs=jobs, cluster=cluster, sets=sets,
                         options={"threads": 1, **options}, pictures=False)
    t = time.perf_counter()
    with batch_lock(folder), open(folder.parent / f"{folder.name}.log", "a") as logf:
        outcome = run_batch(config, progress=logf, echo=lambda s: None)
    s = outcome.summary
    log(f"  {folder.relative_to(folder.parents[1])}: {outcome.ran} ran, {outcome.skipped} "
        f"skipped, {time.perf_counter() - t:.0f} s; solved {s.get('solved_pct')} %, "
        f"mean objective {s.get('objective')}")
    if outcome.interrupted:
        raise KeyboardInterrupt
    return {"ran": outcome.ran, "skipped": outcome.skipped,
            "seconds": time.perf_counter() - t}


def warm_bounds(spec: Path, sets: dict, options: dict) -> float:
    """Compile one instance so that the network's exact bounds are in the cache before
    the batch's workers start (each would compute them otherwise)."""
    import nnlang

    t = time.perf_counter()
    nnlang.compile(spec, params=dict(sets), **options)
    return time.perf_counter() - t


# ---------------------------------------------------------------- training


def retrain(x: np.ndarray, y: np.ndarray) -> trainer.Network:
    p = trainer.train_mlp(SIZES, ACTS, x, y, seed=DNN1_TRAINING["seed"],
                          epochs=DNN1_TRAINING["epochs"], batch=DNN1_TRAINING["batch"],
                          lr=DNN1_TRAINING["lr"], weight_decay=DNN1_TRAINING["weight_decay"])
    return trainer.to_network(p, ACTS, "dnn1_retrained", input_shape=(28, 28))


def split(instances: np.ndarray, pool: int) -> tuple[list[int], list[int]]:
    """Positions (in ``instances``) of the training half and the held-out half. The
    halves are halves of the pool's images, the same for every distance, so that no
    network is tested on an image whose example of another distance it was trained on."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(pool)
    train = set(perm[: pool // 2].tolist())
    pos = range(len(instances))
    return ([k for k in pos if int(instances[k]) in train],
            [k for k in pos if int(instances[k]) not in train])


def retrain_step(out: Path, dist: str, data, record: dict, pool: int) -> Path:
    path = out / "networks" / f"{dist}.npz"
    if path.exists():
        return path
    x_train, y_train = data[0], data[1]
    s = read_export(out / "attack" / f"{dist}.npz", DNN1)
    tr, held = split(s.instance, pool)
    (out / "split").mkdir(exist_ok=True)
    (out / "split" / f"{dist}.json").write_text(json.dumps(
        {"train": [int(s.instance[k]) for k in tr], "held_out": [int(s.instance[k]) for k in held],
         "seed": SPLIT_SEED}) + "\n")
    adv = s.adversarial.reshape(len(s), -1)
    x = np.concatenate([x_train, adv[tr]])
    y = np.concatenate([y_train, s.label[tr]])
    t = time.perf_counter()
    net = retrain(x, y)
    path.parent.mkdir(exist_ok=True)
    trainer.write_model(net, path)
    dead = [int(np.sum(~np.any(v > 0, axis=0))) for v in net.forward(x.reshape(-1, 28, 28))[1:-1]]
    record[f"retrain_{dist}"] = {"seconds": time.perf_counter() - t, "added": len(tr),
                                 "held_out": len(held), "dead_units": dead}
    log(f"  retrained on {len(x_train)} + {len(tr)} {LABELS[dist]} examples "
        f"({time.perf_counter() - t:.1f} s); dead hidden units {dead}")
    return path


def control_step(out: Path, data, record: dict, pool: int) -> Path:
    """The control network: DNN1 retrained on the training images plus the training
    half's pool images as they are (no perturbation), with their true labels."""
    path = out / "networks" / f"{CONTROL}.npz"
    if path.exists():
        return path
    z = np.load(out / "pool.npz")
    tr, _ = split(np.arange(pool), pool)
    x = np.concatenate([data[0], z["images"][tr]])
    y = np.concatenate([data[1], z["labels"][tr]])
    t = time.perf_counter()
    net = retrain(x, y)
    path.parent.mkdir(exist_ok=True)
    trainer.write_model(net, path)
    record[f"retrain_{CONTROL}"] = {"seconds": time.perf_counter() - t, "added": len(tr)}
    log(f"  control: retrained on {len(data[0])} + {len(tr)} unperturbed pool images "
        f"({time.perf_counter() - t:.1f} s)")
    return path


def check_determinism(data) -> dict:
    """DNN1 retrained twice from its seed on the original data: the same weights both
    times; and how far they lie from the committed file (a different BLAS kernel
    changes the last bits: docs/models.md)."""
    a, b = retrain(data[0], data[1]), retrain(data[0], data[1])
    ref = trainer.load_npz(DNN1)
    return {"same_weights_twice": all(np.array_equal(p.W, q.W) and np.array_equal(p.b, q.b)
                                      for p, q in zip(a.layers, b.layers)),
            "max_abs_diff_to_committed": max(
                float(np.max(np.abs(p.W - q.W))) for p, q in zip(a.layers, ref.layers))}


# ---------------------------------------------------------------- the study


def run(out: Path, cfg: dict, args: argparse.Namespace) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NNLANG_CACHE_DIR", str(out / "bounds_cache"))
    rec_path = out / "run.json"
    record = json.loads(rec_path.read_text()) if rec_path.exists() else {}
    record.setdefault("config", cfg)
    opts = {"bounds": args.bounds} if args.bounds else {}
    dists = [d for d in DISTANCES if d in args.distances]
    start = time.perf_counter()
    data = read_train(args.shared)
    if "deterministic" not in record:
        record["deterministic"] = check_determinism(data)
        log(f"DNN1 retrained twice from its seed: {record['deterministic']}")
    pool = make_pool(out, data[0], data[1], cfg["examples"])
    run_opts = {"jobs": args.jobs, "cluster": args.cluster, "options": opts}

    before = record.get("wall_seconds", 0.0)  # the earlier runs of this folder

    def save() -> None:
        record["wall_seconds"] = before + time.perf_counter() - start
        rec_path.write_text(json.dumps(record, indent=2) + "\n")

    def add(key: str, step: dict) -> None:
        """A batch step's counts and seconds, summed over the runs that continued it."""
        old = record.get(key, {"ran": 0, "seconds": 0.0})
        record[key] = {"ran": old["ran"] + step["ran"], "skipped": step["skipped"],
                       "seconds": old["seconds"] + step["seconds"]}

    def robust(name: str, net: Path, d: str) -> None:  # step 5, one cell of Table 8
        spec = write_spec(out, name, net.resolve(), d)
        if f"bounds_{name}" not in record:
            record[f"bounds_{name}"] = warm_bounds(spec, DISTANCES[d][1], opts)
        log(f"robustness of {name} under {LABELS[d]}: {cfg['robust']} test images")
        add(f"robust_{name}_{d}", run_batch_step(
            spec, out / "robust" / f"{name}_{d}", count=cfg["robust"],
            time_limit=cfg["robust_time_limit"], sets=DISTANCES[d][1], over=None,
            **{**run_opts, "options": {**opts, **DISTANCES[d][2]}}))
        save()

    # One distance at a time, the cheapest first, and after each the cells of Table 8
    # that it completes: a run stopped early leaves a smaller but complete table.
    nets = {"original": DNN1}
    if args.control:
        nets[CONTROL] = control_step(out, data, record, cfg["examples"])
        save()
    for d in dists:
        spec = write_spec(out, "original", DNN1, d)
        sets = DISTANCES[d][1]
        if "bounds_original" not in record:
            record["bounds_original"] = warm_bounds(spec, sets, opts)
        log(f"attack {LABELS[d]}: {cfg['examples']} training images, {cfg['time_limit']:g} s each")
        add(f"attack_{d}", run_batch_step(  # step 2
            spec, out / "attack" / d, count=cfg["examples"], time_limit=cfg["time_limit"],
            sets=sets, over=pool, **{**run_opts, "options": {**opts, **DISTANCES[d][2]}}))
        npz = out / "attack" / f"{d}.npz"
        if not npz.exists():  # step 3
            s = export_batch(out / "attack" / d, npz)
            log(f"  {npz.name}: {s.report()}")
        log(f"retrain on {LABELS[d]}")
        nets[d] = retrain_step(out, d, data, record, cfg["examples"])  # step 4
        save()
        done = dists[: dists.index(d) + 1]
        for name, net in nets.items():
            for col in done:
                if name == d or col == d:
                    robust(name, net, col)
    save()
    return record


# ---------------------------------------------------------------- the tables


def tables(out: Path, shared: Path) -> dict:
    """Tables 7 and 8 from the run's files (no solve): ``tables.json`` and ``tables.md``."""
    from nnlang.networks.load import load_network

    _, _, x_test, y_test = read_train(shared)
    dists = [d for d in ORDER if (out / "attack" / f"{d}.npz").exists()
             and (out / "split" / f"{d}.json").exists()]
    nets = {"original": DNN1, **{d: out / "networks" / f"{d}.npz" for d in (*dists, CONTROL)
                                 if (out / "networks" / f"{d}.npz").exists()}}
    held = {}
    for d in dists:
        s = read_export(out / "attack" / f"{d}.npz", DNN1)  # re-checked against DNN1
        keep = set(json.loads((out / "split" / f"{d}.json").read_text())["held_out"])
        rows = [k for k in range(len(s)) if int(s.instance[k]) in keep]
        held[d] = (s.adversarial[rows], s.label[rows], s)
    t7: dict[str, dict] = {}
    for name, path in nets.items():
        net = load_network(path)
        row = {"mnist": trainer.accuracy(net, x_test, y_test)}
        for d, (xa, ya, _) in held.items():
            row[d] = float(np.mean(np.argmax(net.predict(xa), axis=1) == ya)) if len(ya) else None
        t7[name] = row
    t8: dict[str, dict] = {}
    for name in nets:
        row = {}
        for d in dists:
            a, b = out / "robust" / f"original_{d}", out / "robust" / f"{name}_{d}"
            if not ((a / "results.jsonl").exists() and (b / "results.jsonl").exists()):
                continue
            row[d] = compare_batches(a, b)
            row[d].pop("paired_instances")
        t8[name] = row
    counts = {d: {"exported": len(h[2]), "left_out": h[2].left_out_counts(),
                  "held_out": len(h[1])} for d, h in held.items()}
    result = {"table7": t7, "table8": t8, "examples": counts,
              "findings": findings(t7, t8, dists)}
    (out / "tables.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "tables.md").write_text(render(result, dists) + "\n")
    return result


def findings(t7: dict, t8: dict, dists: list[str]) -> dict:
    """Zhu's (2021) two qualitative findings, checked on our numbers."""
    diag = {d: (t7[d].get(d) is not None and all(
        t7[d][d] >= t7[d][e] for e in dists if t7[d].get(e) is not None)) for d in dists if d in t7}
    linf = t8.get("linf", {})
    raises = {d: linf[d]["pct_difference"] for d in dists if d in linf}
    control = t8.get(CONTROL, {})
    # each trained network's % difference less the control's: what the examples' perturbations
    # add beyond retraining on as many more images
    beyond = {n: {d: round(c["pct_difference"] - control[d]["pct_difference"], 2)
                  for d, c in row.items() if d in control and c["pct_difference"] is not None
                  and control[d]["pct_difference"] is not None}
              for n, row in t8.items() if n in dists and control}
    return {"diagonal_is_row_maximum": diag,
            "linf_raises_every_distance": (all(v is not None and v > 0 for v in raises.values())
                                           if raises else None),
            "raising_rows": [n for n, row in t8.items() if n != "original" and row and all(
                c["pct_difference"] is not None and c["pct_difference"] > 0
                for c in row.values())],
            "pct_beyond_control": beyond}


def _f(v, fmt: str = ".3f") -> str:
    return "-" if v is None else format(v, fmt)


def render(r: dict, dists: list[str]) -> str:
    t7, t8 = r["table7"], r["table8"]
    names = [n for n in (*ORDER, CONTROL, "original") if n in t7]
    label = {**LABELS, "original": "MNIST data (DNN1)",
             CONTROL: "control: the same images unperturbed"}
    cols = [LABELS[d] for d in dists]
    out = ["### Table 7: accuracy (ours | Zhu (2021))", "",
           "| training data | " + " | ".join(cols) + " | MNIST test |",
           "|---|" + "---:|" * (len(cols) + 1)]
    for n in names:
        seed = SEED_TABLE7.get(n)
        cells = [f"{_f(t7[n].get(d))} \\| {_f(seed and seed[ORDER.index(d)])}" for d in dists]
        out.append(f"| {label[n]} | " + " | ".join(cells)
                   + f" | {_f(t7[n]['mnist'], '.4f')} \\| {_f(seed and seed[4])} |")
    out += ["", "held-out sets: " + ", ".join(
        f"{LABELS[d]} {c['held_out']} of {c['exported']} exported"
        + (f" (left out: {c['left_out']})" if c["left_out"] else "")
        for d, c in r["examples"].items()), "",
        ("### Table 8: mean objective over the paired test instances, % difference against "
        "DNN1 (ours | Zhu (2021))"), "",
        "| training data | " + " | ".join(cols) + " | " + " | ".join(f"% {c}" for c in cols)
        + " | paired (optimal in both) |", "|---|" + "---:|" * (2 * len(cols) + 1)]
    for n in names:
        row, seed = t8.get(n, {}), SEED_TABLE8.get(n)
        objs = [f"{_f(row[d]['mean_objective_b'], '.3f')} \\| "
                f"{_f(seed and seed[ORDER.index(d)], '.2f')}" if d in row else "-" for d in dists]
        pcts = [(f"{_f(row[d]['pct_difference'], '+.2f')} \\| "
                 f"{_f(seed and seed[4 + ORDER.index(d)], '+.2f')}"
                 if n != "original" else "0") if d in row else "-" for d in dists]
        pairs = ", ".join(f"{row[d]['paired']} ({row[d]['optimal_both']})" for d in dists
                          if d in row)
        out.append(f"| {label[n]} | " + " | ".join(objs + pcts) + f" | {pairs} |")
    f = r["findings"]
    out += ["", f"- diagonal of Table 7 is the row maximum: {f['diagonal_is_row_maximum']}",
            (f"- L-infinity training raises every minimal distance: "
            f"{f['linf_raises_every_distance']}"),
            f"- rows of Table 8 with every % difference positive: {f['raising_rows'] or 'none'}"]
    if f.get("pct_beyond_control"):
        out += ["", ("### Table 8 less the control: % difference of each network minus the "
                     "control's (the perturbations' effect beyond retraining on as many images)"),
                "",
                "| training data | " + " | ".join(f"% {c}" for c in cols) + " |",
                "|---|" + "---:|" * len(cols)]
        for n in (d for d in ORDER if d in f["pct_beyond_control"]):
            row = f["pct_beyond_control"][n]
            out.append(f"| {label[n]} | " + " | ".join(_f(row.get(d), "+.2f") for d in dists)
                       + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK['examples']} examples per distance, {QUICK['time_limit']:g} s "
                         f"each; Table 8 on {QUICK['robust']} test images")
    ap.add_argument("--out", type=Path, help="run folder (default benchmarks/results/"
                                              "adversarial_training/quick or full)")
    ap.add_argument("--tables-only", action="store_true", help="only make the tables")
    ap.add_argument("--examples", type=int, help="adversarial examples per distance")
    ap.add_argument("--time-limit", type=float, help="seconds per attack instance")
    ap.add_argument("--robust", type=int, help="test images for Table 8")
    ap.add_argument("--robust-time-limit", type=float, help="seconds per Table 8 instance")
    ap.add_argument("--distances", default=",".join(DISTANCES),
                    help="a subset of l1,linf,l0,l2 (default all)")
    ap.add_argument("--no-control", dest="control", action="store_false",
                    help="leave out the control network (DNN1 retrained on the unperturbed "
                         "pool images)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes per batch (2)")
    ap.add_argument("--cluster", help="run the batches on a Dask cluster (docs/distributed.md)")
    ap.add_argument("--bounds", help="neuron bounds instead of the specs' exact ones "
                                     "(tests: interval)")
    ap.add_argument("--shared", type=Path, default=SHARED,
                    help=f"the folder holding data/mnist (default {SHARED})")
    args = ap.parse_args(argv)
    args.shared = args.shared.resolve()
    cfg = dict(QUICK if args.quick else FULL)
    for k in ("examples", "time_limit", "robust", "robust_time_limit"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    args.distances = [d.strip() for d in args.distances.split(",")]
    bad = [d for d in args.distances if d not in DISTANCES]
    if bad:
        ap.error(f"unknown distance {bad[0]!r} (choose from {', '.join(DISTANCES)})")
    out = (args.out or RESULTS / ("quick" if args.quick else "full")).resolve()
    if not args.tables_only:
        log(f"run folder {out}: {cfg}")
        try:
            run(out, cfg, args)
        except KeyboardInterrupt:  # the finished instances are in the run folder
            log(f"interrupted: the same command resumes from {out} (finished instances "
                "are kept)")
            return 130
    r = tables(out, args.shared)
    print(render(r, [d for d in ORDER if d in r["examples"]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
