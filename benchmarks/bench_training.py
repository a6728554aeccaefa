"""Goebbels' (2021) training experiments with nnlang and HiGHS, and Adam beside them.

    python benchmarks/bench_training.py fig2        # 784-8-8-8-10 on 100 images (Fig. 2)
    python benchmarks/bench_training.py fig3        # 20 batches of 100 with eq. 10 (Fig. 3)
    python benchmarks/bench_training.py post        # + post-processing LP after 10 batches
    python benchmarks/bench_training.py committee   # 3 networks on different 1,000 images
    python benchmarks/bench_training.py conv        # 49-25-10 on 7x7 images, tied 3x3 kernel
    python benchmarks/bench_training.py adam        # Adam (PyTorch) on the same architectures
    python benchmarks/bench_training.py milps       # time per weight MILP vs size; exact vs M
    python benchmarks/bench_training.py all --quick # every experiment, quick configuration

``--quick`` shrinks every experiment (fewer batches, a cap on iterations) so that
all of them run in well under 30 minutes on 2 cores. The training data are the
5,000 MNIST training images in ../shared/data/mnist (not the report's 60,000),
in a seeded random order (the file is sorted by digit); the test accuracy is on
all 10,000 test images. Results: one JSON file per experiment in
benchmarks/results/training/.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnlang.ir.options import Options
from nnlang.training import layers, problems
from nnlang.training.goebbels import Settings, Trainer, accuracy, predict
from nnlang.training.run import train_batches

OUT = ROOT / "benchmarks" / "results" / "training"
SIZES = [784, 8, 8, 8, 10]


def _data_module():
    spec = importlib.util.spec_from_file_location("make_data",
                                                  ROOT / "examples/training/make_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


DATA = _data_module()


def machine() -> dict:
    from importlib.metadata import version
    return {"python": platform.python_version(), "highspy": version("highspy"),
            "cpus": os.cpu_count(),
            "load_before": os.getloadavg()[0]}


def mlp(sizes=SIZES, bound=1.0):
    return [layers.dense(b, a, bound) for a, b in itertools.pairwise(sizes)]


def downsample(X: np.ndarray) -> np.ndarray:
    """28x28 -> 7x7 by the means of 4x4 blocks (the report's conv experiment)."""
    return X.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)


def printer(kind, what):
    if kind == "init":
        print(f"initializations: output-LP accuracy {what}", flush=True)
    elif kind == "step":
        print(f"  batch {what.batch + 1} it {what.iteration} layer {what.layer}: acc "
              f"{what.accuracy:.3f} ({what.programs} programs, {what.seconds:.1f} s, "
              f"{what.timed_out} at the limit)", flush=True)
    else:
        print(f"batch {what['batch'] + 1}: batch {what['batch_accuracy']:.3f} train "
              f"{what['train_accuracy']:.4f} test {what.get('test_accuracy', float('nan')):.4f}"
              f" ({what['seconds']:.0f} s)", flush=True)


def run(name, params, X, y, settings, test, solver="highs", **kw):
    before = machine()
    start = time.perf_counter()
    trained = train_batches(params, X, y, settings, Options(threads=1, solver=solver),
                            test=test,
                            report=printer, **kw)
    record = {"experiment": name, "settings": settings.__dict__, "solver": solver,
              "machine": before,
              "seconds": time.perf_counter() - start, "counts": trained.counts,
              "batches": trained.batches,
              "steps": [s.__dict__ for s in trained.steps],
              "load_after": os.getloadavg()[0]}
    if test is not None:
        record["test_accuracy"] = accuracy(trained.network, *test)
        record["best_test_accuracy"] = max(b.get("test_accuracy", 0) for b in trained.batches)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(record, indent=1, default=float))
    return trained, record


def _suffix(args) -> str:
    """Result file names of runs with another solver than HiGHS say which."""
    return "" if args.solver == "highs" else f"_{args.solver}"


def exp_fig2(args):
    X, y = DATA.mnist_train()
    s = Settings(batch_size=100, batches=1, seed=args.seed, lp_solver=args.lp_solver,
                 time_limit=args.time_limit,
                 workers=args.workers, max_iterations=args.iterations, patience=args.patience,
                 init_trials=args.init_trials, proposal_box=tuple(args.proposal_box))
    name = f"fig2_seed{args.seed}_p{args.patience}_t{args.time_limit:g}" + (
        f"_i{args.init_trials}" if args.init_trials > 1 else "") + (
        "_box{:g}_{:g}".format(*args.proposal_box) if tuple(args.proposal_box) != (0.1, 0.1)
        else "") + _suffix(args)
    _, rec = run(name, mlp(), X[:100], y[:100], s, None, args.solver)
    print(f"fig2: training accuracy {rec['batches'][-1]['batch_accuracy']:.3f} in "
          f"{rec['seconds']:.0f} s")


def exp_fig3(args, post_every=None, name="fig3", first=0, count=2000, batches=20):
    """``batches`` of 100 images from ``first`` (fig. 3: 20), with the post-processing
    LP on all training data after every ``post_every`` batches."""
    X, y = DATA.mnist_train()
    Xt, yt = DATA.mnist_test()
    batches = batches if not args.quick else 4
    s = Settings(batch_size=100, batches=batches, seed=args.seed, lp_solver=args.lp_solver,
                 time_limit=args.time_limit,
                 workers=args.workers, max_iterations=args.iterations, patience=args.patience,
                 post_every=post_every, init_trials=args.init_trials)
    Xb, yb = X[first: first + count], y[first: first + count]
    if post_every:
        # the post-processing LP runs on all training data, the MILPs on the batches
        Xall = np.concatenate([Xb, np.delete(X, np.s_[first: first + count], axis=0)])
        yall = np.concatenate([yb, np.delete(y, np.s_[first: first + count])])
        Xb, yb = Xall, yall
    name += (f"_p{args.patience}_i{args.iterations}" if args.patience != 1 else "") \
        + _suffix(args)
    trained, rec = run(name, mlp(), Xb, yb, s, (Xt, yt), args.solver)
    print(f"{name}: test accuracy {rec['test_accuracy']:.4f} (best after a batch "
          f"{rec['best_test_accuracy']:.4f}) in {rec['seconds']:.0f} s")
    return trained


def exp_committee(args):
    Xt, yt = DATA.mnist_test()
    nets = []
    for j in range(3):
        # each member: ten batches over its own 1,000 images, then the LP on all data
        nets.append(exp_fig3(args, post_every=10 if not args.quick else 4,
                             name=f"committee{j}", first=1000 * j, count=1000,
                             batches=10).network)
    votes = np.stack([predict(n, Xt) for n in nets])
    major = np.array([np.bincount(v, minlength=10).argmax() for v in votes.T])
    # ties go to the first network's vote
    tie = np.array([np.bincount(v, minlength=10).max() == 1 for v in votes.T])
    major[tie] = votes[0, tie]
    acc = float(np.mean(major == yt))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"committee{_suffix(args)}.json").write_text(json.dumps({"test_accuracy": acc,
                                                    "members": [accuracy(n, Xt, yt)
                                                                for n in nets]}))
    print(f"committee: majority vote test accuracy {acc:.4f}")


def exp_conv(args):
    X, y = DATA.mnist_train()
    Xt, yt = DATA.mnist_test()
    X7, Xt7 = downsample(X), downsample(Xt)
    params = [layers.conv(7, 7, 3, 3, 0.0, 1.0), layers.dense(10, 25, 1.0)]
    batches = 10 if not args.quick else 3
    s = Settings(batch_size=100, batches=batches, seed=args.seed, init=(0.0, 1.0),
                 lp_solver=args.lp_solver,
                 time_limit=args.time_limit, workers=args.workers,
                 max_iterations=args.iterations, patience=args.patience, post_every=batches)
    # batches over the first 1,000 images; the post-processing LP on all 5,000
    _, rec = run(f"conv_seed{args.seed}" + _suffix(args), params, X7, y, s, (Xt7, yt),
                 args.solver)
    print(f"conv: test accuracy {rec['test_accuracy']:.4f} in {rec['seconds']:.0f} s")


def exp_adam(args):
    import torch
    X, y = DATA.mnist_train()
    Xt, yt = DATA.mnist_test()
    out = {}
    small = (downsample(X), downsample(Xt))
    for arch, (Xa, Xta) in {"784-8-8-8-10": (X, Xt), "49-25-10 (7x7, dense)": small,
                            "49-25-10 (7x7, one 3x3 conv map, no offsets)": small}.items():
        for n_train, epochs in ((2000, 3), (5000, 3), (2000, 40), (5000, 40)):
            torch.manual_seed(4711)
            sizes = [Xa.shape[1], 8, 8, 8, 10] if arch.startswith("784") else [49, 25, 10]
            mods = []
            for a, b in itertools.pairwise(sizes):
                mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]  # ReLU output, as the report
            if "conv" in arch:
                mods = [torch.nn.Unflatten(1, (1, 7, 7)), torch.nn.Conv2d(1, 1, 3, bias=False),
                        torch.nn.ReLU(), torch.nn.Flatten(), *mods[2:]]
            net = torch.nn.Sequential(*mods)
            opt = torch.optim.Adam(net.parameters(), lr=0.001)
            Xtr = torch.tensor(Xa[:n_train], dtype=torch.float32)
            Ttr = torch.tensor(np.eye(10)[y[:n_train]], dtype=torch.float32)
            start = time.perf_counter()
            for _epoch in range(epochs):
                perm = torch.randperm(n_train)
                for i in range(0, n_train, 100):
                    idx = perm[i: i + 100]
                    opt.zero_grad()
                    loss = torch.nn.functional.mse_loss(net(Xtr[idx]), Ttr[idx])
                    loss.backward()
                    opt.step()
            with torch.no_grad():
                o = net(torch.tensor(Xta, dtype=torch.float32)).numpy()
            key = f"{arch}, {n_train} images, {epochs} epochs"
            out[key] = {"argmax": float(np.mean(o.argmax(1) == yt)),
                        "closest_to_one": float(np.mean(np.abs(o - 1).argmin(1) == yt)),
                        "seconds": time.perf_counter() - start}
            print(key, out[key])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "adam.json").write_text(json.dumps({"torch": torch.__version__, **out}, indent=1))


def exp_milps(args):
    """Time per weight MILP against its size, exact ranges vs the report's M."""
    X, _ = DATA.mnist_train()
    rng = np.random.default_rng(0)
    rows = []
    sizes = (25, 50) if args.quick else (25, 50, 100)
    for m in () if args.layer_only else sizes:
        for d in (8, 784):
            inputs = X[:m] if d == 784 else rng.random((m, 8)) * 3
            target = np.maximum(inputs @ rng.uniform(-1, 1, d) * 0.3 + 0.2, 0)
            target = target + 0.3 * rng.random(m)
            for big_m in (None, problems.report_big_m(inputs)):
                start = time.perf_counter()
                solved = problems.group_weights(inputs, target[:, None],
                                                layers.dense(1, d, 1.0), problems.L1,
                                                Options(threads=1,
                                                        time_limit=args.time_limit), None,
                                                big_m)
                # the exact range of a pre-activation over the weight box [-1, 1]
                ratio = problems.report_big_m(inputs) / (np.abs(inputs).sum(1) + 1)
                rows.append({"samples": m, "inputs": d, "big_m": "report" if big_m else "exact",
                             "report_m_over_range": [float(ratio.min()), float(ratio.max())],
                             "status": solved.status, "objective": solved.objective,
                             "seconds": time.perf_counter() - start, **solved.size})
                print(rows[-1], flush=True)
    # one layer of 8 ReLU neurons on 8 inputs, 100 samples: one joint MILP, the
    # per-neuron split solved one after another, and the split on 2 processes
    inputs = rng.random((50 if args.quick else args.layer_samples, 8)) * 3
    teacher = np.maximum(inputs @ rng.uniform(-1, 1, (8, 8)).T + 0.2, 0)
    target = teacher + 0.5 * rng.random(teacher.shape)
    params = layers.dense(8, 8, 1.0)
    opts = Options(threads=1, time_limit=args.time_limit)
    start = time.perf_counter()
    joint = problems.group_weights(inputs, target, params, problems.L1, opts)
    t_joint = time.perf_counter() - start
    split = {}
    for workers in (1, 2):
        tr = Trainer([params], Settings(workers=workers, time_limit=args.time_limit), opts)
        start = time.perf_counter()
        solved = tr.update_layer(0, inputs, target, problems.L1)
        split[workers] = (time.perf_counter() - start, sum(x.objective for x in solved))
        tr.close()
    layer = {"joint": {"seconds": t_joint, "objective": joint.objective, "status": joint.status,
                       **joint.size},
             "split_1_process": {"seconds": split[1][0], "objective": split[1][1]},
             "split_2_processes": {"seconds": split[2][0], "objective": split[2][1]}}
    print(layer, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "milps.json").write_text(json.dumps({"machine": machine(), "rows": rows,
                                                "layer": layer,
                                                "load_after": os.getloadavg()[0]}, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("experiment", choices=["fig2", "fig3", "post", "committee", "conv",
                                           "adam", "milps", "all"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lp-solver", default=None, help="the LPs' solver (default: --solver)")
    ap.add_argument("--solver", default="highs",
                    help="the programs' solver (gurobi: its size-limited license takes the "
                         "100-sample programs, not the post-processing LP on all data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--patience", type=int, default=1)
    ap.add_argument("--init-trials", type=int, default=1)
    ap.add_argument("--proposal-box", type=float, nargs=2, default=(0.1, 0.1),
                    metavar=("R", "A"), help="eq. 9's relative and absolute move")
    ap.add_argument("--layer-only", action="store_true",
                    help="milps: only the joint vs split layer comparison")
    ap.add_argument("--layer-samples", type=int, default=100)
    args = ap.parse_args()
    if args.iterations is None:
        args.iterations = 3 if args.quick else 20
    # "post" is the committee's first member: ten batches of the first 1,000 images,
    # then the post-processing LP on all training data
    experiments = {"fig2": exp_fig2, "fig3": exp_fig3,
                   "post": lambda a: exp_fig3(a, post_every=10 if not a.quick else 4,
                                              name="post", count=1000, batches=10),
                   "committee": exp_committee,
                   "conv": exp_conv, "adam": exp_adam, "milps": exp_milps}
    if args.experiment != "all":
        experiments[args.experiment](args)
        return
    # every experiment one after another; with --quick, the quick configuration
    start = time.perf_counter()
    seconds = {}
    for name, fn in experiments.items():
        t0 = time.perf_counter()
        fn(args)
        seconds[name] = time.perf_counter() - t0
        print(f"== {name}: {seconds[name]:.0f} s", flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / ("all_quick.json" if args.quick else "all.json")).write_text(json.dumps(
        {"machine": machine(), "seconds": seconds, "total": time.perf_counter() - start,
         "load_after": os.getloadavg()[0]}, indent=1))


if __name__ == "__main__":
    main()
