"""Parse ``.nnq`` text into the syntax tree of ``nnlang.parse.ast``.

The grammar lives in ``grammar/nnq.lark`` (shipped in the wheel as
``nnlang.grammar``). Newlines end statements except inside ``( )`` and
``[ ]``, which the small post-lexer below takes care of.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, VisitError

from nnlang.errors import NnlangError, Span, SyntaxError_
from nnlang.parse import ast
from nnlang.parse.chains import balanced_product, balanced_sum, join_spans


def _grammar_text() -> str:
    try:
        return resources.files("nnlang.grammar").joinpath("nnq.lark").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        # Running from a source checkout: the grammar sits at the top level.
        return (Path(__file__).resolve().parents[2] / "grammar" / "nnq.lark").read_text()


# Brackets nested deeper than this are refused where they start; no spec
# needs it, and the parse tree, the checker and CVXPY recurse on depth.
MAX_NESTING = 200


class _TooDeep(Exception):
    def __init__(self, tok: Token):
        super().__init__()
        self.tok = tok


class _BracketNewlines:
    """Drop newline tokens inside parentheses and brackets; refuse brackets
    nested deeper than ``MAX_NESTING``."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth = 0
        for tok in stream:
            if tok.type in ("LPAR", "LSQB"):
                depth += 1
                if depth > MAX_NESTING:
                    raise _TooDeep(tok)
            elif tok.type in ("RPAR", "RSQB"):
                depth = max(depth - 1, 0)
            elif tok.type == "_NL" and depth > 0:
                continue
            yield tok


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        _grammar_text(),
        parser="lalr",
        start=["start", "expr"],
        propagate_positions=True,
        postlex=_BracketNewlines(),
        maybe_placeholders=True,
        cache=True,
    )


_TOKEN_WORDS = {
    "_NL": "end of line",
    "$END": "end of file",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
}


def _describe_expected(expected: set[str]) -> str:
    words = []
    parser = _parser()
    for name in sorted(expected):
        if name in _TOKEN_WORDS:
            words.append(_TOKEN_WORDS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
            words.append(f"'{pattern.value}'" if pattern.type == "str" else name)
        except KeyError:
            words.append(name)
    words = sorted(set(words))
    if len(words) > 8:
        words = words[:8] + ["..."]
    return ", ".join(words)


def _describe_token(tok: Token) -> str:
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "$END":
        return "end of file"
    return f"'{tok.value}'"


class _ToAst(Transformer):
    """lark tree -> ``ast`` nodes, each with a span."""

    def __init__(self, filename: str):
        super().__init__()
        self.filename = filename

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.filename, 0, 0)
        end = meta.end_column if meta.end_line == meta.line else None
        return Span(self.filename, meta.line, meta.column, end)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.filename, tok.line, tok.column, tok.end_column)

    # ---- expressions
    def number(self, children):
        (tok,) = children
        text = tok.value
        try:
            value = int(text) if text.isdigit() else float(text)
        except ValueError:  # more digits than Python converts to an int
            raise SyntaxError_(f"number with {len(text)} digits is too long",
                               self._tok_span(tok)) from None
        return ast.Number(self._tok_span(tok), value)

    def string(self, children):
        (tok,) = children
        return ast.String(self._tok_span(tok), tok.value[1:-1])

    def name(self, children):
        (tok,) = children
        return ast.Name(self._tok_span(tok), tok.value)

    @v_args(meta=True)
    def list(self, meta, children):
        return ast.ListLit(self._span(meta), tuple(c for c in children if c is not None))

    def plus_term(self, children):
        return ("+", children[0])

    def minus_term(self, children):
        return ("-", children[0])

    def times_term(self, children):
        return ("*", children[0])

    def div_term(self, children):
        return ("/", children[0])

    def matmul_term(self, children):
        return ("@", children[0])

    def mod_term(self, children):
        return ("%", children[0])

    def sum_chain(self, children):
        first, *rest = children
        return balanced_sum([("+", first)] + rest)

    def product_chain(self, children):
        first, *rest = children
        out, i = first, 0
        while i < len(rest):  # runs of '*' or '/' as balanced products: a / b / c = a / (b * c)
            op = rest[i][0]
            j = i + 1
            if op in "*/":
                while j < len(rest) and rest[j][0] == op:
                    j += 1
            factors = [x for _, x in rest[i:j]]
            if op == "*" and out is first:
                out = balanced_product([first] + factors)
            else:
                right = balanced_product(factors)
                out = ast.BinOp(join_spans(out, right), op, out, right)
            i = j
        return out

    @v_args(meta=True)
    def neg(self, meta, children):
        return ast.Neg(self._span(meta), children[0])

    @v_args(meta=True)
    def slice(self, meta, children):
        start, stop = children
        return ast.Slice(self._span(meta), start, stop)

    @v_args(meta=True)
    def index(self, meta, children):
        base, *items = children
        return ast.Index(self._span(meta), base, tuple(items))

    @v_args(meta=True)
    def attr(self, meta, children):
        base, tok = children
        return ast.Attr(self._span(meta), base, tok.value)

    @v_args(meta=True)
    def kwarg(self, meta, children):
        tok, value = children
        return ast.Kwarg(self._span(meta), tok.value, value)

    @v_args(meta=True)
    def call(self, meta, children):
        tok, *args = children
        args = [a for a in args if a is not None]
        pos = tuple(a for a in args if not isinstance(a, ast.Kwarg))
        kws = tuple(a for a in args if isinstance(a, ast.Kwarg))
        return ast.Call(self._tok_span(tok), tok.value, pos, kws)

    # ---- conditions
    @v_args(meta=True)
    def cond_cmp(self, meta, children):
        left, op, right = children
        return ast.CondCmp(self._span(meta), op, left, right)

    @v_args(meta=True)
    def cond_and(self, meta, children):
        return ast.CondBool(self._span(meta), "and", tuple(children))

    @v_args(meta=True)
    def cond_or(self, meta, children):
        return ast.CondBool(self._span(meta), "or", tuple(children))

    @v_args(meta=True)
    def cond_not(self, meta, children):
        return ast.CondBool(self._span(meta), "not", tuple(children))

    # ---- keywords kept as strings
    def sense(self, children):
        return children[0].value

    domain = activation = cmp = cond_op = sense

    # ---- statements
    @v_args(meta=True)
    def network_stmt(self, meta, children):
        tok, value = children
        return ast.NetworkStmt(self._span(meta), tok.value, value)

    @v_args(meta=True)
    def network_block(self, meta, children):
        tok, *items = children
        return ast.NetworkBlock(self._span(meta), tok.value, tuple(i for i in items if i))

    @v_args(meta=True)
    def net_input(self, meta, children):
        return ast.NetInput(self._span(meta), tuple(children))

    @v_args(meta=True)
    def net_dense(self, meta, children):
        size, act, weights = children
        return ast.NetDense(self._span(meta), size, act, weights)

    def dense_weights(self, children):
        return (children[0], children[1])

    @v_args(meta=True)
    def train_stmt(self, meta, children):
        tok, inputs, labels, *settings = children
        return ast.Train(self._span(meta), tok.value, inputs, labels,
                         tuple(o for o in settings if o is not None))

    @v_args(meta=True)
    def net_weights(self, meta, children):
        (tok,) = children
        return ast.NetWeights(self._span(meta), tok.value[1:-1])

    def shape(self, children):
        return tuple(children)

    def var_bounds(self, children):
        return ("bounds", children[0], children[1])

    def var_fixed(self, children):
        return ("fixed", children[0])

    def var_start(self, children):
        return ("start", children[0])

    def var_integer(self, children):
        return tuple(children)

    def var_names(self, children):
        return children[0]

    @v_args(meta=True)
    def param_decl(self, meta, children):
        tok, shape, value = children
        return ast.ParamDecl(self._span(meta), tok.value, shape, value)

    @v_args(meta=True)
    def var_decl(self, meta, children):
        tok, shape, domain, bounds, start, fixed, integer, names = children
        lower = upper = None
        if bounds is not None:
            _, lower, upper = bounds
        return ast.VarDecl(
            self._span(meta), tok.value, shape,
            domain if domain is not None else "continuous",
            lower, upper, fixed[1] if fixed is not None else None,
            start[1] if start is not None else None,
            integer, names,
        )

    @v_args(meta=True)
    def let_stmt(self, meta, children):
        tok, value = children
        return ast.Let(self._span(meta), tok.value, value)

    @v_args(meta=True)
    def objective(self, meta, children):
        sense, expr = children
        return ast.Objective(self._span(meta), sense, expr)

    @v_args(meta=True)
    def subject_to(self, meta, children):
        return ast.SubjectTo(self._span(meta))

    @v_args(meta=True)
    def for_clause(self, meta, children):
        tok, start, stop, cond = children
        return ast.ForClause(self._span(meta), tok.value, start, stop, cond)

    @v_args(meta=True)
    def constraint(self, meta, children):
        name = None
        items = list(children)
        first = items.pop(0)
        if isinstance(first, Token):
            name = first.value
        fors = tuple(i for i in items if isinstance(i, ast.ForClause))
        disjuncts = tuple(i for i in items if not isinstance(i, ast.ForClause))
        return ast.Constraint(self._span(meta), name, disjuncts, fors)

    def conjunct(self, children):
        return tuple(children)

    @v_args(meta=True)
    def any_of(self, meta, children):
        conj, *fors = children
        return ast.AnyOf(self._span(meta), conj, tuple(fors))

    @v_args(meta=True)
    def approx(self, meta, children):
        base, tok, *args = children
        args = [a for a in args if a is not None]
        pos = tuple(a for a in args if not isinstance(a, ast.Kwarg))
        kws = tuple(a for a in args if isinstance(a, ast.Kwarg))
        return ast.Approx(self._span(meta), base, tok.value, pos, kws)

    @v_args(meta=True)
    def chain(self, meta, children):
        return ast.Chain(self._span(meta), tuple(children[0::2]), tuple(children[1::2]))

    @v_args(meta=True)
    def option(self, meta, children):
        tok, value = children
        return ast.Option(self._span(meta), tok.value, value)

    @v_args(meta=True)
    def options_block(self, meta, children):
        return ast.Options(self._span(meta), tuple(c for c in children if c is not None))

    def start(self, children):
        return tuple(c for c in children if c is not None)


def _syntax_error(err: UnexpectedInput, text: str, filename: str) -> SyntaxError_:
    line = getattr(err, "line", None) or 1
    column = getattr(err, "column", None) or 1
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else "?"
        msg = f"unexpected character '{char}'"
    elif isinstance(err, UnexpectedEOF):
        msg = "unexpected end of file"
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    else:
        tok = err.token
        msg = f"unexpected {_describe_token(tok)}"
        if tok.type in ("$END",):
            lines = text.rstrip("\n").splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        expected = getattr(err, "expected", None) or getattr(err, "accepts", None)
        if expected:
            msg += f"; expected {_describe_expected(set(expected))}"
    return SyntaxError_(msg, Span(filename, line, column), text)


def parse_text(text: str, filename: str = "<string>") -> ast.Program:
    """Parse a whole spec; raises ``SyntaxError_`` with a location."""
    source = text if text.endswith("\n") else text + "\n"
    try:
        tree = _parser().parse(source, start="start")
        statements = _ToAst(filename).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, source, filename) from None
    except _TooDeep as err:
        raise _too_deep(err, filename, source) from None
    except RecursionError:
        raise SyntaxError_("expression nested too deeply", Span(filename, 1, 1),
                           source) from None
    except VisitError as err:
        inner = err.orig_exc
        if isinstance(inner, NnlangError):
            raise inner.with_span(None, source) from None
        raise
    return ast.Program(Span(filename, 1, 1), statements, source)


def parse_file(path: str | Path) -> ast.Program:
    """Read and parse a ``.nnq`` file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise NnlangError(f"cannot read spec file '{path}': {exc.strerror or exc}") from None
    kind = network_file_kind(path, raw)
    if kind:
        raise SyntaxError_(f"'{path.name}' is {kind} network file, not a spec: declare it "
                           f"in a .nnq spec with network f = load(\"{path.name}\")",
                           Span(str(path), 1, 1), "")
    try:
        text = raw.decode("utf-8-sig")  # a leading BOM is dropped
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SyntaxError_(f"spec file is not UTF-8 text (byte {exc.start})",
                           Span(str(path), line, col), "") from None
    return parse_text(text, str(path))


def network_file_kind(path: Path, raw: bytes) -> str:
    """'an ONNX' / 'an .npz' when a weights file was given where a spec belongs."""
    if path.suffix.lower() == ".onnx":
        return "an ONNX"
    if path.suffix.lower() == ".npz" or raw.startswith(b"PK\x03\x04"):
        return "an .npz (zip)"
    return ""


def parse_expr(text: str, filename: str = "<command line>") -> ast.Expr:
    """Parse a single expression (used for ``--set NAME=VALUE``)."""
    try:
        tree = _parser().parse(text, start="expr")
        return _ToAst(filename).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, filename) from None
    except _TooDeep as err:
        raise _too_deep(err, filename, text) from None
    except RecursionError:
        raise SyntaxError_("expression nested too deeply", Span(filename, 1, 1),
                           text) from None


def _too_deep(err: _TooDeep, filename: str, source: str) -> SyntaxError_:
    return SyntaxError_(f"brackets nested more than {MAX_NESTING} deep",
                        Span(filename, err.tok.line, err.tok.column), source)
