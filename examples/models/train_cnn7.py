"""Train Goebbels's (2021) convolutional 49-25-10 network on 7x7 MNIST, and a MaxPool variant.

Run from the repository root:

    python examples/models/train_cnn7.py --shared ../shared

Goebbels (2021) (Goebbels 2021, section 1) downsamples MNIST to 7x7 by taking the mean
of 4x4 regions and uses a convolutional 49-25-10 network: one 3x3 feature map
without offsets (no bias, no padding: 7x7 -> 5x5 = 25 units, ReLU), then a fully
connected layer to the 10 digits. The script trains that network and, since it
has no pooling, a variant that exercises ONNX MaxPool:

- ``examples/models/cnn7_goebbels.onnx``  Conv(1 map, 3x3, no bias) -> Relu ->
  Flatten -> Gemm(25 -> 10): Goebbels's (2021) 49-25-10
- ``examples/models/cnn7_maxpool.onnx``  Conv(3 maps, 3x3, bias) -> Relu ->
  MaxPool(2x2, stride 2, pads [0, 0, 1, 1]: 5x5 -> 3x3, the last row and
  column of windows half in the padding) -> Flatten -> Gemm(27 -> 10)
- ``examples/data/mnist7_samples.npz``  the first 100 MNIST test images at 7x7
  (``images`` (100, 49), ``labels``, ``indices``)

Both networks output logits (linear last layer; training uses softmax
cross-entropy, as Goebbels's (2021) Adam baseline). Training is numpy only: the
convolution as patches times the kernel (im2col), max pooling with its argmax
mask, mini-batch Adam; BLAS on one thread and seeded generators, so reruns give
the same weights. Inputs are ``pixel / 255`` averaged over 4x4 blocks, in
[0, 1], shape [1, 1, 7, 7] (float32 in the ONNX files).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

REPO = Path(__file__).resolve().parents[2]
for _p in (str(REPO), str(Path(__file__).resolve().parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from train import read_mnist, write_arrays

MODELS = REPO / "examples" / "models"
DATA = REPO / "examples" / "data"

# (file stem, feature maps, conv bias, max pooling, epochs, seeds, min test accuracy)
CNNS = (
    ("cnn7_goebbels", 1, False, False, 40, range(10), 0.80),
    ("cnn7_maxpool", 3, True, True, 40, range(10), 0.87),
)
POOL_PADS = (0, 0, 1, 1)  # [top, left, bottom, right], ONNX order


def downsample(x: np.ndarray) -> np.ndarray:
    """(N, 784) images in [0, 1] -> (N, 7, 7): the mean of each 4x4 block."""
    return x.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4))


# ---------------------------------------------------------------------------
# the model: conv (im2col) -> relu -> [maxpool 2x2 / 2] -> dense


def patches(X: np.ndarray) -> np.ndarray:
    """(N, 7, 7) -> (N, 25, 9): the 3x3 patch under each output pixel, row-major."""
    return sliding_window_view(X, (3, 3), axis=(1, 2)).reshape(len(X), 25, 9)


def pool_forward(A: np.ndarray):
    """(N, C, 5, 5) -> (N, C, 3, 3) and the argmax of each window, pads -inf."""
    N, C = A.shape[:2]
    Ap = np.pad(A, ((0, 0), (0, 0), (POOL_PADS[0], POOL_PADS[2]), (POOL_PADS[1], POOL_PADS[3])),
                constant_values=-np.inf)
    win = Ap.reshape(N, C, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, 3, 3, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def pool_backward(dout: np.ndarray, arg: np.ndarray) -> np.ndarray:
    N, C = dout.shape[:2]
    dwin = np.zeros((N, C, 3, 3, 4))
    np.put_along_axis(dwin, arg[..., None], dout[..., None], axis=-1)
    dAp = dwin.reshape(N, C, 3, 3, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(N, C, 6, 6)
    return dAp[:, :, POOL_PADS[0]:6 - POOL_PADS[2], POOL_PADS[1]:6 - POOL_PADS[3]]


def forward(params: dict, X: np.ndarray, pool: bool):
    """Logits for (N, 7, 7) inputs, and what the backward pass needs."""
    P = patches(X)                                            # (N, 25, 9)
    Z = P @ params["K"].T + params["kb"]                      # (N, 25, C)
    Z = Z.transpose(0, 2, 1).reshape(len(X), -1, 5, 5)        # (N, C, 5, 5)
    A = np.maximum(Z, 0.0)
    H, arg = pool_forward(A) if pool else (A, None)
    F = H.reshape(len(X), -1)                                 # ONNX Flatten order (C, H, W)
    return F @ params["W"].T + params["b"], (P, Z, H.shape, arg, F)


def loss_and_grads(params: dict, X, y, pool: bool, weight_decay: float):
    logits, (P, Z, hshape, arg, F) = forward(params, X, pool)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(X)
    loss = -np.mean(np.log(p[np.arange(n), y] + 1e-300))
    d = p
    d[np.arange(n), y] -= 1.0
    d /= n
    grads = {"W": d.T @ F + weight_decay * params["W"], "b": d.sum(axis=0)}
    dH = (d @ params["W"]).reshape(hshape)
    dA = pool_backward(dH, arg) if pool else dH
    dZ = (dA * (Z > 0)).reshape(n, dA.shape[1], 25).transpose(0, 2, 1)  # (N, 25, C)
    grads["K"] = np.einsum("npc,npk->ck", dZ, P) + weight_decay * params["K"]
    grads["kb"] = dZ.sum(axis=(0, 1))
    return loss, grads


def train_cnn(maps: int, bias: bool, pool: bool, X, y, *, seed: int, epochs: int,
              batch: int = 64, lr: float = 3e-3, weight_decay: float = 1e-4) -> dict:
    """Mini-batch Adam from He initialisation; a conv without bias keeps kb = 0."""
    rng = np.random.default_rng(seed)
    n_feat = maps * (9 if pool else 25)
    params = {"K": rng.standard_normal((maps, 9)) * np.sqrt(2.0 / 9),
              "kb": np.zeros(maps),
              "W": rng.standard_normal((10, n_feat)) * np.sqrt(2.0 / n_feat),
              "b": np.zeros(10)}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    beta1, beta2, eps, t = 0.9, 0.999, 1e-8, 0
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            _, grads = loss_and_grads(params, X[idx], y[idx], pool, weight_decay)
            if not bias:
                grads["kb"][:] = 0.0
            t += 1
            for k, g in grads.items():
                m[k] = beta1 * m[k] + (1 - beta1) * g
                v[k] = beta2 * v[k] + (1 - beta2) * g * g
                params[k] = params[k] - lr * (m[k] / (1 - beta1 ** t)) / (
                    np.sqrt(v[k] / (1 - beta2 ** t)) + eps)
    return params


def accuracy(params: dict, X, y, pool: bool) -> float:
    return float(np.mean(np.argmax(forward(params, X, pool)[0], axis=1) == y))


# ---------------------------------------------------------------------------
# ONNX export


def to_onnx(params: dict, name: str, bias: bool, pool: bool):
    """Conv -> Relu -> [MaxPool] -> Flatten -> Gemm, float32, input [1, 1, 7, 7]."""
    from onnx import TensorProto, helper, numpy_helper

    maps = params["K"].shape[0]
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    inits = [numpy_helper.from_array(f32(params["K"].reshape(maps, 1, 3, 3)), "conv_K"),
             numpy_helper.from_array(f32(params["W"]), "fc_W"),
             numpy_helper.from_array(f32(params["b"]), "fc_b")]
    conv_in = ["x", "conv_K"]
    if bias:
        inits.append(numpy_helper.from_array(f32(params["kb"]), "conv_b"))
        conv_in.append("conv_b")
    nodes = [helper.make_node("Conv", conv_in, ["conv"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["conv"], ["relu"], name="relu")]
    last = "relu"
    if pool:
        nodes.append(helper.make_node("MaxPool", ["relu"], ["pool"], name="pool",
                                      kernel_shape=[2, 2], strides=[2, 2],
                                      pads=list(POOL_PADS)))
        last = "pool"
    nodes += [helper.make_node("Flatten", [last], ["flat"], name="flatten"),
              helper.make_node("Gemm", ["flat", "fc_W", "fc_b"], ["logits"], name="fc",
                               transB=1)]
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 7, 7])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="nnlang examples/models/train_cnn7.py")
    model.ir_version = 8
    return model


def check_export(path: Path, params: dict, X: np.ndarray, pool: bool) -> float:
    """Max |difference| of nnlang's import and onnx.reference from the float32 model."""
    import onnx
    from onnx.reference import ReferenceEvaluator

    from nnlang.networks.onnx import load_onnx

    net = load_onnx(path)
    ref = ReferenceEvaluator(onnx.load(str(path)))
    f32 = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    ours = forward(f32, X, pool)[0]
    gap = 0.0
    for x, want in zip(X, ours):
        r = np.asarray(ref.run(None, {"x": x.reshape(1, 1, 7, 7).astype(np.float32)})[0])
        gap = max(gap, float(np.abs(net.predict(x.ravel()) - want).max()),
                  float(np.abs(r.ravel() - want).max()))
    return gap


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="folder holding data/mnist (default: ../shared)")
    args = parser.parse_args(argv)
    import onnx

    x_train, y_train, x_test, y_test = read_mnist(args.shared)
    X, Xt = downsample(x_train), downsample(x_test)
    write_arrays(DATA / "mnist7_samples.npz", images=Xt[:100].reshape(100, 49).copy(),
                 labels=y_test[:100].copy(), indices=np.arange(100, dtype=np.int64))
    print(f"7x7 MNIST: {len(X)} training images, {len(Xt)} test images", flush=True)
    for name, maps, bias, pool, epochs, seeds, min_acc in CNNS:
        for seed in seeds:
            t0 = time.perf_counter()
            params = train_cnn(maps, bias, pool, X, y_train, seed=seed, epochs=epochs)
            seconds = time.perf_counter() - t0
            f32 = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
            train_acc = accuracy(f32, X, y_train, pool)
            test_acc = accuracy(f32, Xt, y_test, pool)
            first100 = accuracy(f32, Xt[:100], y_test[:100], pool)
            conv = np.maximum(forward(f32, X, pool)[1][1], 0).reshape(len(X), maps, 25)
            dead = int(np.sum(~np.any(conv > 0, axis=0)))
            ok = test_acc >= min_acc and dead == 0
            print(f"  {name} seed {seed}: train acc {train_acc:.4f}, test acc {test_acc:.4f} "
                  f"(first 100: {first100:.2f}), dead conv units {dead} "
                  f"-> {'accepted' if ok else 'rejected'} ({seconds:.1f} s)", flush=True)
            if ok:
                break
        else:
            raise SystemExit(f"{name}: no seed in {list(seeds)} was accepted")
        path = MODELS / f"{name}.onnx"
        onnx.save(to_onnx(params, name, bias, pool), str(path))
        gap = check_export(path, params, Xt[:100], pool)
        assert gap < 1e-4, gap
        print(f"  wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes); nnlang import "
              f"and onnx.reference agree with the trainer to {gap:.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
