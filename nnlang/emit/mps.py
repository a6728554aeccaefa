"""Free MPS format.

Sections: ``NAME``, ``OBJSENSE`` (only for maximization), ``ROWS`` (``N obj``
first), ``COLUMNS`` (column-major, one entry a line, integer and binary columns
between ``MARKER INTORG``/``INTEND`` lines), ``RHS``, ``BOUNDS`` (every integer
column gets both bounds written, since some readers give marked integers a
default upper bound of 1), ``QUADOBJ`` (upper triangle of ``Q`` in
``c x + x'Qx/2``), ``ENDATA``.

Portability choices: readers disagree on the sign of an objective constant
given as the RHS of the objective row (HiGHS and SCIP negate it, GLPK does
not), so the constant rides on a column ``obj_constant`` fixed to 1 instead; a
ranged row is two rows (no RANGES section); a column in no row gets an explicit
``0`` objective entry so every reader creates it.
"""

from __future__ import annotations

from typing import TextIO

import numpy as np
import scipy.sparse as sp

from nnlang.emit import Capabilities, EmitOptions, refuse_unsupported
from nnlang.emit.lp import group_comment, header_text, integer_kinds, prepare, row_chunks
from nnlang.emit.names import SymbolMap, fmt_numbers
from nnlang.ir.milp import MilpModel

SUFFIXES = ("mps",)
OWNED_SUFFIXES = ("mps",)
CAPABILITIES = Capabilities(integers=True, quadratic_objective=True, indicators=False)


def check(milp: MilpModel) -> None:
    """Refuse, before anything is written, what this format cannot express."""
    refuse_unsupported(milp, CAPABILITIES, "free MPS")


def write(milp: MilpModel, stream: TextIO, options: EmitOptions | None = None) -> SymbolMap:
    """Write ``milp`` to ``stream`` in free MPS format; returns the names used."""
    options = options or EmitOptions()
    check(milp)
    col_registry, cols, col_origins, groups, (c, constant, Q) = prepare(milp)
    extra = [col_registry.take("obj_constant")] if constant != 0.0 else []
    n = milp.n + len(extra)

    stream.write(header_text(options.header, "*"))
    stream.write(f"NAME {options.stem}\n")
    if milp.objective.sense == "maximize":
        stream.write("OBJSENSE\n    MAX\n")

    rows = [g_name for g in groups for g_name in g.names]
    origins = [o for g in groups for o in g.origins]
    rhs = np.concatenate([g.rhs for g in groups]) if groups else np.zeros(0)
    stream.write("ROWS\n N  obj\n")
    row_lines = []
    for g in groups:
        if g.A.shape[0]:
            row_lines.append(f"* {group_comment(g)}\n")
            row_lines += [f" {s}  {name}\n" for s, name in zip(g.sense.tolist(), g.names)]
    stream.write("".join(row_lines))

    # One matrix: row 0 is the objective, then every emitted row; then column-major.
    obj_row = np.append(c, [constant] * len(extra))
    mats = [sp.csr_matrix(obj_row.reshape(1, -1))]
    for g in groups:
        A = g.A.copy()
        A.resize((A.shape[0], n))
        mats.append(A)
    M = sp.vstack(mats, format="csc")
    M.eliminate_zeros()
    M.sort_indices()
    counts = np.diff(M.indptr)
    empty = np.flatnonzero(counts == 0)
    data, indices = M.data, M.indices
    if empty.size:  # give each empty column an explicit 0 in the objective
        counts = np.maximum(counts, 1)
        ptr = np.concatenate([[0], np.cumsum(counts)])
        keep = np.ones(ptr[-1], dtype=bool)
        keep[ptr[empty]] = False
        data2 = np.zeros(ptr[-1])
        idx2 = np.zeros(ptr[-1], dtype=indices.dtype)
        data2[keep], idx2[keep] = data, indices
        data, indices = data2, idx2
    all_cols = cols + extra
    heads = np.asarray([f"    {name}  " for name in all_cols], dtype=object)
    row_names = np.asarray(["obj  "] + [f"{r}  " for r in rows], dtype=object)
    # integer markers around each run of integer columns
    binary, general = integer_kinds(milp)
    is_int = np.append(binary | general, np.zeros(len(extra), dtype=bool))
    edges = np.diff(np.concatenate([[0], is_int.astype(int), [0]]))
    marker_start = {int(a): k for k, a in enumerate(np.flatnonzero(edges == 1))}
    marker_end = {int(b) - 1: k for k, b in enumerate(np.flatnonzero(edges == -1))}
    col_ptr = np.concatenate([[0], np.cumsum(counts)])
    stream.write("COLUMNS\n")
    for a, b in row_chunks(col_ptr):  # column ranges of about CHUNK_NNZ entries
        lo, hi = col_ptr[a], col_ptr[b]
        parts = np.empty((hi - lo, 3), dtype=object)
        parts[:, 0] = np.repeat(heads[a:b], counts[a:b])
        parts[:, 1] = row_names[indices[lo:hi]]
        parts[:, 2] = fmt_numbers(data[lo:hi], "\n")
        for j in range(a, b):
            if j in marker_start:
                first = col_ptr[j] - lo
                parts[first, 0] = f"    MARKER{marker_start[j]}  'MARKER'  'INTORG'\n" + \
                    parts[first, 0]
            if j in marker_end:
                last = col_ptr[j + 1] - 1 - lo
                parts[last, 2] = parts[last, 2] + f"    MARKER{marker_end[j]}  'MARKER'  'INTEND'\n"
        stream.write("".join(parts.ravel().tolist()))

    stream.write("RHS\n")
    nz = np.flatnonzero(rhs != 0)
    stream.write("".join(f"    RHS  {rows[i]}  {v}\n"
                         for i, v in zip(nz.tolist(), fmt_numbers(rhs[nz]))))

    stream.write("BOUNDS\n")
    lb, ub = milp.column_bounds()
    stream.write(bound_lines(cols, lb + 0.0, ub + 0.0, binary | general))
    stream.writelines(f" FX BND  {name}  1\n" for name in extra)

    if Q is not None and Q.nnz:
        U = sp.triu(Q).tocoo()
        keep = U.data != 0
        stream.write("QUADOBJ\n")
        stream.write("".join(f"    {cols[i]}  {cols[j]}  {v}\n" for i, j, v in zip(
            U.row[keep].tolist(), U.col[keep].tolist(), fmt_numbers(U.data[keep]))))
    stream.write("ENDATA\n")
    return SymbolMap("mps", cols, col_origins, rows, origins, extra, list(milp.blocks))


def bound_lines(names: list[str], lb: np.ndarray, ub: np.ndarray, integer: np.ndarray) -> str:
    """BOUNDS entries: continuous columns only where they differ from [0, inf);
    integer columns always both sides (MI/PL for infinite ones)."""
    out = []
    lo_inf, hi_inf = np.isneginf(lb), np.isposinf(ub)
    fixed = (lb == ub)
    free = lo_inf & hi_inf
    need = integer | fixed | free | lo_inf | (lb != 0) | ~hi_inf
    idx = np.flatnonzero(need)
    los, his = fmt_numbers(lb[idx]), fmt_numbers(ub[idx])
    for j, lo, hi in zip(idx.tolist(), los, his):
        name = names[j]
        if fixed[j]:
            out.append(f" FX BND  {name}  {lo}\n")
        elif free[j]:
            out.append(f" FR BND  {name}\n")
        else:
            # LO always written: some readers turn a negative UP alone into lb = -inf
            out.append(f" MI BND  {name}\n" if lo_inf[j] else f" LO BND  {name}  {lo}\n")
            if not hi_inf[j]:
                out.append(f" UP BND  {name}  {hi}\n")
            elif integer[j]:
                out.append(f" PL BND  {name}\n")
    return "".join(out)
