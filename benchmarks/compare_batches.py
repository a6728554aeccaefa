"""Two or more batches of the same images side by side (e.g. epigraph vs lambda PWL).

    python benchmarks/compare_batches.py epigraph5=DIR_OR_JSON lambda5=DIR_OR_JSON ...

Each argument is ``name=source``; a source is what ``l2_vs_l1.py`` reads: an
``nnlang batch`` folder or ``instances.json:batch`` (several sources may share a
name: their instances are merged). Prints, per name, the images, the solved
count and the mean / median / max solve seconds; then each later name against
the first over the images both solved: the ratio of mean solve times, the
per-image ratios' median and range, on how many images the first was faster,
and the largest relative difference of the two objectives.
"""

from __future__ import annotations

import statistics as st
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from l2_vs_l1 import read


def table(batches: dict[str, dict[int, dict]]) -> list[str]:
    rows = ["| batch | images | solved | mean s | median s | max s |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, d in batches.items():
        t = [r["solve_seconds"] for r in d.values()]
        solved = sum(r["status"] == "optimal" for r in d.values())
        rows.append(f"| {name} | {len(d)} | {solved} | {st.mean(t):.2f} | {st.median(t):.2f} | "
                    f"{max(t):.2f} |")
    return rows


def against(name_a: str, a: dict[int, dict], name_b: str, b: dict[int, dict]) -> str:
    both = sorted(i for i in a if i in b and a[i]["status"] == "optimal"
                  and b[i]["status"] == "optimal")
    if not both:
        return f"{name_b} / {name_a}: no image solved by both"
    ta = [a[i]["solve_seconds"] for i in both]
    tb = [b[i]["solve_seconds"] for i in both]
    ratios = sorted(y / max(x, 1e-9) for x, y in zip(ta, tb, strict=True))
    faster = sum(x < y for x, y in zip(ta, tb, strict=True))
    diff = max(abs(a[i]["objective"] - b[i]["objective"]) / max(abs(a[i]["objective"]), 1e-9)
               for i in both)
    return (f"{name_b} / {name_a} over the {len(both)} images both solved: mean solve "
            f"{st.mean(tb):.2f} s / {st.mean(ta):.2f} s = {st.mean(tb) / st.mean(ta):.2f}x "
            f"(per image: median {st.median(ratios):.2f}x, {ratios[0]:.2f}-{ratios[-1]:.2f}x); "
            f"{name_a} faster on {faster}/{len(both)}; objectives within {diff:.1e} (relative)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or any("=" not in a for a in args):
        print(__doc__)
        return 2
    batches: dict[str, dict[int, dict]] = {}
    for arg in args:
        name, _, source = arg.partition("=")
        batches.setdefault(name, {}).update(read(source))
    print("\n".join(table(batches)))
    names = list(batches)
    print()
    for other in names[1:]:
        print("- " + against(names[0], batches[names[0]], other, batches[other]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
