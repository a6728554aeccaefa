"""A small network, a spec that solves in milliseconds, and the VNN-LIB/ONNX pair
the bad-input tests start from."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlang.networks.onnx.write import save_onnx
from nnlang.testing import random_network, write_network

SPEC = 'network net = load("net.npz")\nvar x[4] in [0, 1]\ny = net(x)\nmaximize y[0]\n'


def vnnlib(lo: float = -1.0, hi: float = 1.0, output: str = "(>= Y_0 100)") -> str:
    lines = [f"(declare-const X_{i} Real)" for i in range(4)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(3)]
    lines += [f"(assert (>= X_{i} {lo}))\n(assert (<= X_{i} {hi}))" for i in range(4)]
    return "\n".join(lines) + f"\n(assert {output})\n"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    net = random_network([4, 5, 3], seed=0)
    write_network(net, tmp_path / "net.npz")
    save_onnx(net, tmp_path / "net.onnx")
    (tmp_path / "s.nnq").write_text(SPEC)
    (tmp_path / "p.vnnlib").write_text(vnnlib())
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return tmp_path
