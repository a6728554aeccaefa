"""The on-disk bounds cache: hits, misses, and corrupt entries."""

from __future__ import annotations

import numpy as np
import pytest

from nnlang.bounds.cache import cache_dir, cache_key, cached
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.testing import random_network


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLANG_CACHE_DIR", str(tmp_path / "bounds"))
    return tmp_path / "bounds"


def _counting(net, lo, hi, calls):
    def compute():
        calls.append(1)
        return symbolic_bounds(net, lo, hi)
    return compute


def test_hit_after_miss(cache):
    net = random_network([3, 5, 2], seed=0)
    lo, hi = -np.ones(3), np.ones(3)
    calls: list = []
    first = cached("symbolic", {}, net, lo, hi, _counting(net, lo, hi, calls))
    second = cached("symbolic", {}, net, lo, hi, _counting(net, lo, hi, calls))
    assert len(calls) == 1 and cache_dir() == cache
    assert second.info["cached"] and second.info["method"] == "symbolic"
    for (L, U), (L2, U2) in zip(first, second):
        np.testing.assert_array_equal(L, L2)
        np.testing.assert_array_equal(U, U2)
        assert L2.dtype == np.float64


def test_key_depends_on_everything():
    net = random_network([3, 5, 2], seed=0)
    other = random_network([3, 5, 2], seed=1)
    lo, hi = -np.ones(3), np.ones(3)
    key = cache_key("milp", {"time_limit": 1.0}, net, lo, hi)
    assert key == cache_key("milp", {"time_limit": 1.0}, net, lo.copy(), hi.copy())
    assert key != cache_key("milp", {"time_limit": 2.0}, net, lo, hi)
    assert key != cache_key("lp", {"time_limit": 1.0}, net, lo, hi)
    assert key != cache_key("milp", {"time_limit": 1.0}, other, lo, hi)
    assert key != cache_key("milp", {"time_limit": 1.0}, net, lo, hi * 0.5)


def test_corrupt_entry_is_recomputed(cache):
    net = random_network([3, 5, 2], seed=0)
    lo, hi = -np.ones(3), np.ones(3)
    calls: list = []
    cached("symbolic", {}, net, lo, hi, _counting(net, lo, hi, calls))
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"not a zip file")
    again = cached("symbolic", {}, net, lo, hi, _counting(net, lo, hi, calls))
    assert len(calls) == 2 and not again.info.get("cached")
    third = cached("symbolic", {}, net, lo, hi, _counting(net, lo, hi, calls))
    assert len(calls) == 2 and third.info["cached"]  # the entry was rewritten


def test_unwritable_cache_still_computes(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("NNLANG_CACHE_DIR", str(blocker / "sub"))
    net = random_network([2, 3, 1], seed=0)
    lo, hi = np.zeros(2), np.ones(2)
    result = cached("symbolic", {}, net, lo, hi, lambda: symbolic_bounds(net, lo, hi))
    assert len(result) == 2
