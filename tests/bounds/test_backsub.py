"""The one back-substitution: many boxes at once give each box's own bounds, and every
bound holds for sampled points."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlang.bounds.backsub import backsub, backsub_batch
from nnlang.bounds.symbolic import symbolic_bounds
from nnlang.testing import pre_activations, random_network


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), boxes=st.integers(1, 6), post=st.booleans())
def test_a_batch_gives_each_box_its_own_bounds(seed, boxes, post):
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(2, 6))] + [int(rng.integers(2, 9)) for _ in range(3)]
    net = random_network(sizes, seed=seed, relu_output=post)
    lo = rng.uniform(-1, 0, (boxes, sizes[0]))
    hi = lo + rng.uniform(0, 1, (boxes, sizes[0]))
    pres = [symbolic_bounds(net, lo[b], hi[b]) for b in range(boxes)]
    k = len(net.layers) - 1
    C = rng.normal(size=(3, net.layers[k].n_out))
    pre = [(np.stack([p[j][0] for p in pres]), np.stack([p[j][1] for p in pres]))
           for j in range(len(net.layers))]
    lower, lam = backsub_batch(net, pre, lo, hi, k, C, post=post)
    for b in range(boxes):
        if not post:
            one, _, hs = backsub(net, list(pres[b]), lo[b], hi[b], k, C, None, keep_h=True)
            assert np.allclose(lower[b], one, rtol=1e-12, atol=1e-12)
            assert np.allclose(lam[b], hs[-1], rtol=1e-12, atol=1e-12)
        X = rng.uniform(lo[b], hi[b], size=(200, sizes[0]))
        z = pre_activations(net, X)[k]
        if post and net.layers[k].activation == "relu":
            z = np.maximum(z, 0.0)
        assert np.all(z @ C.T >= lower[b] - 1e-9)
