"""Train the two networks of real size of docs/benchmarks.md ("Attack-seeded
incumbents"): a 784-64-32-10 MLP and a small CNN (Conv 1 -> 4 maps, 3x3, stride 2,
ReLU, Linear 676 -> 10), both on logits, with PyTorch.

Run from the repository root (about a minute on one core):

    python examples/real_size/train.py --shared ../shared

Data: the 5,000 MNIST training images of ``shared/data/mnist/mnist_5k.csv.gz``
(pixels / 255 in [0, 1]); the test accuracy is on the first 1,000 MNIST test images.
Seeded (``torch.manual_seed``, deterministic algorithms, one thread), so reruns give
the same weights. Writes ``mnist_mlp_64_32.onnx`` and ``mnist_cnn4.onnx`` next to
this script, each taking a flat 784-vector (the CNN reshapes it to 1x28x28 itself).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent


class Image(nn.Module):
    """A flat 784-vector as one 1x28x28 image."""

    def forward(self, x):
        return x.reshape(-1, 1, 28, 28)


def networks() -> dict[str, nn.Module]:
    mlp = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                        nn.Linear(32, 10))
    cnn = nn.Sequential(Image(), nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 13 * 13, 10))
    return {"mnist_mlp_64_32": mlp, "mnist_cnn4": cnn}


def load(shared: Path):
    with gzip.open(shared / "data" / "mnist" / "mnist_5k.csv.gz") as f:
        rows = np.loadtxt(f, delimiter=",")
    X, y = rows[:, :784] / 255.0, rows[:, 784].astype(int)
    with gzip.open(shared / "data" / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        Xt = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:1000] / 255.0
    with gzip.open(shared / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        yt = np.frombuffer(f.read(), np.uint8, offset=8)[:1000].astype(int)
    return X, y, Xt, yt


def train(net: nn.Module, X, y, epochs: int, seed: int) -> None:
    torch.manual_seed(seed)
    for p in net.parameters():  # re-initialize under the seed
        if p.dim() > 1:
            nn.init.kaiming_uniform_(p, a=5 ** 0.5)
        else:
            nn.init.zeros_(p)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=g)
        for k in range(0, len(Xt), 64):
            idx = order[k:k + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    X, y, Xt, yt = load(args.shared)
    for name, net in networks().items():
        train(net, X, y, args.epochs, args.seed)
        net.eval()
        with torch.no_grad():
            acc = (net(torch.tensor(Xt, dtype=torch.float32)).argmax(1).numpy() == yt).mean()
        path = HERE / f"{name}.onnx"
        torch.onnx.export(net, (torch.zeros(1, 784),), str(path), dynamo=False,
                          input_names=["input"], output_names=["logits"])
        print(f"{path.name}: test accuracy {acc:.3f} on the first 1000 test images")


if __name__ == "__main__":
    main()
