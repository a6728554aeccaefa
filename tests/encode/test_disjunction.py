"""'or' / 'and' constraints: one binary per branch, exact."""

from __future__ import annotations

import numpy as np
import pytest

import nnlang
from nnlang.testing import random_network, write_network


def _solve(tmp_path, text, **params):
    (tmp_path / "s.nnq").write_text(text)
    return nnlang.compile(tmp_path / "s.nnq", params=params or None).solve()


def test_or_picks_the_best_branch(tmp_path):
    r = _solve(tmp_path, "var x in [0, 1]\nmaximize x\nsubject to\n"
               "    gaps: x <= 0.3 or x >= 0.7 and x <= 0.8\n")
    assert r.status == "optimal" and r.objective == pytest.approx(0.8)
    r = _solve(tmp_path, "var x in [0, 1]\nminimize x\nsubject to\n"
               "    gaps: x >= 0.6 and x <= 0.65 or x >= 0.9\n")
    assert r.objective == pytest.approx(0.6)


def test_or_with_a_constant_true_branch_is_dropped(tmp_path):
    r = _solve(tmp_path, "var x in [0, 1]\nmaximize x\nsubject to\n"
               "    c: x <= 0.3 or 1 <= 2\n")
    assert r.objective == pytest.approx(1.0)


def test_or_over_network_outputs_matches_sampling(tmp_path):
    net = random_network([2, 6, 6, 3], seed=4)
    write_network(net, tmp_path / "n.npz")
    spec = ('network net = load("n.npz")\nvar x[2] in [-1, 1]\ny = net(x)\n'
            "maximize x[0] + x[1]\nsubject to\n"
            "    c: y[1] >= y[0] + 0.5 or y[2] >= y[0] + 0.5\n")
    r = _solve(tmp_path, spec)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 401), np.linspace(-1, 1, 401)), -1)
    pts = grid.reshape(-1, 2)
    out = net.predict(pts)
    ok = (out[:, 1] >= out[:, 0] + 0.5) | (out[:, 2] >= out[:, 0] + 0.5)
    if not ok.any():
        assert r.status == "infeasible"
        return
    best = (pts[ok].sum(axis=1)).max()
    assert r.status == "optimal"
    assert r.objective >= best - 1e-6
    assert r.objective <= best + 2 * 2 / 400 + 1e-6  # within one grid step
    yv = r.networks["y"].output
    assert yv[1] >= yv[0] + 0.5 - 1e-6 or yv[2] >= yv[0] + 0.5 - 1e-6
