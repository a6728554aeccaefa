"""Regression check on the committed MNIST network over an eps = 0.05 box."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnlang.bounds.interval import interval_bounds
from nnlang.bounds.lp import lp_bounds
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.networks.npz import load_npz

ROOT = Path(__file__).resolve().parents[2] / "examples"


def _report(name, network, bounds):
    parts = []
    for layer, (L, U) in zip(network.layers, bounds):
        stable = int(np.sum((L >= 0) | (U <= 0))) if layer.activation == "relu" else "-"
        parts.append(f"{stable}/{L.size} stable, width {np.mean(U - L):.3f}")
    print(f"{name:9s} " + " | ".join(parts))


def test_mnist_eps_box_bounds():
    net = load_npz(ROOT / "models" / "mnist_784_32_16_10.npz")
    image = np.load(ROOT / "data" / "mnist_samples.npz")["images"][0].ravel()
    lo, hi = np.clip(image - 0.05, 0, 1), np.clip(image + 0.05, 0, 1)
    box = interval_bounds(net, lo, hi)
    sym = symbolic_bounds(net, lo, hi)
    lp = lp_bounds(net, lo, hi)
    for name, bounds in (("interval", box), ("symbolic", sym), ("lp", lp)):
        _report(name, net, bounds)
    a = image
    for layer, (iL, iU), (sL, sU), (L, U) in zip(net.layers, box, sym, lp):
        pre = layer.W @ a + layer.b
        a = np.maximum(pre, 0) if layer.activation == "relu" else pre
        assert np.all(sL >= iL - 1e-9) and np.all(sU <= iU + 1e-9)
        assert np.all(L >= sL - 1e-7) and np.all(U <= sU + 1e-7)
        assert np.all(L <= pre) and np.all(pre <= U)
    # symbolic is much tighter than interval beyond the first layer
    assert np.mean(sym[1][1] - sym[1][0]) < 0.5 * np.mean(box[1][1] - box[1][0])
    assert np.mean(sym[2][1] - sym[2][0]) < 0.5 * np.mean(box[2][1] - box[2][0])
