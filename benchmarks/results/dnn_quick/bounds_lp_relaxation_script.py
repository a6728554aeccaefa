"""LP relaxation of big-M vs partition (see bounds_lp_relaxation.txt).

    python benchmarks/results/dnn_quick/bounds_lp_relaxation_script.py mnist_dnn3 0.02
"""
import pathlib
import sys
import tempfile
import time

REPO = str(pathlib.Path(__file__).resolve().parents[3])
sys.path.insert(0, REPO); sys.path.insert(0, REPO + '/tests/encode')
from test_partition import lp_relaxation

import nnlang
import nnlang.encode.partition as P

net = sys.argv[1]; eps = float(sys.argv[2])
d = pathlib.Path(tempfile.mkdtemp())
spec = f'''network net = load("{REPO}/examples/models/{net}.npz")
param index = 0
param image[784] = data("{REPO}/examples/data/mnist_samples.npz", "images")[index]
param label = data("{REPO}/examples/data/mnist_samples.npz", "labels")[index]
param target = (label + 5) % 10
param lo[784] = image - {eps}
param hi[784] = image + {eps}
var x[784] in [lo, hi]
y = net(x)
maximize y[target] - y[label]
'''
(d/'s.nnq').write_text(spec)
for bounds in ["interval", "lp"]:
  for idx in [0, 1, 2]:
    out = []
    for enc, parts in [("bigm", 0), ("partition", 2), ("partition", 4), ("partition", 16)]:
        P.PARTS = parts or 2
        m = nnlang.compile(d/'s.nnq', params={"index": idx}, bounds=bounds, encoding=enc)
        t = time.perf_counter(); v = lp_relaxation(m.milp); t = time.perf_counter() - t
        out.append(f"{enc}{parts or ''}={v:.3f}")
    r = nnlang.compile(d/'s.nnq', params={"index": idx}, bounds=bounds, encoding="bigm").solve(time_limit=60, tighten=False)
    print(net, eps, bounds, idx, " ".join(out), f"MILP {r.status} {r.objective:.3f} bound {r.bound}", flush=True)
