"""Read VNN-LIB properties: input boxes and an output condition in DNF.

A VNN-LIB file (the SMT-LIB subset of VNN-COMP) declares the network inputs
``X_0 .. X_{n-1}`` and outputs ``Y_0 .. Y_{m-1}`` as ``Real`` constants and
asserts a formula over them. The formula describes a *counterexample*: the
property is violated (``sat``) when some input satisfies every assertion.

Supported: ``declare-const`` (sort ``Real``); ``assert`` of formulas built from
``and``, ``or`` and comparisons ``<=``, ``>=``, ``<``, ``>``, ``=`` between
linear terms (numbers, variables, ``+``, ``-``, ``*`` by a constant, ``/`` by a
constant); ``set-logic``/``set-info``/``set-option``/``check-sat``/
``get-model``/``exit`` are ignored. Every atom must involve only inputs (then
it must bound a single input: the input region is a union of boxes) or only
outputs (any linear constraint). Strict comparisons ``<``/``>`` are read as
``<=``/``>=``: a verifier over the reals cannot tell them apart except on the
boundary, and the relaxation is sound for ``unsat`` answers (a counterexample
reported for a property with strict comparisons may sit exactly on the
boundary).

The formula is converted to disjunctive normal form and its terms grouped by
input box, giving ``Property.cases``: one ``Case(lo, hi, output)`` per box,
``output`` being a tuple of ``Conjunction`` (rows ``A @ y <= d``) of which at
least one must hold. Files may be gzipped (``.vnnlib.gz``).

Example:
    >>> prop = read_vnnlib("prop_1.vnnlib")  # doctest: +SKIP
    >>> (lo, hi), = prop.boxes; prop.output[0].A  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import itertools
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnlang.errors import (
    DataError,
    NnlangError,
    SemanticError,
    Span,
    SyntaxError_,
    TimeLimitError,
    UnsupportedError,
)
from nnlang.verify.property import Case, Conjunction, Property
from nnlang.verify.sexp import Node, Tok, read_sexps

MAX_TERMS = 100_000  # disjunctive normal forms larger than this are refused
_IGNORED = {"set-logic", "set-info", "set-option", "check-sat", "get-model", "exit"}
_VAR = re.compile(r"^([XY])_(\d+)$")
_CMP = {"<=", ">=", "<", ">", "="}


# ------------------------------------------------------------------- reading


def read_vnnlib(path: str | Path, deadline: float | None = None) -> Property:
    """Read a ``.vnnlib`` (or gzipped ``.vnnlib.gz``) file; past ``deadline``
    (``time.perf_counter()``) reading stops with ``TimeLimitError``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read VNN-LIB file '{path}': {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(f"cannot decompress VNN-LIB file '{path}': {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"VNN-LIB file '{path}' is not UTF-8 text ({exc.reason} at byte "
                        f"{exc.start})") from None
    return parse_vnnlib(text, str(path), deadline)


def parse_vnnlib(text: str, filename: str = "<string>",
                 deadline: float | None = None) -> Property:
    """Parse VNN-LIB ``text``; ``filename`` names it in error messages."""
    return _Reader(text, filename, deadline).run()


@dataclass
class _Atom:
    """``sum(coef * var) + const <= 0`` with vars ``('X'|'Y', index)``."""

    coefs: dict[tuple[str, int], float]
    const: float
    span: Span


class _Reader:
    def __init__(self, text: str, filename: str, deadline: float | None = None):
        self.text = text
        self.file = filename
        self.deadline = deadline
        self.ticks = 0
        self.decl: dict[tuple[str, int], Span] = {}
        self.atoms: list[_Atom] = []
        # Per atom: ("in", index, is_upper, value) | ("out",) | ("const", truth)
        self.kinds: list[tuple] = []

    def tick(self) -> None:
        """Past the deadline, stop (checked every few thousand atoms and terms)."""
        self.ticks += 1
        if self.deadline is not None and self.ticks % 4096 == 0 and \
                time.perf_counter() > self.deadline:
            raise TimeLimitError(f"the time limit ran out while reading '{self.file}' "
                                 f"({len(self.atoms):,} comparisons read)")

    # ---------------------------------------------------------------- errors

    def span(self, item: Node | Tok) -> Span:
        if isinstance(item, Tok):
            line, column = item.lines.place(item.pos)
            return Span(self.file, line, column, column + len(item))
        head = item.children[0] if item.children else None
        if isinstance(head, (Tok, Node)):
            return self.span(head)
        return Span(self.file, 1, 1)

    def error(self, cls: type[NnlangError], message: str, at: Node | Tok | Span | None
              ) -> NnlangError:
        span = at if isinstance(at, Span) or at is None else self.span(at)
        return cls(message, span, self.text)

    # ------------------------------------------------------------------ run

    def parse_tree(self) -> Node:
        return Node("start", read_sexps(self.text, self.file, self.deadline))

    def run(self) -> Property:
        tree = self.parse_tree()
        parts: list[list[list[int]]] = []
        last_assert: Tok | None = None
        for cmd in tree.children:
            head = cmd.children[0]
            name = str(head)
            args = cmd.children[1:]
            if name == "declare-const":
                self.declare(cmd, args)
            elif name == "assert":
                if len(args) != 1:
                    raise self.error(SyntaxError_, f"'assert' takes one formula, got {len(args)}",
                                     head)
                try:
                    parts.append(self.formula(args[0]))
                except RecursionError:
                    raise self.error(UnsupportedError, "the formula is nested too deeply "
                                     "(and/or/comparisons inside each other, thousands of "
                                     "levels): write it flatter", head) from None
                last_assert = head
            elif name in _IGNORED:
                continue
            else:
                raise self.error(UnsupportedError, f"unsupported command '{name}' (VNN-LIB "
                                 "properties use declare-const and assert)", head)
        dnf = self.conjoin(parts, last_assert) if parts else [[]]
        n_in = self.count("X")
        n_out = self.count("Y")
        if n_in == 0:
            raise self.error(SemanticError, "no input variables: declare X_0, X_1, ... with "
                             "(declare-const X_0 Real)", Span(self.file, 1, 1))
        return Property(self.file, n_in, n_out, self.cases(dnf, n_in, n_out),
                        _first_comment(self.text),
                        {f"{k}_{i}": s for (k, i), s in self.decl.items()})

    def count(self, kind: str) -> int:
        idx = sorted(i for k, i in self.decl if k == kind)
        for expected, got in enumerate(idx):
            if got != expected:
                raise self.error(SemanticError, f"{kind}_{expected} is not declared, but "
                                 f"{kind}_{got} is (variables must be numbered from 0 without "
                                 "gaps)", self.decl[(kind, got)])
        return len(idx)

    def declare(self, cmd: Node, args: list) -> None:
        head = cmd.children[0]
        if len(args) != 2 or not all(isinstance(a, Node) and a.data == "sym" for a in args):
            raise self.error(SyntaxError_, "expected (declare-const NAME Real)", head)
        name_tok, sort_tok = args[0].children[0], args[1].children[0]
        m = _VAR.match(str(name_tok))
        if m is None:
            raise self.error(UnsupportedError, f"variable '{name_tok}': VNN-LIB variables are "
                             "named X_<i> (inputs) or Y_<j> (outputs)", name_tok)
        if str(sort_tok) != "Real":
            raise self.error(UnsupportedError, f"sort '{sort_tok}' is not supported (only Real)",
                             sort_tok)
        key = (m.group(1), int(m.group(2)))
        if key in self.decl:
            prev = self.decl[key]
            raise self.error(SemanticError, f"'{name_tok}' is declared twice (first at line "
                             f"{prev.line})", name_tok)
        self.decl[key] = self.span(name_tok)

    # -------------------------------------------------------------- formulas

    def conjoin(self, parts: list[list[list[int]]], at: Node | Tok) -> list[list[int]]:
        """DNF of the conjunction of DNFs (single-term parts are concatenated first)."""
        base: list[int] = []
        multi: list[list[list[int]]] = []
        for p in parts:
            if len(p) == 1:
                base.extend(p[0])
            elif not p:
                return []  # false
            else:
                multi.append(p)
        size = 1
        for p in multi:
            size *= len(p)
            if size > MAX_TERMS:
                raise self.error(UnsupportedError, f"the formula's disjunctive normal form has "
                                 f"more than {MAX_TERMS} branches", at)
        return [base + [a for t in combo for a in t] for combo in itertools.product(*multi)]

    def formula(self, t: Node) -> list[list[int]]:
        """The DNF of a formula: a list of terms, each a list of atom ids."""
        if t.data != "app":
            what = f"number {t.children[0]}" if t.data == "num" else f"'{t.children[0]}'"
            raise self.error(SemanticError, f"expected a formula (and, or, or a comparison), "
                             f"got {what}", t)
        head, args = t.children[0], t.children[1:]
        op = str(head)
        if op in ("and", "or"):
            args = _flattened(op, args)  # (and (and a b) c) = (and a b c), without recursion
        if op == "and":
            return self.conjoin([self.formula(a) for a in args], head)
        if op == "or":
            out = [term for a in args for term in self.formula(a)]
            if len(out) > MAX_TERMS:
                raise self.error(UnsupportedError, f"the formula's disjunctive normal form has "
                                 f"more than {MAX_TERMS} branches", head)
            return out
        if op in _CMP:
            if len(args) < 2:
                raise self.error(SyntaxError_, f"'{op}' needs at least two arguments", head)
            terms = [self.linear(a) for a in args]
            ids: list[int] = []
            for a, b in itertools.pairwise(terms):
                if op in ("<=", "<", "="):
                    ids.append(self.atom(_sub(a, b), head))
                if op in (">=", ">", "="):
                    ids.append(self.atom(_sub(b, a), head))
            return [ids]
        if op in ("not", "=>", "xor", "ite", "distinct"):
            raise self.error(UnsupportedError, f"'{op}' is not supported (only and, or and "
                             "comparisons)", head)
        raise self.error(UnsupportedError, f"unsupported operator '{op}' in a formula", head)

    def linear(self, t: Node) -> tuple[dict[tuple[str, int], float], float]:
        """A linear term as (coefficients, constant)."""
        if t.data == "num":
            return {}, float(t.children[0])
        if t.data == "sym":
            tok = t.children[0]
            m = _VAR.match(str(tok))
            key = (m.group(1), int(m.group(2))) if m else None
            if key is None or key not in self.decl:
                raise self.error(SemanticError, f"'{tok}' is not declared", tok)
            return {key: 1.0}, 0.0
        head, args = t.children[0], t.children[1:]
        op = str(head)
        if op in ("and", "or") or op in _CMP:
            raise self.error(SemanticError, f"expected a number or a linear term, got a "
                             f"formula ('{op}')", head)
        parts = [self.linear(a) for a in args]
        if op == "+" and parts:
            acc = parts[0]
            for p in parts[1:]:
                acc = _add(acc, p, 1.0)
            return acc
        if op == "-" and len(parts) == 1:
            return _scale(parts[0], -1.0)
        if op == "-" and parts:
            acc = parts[0]
            for p in parts[1:]:
                acc = _add(acc, p, -1.0)
            return acc
        if op == "*" and parts:
            acc = parts[0]
            for p, a in zip(parts[1:], args[1:]):
                if acc[0] and p[0]:
                    raise self.error(UnsupportedError, "product of two variables (not linear)", a)
                acc = _scale(p, acc[1]) if not acc[0] else _scale(acc, p[1])
            return acc
        if op == "/" and len(parts) == 2:
            if parts[1][0]:
                raise self.error(UnsupportedError, "division by a variable (not linear)", args[1])
            if parts[1][1] == 0:
                raise self.error(SemanticError, "division by zero", args[1])
            return _scale(parts[0], 1.0 / parts[1][1])
        raise self.error(UnsupportedError, f"unsupported operator '{op}' in a term (supported: "
                         "+, -, * and / by constants)", head)

    def atom(self, lin: tuple[dict[tuple[str, int], float], float], at: Tok) -> int:
        self.tick()
        coefs = {k: v for k, v in lin[0].items() if v != 0.0}
        span = self.span(at)
        kinds = {k for k, _ in coefs}
        if not coefs:
            kind: tuple = ("const", lin[1] <= 0.0)
        elif kinds == {"X", "Y"}:
            raise self.error(UnsupportedError, "a constraint between inputs and outputs is not "
                             "supported (only input bounds and output constraints)", span)
        elif kinds == {"X"}:
            if len(coefs) != 1:
                names = ", ".join(f"X_{i}" for _, i in sorted(coefs))
                raise self.error(UnsupportedError, f"input constraint over {names}: only bounds "
                                 "on single inputs (boxes, or an 'or' of boxes) are supported",
                                 span)
            ((_, i), c), = coefs.items()
            kind = ("in", i, c > 0, -lin[1] / c)
        else:
            kind = ("out",)
        self.atoms.append(_Atom(coefs, lin[1], span))
        self.kinds.append(kind)
        return len(self.atoms) - 1

    # ----------------------------------------------------------------- cases

    def cases(self, dnf: list[list[int]], n_in: int, n_out: int) -> tuple[Case, ...]:
        groups: dict[bytes, tuple[np.ndarray, np.ndarray, list[Conjunction]]] = {}
        for term in dnf:
            self.tick()
            lo = np.full(n_in, -np.inf)
            hi = np.full(n_in, np.inf)
            rows: list[int] = []
            false = False
            for a in term:
                kind = self.kinds[a]
                if kind[0] == "const":
                    false = false or not kind[1]
                elif kind[0] == "in":
                    _, i, upper, v = kind
                    if upper:
                        hi[i] = min(hi[i], v)
                    else:
                        lo[i] = max(lo[i], v)
                else:
                    rows.append(a)
            if false or np.any(lo > hi):
                continue  # this branch of the formula cannot hold
            bad = np.flatnonzero(~np.isfinite(lo) | ~np.isfinite(hi))
            if bad.size:
                i = int(bad[0])
                side = "lower" if not np.isfinite(lo[i]) else "upper"
                raise self.error(UnsupportedError, f"input X_{i} has no {side} bound (every "
                                 "input needs a finite box)", self.decl.get(("X", i)))
            A = np.zeros((len(rows), n_out))
            d = np.zeros(len(rows))
            for r, a in enumerate(rows):
                atom = self.atoms[a]
                for (_, j), c in atom.coefs.items():
                    A[r, j] += c
                d[r] = -atom.const
            key = lo.tobytes() + hi.tobytes()
            if key not in groups:
                groups[key] = (lo, hi, [])
            conj = Conjunction(A, d)
            if not any(c.A.shape == A.shape and np.array_equal(c.A, A) and np.array_equal(c.d, d)
                       for c in groups[key][2]):
                groups[key][2].append(conj)
        return tuple(Case(lo, hi, tuple(conjs)) for lo, hi, conjs in groups.values())


def _add(a, b, sign: float):
    coefs = dict(a[0])
    for k, v in b[0].items():
        coefs[k] = coefs.get(k, 0.0) + sign * v
    return coefs, a[1] + sign * b[1]


def _scale(a, c: float):
    return {k: v * c for k, v in a[0].items()}, a[1] * c


def _sub(a, b):
    return _add(a, b, -1.0)


def _flattened(op: str, args: list) -> list:
    """``args`` of an ``and``/``or`` with nested applications of the same operator
    spliced in, iteratively (generated properties nest them thousands deep)."""
    out, stack = [], list(reversed(args))
    while stack:
        a = stack.pop()
        if isinstance(a, Node) and a.data == "app" and str(a.children[0]) == op:
            stack.extend(reversed(a.children[1:]))
        else:
            out.append(a)
    return out


def _first_comment(text: str) -> str:
    for line in text.splitlines():
        s = line.strip()
        if s.startswith(";"):
            body = s.lstrip(";").strip()
            if body:
                return body
        elif s:
            return ""
    return ""
