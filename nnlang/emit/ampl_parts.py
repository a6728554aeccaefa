"""The pieces of an AMPL model that ``nnlang.emit.ampl`` assembles: families of
variables and constraints, data tables and records, and the tests that say when a
network layer can be written as an indexed family."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nnlang.emit.names import (
    LayerInfo,
    fmt_numbers,
)
from nnlang.encode.layers import encoded_weights
from nnlang.ir.milp import AppEncoding, MilpModel, VarBlock


def int_texts(a: np.ndarray) -> list[str]:
    return list(map(str, np.asarray(a).tolist()))


def records(columns: list[np.ndarray], values: np.ndarray | None = None,
            per_line: int = 1) -> str:
    """Data records ``i j v`` (index columns, then an optional value), joined in bulk."""
    m = len(values) if values is not None else (len(columns[0]) if columns else 0)
    if m == 0:
        return ""
    parts = [np.asarray(int_texts(c), dtype=object) for c in columns]
    if values is not None:
        parts.append(np.asarray(fmt_numbers(values), dtype=object))
    line = parts[0]
    for p in parts[1:]:
        line = line + " " + p
    sep = np.full(m, " ", dtype=object)
    sep[per_line - 1::per_line] = "\n "
    sep[-1] = ""
    pieces = np.empty((m, 2), dtype=object)
    pieces[:, 0], pieces[:, 1] = line, sep
    return " " + "".join(pieces.ravel().tolist())


def layer_slices(per_layer: list[tuple[int, np.ndarray, np.ndarray]]) -> str:
    """``[k,*] i v i v ...`` records of a parameter indexed by (k, i)."""
    out = []
    for k, idx, vals in per_layer:
        if len(idx):
            out.append(f"[{k},*]\n" + records([idx], vals, per_line=8))
    return "\n".join(out)


def matrix_tables(name: str, Ws: list[np.ndarray], rows_per_piece: int = 64) -> Iterator[str]:
    """``param name := [k,*,*]: j... := i v v ...`` for dense ``W[k]``, k = 1, 2, ...

    Yields pieces of whole lines, formatted ``rows_per_piece`` matrix rows at a
    time, so a large network never sits in memory as one string.
    """
    yield f"param {name} :="
    for k, W in enumerate(Ws, start=1):
        n_out, n_in = W.shape
        yield f"[{k},*,*]: " + " ".join(map(str, range(n_in))) + " :="
        for a in range(0, n_out, rows_per_piece):
            b = min(a + rows_per_piece, n_out)
            vals = fmt_numbers(W[a:b].ravel())
            piece = "\n".join(f" {i} " + " ".join(vals[(i - a) * n_in:(i - a + 1) * n_in])
                               for i in range(a, b))
            yield piece + (";" if k == len(Ws) and b == n_out else "")


# ---------------------------------------------------------------- the model's pieces


@dataclass
class Family:
    """An AMPL variable: a spec/helper block or one application's x, s or z."""

    name: str
    dummies: list[str]  # index names in declarations and slices
    index: str = ""  # "{i0 in 0..8}" ("" for a scalar)
    attrs: str = ""
    comment: str = ""
    decls: list[str] = field(default_factory=list)

    def ref(self, idx: list[str]) -> str:
        return f"{self.name}[{','.join(idx)}]" if idx else self.name


@dataclass
class Constraint:
    name: str
    index: str
    body: str
    comment: str = ""
    decls: list[str] = field(default_factory=list)


@dataclass
class Objective:
    name: str
    sense: str
    body: str
    decls: list[str] = field(default_factory=list)


class Columns:
    """For every model column (plus each application's input layer): its family and index."""

    def __init__(self, n_ext: int):
        self.family = np.full(n_ext, -1)
        self.index = np.zeros((n_ext, 2), dtype=np.int64)
        self.families: list[Family] = []

    def add_family(self, fam: Family, ndims: int) -> int:
        if ndims > self.index.shape[1]:
            pad = np.zeros((self.index.shape[0], ndims - self.index.shape[1]), dtype=np.int64)
            self.index = np.hstack([self.index, pad])
        self.families.append(fam)
        return len(self.families) - 1

    def assign(self, cols: np.ndarray, fid: int, idx: list[np.ndarray]) -> None:
        self.family[cols] = fid
        for d, a in enumerate(idx):
            self.index[cols, d] = a

    def names(self, cols: np.ndarray) -> list[str]:
        out = []
        for c in cols.tolist():
            fam = self.families[self.family[c]]
            idx = self.index[c, :len(fam.dummies)].tolist()
            out.append(fam.ref([str(v) for v in idx]))
        return out


def structured(info: list[LayerInfo | None], app: AppEncoding, milp: MilpModel) -> bool:
    """True if every layer of ``app`` is the big-M encoding the template writes."""
    if any(li is None for li in info) or len(info) != len(app.network.layers):
        return False
    if len({li.encoding for li in info} - {"bigm"}) > 1:
        return False
    with_binaries = {li.encoding for li in info if li.unstable.size}
    if "partition" in with_binaries and len(with_binaries) > 1:
        return False  # the template writes one encoding's rows for every layer
    rows = {r.name: r for r in milp.rows}
    for li, layer, (L, U) in zip(info, app.network.layers, app.pre_bounds):
        if not (np.all(np.isfinite(li.x.lb)) and np.all(np.isfinite(li.x.ub))):
            return False
        iu = li.unstable
        if iu.size:
            if li.s is None or li.z is None:
                return False
            if not (np.array_equal(li.s.lb, np.zeros(iu.size)) and
                    np.array_equal(li.s.ub, -L[iu]) and li.z.kind == "binary" and
                    np.all(li.z.lb == 0) and np.all(li.z.ub == 1)):
                return False
        eq = rows.get(f"{app.label}.L{li.k}.eq")
        if eq is None:
            if li.eq_neurons.size:
                return False
            continue
        c = encoded_weights(layer.W) @ app.input_c + layer.b if li.k == 1 else layer.b
        if not np.allclose(-eq.lo, c[li.eq_neurons], rtol=1e-12, atol=1e-12):
            return False
    return True


def identity_source(app: AppEncoding, blocks: list[VarBlock]) -> tuple[VarBlock, int] | None:
    """(block, first flat index) if the input matrix picks a contiguous run of one block."""
    A = sp.csr_matrix(app.input_A)
    n0 = A.shape[0]
    if n0 == 0 or A.nnz != n0 or not np.all(A.data == 1.0) or \
            not np.array_equal(A.indptr, np.arange(n0 + 1)):
        return None
    start = int(A.indices[0])
    if not np.array_equal(A.indices, np.arange(start, start + n0)):
        return None
    for b in blocks:
        if b.offset <= start and start + n0 <= b.offset + b.size:
            return b, start - b.offset
    return None


def flat_index_expr(shape: tuple[int, ...], offset: int) -> list[str]:
    """Subscripts of entry ``j + offset`` of a row-major block of ``shape``."""
    flat = f"j + {offset}" if offset else "j"
    if len(shape) <= 1:
        return [flat]
    base = f"({flat})" if offset else flat
    out = []
    for d in range(len(shape)):
        stride = int(np.prod(shape[d + 1:]))
        e = base if stride == 1 else f"{base} div {stride}"
        if d > 0:
            e = f"{e} mod {shape[d]}" if stride == 1 else f"({e}) mod {shape[d]}"
        out.append(e)
    return out


def widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interval bounds of a computed input, loosened past floating-point rounding."""
    return lo - 1e-9 * (1 + np.abs(lo)), hi + 1e-9 * (1 + np.abs(hi))


def explicit_terms(vals: np.ndarray, names: list[str], per_line: int = 6) -> str:
    """``2 * x[0] - y_x[3,1] + ...`` (``0`` if empty), ``per_line`` terms a line."""
    out = []
    for t, (v, name, s) in enumerate(zip(vals.tolist(), names, fmt_numbers(np.abs(vals)))):
        sign = "-" if v < 0 else "+"
        term = f"{sign} {name}" if abs(v) == 1 else f"{sign} {s} * {name}"
        out.append(("\n    " if t and t % per_line == 0 else " ") + term)
    text = "".join(out).lstrip()
    return text[2:] if text.startswith("+ ") else (text or "0")
