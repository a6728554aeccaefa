"""Train the two surrogate models of docs/surrogate.md on the UCI energy-efficiency data
(Tsanas and Xifara 2012): heating load from the eight building parameters.

    python examples/surrogate/train.py      # writes examples/surrogate/models/

- a scikit-learn Pipeline(StandardScaler, MLPRegressor(16, 16)), exported by skl2onnx
  with its default options: models/heating_pipeline.onnx;
- a PyTorch nn.Sequential(Linear, ReLU, Linear, ReLU, Linear) regressor, with the
  input standardization folded into its first Linear after training, exported by
  torch.onnx.export: models/heating_torch.onnx (and its state_dict, heating_torch.pt).

Seeded: the same files on every run on one machine (float rounding may differ across
machines and library versions). ``train_pipeline()`` and ``train_torch()`` return the
models as Python objects for design.py.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# the project's shared folder sits beside the repository (a git worktree of it may sit
# one folder deeper); NNLANG_SHARED names it explicitly
SHARED = next((p for p in [Path(os.environ.get("NNLANG_SHARED", REPO.parent / "shared")),
                           REPO.parent.parent / "shared"] if p.is_dir()), REPO.parent / "shared")
DATA = SHARED / "data" / "uci-energy-efficiency" / "ENB2012_data.csv"
FEATURES = ["compactness", "surface_area", "wall_area", "roof_area", "height",
            "orientation", "glazing_area", "glazing_distribution"]
SEED = 0


def load_data():
    """(X, y, train index, test index): features X1..X8, heating load Y1, an 80/20 split."""
    d = np.genfromtxt(DATA, delimiter=",", skip_header=1)
    X, y = d[:, :8], d[:, 8]
    order = np.random.default_rng(SEED).permutation(len(y))
    cut = int(0.8 * len(y))
    return X, y, order[:cut], order[cut:]


def train_pipeline():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, tr, _ = load_data()
    model = make_pipeline(StandardScaler(),
                          MLPRegressor(hidden_layer_sizes=(16, 16), max_iter=3000,
                                       learning_rate_init=3e-3, random_state=SEED))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[tr], y[tr])
    return model


def train_torch(steps: int = 3000):
    import torch

    torch.manual_seed(SEED)
    X, y, tr, _ = load_data()
    mean, std = X[tr].mean(axis=0), X[tr].std(axis=0)
    Xt = torch.tensor((X[tr] - mean) / std, dtype=torch.float32)
    yt = torch.tensor(y[tr, None], dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((net(Xt) - yt) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():  # (x - mean) / std folded into the first layer
        first = net[0]
        w = first.weight / torch.tensor(std, dtype=torch.float32)
        first.bias -= w @ torch.tensor(mean, dtype=torch.float32)
        first.weight.copy_(w)
    return net.eval()


def rmse(pred, y):
    return float(np.sqrt(np.mean((np.ravel(pred) - y) ** 2)))


def main() -> None:
    import torch
    from skl2onnx import to_onnx

    torch.set_num_threads(1)
    X, y, _, te = load_data()
    out = HERE / "models"
    out.mkdir(exist_ok=True)
    pipe = train_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = to_onnx(pipe, X[:1].astype(np.float32))
    (out / "heating_pipeline.onnx").write_bytes(onx.SerializeToString())
    net = train_torch()
    torch.save(net.state_dict(), out / "heating_torch.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 8),), str(out / "heating_torch.onnx"),
                          dynamo=False, input_names=["x"], output_names=["heating_load"])
    with torch.no_grad():
        torch_pred = net(torch.tensor(X[te], dtype=torch.float32)).numpy()
    print(f"test RMSE of the heating load (kWh/m2): pipeline {rmse(pipe.predict(X[te]), y[te]):.3f}"
          f", torch {rmse(torch_pred, y[te]):.3f} (data range {y.min()}..{y.max()})")


if __name__ == "__main__":
    main()
