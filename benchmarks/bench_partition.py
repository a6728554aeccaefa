"""nnlang's ReLU formulations beside OMLT's partition formulation, as one MILP each
over the whole input box, all read from MPS files by the same HiGHS (docs/benchmarks.md,
"Partition formulation vs OMLT's").

Per image of the MNIST L1 example (``examples/mnist_adversarial_l1.nnq``: minimal L1,
target ``(d + 5) mod 10``, margin 0.2): nnlang's model written by ``nnlang compile
--to mps --full-box --encoding E`` (interval bounds, as OMLT's), and OMLT's
``ReluPartitionFormulation`` (its default split: the weights sorted, cut in two)
of the same network and spec written by Pyomo; each file read by highspy and solved
with one thread, relative gap 1e-4, the same time limit. The models alternate per
image, so that all see the same load. Needs ``pip install omlt pyomo``.

    python benchmarks/bench_partition.py --images 0 1 2 --models bigm partition omlt
    python benchmarks/bench_partition.py --models partition@before partition omlt \
        --before /path/to/older/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import highspy
import numpy as np

from nnlang.provenance import machine

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "mnist_adversarial_l1.nnq"
NET = ROOT / "examples" / "models" / "mnist_784_32_16_10.npz"
SAMPLES = ROOT / "examples" / "data" / "mnist_samples.npz"
MARGIN = 0.2
RESULTS = ROOT / "benchmarks" / "results" / "partition"


def updown_spec(out: Path) -> Path:
    """The example with the distance written as OMLT's model has it: ``x = image + up -
    down``, minimizing ``sum(up) + sum(down)``."""
    text = SPEC.read_text().replace(
        "minimize norm1(flatten(x) - image)",
        "var up[784] in [0, 1]\nvar down[784] in [0, 1]\nminimize sum(up) + sum(down)").replace(
        "subject to\n", "subject to\n    split: flatten(x) == image + up - down\n")
    examples = SPEC.parent.as_posix()  # the copy lives elsewhere: its data paths absolute
    text = text.replace('("models/', f'("{examples}/models/').replace('("data/', f'("{examples}/data/')
    path = out / "updown.nnq"
    path.write_text(text)
    return path


def nnlang_file(model: str, index: int, out: Path, before: str | None = None) -> Path:
    """nnlang's model of the example over the whole box, as MPS: ``model`` an encoding,
    with ``-updown`` the distance written as OMLT's model has it, with ``@before``
    compiled by the checkout ``before`` (an older nnlang, for a before/after)."""
    out.mkdir(parents=True, exist_ok=True)
    model, at, _ = model.partition("@")
    encoding, _, variant = model.partition("-")
    spec = updown_spec(out) if variant == "updown" else SPEC
    env = dict(os.environ, PYTHONPATH=before) if at else None
    if at and not before:
        raise SystemExit(f"{model}@before needs --before DIR (an older checkout)")
    subprocess.run([sys.executable, "-m", "nnlang", "compile", str(spec), "--to", "mps",
                    "--full-box", "--encoding", encoding, "--set", f"index={index}",
                    "-o", str(out)],
                   check=True, capture_output=True, env=env, cwd=out)  # not this checkout's
    return next(out.glob("*.mps"))


def omlt_file(index: int, out: Path, parts: int = 2) -> Path:
    """OMLT's partition formulation of the same network and spec, as MPS: the input
    ``x = image + up - down`` with ``up, down >= 0``, minimizing their sum."""
    import pyomo.environ as pyo
    from omlt import OmltBlock
    from omlt.neuralnet import NetworkDefinition, ReluPartitionFormulation
    from omlt.neuralnet.layer import DenseLayer, InputLayer
    from omlt.neuralnet.layers.partition_based import default_partition_split_func

    z = np.load(NET)
    samples = np.load(SAMPLES)
    image = np.asarray(samples["images"][index], dtype=float).ravel()
    target = (int(samples["labels"][index]) + 5) % 10
    n_in = image.size
    net = NetworkDefinition(scaled_input_bounds={i: (0.0, 1.0) for i in range(n_in)})
    prev = InputLayer([n_in])
    net.add_layer(prev)
    count = sum(1 for k in z.files if k.startswith("W"))
    for k in range(count):
        W, b = z[f"W{k}"], z[f"b{k}"]
        layer = DenseLayer(prev.output_size, [W.shape[0]],
                           activation="relu" if k < count - 1 else "linear",
                           weights=W.T, biases=b)
        net.add_layer(layer)
        net.add_edge(prev, layer)
        prev = layer
    m = pyo.ConcreteModel()
    m.nn = OmltBlock()
    m.nn.build_formulation(ReluPartitionFormulation(
        net, split_func=lambda w: default_partition_split_func(w, parts)))
    pixels = range(n_in)
    m.up = pyo.Var(pixels, bounds=lambda _, i: (0.0, 1.0 - image[i]))
    m.down = pyo.Var(pixels, bounds=lambda _, i: (0.0, image[i]))
    m.link = pyo.Constraint(pixels, rule=lambda m, i:
                            m.nn.inputs[i] == image[i] + m.up[i] - m.down[i])
    others = [j for j in range(10) if j != target]
    m.adversarial = pyo.Constraint(others, rule=lambda m, j:
                                   m.nn.outputs[target] >= m.nn.outputs[j] + MARGIN)
    m.distance = pyo.Objective(expr=sum(m.up[i] + m.down[i] for i in pixels))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"omlt_{index}.mps"
    m.write(str(path), io_options={"symbolic_solver_labels": False})
    return path


def solve_file(path: Path, limit: float) -> dict:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-4)
    h.setOptionValue("time_limit", float(limit))
    h.readModel(str(path))
    lp = h.getLp()
    t = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    has = info.primal_solution_status == 2
    return {"status": status, "seconds": round(seconds, 3),
            "objective": float(info.objective_function_value) if has else None,
            "bound": float(info.mip_dual_bound), "nodes": int(info.mip_node_count),
            "rows": int(lp.num_row_), "cols": int(lp.num_col_),
            "load": round(os.getloadavg()[0], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", nargs="+", default=["bigm", "partition", "omlt"],
                    help="nnlang encodings (bigm, partition; NAME@before: compiled by "
                         "--before), and omlt")
    ap.add_argument("--before", default=None, help="an older checkout, for NAME@before")
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for index in args.images:
            for model in args.models:
                out = Path(tmp) / f"{model}_{index}"
                path = (omlt_file(index, out) if model == "omlt"
                        else nnlang_file(model, index, out, args.before))
                r = {"image": index, "model": model, **solve_file(path, args.limit)}
                records.append(r)
                print(json.dumps(r), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"partition_{args.limit:g}s{('_' + args.tag) if args.tag else ''}.json"
    (RESULTS / name).write_text(json.dumps({"machine": machine(), "args": vars(args),
                                            "records": records}, indent=1) + "\n")
    for model in args.models:
        rs = [r for r in records if r["model"] == model]
        solved = [r["seconds"] for r in rs if r["status"] == "Optimal"]
        print(f"{model}: {len(solved)}/{len(rs)} optimal"
              + (f", median {statistics.median(solved):.1f} s" if solved else ""))


if __name__ == "__main__":
    main()
