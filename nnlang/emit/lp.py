"""CPLEX LP format.

Layout: a ``\\`` comment header, ``Minimize``/``Maximize`` with the objective
``obj`` (a quadratic part as ``[ ... ] / 2`` with doubled coefficients),
``Subject To`` with one comment per spec constraint, ``Bounds``, ``General``,
``Binary``, ``End``.

Portability choices (each tested against HiGHS, GLPK and SCIP readers):

- the objective constant rides on a column ``obj_constant`` fixed to 1 (GLPK
  rejects a bare constant in the objective);
- a ranged row is written as two rows ``<name>_lo`` and ``<name>_hi``;
- every column that appears in no row gets a ``0`` objective term, so every
  reader creates it;
- at most ``TERMS_PER_LINE`` terms per line (CPLEX limits line length);
- ``encoding = indicator`` rows are native indicators in ``Subject To``
  (``y_L1_off_3: y_L1_z_3 = 0 -> + y_L1_N3 <= 0``), read by CPLEX, Gurobi
  and SCIP; HiGHS and GLPK cannot read them.

Numbers are Python's shortest round-trip repr, so a reader gets the same doubles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import numpy as np
import scipy.sparse as sp

from nnlang.emit import Capabilities, EmitOptions, refuse_unsupported
from nnlang.emit.names import (
    Registry,
    RowGroup,
    SymbolMap,
    column_names,
    fmt_numbers,
    layer_structure,
    plan_rows,
)
from nnlang.ir.milp import MilpModel

SUFFIXES = ("lp",)
OWNED_SUFFIXES = ("lp",)
CAPABILITIES = Capabilities(integers=True, quadratic_objective=True, indicators=True)
TERMS_PER_LINE = 8
CHUNK_NNZ = 1 << 17  # entries formatted and written at a time (bounds peak memory)
_SENSE = {"E": " = ", "L": " <= ", "G": " >= "}


def check(milp: MilpModel) -> None:
    """Refuse, before anything is written, what this format cannot express."""
    refuse_unsupported(milp, CAPABILITIES, "CPLEX LP")


# ---------------------------------------------------------------- bulk text helpers


def coef_prefixes(d: np.ndarray) -> np.ndarray:
    """`` + 1.5 `` / `` - 2 `` per coefficient (`` + ``/`` - `` for +-1), as objects."""
    out = np.empty(d.size, dtype=object)
    neg = d < 0
    whole = (d == np.trunc(d)) & (np.abs(d) < 1e15)
    for mask, fmt, sign in ((~neg & ~whole, " + %r ", 1.0), (neg & ~whole, " - %r ", -1.0),
                            (~neg & whole, " + %d ", 1.0), (neg & whole, " - %d ", -1.0)):
        if mask.any():
            out[mask] = list(map(fmt.__mod__, (sign * d[mask] + 0.0).tolist()))
    out[d == 1.0] = " + "
    out[d == -1.0] = " - "
    return out


def nonempty_rows(A: sp.csr_matrix) -> sp.csr_matrix:
    """Give every empty row an explicit ``0`` coefficient on column 0 (rows need a term)."""
    counts = np.diff(A.indptr)
    if counts.all() or A.shape[1] == 0:
        return A
    new_counts = np.maximum(counts, 1)
    ptr = np.concatenate([[0], np.cumsum(new_counts)])
    data = np.zeros(ptr[-1])
    idx = np.zeros(ptr[-1], dtype=A.indices.dtype)
    keep = np.repeat(counts > 0, new_counts)
    data[keep] = A.data
    idx[keep] = A.indices
    return sp.csr_matrix((data, idx, ptr), shape=A.shape)


def linear_rows_text(A: sp.csr_matrix, col_names: np.ndarray, heads: list[str],
                     tails: list[str], per_line: int) -> str:
    """One ``head + terms + tail`` per row of ``A``; terms wrapped ``per_line`` a line.

    All pieces are built with numpy object arrays and joined once: no per-term
    Python call besides the number formatting.
    """
    A = nonempty_rows(A)
    m = A.shape[0]
    if m == 0:
        return ""
    d, ptr = A.data, A.indptr
    counts = np.diff(ptr)
    parts = np.empty((d.size, 3), dtype=object)
    parts[:, 0] = coef_prefixes(d)
    parts[:, 1] = col_names[A.indices]
    parts[:, 2] = ""
    pos = np.arange(d.size) - np.repeat(ptr[:-1], counts)
    parts[pos % per_line == per_line - 1, 2] = "\n "
    first, last = ptr[:-1], ptr[1:] - 1
    parts[first, 0] = np.asarray(heads, dtype=object) + parts[first, 0]
    parts[last, 2] = np.asarray(tails, dtype=object)
    return "".join(parts.ravel().tolist())


def row_chunks(indptr: np.ndarray, chunk_nnz: int = CHUNK_NNZ) -> list[tuple[int, int]]:
    """Consecutive row ranges holding about ``chunk_nnz`` entries each (at least one row)."""
    m = indptr.size - 1
    out, start = [], 0
    while start < m:
        stop = int(np.searchsorted(indptr, indptr[start] + chunk_nnz, side="right")) - 1
        stop = min(max(stop, start + 1), m)
        out.append((start, stop))
        start = stop
    return out


def write_linear_rows(stream: TextIO, A: sp.csr_matrix, col_names: np.ndarray,
                      heads: list[str], tails: list[str], per_line: int) -> None:
    """``linear_rows_text`` in chunks, so a large block never exists as one string."""
    stream.writelines(linear_rows_text(A[a:b], col_names, heads[a:b], tails[a:b], per_line) for a, b in row_chunks(A.indptr))


def names_lines(names: list[str], per_line: int = 10) -> str:
    return "".join(" " + " ".join(names[i:i + per_line]) + "\n"
                   for i in range(0, len(names), per_line))


def header_text(header: dict[str, str], comment: str) -> str:
    lines = [f"{comment} {k}: {v}".rstrip() for k, v in header.items()]
    return "\n".join(lines) + "\n" if lines else ""


def group_comment(g: RowGroup) -> str:
    where = f" ({Path(g.span.file).name}:{g.span.line})" if g.span is not None else ""
    return f"{g.name}: {g.role} rows{where}"


def objective_parts(milp: MilpModel) -> tuple[np.ndarray, float, sp.csr_matrix | None]:
    """Linear coefficients, constant and the matrix ``Q`` of ``c x + x'Qx/2 + constant``.

    ``coef * ||A x + c||^2 = x'(2 coef A'A)x/2 + 2 coef (A'c) x + coef c'c``.
    """
    obj = milp.objective
    c = np.asarray(obj.c, dtype=float).copy()
    constant = float(obj.constant)
    Q = None
    for q in obj.quad:
        A = sp.csr_matrix(q.A, dtype=float)
        qc = np.asarray(q.c, dtype=float).ravel()
        c[: A.shape[1]] += 2.0 * q.coef * (A.T @ qc)
        constant += q.coef * float(qc @ qc)
        term = (2.0 * q.coef) * (A.T @ A)
        Q = term if Q is None else Q + term
    if Q is not None:
        Q = sp.csr_matrix(Q)
        Q.resize((milp.n, milp.n))
        Q.eliminate_zeros()
    return c, constant, Q


def used_columns(milp: MilpModel, groups: list[RowGroup], c: np.ndarray,
                 Q: sp.csr_matrix | None) -> np.ndarray:
    used = np.zeros(milp.n, dtype=bool)
    for g in groups:
        used[g.A.indices] = True
    used[np.flatnonzero(c)] = True
    if Q is not None:
        used[Q.indices] = True
        used[np.flatnonzero(np.diff(Q.indptr))] = True
    return used


def bound_lines(names: list[str], lb: np.ndarray, ub: np.ndarray, skip: np.ndarray) -> str:
    """The Bounds section body; ``skip`` marks columns left to defaults/Binary."""
    lb, ub = lb + 0.0, ub + 0.0
    lo_inf, hi_inf = np.isneginf(lb), np.isposinf(ub)
    fixed = (lb == ub) & ~skip
    free = lo_inf & hi_inf & ~skip
    default = (lb == 0) & hi_inf
    upper_only = lo_inf & ~hi_inf & ~skip & ~fixed
    lower_only = ~lo_inf & hi_inf & ~skip & ~default
    both = ~lo_inf & ~hi_inf & ~skip & ~fixed
    kind = np.full(lb.size, -1)
    for k, mask in enumerate((fixed, free, upper_only, lower_only, both)):
        kind[mask & (kind < 0)] = k
    idx = np.flatnonzero(kind >= 0)
    if idx.size == 0:
        return ""
    lbs = fmt_numbers(lb[idx])
    ubs = fmt_numbers(ub[idx])
    out = []
    for j, k, lo, hi in zip(idx.tolist(), kind[idx].tolist(), lbs, ubs):
        n = names[j]
        if k == 0:
            out.append(f" {n} = {lo}\n")
        elif k == 1:
            out.append(f" {n} free\n")
        elif k == 2:
            out.append(f" -inf <= {n} <= {hi}\n")
        elif k == 3:
            out.append(f" {n} >= {lo}\n")
        else:
            out.append(f" {lo} <= {n} <= {hi}\n")
    return "".join(out)


def integer_kinds(milp: MilpModel) -> tuple[np.ndarray, np.ndarray]:
    """Masks of columns for the Binary section (0/1 binaries) and the General section."""
    lb, ub = milp.column_bounds()
    kinds = np.concatenate([np.full(b.size, b.kind) for b in milp.blocks]) if milp.blocks \
        else np.zeros(0, dtype=str)
    binary = (kinds == "binary") & (lb == 0) & (ub == 1)
    general = (kinds != "continuous") & ~binary
    return binary, general


# ---------------------------------------------------------------- the writer


def prepare(milp: MilpModel):
    """What LP and MPS share: the column registry, column names and origins, the
    row groups and the objective parts ``(c, constant, Q)``."""
    layers = layer_structure(milp)
    col_registry = Registry()
    cols, col_origins = column_names(milp, layers, col_registry)
    groups = plan_rows(milp, layers, Registry(["obj"]))
    return col_registry, cols, col_origins, groups, objective_parts(milp)


def write(milp: MilpModel, stream: TextIO, options: EmitOptions | None = None) -> SymbolMap:
    """Write ``milp`` to ``stream`` in CPLEX LP format; returns the names used."""
    options = options or EmitOptions()
    check(milp)
    col_registry, cols, col_origins, groups, (c, constant, Q) = prepare(milp)
    used = used_columns(milp, groups, c, Q)
    names_arr = np.asarray(cols, dtype=object)
    longest = max((len(n) for n in cols), default=1)
    per_line = max(1, min(TERMS_PER_LINE, 480 // (longest + 26)))
    extra: list[str] = []

    stream.write(header_text(options.header, "\\"))
    stream.write("Maximize\n" if milp.objective.sense == "maximize" else "Minimize\n")
    obj_cols = np.flatnonzero((c != 0) | ~used)
    obj_names = names_arr[obj_cols]
    obj_coef = c[obj_cols]
    if constant != 0.0:
        const_name = col_registry.take("obj_constant")
        extra.append(const_name)
        obj_names = np.append(obj_names, np.array([const_name], dtype=object))
        obj_coef = np.append(obj_coef, constant)
    if obj_names.size == 0:  # an objective needs one term
        obj_names, obj_coef = names_arr[:1], np.zeros(min(1, milp.n))
    row = sp.csr_matrix((obj_coef, np.arange(obj_coef.size), [0, obj_coef.size]),
                        shape=(1, obj_coef.size))
    tail = "\n" if Q is None else quadratic_text(Q, names_arr, per_line)
    stream.write(linear_rows_text(row, obj_names, [" obj:"], [tail], per_line))

    stream.write("Subject To\n")
    rows: list[str] = []
    row_origins: list[str] = []
    for g in groups:
        if g.A.shape[0] == 0:
            continue
        stream.write(f"\\ {group_comment(g)}\n")
        heads = [f" {n}:" for n in g.names]
        if g.when is not None:  # indicator rows: " name: z = 0 -> + x <= 0"
            heads = [f"{h} {cols[zc]} = {v} ->"
                     for h, zc, v in zip(heads, g.when[0].tolist(), g.when[1].tolist())]
        tails = [s + v + "\n" for s, v in zip((_SENSE[s] for s in g.sense.tolist()),
                                                fmt_numbers(g.rhs))]
        write_linear_rows(stream, g.A, names_arr, heads, tails, per_line)
        rows += g.names
        row_origins += g.origins

    lb, ub = milp.column_bounds()
    binary, general = integer_kinds(milp)
    stream.write("Bounds\n")
    stream.write(bound_lines(cols, lb, ub, binary))
    if extra:
        stream.write(f" {extra[0]} = 1\n")
    if general.any():
        stream.write("General\n")
        stream.write(names_lines([cols[j] for j in np.flatnonzero(general).tolist()]))
    if binary.any():
        stream.write("Binary\n")
        stream.write(names_lines([cols[j] for j in np.flatnonzero(binary).tolist()]))
    stream.write("End\n")
    return SymbolMap("lp", cols, col_origins, rows, row_origins, extra, list(milp.blocks))


def quadratic_text(Q: sp.csr_matrix, names: np.ndarray, per_line: int) -> str:
    """`` + [ q11 x1 ^2 + 2 q12 x1 * x2 ... ] / 2`` from the symmetric ``Q``."""
    U = sp.triu(Q).tocsr()
    U.eliminate_zeros()
    U.sort_indices()
    coo = U.tocoo()
    i, j, v = coo.row, coo.col, coo.data
    v = np.where(i == j, v, 2.0 * v)
    terms = np.where(i == j, names[i] + " ^2", names[i] + " * " + names[j])  # SCIP needs "^2"
    row = sp.csr_matrix((v, np.arange(v.size), [0, v.size]), shape=(1, v.size))
    body = linear_rows_text(row, terms.astype(object), [" + ["], [" ] / 2\n"], per_line)
    return "\n" + body.replace(" + [ + ", " + [ ", 1) if v.size else "\n"
