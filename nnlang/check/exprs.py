"""Check syntax-tree expressions into typed IR nodes, folding constants."""

from __future__ import annotations

import operator
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnlang.check.functions import FUNCTIONS
from nnlang.check.limits import Budget
from nnlang.check.values import Entity, LayerAccess, const, describe, is_const
from nnlang.check.weights import batch_of, check_variable_application
from nnlang.errors import SemanticError, Span
from nnlang.ir import nodes as ir
from nnlang.parse import ast


def _broadcast(a: tuple[int, ...], b: tuple[int, ...], span: Span, what: str) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise SemanticError(f"shape mismatch in {what}: [{','.join(map(str, a))}] and "
                            f"[{','.join(map(str, b))}]", span) from None


class ExprChecker:
    """Turns ``ast`` expressions into IR, resolving names in ``env``."""

    def __init__(self, env: dict[str, Entity], base_dir: Path):
        self.env = env
        self.base_dir = base_dir
        self.applications: list[ir.Apply] = []
        self.budget = Budget()  # the spec's size estimate (shared with the program checker)

    # ---- entry points
    def expr(self, node: ast.Expr, label: str = "") -> ir.Expr:
        """Check ``node``; the result must be a value (not a network)."""
        value = self.entity(node, label)
        if isinstance(value, ir.NetworkDef):
            raise SemanticError(f"network '{value.name}' is not a value; apply it to an "
                                f"input, e.g. {value.name}(x)", node.span)
        if isinstance(value, LayerAccess):
            raise SemanticError("'.layer' needs an index, e.g. y.layer[1]", node.span)
        return value

    def constant(self, node: ast.Expr, what: str) -> np.ndarray:
        """Check ``node`` and require a compile-time constant."""
        value = self.expr(node)
        if not isinstance(value, ir.Const):
            raise SemanticError(f"{what} must be a constant (parameters and numbers only), "
                                f"but it depends on a variable", node.span)
        return value.value

    def integer(self, node: ast.Expr, what: str) -> int:
        value = self.constant(node, what)
        if value.shape != () or value != np.round(value):
            raise SemanticError(f"{what} must be an integer scalar", node.span)
        return int(value)

    def entity(self, node: ast.Expr, label: str = "") -> Entity:
        method: Callable = getattr(self, "_" + type(node).__name__.lower())
        return method(node, label) if isinstance(node, ast.Call) else method(node)

    # ---- leaves
    def _number(self, node: ast.Number) -> ir.Const:
        return const(node.value, node.span)

    def _string(self, node: ast.String) -> ir.Const:
        raise SemanticError("a string is only allowed as a file path argument", node.span)

    def _name(self, node: ast.Name) -> Entity:
        try:
            value = self.env[node.id]
        except KeyError:
            raise SemanticError(f"unknown name '{node.id}'", node.span) from None
        if isinstance(value, ir.Const):
            return ir.Const(node.span, value.value)
        return value

    def _listlit(self, node: ast.ListLit) -> ir.Const:
        items = [self.constant(i, "a list element") for i in node.items]
        try:
            return const(np.array(items), node.span)
        except ValueError:
            raise SemanticError("list elements must all have the same shape", node.span) from None

    # ---- arithmetic
    def _neg(self, node: ast.Neg) -> ir.Expr:
        value = self.expr(node.operand)
        if is_const(value):
            return const(-value.value, node.span)
        return ir.Scale(node.span, np.array(-1.0), value, value.shape)

    def _binop(self, node: ast.BinOp) -> ir.Expr:
        left, right = self.expr(node.left), self.expr(node.right)
        op = node.op
        if is_const(left) and is_const(right):
            return self._fold(op, left.value, right.value, node.span)
        if op in "+-":
            shape = _broadcast(left.shape, right.shape, node.span, f"'{op}'")
            if op == "-":
                right = self._scale(np.array(-1.0), right, node.span)
            return ir.Add(node.span, left, right, shape)
        if op == "*":
            if is_const(left) or is_const(right):
                c, e = (left, right) if is_const(left) else (right, left)
                return self._scale(c.value, e, node.span)
            raise SemanticError("the product of two variable expressions is not linear "
                                "(one side of '*' must be a constant)", node.span)
        if op == "/":
            if not is_const(right):
                raise SemanticError("division by a variable expression is not linear",
                                    node.right.span)
            if np.any(right.value == 0):
                raise SemanticError("division by zero", node.right.span)
            return self._scale(1.0 / right.value.astype(float), left, node.span)
        if op == "@":
            return self._matmul(left, right, node)
        raise SemanticError(f"'{op}' needs constant operands", node.span)

    def _scale(self, factor: np.ndarray, expr: ir.Expr, span: Span) -> ir.Expr:
        shape = _broadcast(np.shape(factor), expr.shape, span, "'*'")
        return ir.Scale(span, np.asarray(factor, dtype=float), expr, shape)

    def _fold(self, op: str, a: np.ndarray, b: np.ndarray, span: Span) -> ir.Const:
        _broadcast(a.shape, b.shape, span, f"'{op}'")
        if op == "/" and np.any(b == 0):
            raise SemanticError("division by zero", span)
        if op == "%" and np.any(b == 0):
            raise SemanticError("modulo by zero", span)
        if op == "@" and (a.ndim == 0 or b.ndim == 0 or a.shape[-1] != b.shape[0]):
            raise SemanticError(f"matrix product of shapes {list(a.shape)} and "
                                    f"{list(b.shape)} does not match", span)
        fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
              "%": operator.mod, "@": operator.matmul}[op]
        return const(fn(a, b), span)

    def _matmul(self, left: ir.Expr, right: ir.Expr, node: ast.BinOp) -> ir.Expr:
        if is_const(left):
            m, e, on_left = left.value, right, True
        elif is_const(right):
            m, e, on_left = right.value, left, False
        else:
            raise SemanticError("the matrix product of two variable expressions is not linear",
                                node.span)
        if len(e.shape) != 1:
            raise SemanticError("'@' with a variable expression needs it to be a vector, "
                                f"got {describe(e)}", node.span)
        if m.ndim != 2:
            raise SemanticError(f"'@' needs a constant matrix, got shape {list(m.shape)}",
                                node.span)
        n = e.shape[0]
        inner = m.shape[1] if on_left else m.shape[0]
        if inner != n:
            raise SemanticError(f"matrix of shape {list(m.shape)} cannot multiply "
                                f"{describe(e)}", node.span)
        shape = (m.shape[0],) if on_left else (m.shape[1],)
        return ir.MatMul(node.span, np.asarray(m, dtype=float), e, on_left, shape)

    # ---- indexing and attributes
    def _attr(self, node: ast.Attr) -> Entity:
        base = self.entity(node.base)
        if node.name == "layer" and isinstance(base, ir.Apply):
            return LayerAccess(base)
        if node.name == "layer":
            raise SemanticError("'.layer' applies to a network application, e.g. "
                                "y = net(x); y.layer[1]", node.span)
        raise SemanticError(f"unknown attribute '{node.name}' (only '.layer' exists)",
                            node.span)

    def _index(self, node: ast.Index) -> ir.Expr:
        base = self.entity(node.base)
        if isinstance(base, LayerAccess):
            if len(node.items) != 1 or isinstance(node.items[0], ast.Slice):
                raise SemanticError("'.layer' takes one integer index", node.span)
            k = self.integer(node.items[0], "a layer index")
            n_layers = len(base.app.net.network.layers)
            if not 0 <= k <= n_layers:
                raise SemanticError(f"layer index {k} out of range: network "
                                    f"'{base.app.net.name}' has layers 0..{n_layers}",
                                    node.items[0].span)
            return ir.LayerRef(node.span, base.app, k)
        if isinstance(base, ir.NetworkDef):
            raise SemanticError(f"network '{base.name}' cannot be indexed; apply it first",
                                node.span)
        shape = base.shape
        if len(node.items) > len(shape):
            raise SemanticError(f"too many indices: {describe(base)} has "
                                f"{len(shape)} dimension(s)", node.span)
        key = []
        for dim, item in zip(shape, node.items):
            if isinstance(item, ast.Slice):
                start = 0 if item.start is None else self.integer(item.start, "a slice start")
                stop = dim if item.stop is None else self.integer(item.stop, "a slice end")
                if not (-dim <= start <= dim and -dim <= stop <= dim):
                    raise SemanticError(f"slice {start}:{stop} out of range for a dimension "
                                        f"of size {dim}", item.span)
                key.append(slice(start, stop))
            else:
                i = self.integer(item, "an index")
                if not -dim <= i < dim:
                    raise SemanticError(f"index {i} out of range for {describe(base)} "
                                        f"(valid: 0..{dim - 1})", item.span)
                key.append(i)
        key_t = tuple(key)
        if is_const(base):
            return const(base.value[key_t], node.span)
        new_shape = np.empty(shape, dtype=np.int8)[key_t].shape
        return ir.Index(node.span, base, key_t, tuple(new_shape))

    # ---- approximations
    def _approx(self, node: ast.Approx) -> ir.Expr:
        if not (isinstance(node.expr, ast.Call) and node.expr.func == "sumsq"):
            raise SemanticError("'approx' applies to sumsq(...), e.g. sumsq(x - c) approx pwl(17)",
                                node.span)
        if node.method != "pwl":
            raise SemanticError(f"unknown approximation '{node.method}' (use pwl(n))", node.span)
        if len(node.args) != 1:
            raise SemanticError("pwl() takes the number of breakpoints, e.g. pwl(17)", node.span)
        n = self.integer(node.args[0], "the number of breakpoints")
        if n < 2:
            raise SemanticError(f"pwl() needs at least 2 breakpoints, got {n}", node.args[0].span)
        form = "epigraph"
        for kw in node.kwargs:
            if kw.name != "form" or not isinstance(kw.value, ast.Name) or \
                    kw.value.id not in ("epigraph", "lambda"):
                raise SemanticError("pwl() takes form = epigraph (no binaries) or form = lambda "
                                    "(the lambda-formulation with SOS2 binaries)", kw.span)
            form = kw.value.id
        inner = self.expr(node.expr)
        if isinstance(inner, ir.Const):
            return inner
        size = max(int(np.prod(inner.arg.shape, dtype=float)), 1)
        self.budget.rows(n * size, f"pwl({n}) over {size} entries", node.args[0].span)
        return ir.Atom(node.span, "sumsq", inner.arg, (n, form))

    # ---- calls
    def _call(self, node: ast.Call, label: str = "") -> Entity:
        target = self.env.get(node.func)
        if isinstance(target, ir.NetworkDef):
            return self._apply(target, node, label)
        fn = FUNCTIONS.get(node.func)
        if fn is None:
            if target is not None:
                raise SemanticError(f"'{node.func}' is not a function or network", node.span)
            raise SemanticError(f"unknown function '{node.func}'", node.span)
        return fn(self, node)

    def _apply(self, net: ir.NetworkDef, node: ast.Call, label: str) -> ir.Expr:
        if len(node.args) != 1 or node.kwargs:
            raise SemanticError(f"network '{net.name}' takes exactly one input", node.span)
        if net.untrained:
            raise SemanticError(f"network '{net.name}' has no weights: give it a 'weights "
                                f"\"file\"' line (or 'weights W, b' on every dense line), "
                                f"or train it with 'nnlang train'", node.span)
        arg = self.expr(node.args[0])
        network = net.network
        batch = batch_of(arg, network)
        if batch < 0:
            raise SemanticError(f"network '{net.name}' expects an input of size "
                                f"{network.n_in}, got {describe(arg)} (or a data set: one "
                                f"input per row)", node.args[0].span)
        if net.variable:
            check_variable_application(net, arg, node.span)
        elif is_const(arg):
            value = arg.value.astype(float)
            out = network.predict(value.reshape(batch, -1) if batch else value.reshape(-1))
            return const(out, node.span)
        want = (batch, network.n_in) if batch else (network.n_in,)
        if tuple(arg.shape) != want:
            arg = (const(arg.value.reshape(want), arg.span) if is_const(arg)
                   else ir.Reshape(arg.span, arg, want))
        app = ir.Apply(node.span, net, arg,
                       label or f"{net.name}@{node.span.line}:{node.span.column}", batch)
        self.applications.append(app)
        return app
