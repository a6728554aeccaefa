"""Train the example networks and write the sample data (numpy only, seeded).

Run from the repository root:

    python examples/models/train.py --shared ../shared

``--shared`` is the shared folder that holds ``data/mnist/`` and
``data/wisconsin-breast-cancer/`` (default: ``../shared`` relative to the
repository root). The script writes

- ``examples/models/breast_9_3_3_2.npz``   9-3-3-2, ReLU on every layer
- ``examples/models/breast_9_10_2.npz``    9-10-2, ReLU on every layer
- ``examples/models/mnist_784_32_16_10.npz``  784-32-16-10, linear output
- ``examples/models/mnist_784_8_8_8_10.npz``  784-8-8-8-10, linear output
  (Zhu's (2021) DNN1)
- ``examples/models/mnist_dnn{2,3,4,5}.npz``  Zhu's (2021) DNN2-DNN5 (Table 1):
  hidden layers 8x6, 20-10-8-8, 20-10-8-8-8, 20-20-10-10-10; linear output
- ``examples/data/mnist_samples.npz``       the first 100 MNIST test images
- ``examples/data/breast_cancer.csv``       the cleaned Wisconsin data
- ``examples/data/breast_samples.npz``      the two inputs of the WBO master's thesis fig. 4.2

and prints a summary (``--summary FILE`` also writes it as JSON). Training is
deterministic: the same arrays on every run (and, because the .npz archives
are rewritten with a fixed timestamp, the same bytes). BLAS runs on one
thread so that the floating-point summation order does not depend on the
number of cores.
"""

from __future__ import annotations

import os

# One BLAS thread: the summation order (hence the trained weights) must not
# depend on the machine's core count. Must be set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import csv
import gzip
import io
import itertools
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from nnlang.networks.network import Dense, Network
from nnlang.networks.npz import load_npz, save_npz

MODELS = REPO / "examples" / "models"
DATA = REPO / "examples" / "data"

BREAST_COLUMNS = [
    "clump", "size_uniformity", "shape_uniformity", "adhesion", "epithelial_size",
    "bare_nuclei", "chromatin", "nucleoli", "mitoses",
]
# The WBO master's thesis, fig. 4.2: one benign and one malignant input.
BREAST_SAMPLES = np.array([[2, 1, 1, 1, 2, 1, 3, 1, 1],
                           [6, 10, 10, 10, 8, 10, 7, 10, 7]], dtype=np.float64)
BREAST_SAMPLE_LABELS = np.array([0, 1], dtype=np.int64)
BREAST_SPLIT_SEED = 0      # the 70/30 train/test shuffle
BREAST_TRAIN_FRACTION = 0.7
BREAST_LR = 0.003          # Adam step size (0.01 kills more ReLUs)

# Zhu (2021), Table 1: DNN2-DNN5 (DNN1 = mnist_784_8_8_8_10). Trained after the four
# models above, each with its own seeded generator, so adding them changed none of
# the earlier files. 50 epochs as in Zhu (2021); accepted like the other MNIST nets
# (test accuracy >= min_acc, no dead hidden unit). Deep 8-wide layers die often, so
# DNN2 gets a lower accuracy floor and more seeds.
# (file stem, hidden layers, epochs, min test accuracy, seeds)
SEED003_DNNS = (
    ("mnist_dnn2", [8, 8, 8, 8, 8, 8], 50, 0.80, range(30)),
    ("mnist_dnn3", [20, 10, 8, 8], 50, 0.85, range(30)),
    ("mnist_dnn4", [20, 10, 8, 8, 8], 50, 0.85, range(30)),
    ("mnist_dnn5", [20, 20, 10, 10, 10], 50, 0.85, range(30)),
)


# ---------------------------------------------------------------------------
# data


def read_breast(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 683 complete rows of biopsy.csv: (X int (683, 9) in 1..10, y 0/1)."""
    path = shared / "data" / "wisconsin-breast-cancer" / "biopsy.csv"
    rows, labels = [], []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        assert header[2:11] == [f"V{i}" for i in range(1, 10)] and header[11] == "class", header
        for rec in reader:
            attrs = rec[2:11]
            if "NA" in attrs:
                continue
            rows.append([int(v) for v in attrs])
            labels.append({"benign": 0, "malignant": 1}[rec[11]])
    X = np.array(rows, dtype=np.int64)
    y = np.array(labels, dtype=np.int64)
    assert X.shape == (683, 9) and X.min() >= 1 and X.max() <= 10, X.shape
    return X, y


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_mnist(shared: Path):
    folder = shared / "data" / "mnist"
    with gzip.open(folder / "mnist_5k.csv.gz", "rt") as fh:
        train = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    assert train.shape == (5000, 785), train.shape
    x_train = train[:, :784].astype(np.float64) / 255.0
    y_train = train[:, 784]
    test_images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    test_labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    assert test_images.shape == (10000, 28, 28) and test_labels.shape == (10000,)
    x_test = test_images.reshape(10000, 784).astype(np.float64) / 255.0
    return x_train, y_train, x_test, test_labels


# ---------------------------------------------------------------------------
# a small numpy MLP trainer: He init, softmax cross-entropy, Adam


def he_init(sizes: list[int], rng: np.random.Generator) -> list[list[np.ndarray]]:
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        W = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        params.append([W, np.zeros(n_out)])
    return params


def forward(params, acts, X):
    values = [X]
    a = X
    for (W, b), act in zip(params, acts):
        a = a @ W.T + b
        if act == "relu":
            a = np.maximum(a, 0.0)
        values.append(a)
    return values


def loss_and_grads(params, acts, X, y, weight_decay):
    """Mean softmax cross-entropy of the last layer (post-activation)."""
    values = forward(params, acts, X)
    z = values[-1]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-300))
    delta = p
    delta[np.arange(n), y] -= 1.0
    delta /= n
    grads = [None] * len(params)
    for k in range(len(params) - 1, -1, -1):
        if acts[k] == "relu":
            delta = delta * (values[k + 1] > 0)
        W = params[k][0]
        grads[k] = [delta.T @ values[k] + weight_decay * W, delta.sum(axis=0)]
        if k:
            delta = delta @ W
    return loss, grads


def train_mlp(sizes, acts, X, y, *, seed, epochs, batch, lr, weight_decay=0.0):
    """Mini-batch Adam; returns the parameters [[W, b], ...]."""
    rng = np.random.default_rng(seed)
    params = he_init(sizes, rng)
    m = [[np.zeros_like(p) for p in layer] for layer in params]
    v = [[np.zeros_like(p) for p in layer] for layer in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    t = 0
    n = X.shape[0]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            _, grads = loss_and_grads(params, acts, X[idx], y[idx], weight_decay)
            t += 1
            for k, layer in enumerate(params):
                for j, g in enumerate(grads[k]):
                    m[k][j] = beta1 * m[k][j] + (1 - beta1) * g
                    v[k][j] = beta2 * v[k][j] + (1 - beta2) * g * g
                    mhat = m[k][j] / (1 - beta1 ** t)
                    vhat = v[k][j] / (1 - beta2 ** t)
                    layer[j] = layer[j] - lr * mhat / (np.sqrt(vhat) + eps)
    return params


def to_network(params, acts, name, input_shape=()) -> Network:
    layers = tuple(Dense(W.copy(), b.copy(), act) for (W, b), act in zip(params, acts))
    return Network(layers, name=name, input_shape=tuple(input_shape))


def accuracy(net: Network, X, y) -> float:
    """Top-1 accuracy (argmax; a tie goes to the lower index). ``Network.forward``
    takes inputs of shape (..., *input_shape), so flat rows are reshaped."""
    if net.input_shape:
        X = X.reshape((X.shape[0],) + net.input_shape)
    return float(np.mean(np.argmax(net.predict(X), axis=1) == y))


# ---------------------------------------------------------------------------
# deterministic files


def normalize_zip(path: Path) -> None:
    """Rewrite a zip (.npz) with a fixed timestamp so reruns give the same bytes."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())


def write_model(net: Network, path: Path) -> Network:
    save_npz(net, path)
    normalize_zip(path)
    back = load_npz(path)
    for a, b in zip(net.layers, back.layers):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)
        assert a.activation == b.activation
    assert back.input_shape == net.input_shape
    return back


def write_arrays(path: Path, **arrays) -> None:
    np.savez_compressed(path, **arrays)
    normalize_zip(path)


# ---------------------------------------------------------------------------
# the models


def train_breast(name, hidden, X, y, train_idx, test_idx, *, seeds, epochs, min_acc, log):
    """Train a breast-cancer net with ReLU on every layer, trying seeds in order.

    The network sees the raw attributes in [1, 10]; training uses
    u = (x - 1) / 9 in [0, 1], folded into the first layer afterwards:
    W0 u + b0 = (W0 / 9) x + (b0 - W0 @ 1 / 9).
    A seed is accepted when the test accuracy is >= min_acc, no unit died
    (every hidden and output unit is positive on some training row), both
    output units are positive on some test row, the network predicts both
    classes on the test rows, and it classifies the two fig. 4.2 samples
    correctly with a strict margin. The first accepted seed is kept.
    """
    sizes = [9] + hidden + [2]
    acts = ["relu"] * (len(sizes) - 1)
    U = (X.astype(np.float64) - 1.0) / 9.0
    tried = []
    for seed in seeds:
        t0 = time.perf_counter()
        params = train_mlp(sizes, acts, U[train_idx], y[train_idx], seed=seed,
                           epochs=epochs, batch=32, lr=BREAST_LR)
        seconds = time.perf_counter() - t0
        W0, b0 = params[0]
        params[0] = [W0 / 9.0, b0 - W0.sum(axis=1) / 9.0]
        net = to_network(params, acts, name)
        Xf = X.astype(np.float64)
        out = net.predict(Xf[test_idx])
        test_acc = accuracy(net, Xf[test_idx], y[test_idx])
        train_acc = accuracy(net, Xf[train_idx], y[train_idx])
        alive = [bool(np.any(out[:, j] > 0)) for j in range(2)]
        dead = [int(np.sum(~np.any(v > 0, axis=0))) for v in net.forward(Xf[train_idx])[1:]]
        pred = np.argmax(out, axis=1)
        ties = int(np.sum(out[:, 0] == out[:, 1]))
        s_out = net.predict(BREAST_SAMPLES)
        samples_ok = bool(np.all(
            s_out[np.arange(2), BREAST_SAMPLE_LABELS] > s_out[np.arange(2), 1 - BREAST_SAMPLE_LABELS]
        ))
        ok = (test_acc >= min_acc and all(alive) and not any(dead)
              and len(set(pred.tolist())) == 2 and samples_ok)
        log(f"  {name} seed {seed}: train acc {train_acc:.4f}, test acc {test_acc:.4f}, "
            f"dead units per layer {dead}, outputs alive on test {alive}, test ties {ties}, samples {s_out.round(3).tolist()} "
            f"-> {'accepted' if ok else 'rejected'} ({seconds:.1f} s)")
        tried.append(seed)
        if ok:
            return net, {"seed": seed, "seeds_tried": tried, "train_accuracy": train_acc,
                         "test_accuracy": test_acc, "test_ties": ties, "seconds": seconds,
                         "sample_outputs": s_out.tolist()}
    raise SystemExit(f"{name}: no seed in {list(seeds)} reached the acceptance criteria")


def train_mnist(name, hidden, data, *, seeds, epochs, lr, weight_decay, min_acc, log):
    """Train an MNIST net (ReLU hidden, linear output), trying seeds in order.

    A seed is accepted when the test accuracy is >= min_acc and no hidden unit
    died (every hidden unit is positive on some training image). The first
    accepted seed is kept.
    """
    x_train, y_train, x_test, y_test = data
    sizes = [784] + hidden + [10]
    acts = ["relu"] * (len(sizes) - 2) + ["linear"]
    tried = []
    for seed in seeds:
        t0 = time.perf_counter()
        params = train_mlp(sizes, acts, x_train, y_train, seed=seed, epochs=epochs,
                           batch=64, lr=lr, weight_decay=weight_decay)
        seconds = time.perf_counter() - t0
        net = to_network(params, acts, name, input_shape=(28, 28))
        train_acc = accuracy(net, x_train, y_train)
        test_acc = accuracy(net, x_test, y_test)
        first100 = accuracy(net, x_test[:100], y_test[:100])
        values = net.forward(x_train.reshape(-1, 28, 28))
        dead = [int(np.sum(~np.any(v > 0, axis=0))) for v in values[1:-1]]
        ok = test_acc >= min_acc and not any(dead)
        log(f"  {name} seed {seed}: train acc {train_acc:.4f}, test acc {test_acc:.4f} "
            f"(first 100: {first100:.2f}), dead hidden units per layer {dead} "
            f"-> {'accepted' if ok else 'rejected'} ({seconds:.1f} s)")
        tried.append(seed)
        if ok:
            return net, {"seed": seed, "seeds_tried": tried, "train_accuracy": train_acc,
                         "test_accuracy": test_acc, "first100_accuracy": first100,
                         "seconds": seconds}
    raise SystemExit(f"{name}: no seed in {list(seeds)} reached the acceptance criteria")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="folder holding data/mnist and data/wisconsin-breast-cancer "
                             "(default: ../shared relative to the repository root)")
    parser.add_argument("--summary", type=Path, default=None,
                        help="also write the summary as JSON to this file")
    args = parser.parse_args(argv)
    shared = args.shared if args.shared.is_absolute() else (Path.cwd() / args.shared)
    MODELS.mkdir(parents=True, exist_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    log = lambda msg: print(msg, flush=True)
    summary: dict[str, dict] = {}

    # --- breast cancer data -------------------------------------------------
    X, y = read_breast(shared)
    log(f"breast cancer: {len(y)} rows ({int(np.sum(y == 0))} benign, {int(np.sum(y == 1))} malignant)")
    with open(DATA / "breast_cancer.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(BREAST_COLUMNS + ["malignant"])
        for row, label in zip(X.tolist(), y.tolist()):
            writer.writerow(row + [label])
    write_arrays(DATA / "breast_samples.npz", inputs=BREAST_SAMPLES, labels=BREAST_SAMPLE_LABELS)
    perm = np.random.default_rng(BREAST_SPLIT_SEED).permutation(len(y))
    n_train = round(BREAST_TRAIN_FRACTION * len(y))
    train_idx, test_idx = np.sort(perm[:n_train]), np.sort(perm[n_train:])
    log(f"  split seed {BREAST_SPLIT_SEED}: {len(train_idx)} train / {len(test_idx)} test rows")

    for name, hidden, epochs in (("breast_9_3_3_2", [3, 3], 200), ("breast_9_10_2", [10], 200)):
        net, info = train_breast(name, hidden, X, y, train_idx, test_idx, seeds=range(20),
                                 epochs=epochs, min_acc=0.94, log=log)
        write_model(net, MODELS / f"{name}.npz")
        summary[name] = dict(file=f"examples/models/{name}.npz", sizes=net.sizes,
                             activations=[layer.activation for layer in net.layers],
                             data=f"Wisconsin breast cancer, {len(train_idx)} train rows "
                                  f"(split seed {BREAST_SPLIT_SEED})",
                             test_size=len(test_idx), epochs=epochs, batch=32, lr=BREAST_LR, **info)

    # --- MNIST ----------------------------------------------------------------
    data = read_mnist(shared)
    x_test, y_test = data[2], data[3]
    write_arrays(DATA / "mnist_samples.npz", images=x_test[:100].copy(),
                 labels=y_test[:100].copy(), indices=np.arange(100, dtype=np.int64))
    log(f"mnist: {len(data[1])} training images, {len(y_test)} test images")
    # Linkola's (2023) and DNN1 first, then Zhu's (2021) DNN2-DNN5 (each its own seeds)
    mnist_models = (("mnist_784_32_16_10", [32, 16], 40, 0.90, range(10)),
                    ("mnist_784_8_8_8_10", [8, 8, 8], 60, 0.85, range(10)), *SEED003_DNNS)
    for name, hidden, epochs, min_acc, seeds in mnist_models:
        net, info = train_mnist(name, hidden, data, seeds=seeds, epochs=epochs, lr=1e-3,
                                weight_decay=1e-4, min_acc=min_acc, log=log)
        write_model(net, MODELS / f"{name}.npz")
        summary[name] = dict(file=f"examples/models/{name}.npz", sizes=net.sizes,
                             activations=[layer.activation for layer in net.layers],
                             data="mnist_5k.csv.gz (5,000 training images)",
                             test_size=len(y_test), epochs=epochs, batch=64, lr=1e-3,
                             weight_decay=1e-4, **info)

    log("\nsummary:")
    log(f"{'model':22s} {'sizes':22s} {'seed':>4s} {'epochs':>6s} {'test acc':>9s} {'seconds':>8s}")
    for name, s in summary.items():
        log(f"{name:22s} {'-'.join(map(str, s['sizes'])):22s} {s['seed']:4d} {s['epochs']:6d} "
            f"{s['test_accuracy']:9.4f} {s['seconds']:8.1f}")
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
