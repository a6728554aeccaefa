"""Compile time of a constraint family against its number of rows.

    python benchmarks/bench_family.py                    # 10k, 30k, 100k rows
    python benchmarks/bench_family.py --rows 1000000     # one size
    python benchmarks/bench_family.py --vnnlib           # also VNN-LIB reading, 2 and 11 MB

The spec is the one generated specs write: ``c: x[j] + x[j + 1] <= 1 for j in
0..n-1`` over ``var x[n + 1]``. Each size runs in a fresh process (no warm
caches, the peak memory is that size's own) and reports the wall and CPU
seconds of ``nnlang.compile`` per stage (parse, check, encode) and the peak
resident memory; the rate (microseconds per row) shows whether the time is
linear. ``--vnnlib`` times ``read_vnnlib`` on an ``or`` of input boxes the size
of the large VNN-COMP properties. Results go to stdout as a Markdown table,
with the machine, the load (``uptime``) and the versions; docs/benchmarks.md
keeps the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, resource, sys, time
import nnlang
assert nnlang.__file__.startswith(sys.argv[2]), nnlang.__file__
path = sys.argv[1]
wall, cpu = time.perf_counter(), time.process_time()
m = nnlang.compile(path)
out = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
       "rows": m.milp.size()["constraints"], "stages": m.timings,
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print(json.dumps(out))
"""

_VNNLIB_CHILD = """
import json, resource, sys, time
import nnlang
assert nnlang.__file__.startswith(sys.argv[2]), nnlang.__file__
from nnlang.verify.vnnlib import read_vnnlib
wall, cpu = time.perf_counter(), time.process_time()
prop = read_vnnlib(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "cases": len(prop.cases),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def family_spec(n: int) -> str:
    return (f"var x[{n + 1}] in [0, 1]\nmaximize x[0]\nsubject to\n"
            f"  c: x[j] + x[j + 1] <= 1 for j in 0..{n - 1}\n")


def boxes_property(boxes: int, n_in: int = 5) -> str:
    """An ``or`` of ``boxes`` small input boxes and one output condition."""
    import numpy as np

    rng = np.random.default_rng(0)
    lines = [f"(declare-const X_{i} Real)" for i in range(n_in)]
    lines += ["(declare-const Y_0 Real)", "(declare-const Y_1 Real)", "(assert (or"]
    for _ in range(boxes):
        lo = rng.uniform(-1, 0, n_in)
        lines.append("  (and " + " ".join(f"(>= X_{i} {lo[i]:.9f}) (<= X_{i} {lo[i] + 0.01:.9f})"
                                          for i in range(n_in)) + ")")
    lines += ["))", "(assert (>= Y_0 Y_1))"]
    return "\n".join(lines) + "\n"


def _child(code: str, arg: Path, source: Path = ROOT) -> dict:
    env = dict(os.environ, PYTHONPATH=str(source))
    # cwd: the file's folder, so that ``-c`` (which puts the cwd first on sys.path)
    # imports the nnlang of ``source`` and not one in the caller's folder
    out = subprocess.run([sys.executable, "-c", code, str(arg), str(source)], env=env, text=True,
                         capture_output=True, check=True, cwd=Path(arg).parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    from importlib.metadata import version

    import numpy as np
    import scipy

    load = subprocess.run(["uptime"], capture_output=True, text=True,
                          check=False).stdout.strip()
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, numpy "
            f"{np.__version__}, scipy {scipy.__version__}, highspy "
            f"{version('highspy')}, lark {version('lark')}; load: {load}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the nnlang checkout to time (default: this one), e.g. an "
                             "older commit's worktree for a before/after table")
    parser.add_argument("--vnnlib", action="store_true",
                        help="also time reading 2 MB and 11 MB VNN-LIB properties")
    args = parser.parse_args(argv)
    print(machine(), f"\nsource: {args.source}\n")
    print("| rows | wall s | CPU s | parse | check | encode | µs/row (CPU) | peak MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            spec = Path(tmp) / f"family_{n}.nnq"
            spec.write_text(family_spec(n))
            r = _child(_CHILD, spec, args.source)
            assert r["rows"] == n, r
            st = r["stages"]
            print(f"| {n:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {st.get('parse', 0):.2f} | "
                  f"{st.get('check', 0):.1f} | {st.get('encode', 0):.1f} | "
                  f"{1e6 * r['cpu'] / n:.0f} | {r['peak_mb']:.0f} |", flush=True)
        if args.vnnlib:
            print("\n| property | MB | boxes | wall s | CPU s | peak MB |")
            print("|---|---:|---:|---:|---:|---:|")
            for boxes in (9_000, 45_000):
                path = Path(tmp) / f"boxes_{boxes}.vnnlib"
                path.write_text(boxes_property(boxes))
                r = _child(_VNNLIB_CHILD, path, args.source)
                mb = path.stat().st_size / 1e6
                print(f"| or of boxes | {mb:.1f} | {r['cases']:,} | {r['wall']:.1f} | "
                      f"{r['cpu']:.1f} | {r['peak_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
