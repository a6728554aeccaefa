"""AMPL ``.mod`` + ``.dat`` + ``.run`` (the ``.mod``/``.dat`` pair is also GNU MathProg).

The ``.mod`` is generic over index sets and parameters, in the spirit of
the WBO master's thesis, Annex II: per network ``K``, ``n{0..K}``, ``W{k,i,j}``, ``b{k,i}``;
per application the sets of stably active and unstable neurons of each layer,
the big-M bounds ``L``/``U``, and the ReLU rows written once over those sets.
All numbers live in the ``.dat``.

Spec variables are declared by name with 0-based index sets and their bounds.
Rows that are not network rows (the spec's constraints and the rows of the
abs/norm encodings) come from the matrix, not from the spec's expression tree:

- a small row block (at most ``EXPLICIT_MAX_NNZ`` coefficients and
  ``EXPLICIT_MAX_ROWS`` rows) is written out, e.g.
  ``subject to wrong_class: y_x[3,1] - 1.2 * y_x[3,0] >= 0;``;
- a larger one is generic: a row set and sparse coefficient data per variable
  it touches, ``sum{(r, i0) in c__x} c__x_a[r, i0] * x[i0]``, numbers in the ``.dat``.

The objective follows the same rule. MathProg has no ``Infinity``, so an
infinite bound is left out of the declaration and a family with some finite
and some infinite bounds gets bound rows over the finite subset. A quadratic
objective is refused (MathProg is linear; use the LP or MPS format).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import TextIO

import jinja2
import numpy as np
import scipy.sparse as sp

from nnlang.emit import Capabilities, EmitOptions, refuse_unsupported
from nnlang.emit.ampl_parts import (
    Columns,
    Constraint,
    Family,
    Objective,
    explicit_terms,
    flat_index_expr,
    identity_source,
    layer_slices,
    matrix_tables,
    records,
    structured,
    widen,
)
from nnlang.emit.names import (
    RESERVED,
    Registry,
    SymbolMap,
    block_row_names,
    clean_matrix,
    column_names,
    fmt_numbers,
    layer_structure,
    merged_row_blocks,
    sanitize,
)
from nnlang.encode.affine import Aff, interval
from nnlang.encode.layers import encoded_weights
from nnlang.errors import UnsupportedError
from nnlang.ir.milp import AppEncoding, MilpModel, VarBlock

SUFFIXES = ("mod", "dat", "run")
OWNED_SUFFIXES = ("mod", "dat", "run")
CAPABILITIES = Capabilities(integers=True, quadratic_objective=False, indicators=True,
                            complementarity=True)
EXPLICIT_MAX_NNZ = 100
EXPLICIT_MAX_ROWS = 20
# Dummy indices the .mod uses; no model entity may take these names.
DUMMIES = ("r", "k", "i", "j", *(f"i{d}" for d in range(10)))

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    keep_trailing_newline=True, autoescape=False)


def check(milp: MilpModel) -> None:
    """Refuse, before anything is written, what this format cannot express."""
    refuse_unsupported(milp, CAPABILITIES, "AMPL/MathProg",
                       "MathProg is linear; write LP or MPS (--to lp, --to mps) for sumsq")
    if milp.conditional_rows and milp.objective.quad:
        raise UnsupportedError("the AMPL emitter writes a quadratic objective in no encoding")


# ---------------------------------------------------------------- data formatting


_OPS = {"eq": "=", "le": "<=", "ge": ">="}


class AmplBuilder:
    """Collects what the templates loop over: declarations, constraints, data chunks."""

    def __init__(self, milp: MilpModel, options: EmitOptions):
        self.milp = milp
        self.options = options
        self.reg = Registry([*DUMMIES, *RESERVED, "Infinity"])
        self.layers = layer_structure(milp)
        self.chunks: list[str | Iterator[str]] = []  # .dat statements, in order
        self.networks: list[dict] = []
        self.apps: list[dict] = []
        self.variables: list[Family] = []
        self.constraints: list[Constraint] = []
        self.rows: list[tuple[str, str]] = []  # (declared name, spec origin)
        infos = {id(a): [self.layers.get(x.name) for x in a.layers] for a in milp.applications}
        self.structured = [a for a in milp.applications if structured(infos[id(a)], a, milp)]
        self.app_blocks: set[str] = set()
        self.app_rows: set[str] = set()
        for a in self.structured:
            for li in infos[id(a)]:
                self.app_blocks |= {b.name for b in (li.x, li.s, li.z) if b is not None}
                self.app_rows |= set(li.row_names)
        self.n_ext = milp.n + sum(a.network.n_in for a in self.structured)
        self.cols = Columns(self.n_ext)
        self.pending_inputs: list[tuple[AppEncoding, str, int]] = []

    def name(self, base: str) -> str:
        return self.reg.take(sanitize(base))

    def build(self) -> None:
        blocks = self.milp.blocks
        for b in blocks:  # spec variables keep their names first
            if b.role == "user":
                self._block_family(b)
        self.objective_name = self.name("obj")
        base = self.milp.n
        for a in self.structured:
            self._application(a, base)
            base += a.network.n_in
        for b in blocks:
            if b.role != "user" and b.name not in self.app_blocks:
                self._block_family(b)
        for a, cname, first in self.pending_inputs:
            self._generic_input(a, cname, first)
        layers = self.layers
        for block in merged_row_blocks(self.milp):
            if block.name in self.app_rows:
                continue
            if block.when is not None:
                raise UnsupportedError(f"the {block.role} rows '{block.name}' are not in a "
                                       f"network layer the AMPL template writes; use LP")
            A = clean_matrix(block.A)
            A.resize((A.shape[0], self.n_ext))
            names, origins = block_row_names(block, layers)
            where = (f" ({Path(block.span.file).name}:{block.span.line})"
                     if block.span is not None else "")
            self._rows(sanitize(block.name), f"{block.name}: {block.role} rows{where}", A,
                       block.lo, block.hi, names, origins)
        self._objective()

    # ---- variables
    def _block_family(self, b: VarBlock) -> None:
        scalar = b.shape == () and b.size == 1
        shaped = len(b.shape) >= 1 and int(np.prod(b.shape)) == b.size
        shape = b.shape if shaped else (b.size,)
        ndims = 0 if scalar else len(shape)
        fam = Family(self.name(b.name), [f"i{d}" for d in range(ndims)])
        if ndims:
            fam.index = "{" + ", ".join(f"i{d} in 0..{s - 1}" for d, s in enumerate(shape)) + "}"
        where = f", {Path(b.span.file).name}:{b.span.line}" if b.span is not None else ""
        fam.comment = (f"{b.name}: " if fam.name != b.name else "") + f"{b.role}{where}"
        fid = self.cols.add_family(fam, ndims)
        idx = list(np.unravel_index(np.arange(b.size), shape)) if ndims else []
        self.cols.assign(np.arange(b.offset, b.offset + b.size), fid, idx)
        self._bounds(fam, b, idx)
        self.variables.append(fam)

    def _bounds(self, fam: Family, b: VarBlock, idx: list[np.ndarray]) -> None:
        lb, ub = b.lb + 0.0, b.ub + 0.0
        if b.kind == "binary" and np.all(lb == 0) and np.all(ub == 1):
            fam.attrs = " binary"
            return
        attrs = []
        ref = fam.ref(fam.dummies)
        tup = ", ".join(fam.dummies)
        for side, vals, op, tag in (("lb", lb, ">=", "LB"), ("ub", ub, "<=", "UB")):
            fin = np.isfinite(vals)
            if not fin.any():
                continue
            if fin.all() and np.all(vals == vals[0]):
                attrs.append(f"{op} {fmt_numbers(vals[:1])[0]}")
                continue
            pname = self.name(f"{fam.name}_{side}")
            if fin.all():
                fam.decls.append(f"param {pname}{fam.index};")
                attrs.append(f"{op} {pname}[{tup}]")
                self.chunks.append(f"param {pname} :=\n{records(idx, vals, per_line=8)};")
                continue
            # some finite, some infinite (MathProg has no Infinity): rows on the finite subset
            sname = self.name(f"{fam.name}_{tag}")
            keep = np.flatnonzero(fin)
            sub = [a[keep] for a in idx]
            fam.decls.append(f"set {sname} dimen {len(fam.dummies)};")
            fam.decls.append(f"param {pname}{{{sname}}};")
            self.chunks.append(f"set {sname} :=\n{records(sub, per_line=8)};")
            self.chunks.append(f"param {pname} :=\n{records(sub, vals[keep], per_line=8)};")
            head = f"{{({tup}) in {sname}}}" if len(fam.dummies) > 1 else f"{{{tup} in {sname}}}"
            cname = self.name(f"{fam.name}_{side}_row")
            self.constraints.append(Constraint(
                cname, head, f"{ref} {op} {pname}[{tup}]",
                f"the finite {'lower' if side == 'lb' else 'upper'} bounds of {fam.name}"))
            self.rows.append((cname, f"bounds of {b.name}"))
        kind = " integer" if b.kind != "continuous" else ""
        fam.attrs = kind + (" " + ", ".join(attrs) if attrs else "")

    # ---- networks and applications
    def _network(self, a: AppEncoding) -> dict:
        for net in self.networks:
            if net["network"] is a.network:
                return net
        p = a.network.name or "net"
        sizes = a.network.sizes
        net = {"network": a.network, "spec_name": a.network.name,
               "sizes": "-".join(map(str, sizes)), "K": self.name(f"{p}_K"),
               "n": self.name(f"{p}_n"), "W": self.name(f"{p}_W"), "b": self.name(f"{p}_b")}
        layers = a.network.layers
        self.chunks.append(f"param {net['K']} := {len(layers)};")
        self.chunks.append(f"param {net['n']} :=" +
                           records([np.arange(len(sizes)), np.asarray(sizes)], per_line=8) + ";")
        self.chunks.append(matrix_tables(net["W"], [encoded_weights(layer.W) for layer in layers]))
        self.chunks.append(f"param {net['b']} :=\n" + layer_slices(
            [(k, np.arange(layer.n_out), layer.b) for k, layer in enumerate(layers, start=1)])
            + ";")
        self.networks.append(net)
        return net

    def _application(self, a: AppEncoding, first: int) -> None:
        net = self._network(a)
        keys = ("x", "s", "z", "ACT", "UNST", "L", "U", "xlb", "xub",
                "input", "act", "eq", "bigm_x", "bigm_s", "off", "on")
        names = {key: self.name(f"{a.label}_{key}") for key in keys}
        fams = [Family(names[t], ["k", "i"]) for t in ("x", "s", "z")]
        fx, fs, fz = (self.cols.add_family(f, 2) for f in fams)
        n0 = a.network.n_in
        self.cols.assign(np.arange(first, first + n0), fx, [np.zeros(n0, int), np.arange(n0)])
        sets, Ls, Us, xlb, xub = [], [], [], [], []
        for x in a.layers:
            li = self.layers[x.name]
            k, m, iu = li.k, x.size, li.unstable
            L, U = a.pre_bounds[k - 1]
            self.cols.assign(np.arange(x.offset, x.offset + m), fx, [np.full(m, k), np.arange(m)])
            for blk, fid in ((li.s, fs), (li.z, fz)):
                if blk is not None and blk.size:
                    self.cols.assign(np.arange(blk.offset, blk.offset + blk.size), fid,
                                     [np.full(iu.size, k), iu])
            active = np.setdiff1d(li.eq_neurons, iu)
            sets.append(f"set {names['ACT']}[{k}] :=" + records([active], per_line=20) + ";")
            sets.append(f"set {names['UNST']}[{k}] :=" + records([iu], per_line=20) + ";")
            Ls.append((k, iu, L[iu]))
            Us.append((k, iu, U[iu]))
            xlb.append((k, np.arange(m), x.lb))
            xub.append((k, np.arange(m), x.ub))
        lo0, hi0, expr, decls = self._input(a, names, net, first)
        xlb.insert(0, (0, np.arange(n0), lo0))
        xub.insert(0, (0, np.arange(n0), hi0))
        self.chunks += sets
        for key, data in (("L", Ls), ("U", Us), ("xlb", xlb), ("xub", xub)):
            body = layer_slices(data)
            if body:
                self.chunks.append(f"param {names[key]} :=\n{body};")
        # layers without unstable neurons have no rows to tell the encoding: any other wins
        encoding = next((self.layers[x.name].encoding for x in a.layers
                         if self.layers[x.name].encoding != "bigm"), "bigm")
        self.apps.append(dict(label=a.label, net=net, input_expr=expr, decls=decls,
                              encoding=encoding, **names))
        relu_keys = {"bigm": ("bigm_x", "bigm_s"), "partition": ()}.get(encoding, ("off", "on"))
        for key in ("input", "act", "eq", *relu_keys):
            if key != "input" or expr:
                self.rows.append((names[key], f"{a.label}: {key} rows of the ReLU encoding"))

    def _input(self, a: AppEncoding, names: dict, net: dict,
               first: int) -> tuple[np.ndarray, np.ndarray, str, list[str]]:
        """Bounds of layer 0 and the right-hand side of ``<app>_input`` ("" = generic rows)."""
        lb, ub = self.milp.column_bounds()
        n0 = a.network.n_in
        c = np.asarray(a.input_c, dtype=float)
        src = identity_source(a, self.milp.blocks)
        if src is not None and self.cols.family[src[0].offset] >= 0:
            block, offset = src
            fam = self.cols.families[self.cols.family[block.offset]]
            shaped = len(block.shape) >= 1 and int(np.prod(block.shape)) == block.size
            if block.name in self.app_blocks:  # another application's layer: x[k, i]
                k, i0 = self.cols.index[block.offset + offset, :2].tolist()
                subs = [str(k), f"j + {i0}" if i0 else "j"]
            else:
                subs = flat_index_expr(block.shape if shaped else (block.size,), offset) \
                    if fam.dummies else []
            expr = fam.ref(subs).replace(",", ", ") if subs else fam.name
            cols = slice(block.offset + offset, block.offset + offset + n0)
            lo, hi = lb[cols] + c, ub[cols] + c
            decls: list[str] = []
            if np.any(c != 0):
                cname = self.name(f"{a.label}_in_c")
                decls.append(f"param {cname}{{j in 0..{net['n']}[0]-1}};")
                self.chunks.append(f"param {cname} :=\n{records([np.arange(n0)], c, 8)};")
                expr += f" + {cname}[j]"
                lo, hi = widen(lo, hi)
            return lo, hi, expr, decls
        # any other affine input: generic rows x[0,j] - input_A x = input_c, once all
        # variables have families
        A = sp.csr_matrix(a.input_A, dtype=float)
        lo, hi = interval(Aff(A, c, (n0,)), lb, ub)
        self.pending_inputs.append((a, names["input"], first))
        lo, hi = widen(lo, hi)
        return lo, hi, "", []

    def _generic_input(self, a: AppEncoding, cname: str, first: int) -> None:
        n0 = a.network.n_in
        A = sp.csr_matrix(a.input_A, dtype=float).copy()
        A.resize((n0, self.n_ext))
        eye = sp.csr_matrix((np.ones(n0), (np.arange(n0), first + np.arange(n0))),
                            shape=(n0, self.n_ext))
        c = np.asarray(a.input_c, dtype=float)
        self.reg.used.discard(cname)  # reserved in _application; _rows takes it again
        origins = [f"{a.label}.layer[0][{j}]" for j in range(n0)]
        self._rows(cname, f"{a.label}: the network input (layer 0)", (eye - A).tocsr(), c, c,
                   [f"{cname}_{j}" for j in range(n0)], origins)

    # ---- rows and objective
    def _rows(self, base: str, comment: str, A: sp.csr_matrix, lo: np.ndarray, hi: np.ndarray,
              row_names: list[str], origins: list[str]) -> None:
        A = clean_matrix(A)
        lo, hi = np.asarray(lo, float) + 0.0, np.asarray(hi, float) + 0.0
        eq = lo == hi
        flo, fhi = np.isfinite(lo) & ~eq, np.isfinite(hi) & ~eq
        cats = {"eq": eq, "le": fhi & ~flo, "ge": flo & ~fhi, "rng": flo & fhi}
        m = A.shape[0]
        if A.nnz <= EXPLICIT_MAX_NNZ and m <= EXPLICIT_MAX_ROWS:
            kind = np.select([cats["eq"], cats["le"], cats["ge"], cats["rng"]],
                             ["eq", "le", "ge", "rng"], "free")
            los, his = fmt_numbers(lo[np.isfinite(lo)]), fmt_numbers(hi[np.isfinite(hi)])
            lo_s = dict(zip(np.flatnonzero(np.isfinite(lo)).tolist(), los))
            hi_s = dict(zip(np.flatnonzero(np.isfinite(hi)).tolist(), his))
            first = True
            for i in range(m):
                if kind[i] == "free":
                    continue
                a, b = A.indptr[i], A.indptr[i + 1]
                expr = explicit_terms(A.data[a:b], self.cols.names(A.indices[a:b]))
                if kind[i] == "rng":
                    body = f"{lo_s[i]} <= {expr} <= {hi_s[i]}"
                elif kind[i] == "ge":
                    body = f"{expr} >= {lo_s[i]}"
                else:
                    body = f"{expr} {_OPS[kind[i]]} {hi_s[i]}"
                name = self.reg.take(row_names[i])
                self.constraints.append(Constraint(name, "", body, comment if first else ""))
                self.rows.append((name, origins[i]))
                first = False
            return
        present = [(t, mask) for t, mask in cats.items() if mask.any()]
        for n_cat, (tag, mask) in enumerate(present):
            cname = self.name(base if len(present) == 1 else f"{base}_{tag}")
            rows = np.flatnonzero(mask)
            rset = self.name(f"{cname}_R")
            decls = [f"set {rset};"]
            self.chunks.append(f"set {rset} :=" + records([rows], per_line=20) + ";")
            sides = {"eq": [("rhs", hi)], "le": [("rhs", hi)], "ge": [("rhs", lo)],
                     "rng": [("lo", lo), ("hi", hi)]}[tag]
            pnames = {}
            for key, vals in sides:
                pname = pnames[key] = self.name(f"{cname}_{key}")
                decls.append(f"param {pname}{{{rset}}};")
                self.chunks.append(f"param {pname} :=\n{records([rows], vals[rows], 8)};")
            expr, more = self._sparse_terms(cname, A[rows], rows, rset)
            decls += more
            if tag == "rng":
                body = f"{pnames['lo']}[r] <= {expr}\n    <= {pnames['hi']}[r]"
            else:
                body = f"{expr}\n    {_OPS[tag]} {pnames['rhs']}[r]"
            self.constraints.append(Constraint(cname, f"{{r in {rset}}}", body,
                                               comment if n_cat == 0 else "", decls))
            self.rows.append((cname, comment.split(":")[0]))

    def _sparse_terms(self, cname: str, A: sp.csr_matrix, row_ids: np.ndarray | None,
                      rset: str | None) -> tuple[str, list[str]]:
        """``sum{(r, i0) in T} a[r, i0] * x[i0] + ...`` over the families ``A`` touches."""
        coo = A.tocoo()
        fam_of = self.cols.family[coo.col]
        terms, decls = [], []
        for fid in np.unique(fam_of).tolist():
            sel = np.flatnonzero(fam_of == fid)
            fam = self.cols.families[fid]
            d = len(fam.dummies)
            idx = [self.cols.index[coo.col[sel], t] for t in range(d)]
            vals = coo.data[sel]
            tname = self.name(f"{cname}__{fam.name}")
            aname = self.name(f"{tname}_a")
            rcol = [row_ids[coo.row[sel]]] if row_ids is not None else []
            tup = (["r"] if row_ids is not None else []) + fam.dummies
            if d == 0:
                if row_ids is not None:
                    decls.append(f"param {aname}{{{rset}}} default 0;")
                    self.chunks.append(f"param {aname} :=\n{records(rcol, vals, 8)};")
                    terms.append(f"{aname}[r] * {fam.name}")
                else:
                    decls.append(f"param {aname};")
                    self.chunks.append(f"param {aname} := {fmt_numbers(vals)[0]};")
                    terms.append(f"{aname} * {fam.name}")
                self.reg.used.discard(tname)
                continue
            decls.append(f"set {tname} dimen {len(tup)};")
            decls.append(f"param {aname}{{{tname}}};")
            self.chunks.append(f"param : {tname} : {aname} :=\n{records(rcol + idx, vals, 1)};")
            head = f"({', '.join(tup)})" if len(tup) > 1 else tup[0]
            terms.append(f"sum{{{head} in {tname}}} {aname}[{', '.join(tup)}] * "
                         f"{fam.ref(fam.dummies)}")
        return ("\n    + ".join(terms) or "0"), decls

    def _objective(self) -> None:
        obj = self.milp.objective
        c = np.asarray(obj.c, dtype=float)
        nz = np.flatnonzero(c)
        const = float(obj.constant) + 0.0
        decls: list[str] = []
        if nz.size <= EXPLICIT_MAX_NNZ:
            body = explicit_terms(c[nz], self.cols.names(nz)) if nz.size else ""
        else:
            row = sp.csr_matrix(c.reshape(1, -1))
            row.resize((1, self.n_ext))
            body, decls = self._sparse_terms(self.objective_name, clean_matrix(row), None, None)
        if const != 0 or not body:
            cs = fmt_numbers(np.array([abs(const)]))[0]
            body = (f"{body} {'-' if const < 0 else '+'} {cs}" if body
                    else fmt_numbers(np.array([const]))[0])
        self.objective = Objective(self.objective_name, obj.sense, body, decls)


# ---------------------------------------------------------------- the writer


def write(milp: MilpModel, streams: Mapping[str, TextIO],
          options: EmitOptions | None = None) -> SymbolMap:
    """Write ``milp`` as AMPL: ``streams`` maps ``mod``, ``dat`` and ``run`` to text streams."""
    options = options or EmitOptions()
    check(milp)
    b = AmplBuilder(milp, options)
    b.build()
    header = [f"{k}: {v}" for k, v in options.header.items()]
    streams["mod"].write(_ENV.get_template("model.mod.j2").render(
        header=header, stem=options.stem, networks=b.networks, apps=b.apps,
        variables=b.variables, objective=b.objective, constraints=b.constraints))
    for piece in _ENV.get_template("model.dat.j2").generate(
            header=header, stem=options.stem,
            chunks=chain.from_iterable([c] if isinstance(c, str) else c for c in b.chunks)):
        streams["dat"].write(piece)
    displays = [f.name for f in b.variables[: sum(1 for x in milp.blocks if x.role == "user")]]
    streams["run"].write(_ENV.get_template("model.run.j2").render(
        header=header, stem=options.stem, solver=options.solver,
        objective=b.objective.name, displays=displays))
    _, origins = column_names(milp, b.layers)
    return SymbolMap("ampl", b.cols.names(np.arange(milp.n)), origins,
                     [r for r, _ in b.rows], [o for _, o in b.rows], [], list(milp.blocks))
