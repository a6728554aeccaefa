"""Two batches on the same instances side by side: ``nnlang compare BATCH_A BATCH_B``.

Zhu (2021) Table 8 judges a retrained network by the minimal distance a new
adversarial example needs: the average objective over the same 100 instances,
and its % difference against the original network's. :func:`compare_batches`
pairs the instances of two batches (an instance in both, with a solution that
passed the forward-pass check in both, on the same original input) and reports
those statistics; :func:`time_table` and :func:`against` compare solve times
(``benchmarks/compare_batches.py``).
"""

from __future__ import annotations

import json
import statistics as st
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.batch.config import RESULTS
from nnlang.batch.instances import load_results
from nnlang.errors import DataError


def read_batch(source: str | Path) -> dict[int, dict]:
    """The last line per instance of a batch folder (or of its ``results.jsonl``)."""
    p = Path(source)
    path = p / RESULTS if p.is_dir() else p
    if not path.exists():
        raise DataError(f"'{source}' is no batch folder: it has no {RESULTS}")
    return load_results(path)[0]


def has_solution(line: dict) -> bool:
    return (line.get("status") != "error" and line.get("objective") is not None
            and bool(line.get("forward_check_ok", True)))


def _original(line: dict) -> np.ndarray | None:
    for pic in (line.get("pictures") or {}).values():
        if pic.get("original") is not None:
            return np.asarray(pic["original"], dtype=np.float64)
    return None


def paired(a: dict[int, dict], b: dict[int, dict], optimal_only: bool = False) -> list[int]:
    """Instances in both batches with a checked solution in both (both ``optimal`` with
    ``optimal_only``). Raises ``DataError`` when a shared instance had another original
    input in each: the batches did not run on the same data."""
    out = []
    for i in sorted(set(a) & set(b)):
        oa, ob = _original(a[i]), _original(b[i])
        if oa is not None and ob is not None and (oa.shape != ob.shape
                                                  or not np.allclose(oa, ob, atol=1e-9)):
            raise DataError(f"instance {i} has different original inputs in the two batches: "
                            f"they did not run on the same data")
        if not (has_solution(a[i]) and has_solution(b[i])):
            continue
        if optimal_only and not (a[i]["status"] == b[i]["status"] == "optimal"):
            continue
        out.append(i)
    return out


def pct_difference(base: float, other: float) -> float | None:
    """``100 (other - base) / base``, Zhu's (2021) Table 8 "%difference" (None for base 0)."""
    return None if base == 0 else 100.0 * (other - base) / base


def compare_batches(a: str | Path | dict[int, dict], b: str | Path | dict[int, dict], *,
                    optimal_only: bool = False) -> dict[str, Any]:
    """Average objective of each batch over the paired instances and the % difference
    of ``b`` against ``a``, with the counts of what could not be paired."""
    la = a if isinstance(a, dict) else read_batch(a)
    lb = b if isinstance(b, dict) else read_batch(b)
    both = paired(la, lb, optimal_only)
    shared = set(la) & set(lb)
    mean_a = float(np.mean([la[i]["objective"] for i in both])) if both else None
    mean_b = float(np.mean([lb[i]["objective"] for i in both])) if both else None
    return {
        "a": None if isinstance(a, dict) else str(a),
        "b": None if isinstance(b, dict) else str(b),
        "instances_a": len(la), "instances_b": len(lb),
        "paired": len(both), "paired_instances": both,
        "only_a": len(set(la) - set(lb)), "only_b": len(set(lb) - set(la)),
        "unpaired_shared": len(shared) - len(both),
        "optimal_both": sum(la[i]["status"] == lb[i]["status"] == "optimal" for i in both),
        "optimal_only": optimal_only,
        "mean_objective_a": mean_a, "mean_objective_b": mean_b,
        "pct_difference": (pct_difference(mean_a, mean_b)
                           if mean_a is not None and mean_b is not None else None),
        "mean_solve_seconds_a": float(np.mean([la[i]["solve_seconds"] for i in both]))
        if both else None,
        "mean_solve_seconds_b": float(np.mean([lb[i]["solve_seconds"] for i in both]))
        if both else None,
    }


def render(c: dict[str, Any]) -> str:
    """The comparison as the few lines ``nnlang compare`` prints."""
    def f(v: float | None, fmt: str = ".4g") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [f"A: {c['a']} ({c['instances_a']} instances)",
             f"B: {c['b']} ({c['instances_b']} instances)",
             (f"paired: {c['paired']} ({c['optimal_both']} optimal in both); only in A: "
             f"{c['only_a']}, only in B: {c['only_b']}, in both without a checked solution"
             f"{' or not optimal' if c['optimal_only'] else ''} in one: {c['unpaired_shared']}")]
    if c["paired"]:
        pct = c["pct_difference"]
        lines.append(f"mean objective over the paired instances: A {f(c['mean_objective_a'])}, "
                     f"B {f(c['mean_objective_b'])}; B against A: "
                     f"{'-' if pct is None else format(pct, '+.2f') + ' %'}")
        lines.append(f"mean solve seconds: A {f(c['mean_solve_seconds_a'], '.2f')}, "
                     f"B {f(c['mean_solve_seconds_b'], '.2f')}")
    return "\n".join(lines)


def write_json(c: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(c, indent=2) + "\n")


# ---------------------------------------------------------------- solve times


def time_table(batches: dict[str, dict[int, dict]]) -> list[str]:
    """A markdown row per batch: instances, optimal, mean / median / max solve seconds."""
    rows = ["| batch | images | solved | mean s | median s | max s |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, d in batches.items():
        t = [r["solve_seconds"] for r in d.values()]
        solved = sum(r["status"] == "optimal" for r in d.values())
        rows.append(f"| {name} | {len(d)} | {solved} | {st.mean(t):.2f} | {st.median(t):.2f} | "
                    f"{max(t):.2f} |")
    return rows


def against(name_a: str, a: dict[int, dict], name_b: str, b: dict[int, dict]) -> str:
    """``b``'s solve times against ``a``'s over the instances both solved to optimality."""
    both = paired(a, b, optimal_only=True)
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
