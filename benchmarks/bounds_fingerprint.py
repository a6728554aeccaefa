"""A fingerprint of the bound methods' results, to compare two checkouts bit for bit.

    python benchmarks/bounds_fingerprint.py                        # this checkout
    PYTHONPATH=../old python benchmarks/bounds_fingerprint.py      # another one

Symbolic bounds on 60 random networks and boxes (no ball, and L1, L-infinity, L2
and L0 balls around the box's centre) and ``lp`` bounds on 15 networks, hashed with
sha256: equal hashes mean the same bounds to the last bit, so the same MILPs.
"""

from __future__ import annotations

import hashlib

import numpy as np

from nnlang.bounds.lp import lp_bounds
from nnlang.bounds.region import Ball
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.testing import random_network


def symbolic_hash() -> str:
    h = hashlib.sha256()
    for seed in range(60):
        rng = np.random.default_rng(seed)
        sizes = ([int(rng.integers(2, 30))]
                 + [int(rng.integers(2, 40)) for _ in range(int(rng.integers(1, 4)))]
                 + [int(rng.integers(2, 10))])
        net = random_network(sizes, seed=seed)
        lo = rng.uniform(-1, 0, sizes[0])
        hi = lo + rng.uniform(0, 2, sizes[0])
        mid = (lo + hi) / 2
        for ball in (None, Ball("norm1", mid, 0.3), Ball("norminf", mid, 0.2),
                     Ball("norm2", mid, 0.5), Ball("norm0", mid, 2.0)):
            for L, U in symbolic_bounds(net, lo, hi, ball):
                h.update(np.ascontiguousarray(L).tobytes())
                h.update(np.ascontiguousarray(U).tobytes())
    return h.hexdigest()


def lp_hash() -> str:
    h = hashlib.sha256()
    for seed in range(15):
        rng = np.random.default_rng(seed)
        net = random_network([6, 12, 10, 4], seed=seed)
        lo = rng.uniform(-1, 0, 6)
        for L, U in lp_bounds(net, lo, lo + 1):
            h.update(L.tobytes())
            h.update(U.tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    print("symbolic", symbolic_hash())
    print("lp      ", lp_hash())
