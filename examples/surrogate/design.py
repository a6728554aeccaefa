"""The building design of docs/surrogate.md three ways: the spec, the spec over Python
objects (no files), and nnlang inside the user's own CVXPY model with an extra cost.

    python examples/surrogate/design.py

Each answer is checked with the library's own prediction (scikit-learn's ``predict``,
PyTorch's forward pass)."""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import torch
from train import FEATURES, train_pipeline, train_torch

import nnlang

HERE = Path(__file__).resolve().parent
SPEC = HERE / "design.nnq"
LO = np.array([0.76, 514.5, 294.0, 110.25, 7.0, 2, 0.10, 1])
HI = np.array([0.98, 661.5, 416.5, 147.00, 7.0, 5, 0.40, 5])


def show(title: str, x: np.ndarray, predicted: float, checked: float) -> None:
    print(f"{title}: predicted heating load {predicted:.6f} (the library's own "
          f"prediction {checked:.6f})")
    print("   " + ", ".join(f"{n} {v:.4g}" for n, v in zip(FEATURES, x)))


def main() -> None:
    torch.set_num_threads(1)
    pipe = train_pipeline()  # the same seeded pipeline train.py exported
    module = train_torch()

    # 1. the spec, over the skl2onnx file
    r = nnlang.compile(SPEC).solve()
    x = r.values["x"]
    show("spec (ONNX file)", x, r.objective, pipe.predict(x[None])[0])

    # 2. the same spec over Python objects: no file is read
    for name, net, predict in [
            ("spec (sklearn object)", nnlang.Network.from_sklearn(pipe),
             lambda x: pipe.predict(x[None])[0]),
            ("spec (torch module)", nnlang.Network.from_torch(module, (8,)),
             lambda x: module(torch.tensor(x[None], dtype=torch.float32)).item())]:
        r = nnlang.compile(SPEC, networks={"heat": net}).solve()
        with torch.no_grad():
            show(name, r.values["x"], r.objective, predict(r.values["x"]))

    # 3. inside the user's own CVXPY model, with an extra cost: walls cost 0.02 per m2
    #    in the units of the heating load
    design = cp.Variable(8)
    glazing = cp.Variable(integer=True)
    heat = nnlang.embed(nnlang.Network.from_sklearn(pipe), design, LO, HI)
    cost = heat.output[0] + 0.02 * design[2]
    problem = cp.Problem(cp.Minimize(cost), heat.constraints + [
        design[5] == 4,                                  # fixed by the site
        design[1] == design[2] + 2 * design[3],          # surface = walls + roof + floor
        design[7] == glazing,                            # an integer distribution
    ])
    problem.solve(solver="HIGHS")
    x = design.value
    show(f"CVXPY model, cost {problem.value:.4f}", x, float(heat.output.value[0]),
         pipe.predict(x[None])[0])


if __name__ == "__main__":
    main()
