"""A reader of the AMPL subset nnlang's WBO ``.mod``/``.dat`` files use, to evaluate
the written model in Python (there is no AMPL binary here).

It parses the ``.dat`` (scalars, ``a b  c d`` lists, ``set``, two-column lists and
tables), the ``.mod``'s objective and its equations ``x[...] = expr`` with their
indexing ``{i in 1..n, ...: condition}``, and evaluates them with AMPL's
precedences (``sum`` binds looser than ``*`` and tighter than ``+``). Given ``W``
and ``b``, the equations fix every ``x`` (each is solved for its left side, in
as many passes as the layer order needs), and the objective is then a number.
"""

from __future__ import annotations

import math
import re

TOKEN = re.compile(r"\s*(\d+(?:\.(?!\.)\d*)?(?:[eE][-+]?\d+)?|\.\.|<=|>=|!=|"
                   r"[A-Za-z_]\w*|[-+*/^()\[\]{},:=])")


def tokens(text: str) -> list[str]:
    text = re.sub(r"#[^\n]*", "", text).strip()
    out, at = [], 0
    while at < len(text):
        m = TOKEN.match(text, at)
        if m is None:
            if text[at:].strip() == "":
                break
            raise ValueError(f"cannot read {text[at:at + 20]!r}")
        out.append(m.group(1))
        at = m.end()
    return out


class Parser:
    def __init__(self, toks: list[str]):
        self.t, self.p = toks, 0

    def peek(self, k: int = 0):
        return self.t[self.p + k] if self.p + k < len(self.t) else None

    def take(self, want: str | None = None) -> str:
        tok = self.t[self.p]
        if want is not None and tok != want:
            raise ValueError(f"expected {want!r}, got {tok!r} at token {self.p}")
        self.p += 1
        return tok

    def expr(self):
        neg = self.peek() == "-" and self.take()
        node = self.sumlevel()
        if neg:
            node = ("neg", node)
        while self.peek() in ("+", "-"):
            op = self.take()
            node = (op, node, self.sumlevel())
        return node

    def sumlevel(self):
        if self.peek() == "sum":
            self.take()
            return ("sum", self.indexing(), self.sumlevel())
        return self.product()

    def product(self):
        node = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = (op, node, self.unary())
        return node

    def unary(self):
        if self.peek() == "-":
            self.take()
            return ("neg", self.unary())
        node = self.atom()
        if self.peek() == "^":
            self.take()
            node = ("^", node, self.unary())
        return node

    def atom(self):
        tok = self.take()
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        if re.match(r"\d", tok):
            return ("num", float(tok))
        if self.peek() == "[":
            self.take("[")
            args = [self.expr()]
            while self.peek() == ",":
                self.take()
                args.append(self.expr())
            self.take("]")
            return ("ref", tok, args)
        if self.peek() == "(":
            self.take("(")
            arg = self.expr()
            self.take(")")
            return ("call", tok, arg)
        return ("name", tok)

    def indexing(self):
        self.take("{")
        binds = []
        while True:
            name = self.take()
            self.take("in")
            lo = self.expr()
            self.take("..")
            binds.append((name, lo, self.expr()))
            if self.peek() != ",":
                break
            self.take()
        cond = None
        if self.peek() == ":":
            self.take()
            left = self.expr()
            if self.peek() == "not":
                self.take()
                self.take("in")
                cond = ("notin", left, self.take())
            elif self.peek() == "in":
                self.take()
                cond = ("in", left, self.take())
            else:
                self.take("!=")
                cond = ("!=", left, self.expr())
        self.take("}")
        return binds, cond


FUNCS = {"sqrt": math.sqrt, "exp": math.exp}


def evaluate(node, env: dict, data: dict):
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "name":
        return env[node[1]] if node[1] in env else data[node[1]]
    if kind == "ref":
        key = tuple(round(evaluate(a, env, data)) for a in node[2])
        return data[node[1]][key if len(key) > 1 else key[0]]
    if kind == "call":
        return FUNCS[node[1]](evaluate(node[2], env, data))
    if kind == "neg":
        return -evaluate(node[1], env, data)
    if kind == "sum":
        return sum(evaluate(node[2], e, data) for e in bindings(node[1], env, data))
    a, b = evaluate(node[1], env, data), evaluate(node[2], env, data)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": a ** b}[kind]


def bindings(indexing, env: dict, data: dict):
    binds, cond = indexing

    def rec(k: int, e: dict):
        if k == len(binds):
            if cond is None or _holds(cond, e, data):
                yield e
            return
        name, lo, hi = binds[k]
        for v in range(int(evaluate(lo, e, data)), int(evaluate(hi, e, data)) + 1):
            yield from rec(k + 1, {**e, name: v})
    yield from rec(0, env)


def _holds(cond, env: dict, data: dict) -> bool:
    left = evaluate(cond[1], env, data)
    if cond[0] == "!=":
        return left != evaluate(cond[2], env, data)
    inside = int(left) in data[cond[2]]
    return inside if cond[0] == "in" else not inside


def read_dat(text: str) -> dict:
    """``param``/``set`` statements of nnlang's ``.dat`` layout."""
    data: dict = {}
    for stmt in re.sub(r"#[^\n]*", "", text).split(";"):
        words = stmt.split()
        if not words:
            continue
        kind, name = words[0], words[1]
        if kind == "set":
            data[name] = {int(v) for v in words[3:]}
        elif words[2] == ":=":
            vals = words[3:]
            if len(vals) == 1:
                data[name] = float(vals[0])
            else:
                data[name] = {int(vals[i]): float(vals[i + 1]) for i in range(0, len(vals), 2)}
        else:  # param name : c1 c2 ... := rows
            head, _, body = stmt.partition(":=")
            cols = [int(c) for c in head.split(":")[1].split()]
            table, rows = {}, body.split()
            step = len(cols) + 1
            for r in range(0, len(rows), step):
                for c, v in zip(cols, rows[r + 1:r + step]):
                    table[int(rows[r]), c] = float(v)
            data[name] = table
    return data


def read_mod(text: str):
    """The objective's expression and the ``subject to`` equations ``x[...] = e``."""
    body = re.sub(r"#[^\n]*", "", text)
    obj = re.search(r"minimize\s+\w+\s*:(.*?);", body, re.DOTALL).group(1)
    rows = []
    for m in re.finditer(r"subject to\s+(\w+)\s*(\{.*?\})\s*:(.*?);", body, re.DOTALL):
        p = Parser(tokens(m.group(2)))
        index = p.indexing()
        lhs, sep, rhs = m.group(3).partition(" = ")
        left = Parser(tokens(lhs))
        target = left.atom() if sep else None
        if target is None or left.peek() is not None or target[1] != "x":
            continue  # not an equation x[...] = e
        rows.append((m.group(1), index, target, Parser(tokens(rhs)).expr()))
    return Parser(tokens(obj)).expr(), rows


def objective_value(mod: str, dat: str, W: list, b: list) -> float:
    """The ``.mod``'s objective at weights ``W[k]`` (n_out x n_in) and biases ``b[k]``."""
    data = read_dat(dat)
    data["W"] = {(k, i + 1, j + 1): float(Wk[i][j]) for k, Wk in enumerate(W)
                 for i in range(len(Wk)) for j in range(len(Wk[i]))}
    data["b"] = {(k, i + 1): float(v) for k, bk in enumerate(b) for i, v in enumerate(bk)}
    data["x"] = {}
    objective, rows = read_mod(mod)
    pending = [(e, lhs, rhs) for _, index, lhs, rhs in rows for e in bindings(index, {}, data)]
    while pending:
        left = []
        for e, lhs, rhs in pending:
            try:
                value = evaluate(rhs, e, data)
            except KeyError:
                left.append((e, lhs, rhs))
                continue
            key = tuple(int(evaluate(a, e, data)) for a in lhs[2])
            data["x"][key] = value
        if len(left) == len(pending):
            raise ValueError("the equations do not fix every x")
        pending = left
    return evaluate(objective, {}, data)
