"""The surrogate design problem of docs/surrogate.md with nnlang, with OMLT + Pyomo +
HiGHS and with gurobi-machinelearning, on the same trained network, in one run: time to
build, time to solve, the optimum (they must agree) and the lines of user code each
needs; then which model kinds each tool accepts as they come, found by trying them.

    PYTHONPATH=. python benchmarks/bench_surrogate.py [--repeat 3] [--out FILE.md]

One thread per solver. The network is examples/surrogate's PyTorch regressor (trained
again here by its seeded script, the same weights as the committed file) and, for the
tools that take a scikit-learn object, its scaler pipeline. OMLT and
gurobi-machinelearning are optional: a tool that is not installed is reported as such.
"""

from __future__ import annotations

import argparse
import inspect
import io
import logging
import os
import statistics
import subprocess
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "surrogate"
sys.path.insert(0, str(EXAMPLE))
warnings.filterwarnings("ignore")

from design import HI, LO, SPEC
from train import load_data, train_pipeline, train_torch

import nnlang

# ---------------------------------------------------------------- the three tools
# Each *_user function is what a user writes for the design problem: build the model,
# solve it, return (build seconds, solve seconds, optimum, design). Their lines are
# counted as the "lines of user code" (without blank lines, comments and timing).


def nnlang_user(module):
    t0 = time.perf_counter()
    net = nnlang.Network.from_torch(module, (8,))
    m = nnlang.compile(SPEC, networks={"heat": net}, threads=1)
    t1 = time.perf_counter()
    r = m.solve()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, r.objective, r.values["x"]


def omlt_user(module):
    import onnx
    import pyomo.environ as pyo
    import torch
    from omlt import OmltBlock
    from omlt.io import load_onnx_neural_network
    from omlt.neuralnet import FullSpaceNNFormulation

    t0 = time.perf_counter()
    buf = io.BytesIO()
    torch.onnx.export(module, (torch.zeros(1, 8),), buf, dynamo=False)
    bounds = {(0, i): (float(LO[i]), float(HI[i])) for i in range(8)}
    net = load_onnx_neural_network(onnx.load_from_string(buf.getvalue()), input_bounds=bounds)
    m = pyo.ConcreteModel()
    m.nn = OmltBlock()
    m.nn.build_formulation(FullSpaceNNFormulation(net))
    x = m.nn.inputs
    m.glazing = pyo.Var(within=pyo.Integers, bounds=(1, 5))
    m.site = pyo.Constraint(expr=x[0, 5] == 4)
    m.envelope = pyo.Constraint(expr=x[0, 1] == x[0, 2] + 2 * x[0, 3])
    m.integer = pyo.Constraint(expr=x[0, 7] == m.glazing)
    m.obj = pyo.Objective(expr=m.nn.outputs[0, 0], sense=pyo.minimize)
    solver = pyo.SolverFactory("appsi_highs")
    solver.config.load_solution = True
    solver.highs_options = {"threads": 1}
    t1 = time.perf_counter()
    solver.solve(m)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, pyo.value(m.obj), np.array([pyo.value(x[0, i]) for i in range(8)])


def gurobi_ml_user(module):
    import gurobipy as gp
    from gurobi_ml import add_predictor_constr

    t0 = time.perf_counter()
    m = gp.Model()
    m.Params.OutputFlag = 0
    m.Params.Threads = 1
    x = m.addMVar((1, 8), lb=LO, ub=HI)
    y = m.addMVar((1, 1), lb=-gp.GRB.INFINITY)
    glazing = m.addVar(lb=1, ub=5, vtype=gp.GRB.INTEGER)
    add_predictor_constr(m, module, x, y)
    m.addConstr(x[0, 5] == 4)
    m.addConstr(x[0, 1] == x[0, 2] + 2 * x[0, 3])
    m.addConstr(x[0, 7] == glazing)
    m.setObjective(y[0, 0].sum(), gp.GRB.MINIMIZE)
    t1 = time.perf_counter()
    m.optimize()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, m.ObjVal, x.X.ravel()


def nnlang_pipeline_user(pipe):
    t0 = time.perf_counter()
    m = nnlang.compile(SPEC, networks={"heat": nnlang.Network.from_sklearn(pipe)}, threads=1)
    t1 = time.perf_counter()
    r = m.solve()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, r.objective, r.values["x"]


# (network, tool) -> the user's function; OMLT takes the pipeline only with its scaler
# rewritten by hand as an OffsetScaling, which is not "as it comes"
TOOLS = {("torch regressor", "nnlang (HiGHS)"): nnlang_user,
         ("torch regressor", "OMLT + Pyomo + HiGHS"): omlt_user,
         ("torch regressor", "gurobi-machinelearning (Gurobi)"): gurobi_ml_user,
         ("sklearn pipeline", "nnlang (HiGHS)"): nnlang_pipeline_user,
         ("sklearn pipeline", "gurobi-machinelearning (Gurobi)"): gurobi_ml_user}


def user_lines(fn) -> int:
    """Lines of user code: the function body without blank lines, comments, timing and
    the return; for nnlang also the spec's statements."""
    body = inspect.getsource(fn).splitlines()[1:]
    skip = ("#", "t0 =", "t1 =", "t2 =", "return ")
    n = sum(1 for line in body if line.strip() and not line.strip().startswith(skip))
    if fn in (nnlang_user, nnlang_pipeline_user):
        n += sum(1 for line in SPEC.read_text().splitlines()
                 if line.strip() and not line.strip().startswith("#"))
    return n


# ------------------------------------------------------------ what each tool accepts


def kinds(tmp: Path):
    """Small models of each kind, trained or built the ordinary way, and their files."""
    import torch
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPRegressor

    X, y, tr, _ = load_data()
    mlp = MLPRegressor(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(X[tr], y[tr])
    pipe = train_pipeline()
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    soft = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3),
                               torch.nn.Softmax(dim=1))
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                               torch.nn.Linear(8, 1))
    files = {}
    for name, model in [("mlp", mlp), ("pipe", pipe)]:
        files[name] = tmp / f"{name}.onnx"
        files[name].write_bytes(to_onnx(model, X[:1].astype(np.float32)).SerializeToString())
    for name, model, shape in [("seq", seq, (1, 8)), ("soft", soft, (1, 8)),
                               ("conv", conv, (1, 1, 4, 4))]:
        files[name] = tmp / f"{name}.onnx"
        torch.onnx.export(model.eval(), (torch.zeros(shape),), str(files[name]), dynamo=False)
    return {"skl2onnx MLPRegressor file": ("mlp", mlp),
            "sklearn Pipeline(StandardScaler, MLPRegressor)": ("pipe", pipe),
            "torch nn.Sequential(Linear, ReLU, Linear)": ("seq", seq),
            "ONNX classifier ending in Softmax (torch export)": ("soft", soft),
            "Conv2d network (torch)": ("conv", conv)}, files


def try_nnlang(key, obj, files):
    shape = {"conv": (1, 4, 4)}.get(key, (8,))
    if key == "pipe":
        nnlang.Network.from_sklearn(obj)
        return "yes (object; its skl2onnx file too)"
    if key == "soft":
        try:
            nnlang.Network.from_onnx(files[key])
        except nnlang.NnlangError:
            nnlang.Network.from_onnx(files[key], output="logits")
            return "at the logits, with output=\"logits\" (refused without it, naming it)"
    if key in ("seq", "conv"):
        nnlang.Network.from_torch(obj, shape)
        return "yes (object)"
    nnlang.Network.from_onnx(files[key])
    return "yes"


def try_omlt(key, obj, files):
    import onnx
    import pyomo.environ as pyo
    from omlt import OmltBlock
    from omlt.io import load_onnx_neural_network
    from omlt.neuralnet import FullSpaceNNFormulation

    model = onnx.load(str(files[key]))
    inp = model.graph.input[0].type.tensor_type.shape.dim
    dims = [max(d.dim_value, 1) for d in inp]
    bounds = {idx: (0.0, 1.0) for idx in np.ndindex(*dims)}
    net = load_onnx_neural_network(model, input_bounds=bounds)
    m = pyo.ConcreteModel()
    m.nn = OmltBlock()
    m.nn.build_formulation(FullSpaceNNFormulation(net))
    how = "via its ONNX file (no torch reader)" if key in ("seq", "conv", "soft") else \
        "via its skl2onnx file (no sklearn reader)" if key == "pipe" else "yes"
    return how if how != "yes" else "yes"


def try_gurobi_ml(key, obj, files):
    import gurobipy as gp
    from gurobi_ml import add_predictor_constr

    m = gp.Model()
    m.Params.OutputFlag = 0
    shape = (1, 1, 4, 4) if key == "conv" else (1, 8)
    x = m.addMVar(shape, lb=0, ub=1)
    if key == "mlp":
        import onnx

        add_predictor_constr(m, onnx.load(str(files[key])), x)
        return "yes (its ONNX file)"
    add_predictor_constr(m, obj, x)
    return "yes (object)"


TRIES = {"nnlang": try_nnlang, "OMLT": try_omlt, "gurobi-machinelearning": try_gurobi_ml}


def short(exc: Exception) -> str:
    msg = " ".join(str(exc).split())
    return f"no: {type(exc).__name__}: {msg[:110]}" + ("..." if len(msg) > 110 else "")


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool (median shown)")
    ap.add_argument("--out", type=Path, help="also write the tables to this Markdown file")
    args = ap.parse_args()
    import tempfile

    import torch

    torch.set_num_threads(1)
    module = train_torch()
    pipe = train_pipeline()
    logging.getLogger("pyomo").setLevel(logging.ERROR)
    lines = [(f"machine: {os.cpu_count()} cores; load before: {os.getloadavg()[0]:.2f}; "
              f"python {sys.version.split()[0]}")]
    versions = []
    for pkg in ("highspy", "pyomo", "omlt", "gurobipy", "gurobi-machinelearning", "torch",
                "scikit-learn", "skl2onnx"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    lines.append("versions: " + ", ".join(versions) + f", nnlang {nnlang.__version__}")
    lines += ["", ("| network | tool | build (s) | solve (s) | optimum | the library's own "
                   "prediction there | lines of user code |"), "|---|---|---:|---:|---:|---:|---:|"]
    models = {"torch regressor": module, "sklearn pipeline": pipe}
    optima: dict[str, list[float]] = {}
    for (net, name), fn in TOOLS.items():
        model = models[net]
        try:
            fn(model)  # a warm-up: imports and first-call costs are not the tool's
            runs = [fn(model) for _ in range(args.repeat)]
        except Exception as exc:  # noqa: BLE001 - a tool that fails is reported, not fatal
            lines.append(f"| {net} | {name} | - | - | {short(exc)} | - | {user_lines(fn)} |")
            continue
        build = statistics.median(r[0] for r in runs)
        solve = statistics.median(r[1] for r in runs)
        value, x = runs[0][2], runs[0][3]
        with torch.no_grad():
            own = (module(torch.tensor(x[None], dtype=torch.float32)).item()
                   if net == "torch regressor" else float(pipe.predict(x[None])[0]))
        optima.setdefault(net, []).append(value)
        lines.append(f"| {net} | {name} | {build:.3f} | {solve:.3f} | {value:.6f} | "
                     f"{own:.6f} | {user_lines(fn)} |")
    for net, values in optima.items():
        spread = max(values) - min(values)
        ok = "ok" if spread <= 1e-4 * max(1.0, abs(values[0])) else "DIFFER"
        lines.append(f"\n{net}: the optima agree within {spread:.1e} ({ok})")
    with tempfile.TemporaryDirectory() as tmp:
        models, files = kinds(Path(tmp))
        lines += ["", "| model, as it comes | " + " | ".join(TRIES) + " |",
                  "|---|" + "---|" * len(TRIES)]
        for kind, (key, obj) in models.items():
            cells = []
            for attempt in TRIES.values():
                try:
                    cells.append(attempt(key, obj, files))
                except Exception as exc:  # noqa: BLE001 - the table records what failed
                    cells.append(short(exc))
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    lines.append(f"\nload after: {load}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
