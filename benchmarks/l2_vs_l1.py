"""Exact L2 against L1 on the same images (the goal: L2 within 2x of L1).

    python benchmarks/l2_vs_l1.py --l1 DIR_OR_JSON... --l2 DIR_OR_JSON...
    python benchmarks/l2_vs_l1.py --compact OUT.json DIR...   # keep the batches small

Each source is an ``nnlang batch`` output folder (its ``results.jsonl``) or a
compact ``instances.json[:batch,batch]`` (``{batch name: [record, ...]}``, written by
``--compact``: status, objective, bound, times, nodes, checks and the radius
steps with their masters, without the pixel values). Prints, per distance, the
solved count and the mean / median / min / max solve seconds, and the L2 / L1
ratio of the mean solve times over the images both solved (and the per-image
ratios' median and range), and where L2's time goes (radius steps and master MILPs).
"""

from __future__ import annotations

import argparse
import json
import statistics as st
import sys
from pathlib import Path

KEEP = ("instance", "status", "objective", "bound", "gap", "solve_seconds", "bounds_seconds",
        "nodes", "forward_gap", "max_violation", "model_size")


def compact(line: dict) -> dict:
    rec = {k: line.get(k) for k in KEEP}
    search = line.get("search") or {}
    if "steps" in search:
        rec["steps"] = search["steps"]
    return rec


def read(source: str) -> dict[int, dict]:
    """A batch folder, or ``instances.json:name1,name2`` (its batches of those names)."""
    path, _, names = source.partition(".json:")
    p = Path(path + ".json" if names else source)
    if p.is_dir():
        lines = [json.loads(s) for s in (p / "results.jsonl").read_text().splitlines() if s]
        recs = [compact(ln) for ln in lines]
    else:
        data = json.loads(p.read_text())
        keys = names.split(",") if names else list(data)
        recs = [r for k in keys for r in data[k]]
    return {r["instance"]: r for r in recs}


def describe(name: str, d: dict[int, dict]) -> str:
    t = [r["solve_seconds"] for r in d.values()]
    solved = sum(r["status"] == "optimal" for r in d.values())
    return (f"| {name} | {len(d)} | {solved} | {st.mean(t):.2f} | {st.median(t):.2f} | "
            f"{min(t):.2f} | {max(t):.2f} |")


def breakdown(L2: dict[int, dict], both: list[int], l1_total: float) -> str:
    """Where exact L2's time goes over ``both``: the last radius step's first,
    middle and final (proving) master MILPs, the step before, the rest, each
    against L1's total time on the same images."""
    parts = {"last step, first master": 0.0, "last step, middle masters": 0.0,
             "last step, final master (the proof)": 0.0, "last step, QPs and rest": 0.0,
             "the step before the last": 0.0, "earlier steps and setup": 0.0}
    counts = []
    for i in both:
        steps = L2[i].get("steps") or []
        if not steps:
            continue
        last = steps[-1]
        ms = [m["seconds"] for m in last.get("masters", [])]
        counts.append(len(ms))
        parts["last step, first master"] += ms[0] if len(ms) > 1 else 0.0
        parts["last step, middle masters"] += sum(ms[1:-1])
        parts["last step, final master (the proof)"] += ms[-1] if ms else 0.0
        parts["last step, QPs and rest"] += last["seconds"] - sum(ms)
        parts["the step before the last"] += steps[-2]["seconds"] if len(steps) > 1 else 0.0
        parts["earlier steps and setup"] += (L2[i]["solve_seconds"] - last["seconds"]
                                             - (steps[-2]["seconds"] if len(steps) > 1 else 0))
    if not counts:
        return "(no radius steps recorded)"
    total = sum(parts.values())
    lines = [(f"\nwhere L2's time goes ({len(counts)} images; L1's total there "
              f"{l1_total:.0f} s; masters in the last step: median {st.median(counts):g}):"),
             "| part | seconds | share | x L1's total |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v:.0f} | {100 * v / total:.0f} % | {v / l1_total:.2f} |"
              for k, v in parts.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--l1", nargs="*", default=[])
    ap.add_argument("--l2", nargs="*", default=[])
    ap.add_argument("--compact", metavar="OUT", help="write the given batch folders compactly")
    ap.add_argument("dirs", nargs="*")
    args = ap.parse_args(argv)
    if args.compact:
        out = {Path(d).name: sorted(read(d).values(), key=lambda r: r["instance"])
               for d in args.dirs}
        Path(args.compact).write_text(json.dumps(out, indent=0) + "\n")
        return 0
    L1, L2 = {}, {}
    for s in args.l1:
        L1.update(read(s))
    for s in args.l2:
        L2.update(read(s))
    print("| distance | n | solved | mean s | median s | min s | max s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(describe("L1", L1))
    print(describe("L2 exact", L2))
    both = sorted(i for i in L1 if i in L2 and L1[i]["status"] == "optimal"
                  and L2[i]["status"] == "optimal")
    if not both:
        print("no image solved by both")
        return 0
    m1 = st.mean(L1[i]["solve_seconds"] for i in both)
    m2 = st.mean(L2[i]["solve_seconds"] for i in both)
    ratios = sorted(L2[i]["solve_seconds"] / L1[i]["solve_seconds"] for i in both)
    print(f"\nsolved by both: {len(both)}; mean solve L1 {m1:.2f} s, L2 {m2:.2f} s: "
          f"L2 / L1 = {m2 / m1:.1f}x (per image: median {st.median(ratios):.1f}x, "
          f"{ratios[0]:.1f}-{ratios[-1]:.1f}x)")
    print(breakdown(L2, both, m1 * len(both)))
    rest = [(i, L2[i]["status"], L2[i]["objective"], L2[i]["bound"]) for i in sorted(L2)
            if L2[i]["status"] != "optimal"]
    for i, status, obj, bound in rest:
        print(f"L2 image {i}: {status}, objective {obj}, bound {bound}")
    gaps = [r.get("forward_gap") or 0.0 for r in (*L1.values(), *L2.values())]
    print(f"largest forward-pass gap {max(gaps):.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
