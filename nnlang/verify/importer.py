"""Write a VNN-LIB verification problem as a readable nnlang spec (``.nnq`` + ``.npz``).

The spec is a feasibility problem: the input ranges over the property's box,
the network is applied once, and the output condition (the VNN-LIB formula's
output part, in disjunctive normal form) is one named ``violation:``
constraint, an ``or`` of ``and``-branches. A feasible point is a
counterexample (VNN-LIB ``sat``: the property is violated); an infeasible spec
proves the property (``unsat``).

The box goes to an ``.npz`` beside the spec (``lo``, ``hi``; and ``lo<i>``,
``hi<i>`` per box when the input region is an ``or`` of boxes), read with
``param lo[n] = data("<stem>_box.npz", "lo")``.

Example:
    >>> write_spec("net.onnx", read_vnnlib("prop.vnnlib"), "out/spec.nnq")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlang.emit.files import replace_together
from nnlang.errors import DataError
from nnlang.verify.vnnlib import Case, Conjunction, Property


def fmt(v: float) -> str:
    """A float as an nnlang number literal that reads back to the same double."""
    v = float(v)
    if v == 0.0:
        return "0"
    if not np.isfinite(v):
        raise ValueError(f"cannot write {v} in a spec")
    return repr(v)


def row_text(a: np.ndarray, d: float, out: str = "y") -> str:
    """The constraint ``a @ y <= d`` as readable nnlang text (exact coefficients)."""
    nz = np.flatnonzero(a)
    if nz.size == 0:
        return f"0 <= {fmt(d)}"
    if nz.size == 2 and a[nz[0]] == -a[nz[1]] and abs(a[nz[0]]) == 1.0:
        neg = int(nz[0] if a[nz[0]] < 0 else nz[1])
        pos = int(nz[1] if neg == nz[0] else nz[0])
        # y[pos] - y[neg] <= d  <=>  y[neg] >= y[pos] - d
        if d == 0:
            return f"{out}[{neg}] >= {out}[{pos}]"
        return f"{out}[{neg}] >= {out}[{pos}] {'-' if d > 0 else '+'} {fmt(abs(d))}"
    if nz.size == 1 and abs(a[nz[0]]) == 1.0:
        i = int(nz[0])
        return f"{out}[{i}] <= {fmt(d)}" if a[i] > 0 else f"{out}[{i}] >= {fmt(-d)}"
    return f"{linear_text(a, nz, out)} <= {fmt(d)}"


def linear_text(a: np.ndarray, nz: np.ndarray, out: str) -> str:
    """``a @ out`` over the nonzero indices ``nz``, e.g. ``y[8] - 2 * y[0]``."""
    terms = []
    for k, i in enumerate(nz):
        c = float(a[i])
        mag = "" if abs(c) == 1.0 else f"{fmt(abs(c))} * "
        sign = ("-" if c < 0 else "") if k == 0 else (" - " if c < 0 else " + ")
        terms.append(f"{sign}{mag}{out}[{int(i)}]")
    return "".join(terms)


def conjunction_text(conj: Conjunction, out: str = "y", margin: str | None = None) -> str:
    """The rows of ``conj`` joined by ``and``; with ``margin`` (a variable name)
    each row ``a @ y <= d`` is relaxed to ``a @ y <= d + margin``."""
    if margin is not None and conj.rows == 0:
        return f"{margin} >= {margin}"
    text = row_text if margin is None else (lambda a, d, o: margin_row_text(a, d, margin, o))
    return " and ".join(text(conj.A[r], float(conj.d[r]), out) for r in range(conj.rows))


def margin_row_text(a: np.ndarray, d: float, margin: str, out: str = "y") -> str:
    """``a @ y <= d + margin`` as nnlang text, e.g. ``y[8] - y[0] <= t``."""
    nz = np.flatnonzero(a)
    lhs = linear_text(a, nz, out) if nz.size else "0"
    rhs = margin if d == 0 else f"{margin} {'+' if d > 0 else '-'} {fmt(abs(d))}"
    return f"{lhs} <= {rhs}"


def dnf_lines(dnf: tuple[Conjunction, ...], name: str, indent: str = "    ",
              out: str = "y", margin: str | None = None) -> list[str]:
    """The constraint lines for an output condition (empty list: always true)."""
    if margin is None and any(c.rows == 0 for c in dnf):
        return [(f"{indent}# the output condition always holds: any input in the box is a "
                 "counterexample")]
    if not dnf:
        raise ValueError("an empty output condition (false) has no spec")
    if len(dnf) == 1:
        return [f"{indent}{name}: {conjunction_text(dnf[0], out, margin)}"]
    pad = " " * (len(indent) + len(name) + 2)
    branches = [conjunction_text(c, out, margin) for c in dnf]
    lines = [f"{indent}{name}: {branches[0]}"]
    lines += [f"{pad}or {b}" for b in branches[1:]]
    return [line + (" \\" if k < len(lines) - 1 else "") for k, line in enumerate(lines)]


@dataclass
class SpecFiles:
    spec: Path
    box: Path
    text: str


def spec_text(network_path: str, prop: Property, cases: list[Case] | None = None,
              box_file: str = "spec_box.npz", source: str | None = None,
              margin: tuple[float, float] | None = None) -> tuple[str, dict]:
    """The spec text and the arrays for its ``.npz``.

    Args:
        network_path: the ONNX path as written in ``load(...)``.
        prop: the property (its ``cases`` are used unless ``cases`` is given).
        cases: the boxes and output conditions to write (one or more).
        box_file: the ``.npz`` name as written in ``data(...)``.
        source: the VNN-LIB path to mention in the header comment.
        margin: ``(lo, hi)`` to write the margin form instead of a feasibility
            problem (one case only): a variable ``t in [lo, hi]``, every row
            relaxed to ``a @ y <= d + t``, and ``minimize t``. A point with
            ``t <= 0`` is a counterexample; a minimum above 0 proves the
            property. ``[lo, hi]`` must contain every row's ``a @ y - d``
            over the box (then the bounds on ``t`` cut nothing off).

    Returns:
        ``(text, arrays)``.
    """
    cases = list(prop.cases if cases is None else cases)
    if not cases:
        raise ValueError("the property has no input box (its formula is unsatisfiable)")
    n = prop.n_in
    shared = all(_same(cases[0].output, c.output) for c in cases[1:])
    arrays: dict[str, np.ndarray] = {}
    head = [
        f"# Verification problem imported from {source or prop.path}"
        + (f" ({prop.comment})" if prop.comment else ""),
        "# by `nnlang import`. It is a feasibility problem (no objective):",
        "#   feasible   = a counterexample exists: the VNN-LIB property is violated (sat);",
        "#   infeasible = no input in the box meets the output condition: the property",
        "#                holds (unsat).",
        "# Strict comparisons (< and >) of the VNN-LIB file are written as <= and >=.",
        "",
        f'network net = load("{network_path}")',
        "",
    ]
    body: list[str] = []
    if len(cases) == 1:
        arrays["lo"], arrays["hi"] = cases[0].lo, cases[0].hi
        head += [f'param lo[{n}] = data("{box_file}", "lo")      # the input box',
                 f'param hi[{n}] = data("{box_file}", "hi")', ""]
    else:
        lo = np.min([c.lo for c in cases], axis=0)
        hi = np.max([c.hi for c in cases], axis=0)
        arrays["lo"], arrays["hi"] = lo, hi
        head += [(f"# The input region is the union of {len(cases)} boxes (an 'or' in the "
                  "VNN-LIB file);"),
                 "# x ranges over their hull and the constraint 'input_region' picks one box.",
                 f'param lo[{n}] = data("{box_file}", "lo")      # the hull of the boxes',
                 f'param hi[{n}] = data("{box_file}", "hi")']
        for i, c in enumerate(cases):
            arrays[f"lo{i}"], arrays[f"hi{i}"] = c.lo, c.hi
            head += [f'param lo{i}[{n}] = data("{box_file}", "lo{i}")',
                     f'param hi{i}[{n}] = data("{box_file}", "hi{i}")']
        head.append("")
    head += [f"var x[{n}] in [lo, hi]", "y = net(x)", ""]
    if margin is not None:
        if len(cases) != 1:
            raise ValueError("the margin form takes one input box")
        head[1:5] = ["# by the verifier, in margin form: t is the largest excess of the best",
                     "# branch of the output condition; t <= 0 at a counterexample.", "", ""]
        head += [f"var t in [{fmt(margin[0])}, {fmt(margin[1])}]", "", "minimize t", "",
                 "subject to"]
        body += dnf_lines(cases[0].output, "violation", margin="t")
        return "\n".join(head + body) + "\n", arrays
    head.append("subject to")
    if len(cases) == 1:
        body += ["    # the output condition of a counterexample (VNN-LIB output constraints)"]
        body += dnf_lines(cases[0].output, "violation")
    elif shared:
        pad = " " * len("    input_region: ")
        lines = [f"x >= lo{i} and x <= hi{i}" for i in range(len(cases))]
        body.append(f"    input_region: {lines[0]} \\")
        body += [f"{pad[:-3]}or {t}" + (" \\" if i < len(lines) - 2 else "")
                 for i, t in enumerate(lines[1:])]
        body += ["    # the output condition of a counterexample (VNN-LIB output constraints)"]
        body += dnf_lines(cases[0].output, "violation")
    else:
        body += ["    # each branch: one input box and one branch of its output condition"]
        branches = []
        for i, c in enumerate(cases):
            for conj in c.output:
                parts = [f"x >= lo{i}", f"x <= hi{i}"]
                if conj.rows:
                    parts.append(conjunction_text(conj))
                branches.append(" and ".join(parts))
        pad = " " * len("    violation: ")
        lines = [f"    violation: {branches[0]}"] + [f"{pad[:-3]}or {b}" for b in branches[1:]]
        body += [line + (" \\" if k < len(lines) - 1 else "") for k, line in enumerate(lines)]
    return "\n".join(head + body) + "\n", arrays


def _same(a: tuple[Conjunction, ...], b: tuple[Conjunction, ...]) -> bool:
    return len(a) == len(b) and all(
        x.A.shape == y.A.shape and np.array_equal(x.A, y.A) and np.array_equal(x.d, y.d)
        for x, y in zip(a, b))


def box_name(spec: Path) -> str:
    return f"{spec.stem}_box.npz"


def write_spec(network: str | Path, prop: Property, spec: str | Path,
               cases: list[Case] | None = None, absolute: bool = False) -> SpecFiles:
    """Write ``spec`` (``.nnq``) and its box ``<stem>_box.npz`` beside it.

    The network is referenced by its path relative to the spec's folder
    (``absolute=True``: by its absolute path).
    """
    spec = Path(spec)
    network = Path(network)
    if not network.exists():
        raise DataError(f"network file '{network}' not found")
    folder = spec.parent if str(spec.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create folder '{folder}': {exc.strerror or exc}") from None
    if absolute:
        ref = str(network.resolve())
    else:
        ref = os.path.relpath(network.resolve(), folder.resolve())
    ref = ref.replace(os.sep, "/")
    box = folder / box_name(spec)
    text, arrays = spec_text(ref, prop, cases, box.name)
    try:  # both files or neither
        with replace_together(folder, [spec.name, box.name], binary=[box.name]) as out:
            out[spec.name].write(text)
            np.savez(out[box.name], **arrays)
    except OSError as exc:
        where = exc.filename or spec
        raise DataError(f"cannot write '{where}': {exc.strerror or exc}") from None
    return SpecFiles(spec, box, text)
