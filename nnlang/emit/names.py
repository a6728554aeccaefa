"""Readable, legal and unique names for the columns and rows of a ``MilpModel``.

Every emitted name points back to the spec:

==========================  =========================  ===========================
model entity                 LP / MPS name              spec origin
==========================  =========================  ===========================
user variable ``x[3,4]``     ``x_3_4``                  ``x[3,4]``
layer 2, neuron 7 of ``y``   ``y_L2_N7``                ``y.layer[2][7]``
its slack / its binary       ``y_L2_s7`` / ``y_L2_z7``  ``y.L2.s[7]`` / ``y.L2.z[7]``
helper block ``abs_L14``     ``abs_L14_3``              ``abs_L14[3]`` (spec line 14)
constraint ``misclass[3]``   ``misclass_3``             ``misclassified[3]``
ReLU rows of neuron 7        ``y_L1_eq_7`` ...          ``y.L1.eq[7]`` ...
==========================  =========================  ===========================

Neuron indices are positions within the layer, not within the unstable subset:
the ``s``/``z`` blocks and the big-M rows of a layer hold only its unstable
neurons (in increasing order), which are recovered from the application's
pre-activation bounds exactly as the encoder chose them.

Names use only ``[A-Za-z0-9_]``, so the same name is legal in LP, free MPS and
AMPL/MathProg; they never start with a digit, never spell a keyword of those
formats, are at most 255 characters long and are unique per namespace
(collisions get ``_2``, ``_3``, ... in model order).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nnlang.errors import Span
from nnlang.ir.milp import AppEncoding, MilpModel, RowBlock, VarBlock, entry_suffixes

MAX_LEN = 255

# Words a reader could take for a keyword at the start of a line (CPLEX LP) or
# that AMPL/MathProg reserve. Compared case-insensitively; a clash gets a "_" prefix.
RESERVED = frozenset(["minimize", "maximize", "minimum", "maximum", "min", "max", "subject", "to", "st", "such", "that", "bound", "bounds", "bin", "binary", "binaries", "gen", "general", "generals", "int", "integer", "integers", "semi", "semis", "semicontinuous", "sos", "end", "free", "inf", "infinity", "infty", "in", "sum", "prod", "set", "param", "var", "div", "mod", "if", "then", "else", "and", "or", "not", "by", "union", "inter", "diff", "symdiff", "within", "cross", "setof", "card", "forall", "exists", "default", "dimen", "data", "model", "solve", "display", "option", "let", "reset", "check", "table", "printf", "print", "for", "repeat", "while", "less", "abs", "ceil", "floor", "exp", "log", "log10", "sqrt", "sin", "cos", "tan", "atan", "round", "trunc"])

_ILLEGAL = re.compile(r"[^A-Za-z0-9_]+")
_EXPONENT_LIKE = re.compile(r"[eE](\d|$)")


def sanitize(name: str) -> str:
    """A legal identifier for LP, MPS and AMPL: ``y.L2[3, 4]`` -> ``y_L2_3_4``."""
    s = _ILLEGAL.sub("_", name).strip("_") or "_"
    if s[0].isdigit() or s.lower() in RESERVED or _EXPONENT_LIKE.match(s):
        # "e1" next to a number reads as an exponent in some LP readers
        s = "_" + s
    return s[:MAX_LEN]


class Registry:
    """Hands out unique names in one namespace, in request order."""

    def __init__(self, taken: Iterable[str] = ()):
        self.used: set[str] = set(taken)

    def take(self, name: str) -> str:
        if name not in self.used and len(name) <= MAX_LEN:
            self.used.add(name)
            return name
        k = 2
        while True:
            suffix = f"_{k}"
            cand = name[: MAX_LEN - len(suffix)] + suffix
            if cand not in self.used:
                self.used.add(cand)
                return cand
            k += 1

    def take_all(self, names: list[str]) -> list[str]:
        """Bulk ``take``: fast when there is no clash (the usual case)."""
        fresh = set(names)
        if len(fresh) == len(names) and fresh.isdisjoint(self.used) and all(
                len(n) <= MAX_LEN for n in names):
            self.used |= fresh
            return names
        return [self.take(n) for n in names]


def indexed(base: str, shape: tuple[int, ...], size: int, sep: str = "_") -> list[str]:
    """``base_i_j`` for every entry of a block in row-major order (``base`` for a scalar)."""
    if size == 1 and shape == ():
        return [base]
    if len(shape) <= 1 or int(np.prod(shape)) != size:
        return [f"{base}{sep}{i}" for i in range(size)]
    coords = np.stack(np.unravel_index(np.arange(size), shape), axis=1).tolist()
    return [base + sep + "_".join(map(str, c)) for c in coords]


def spec_indexed(name: str, shape: tuple[int, ...], size: int) -> list[str]:
    """``x[i,j]`` for every entry (``x`` for a scalar): how the spec writes it."""
    return [name + s for s in entry_suffixes(shape, size)]


# ---------------------------------------------------------------- network structure


@dataclass
class LayerInfo:
    """Which neurons of layer ``k`` of an application own which columns and rows."""

    app: AppEncoding
    k: int  # 1-based layer number, as in y.layer[k]
    relu: bool
    x: VarBlock
    s: VarBlock | None
    z: VarBlock | None
    unstable: np.ndarray  # neuron indices with an s, a z and two big-M rows
    eq_neurons: np.ndarray  # neuron index of each row of the ".eq" block
    row_names: dict[str, str]  # IR row block name -> "eq" | "bigm_x" | "bigm_s" | "off" | "on"
    encoding: str = "bigm"  # bigm | indicator | complementarity (from the rows' role) | partition


def layer_structure(milp: MilpModel) -> dict[str, LayerInfo]:
    """Map every recognised layer block and row block name to its ``LayerInfo``.

    A layer whose blocks do not have the sizes the big-M encoding implies is left
    out (its columns and rows then get generic names): emitting never guesses.
    """
    by_name = {b.name: b for b in milp.blocks}
    rows_by_name: dict[str, list[RowBlock]] = {}
    for r in milp.rows:
        rows_by_name.setdefault(r.name, []).append(r)
    out: dict[str, LayerInfo] = {}
    for app in milp.applications:
        for k, (x, (L, U)) in enumerate(zip(app.layers, app.pre_bounds), start=1):
            prefix = f"{app.label}.L{k}"
            if x.name != f"{prefix}.x" or x.size != L.size:
                continue
            layer = app.network.layers[k - 1] if k - 1 < len(app.network.layers) else None
            relu = layer is not None and layer.activation == "relu"
            s, z = by_name.get(f"{prefix}.s"), by_name.get(f"{prefix}.z")
            if relu:
                active = L >= 0
                inactive = (U <= 0) & ~active
                unstable = np.flatnonzero(~(active | inactive))
                eq = np.flatnonzero(~inactive)
            else:
                unstable = np.zeros(0, dtype=int)
                eq = np.arange(L.size)
            nu = unstable.size
            if (s is not None and s.size != nu) or (z is not None and z.size != nu):
                continue
            kinds = ("eq", "bigm_x", "bigm_s", "off", "on")
            expected = {f"{prefix}.{kind}": (eq.size if kind == "eq" else nu) for kind in kinds}
            ok = all(len(rows_by_name.get(n, [])) <= 1 and
                     all(r.size == size for r in rows_by_name.get(n, []))
                     for n, size in expected.items())
            if not ok:
                continue
            present = {kind for kind in kinds[1:] if f"{prefix}.{kind}" in rows_by_name}
            encoding = "bigm"
            if nu and not present:  # the partition rows alone (generic rows) hold them
                encoding = "partition"
            if present & {"off", "on"}:
                if present & {"bigm_x", "bigm_s"}:
                    continue
                encoding = rows_by_name[f"{prefix}.{min(present)}"][0].role
            info = LayerInfo(app, k, relu, x, s, z, unstable, eq,
                             {f"{prefix}.{kind}": kind for kind in kinds}, encoding)
            for name in (x.name, *(b.name for b in (s, z) if b is not None), *info.row_names):
                out[name] = info
    return out


# ---------------------------------------------------------------- columns and rows


@dataclass
class RowGroup:
    """Consecutive rows with one spec name, as they are written (ranged rows split in two)."""

    name: str  # the IR row block name (e.g. misclassified, y.L1.eq)
    role: str
    span: Span | None
    A: sp.csr_matrix  # emitted rows, explicit zeros removed
    sense: np.ndarray  # "E", "L" or "G" per emitted row
    rhs: np.ndarray
    names: list[str]
    origins: list[str]
    source_rows: np.ndarray  # model row (over all row blocks, in order) of each emitted row
    # conditional rows: (binary column, value) per emitted row; see RowBlock.when
    when: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class SymbolMap:
    """What the emitted names mean.

    ``columns[j]`` is the emitted name of model column ``j`` and
    ``column_origins[j]`` how the spec spells it (``x[3,4]``, ``y.layer[2][7]``);
    ``rows``/``row_origins`` are the emitted rows in file order (AMPL: the
    constraint declarations). ``extra_columns`` are columns a format adds that the
    model does not have (e.g. the fixed column carrying the objective constant).
    """

    format: str
    columns: list[str]
    column_origins: list[str]
    rows: list[str] = field(default_factory=list)
    row_origins: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    blocks: list[VarBlock] = field(default_factory=list)

    def column_vector(self, solution: Mapping[str, float]) -> np.ndarray:
        """The model's column vector from a solver's ``{emitted name: value}``."""
        return np.array([float(solution[n]) for n in self.columns])

    def spec_values(self, solution: Mapping[str, float], roles=("user",)) -> dict[str, np.ndarray]:
        """Values of the spec's variables (blocks of the given roles), shaped as declared."""
        x = self.column_vector(solution)
        return {b.name: x[b.cols].reshape(b.shape) for b in self.blocks if b.role in roles}

    def origin(self, name: str) -> str:
        """The spec's spelling of an emitted column or row name."""
        if not hasattr(self, "_origin"):
            self._origin = dict(zip(self.columns, self.column_origins))
            self._origin.update(zip(self.rows, self.row_origins))
        return self._origin[name]


def column_names(milp: MilpModel, layers: dict[str, LayerInfo] | None = None,
                 registry: Registry | None = None) -> tuple[list[str], list[str]]:
    """Emitted name and spec origin of every column, in column order."""
    layers = layer_structure(milp) if layers is None else layers
    registry = registry or Registry()
    names: list[str] = []
    origins: list[str] = []
    for block in milp.blocks:
        info = layers.get(block.name)
        if info is not None:
            label, k = info.app.label, info.k
            base = sanitize(label)
            if block is info.x:
                idx = np.arange(block.size)
                nm = [f"{base}_L{k}_N{i}" for i in idx.tolist()]
                og = [f"{label}.layer[{k}][{i}]" for i in idx.tolist()]
            else:
                tag = "s" if block is info.s else "z"
                nm = [f"{base}_L{k}_{tag}{i}" for i in info.unstable.tolist()]
                og = [f"{label}.L{k}.{tag}[{i}]" for i in info.unstable.tolist()]
        elif block.labels is not None and len(block.labels) == block.size:
            nm, og = [sanitize(lab) for lab in block.labels], list(block.labels)
        else:
            nm = indexed(sanitize(block.name), block.shape, block.size)
            og = spec_indexed(block.name, block.shape, block.size)
        names += registry.take_all(nm)
        origins += og
    return names, origins


def block_row_names(block: RowBlock, layers: dict[str, LayerInfo]) -> tuple[list[str], list[str]]:
    info = layers.get(block.name)
    if info is not None:
        kind = info.row_names[block.name]
        neurons = info.eq_neurons if kind == "eq" else info.unstable
        base = f"{sanitize(info.app.label)}_L{info.k}_{kind}"
        nm = [f"{base}_{i}" for i in neurons.tolist()]
        og = [f"{info.app.label}.L{info.k}.{kind}[{i}]" for i in neurons.tolist()]
        return nm, og
    if block.labels is not None and len(block.labels) == block.size:
        return [sanitize(lab) for lab in block.labels], list(block.labels)
    return (indexed(sanitize(block.name), (block.size,), block.size),
            spec_indexed(block.name, (block.size,), block.size))


def merged_row_blocks(milp: MilpModel) -> list[RowBlock]:
    """Consecutive row blocks with the same name and role as one block
    (a ``for j in ...`` family is encoded one block per instance)."""
    out: list[RowBlock] = []
    run: list[RowBlock] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            out.append(run[0])
        else:
            labels = None
            if all(r.labels is not None for r in run):
                labels = [lab for r in run for lab in r.labels]
            when = None
            if all(r.when is not None for r in run):
                when = (np.concatenate([r.when[0] for r in run]),
                        np.concatenate([r.when[1] for r in run]))
            elif any(r.when is not None for r in run):
                raise ValueError(f"row block '{run[0].name}' mixes conditional and linear rows")
            out.append(RowBlock(run[0].name, sp.vstack([r.A for r in run]).tocsr(),
                                np.concatenate([r.lo for r in run]),
                                np.concatenate([r.hi for r in run]),
                                run[0].role, run[0].span, labels, when))
        run.clear()

    for r in milp.rows:
        if run and (r.name != run[0].name or r.role != run[0].role):
            flush()
        run.append(r)
    flush()
    return out


def clean_matrix(A: sp.csr_matrix) -> sp.csr_matrix:
    """A copy without explicit zeros, sorted indices, float64."""
    A = sp.csr_matrix(A, dtype=np.float64, copy=True)
    A.eliminate_zeros()
    A.sort_indices()
    return A


def plan_rows(milp: MilpModel, layers: dict[str, LayerInfo] | None = None,
              registry: Registry | None = None) -> list[RowGroup]:
    """The rows as LP and MPS write them: one sense and right-hand side each.

    ``lo == hi`` is an equality, a one-sided row keeps its side, a ranged row
    becomes two rows ``<name>_lo`` (>=) and ``<name>_hi`` (<=) (every reader
    accepts that, unlike RANGES/``-R`` forms); a row free on both sides is dropped.
    """
    layers = layer_structure(milp) if layers is None else layers
    registry = registry or Registry()
    groups: list[RowGroup] = []
    start = 0
    for block in merged_row_blocks(milp):
        names, origins = block_row_names(block, layers)
        lo, hi = block.lo.astype(float), block.hi.astype(float)
        m = block.size
        eq = lo == hi
        has_lo, has_hi = np.isfinite(lo) & ~eq, np.isfinite(hi) & ~eq
        ranged = has_lo & has_hi
        # emitted row r: (source row, sense, rhs, name suffix)
        counts = np.where(ranged, 2, (eq | has_lo | has_hi).astype(int))
        src = np.repeat(np.arange(m), counts)
        second = np.zeros(src.size, dtype=bool)
        if ranged.any():
            first_pos = np.cumsum(counts) - counts
            second[first_pos[ranged] + 1] = True
        sense = np.where(eq[src], "E", np.where(has_lo[src] & ~second, "G", "L"))
        rhs = np.where(sense == "G", lo[src], hi[src]) + 0.0  # + 0.0 turns -0.0 into 0.0
        emitted = [names[i] for i in src.tolist()]
        emitted_origins = [origins[i] for i in src.tolist()]
        if ranged.any():
            for r in np.flatnonzero(ranged[src]).tolist():
                emitted[r] += "_hi" if second[r] else "_lo"
        A = clean_matrix(block.A)[src] if src.size != m else clean_matrix(block.A)
        when = None if block.when is None else (block.when[0][src], block.when[1][src])
        groups.append(RowGroup(block.name, block.role, block.span, A, sense, rhs,
                               registry.take_all(emitted), emitted_origins, start + src, when))
        start += m
    return groups


# ---------------------------------------------------------------- numbers and helpers


def fmt_numbers(values: np.ndarray, suffix: str = "") -> list[str]:
    """Shortest strings that read back to exactly the same doubles: Python's repr,
    integers without ``.0`` (``2`` not ``2.0``, never ``-0``); ``suffix`` appended."""
    v = np.asarray(values, dtype=np.float64).ravel() + 0.0
    whole = (v == np.trunc(v)) & (np.abs(v) < 1e15)
    if whole.all():
        return list(map(("%d" + suffix).__mod__, v.tolist()))
    out = list(map(("%r" + suffix).__mod__, v.tolist()))
    if whole.any():
        for i in np.flatnonzero(whole).tolist():
            out[i] = f"{int(v[i])}{suffix}"
    return out


def fingerprint(milp: MilpModel) -> str:
    """A short hash of the model's numbers and names: files of one compile share it."""
    h = hashlib.sha256()
    for b in milp.blocks:
        h.update(f"{b.name}|{b.kind}|{b.shape}".encode())
        h.update(np.ascontiguousarray(b.lb, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(b.ub, dtype=np.float64).tobytes())
    for r in milp.rows:
        A = r.A.tocsr()
        h.update(r.name.encode())
        for arr in (A.indptr, A.indices):
            h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
        for arr in (A.data, r.lo, r.hi):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    obj = milp.objective
    h.update(obj.sense.encode())
    h.update(np.ascontiguousarray(obj.c, dtype=np.float64).tobytes())
    h.update(repr(float(obj.constant)).encode())
    for q in obj.quad:
        h.update(repr(float(q.coef)).encode())
        A = q.A.tocsr()
        for arr in (A.indptr, A.indices):
            h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
        for arr in (A.data, q.c):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]
