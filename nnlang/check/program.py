"""Statement-level checking: declarations, objective, constraints, options."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.check.entries import entry_names, integer_entries
from nnlang.check.exprs import ExprChecker
from nnlang.check.limits import MEMORY_LIMIT
from nnlang.check.values import const
from nnlang.check.weights import check_train, layer_weights, placeholder_network
from nnlang.errors import DataError, NnlangError, SemanticError, Span
from nnlang.ir import nodes as ir
from nnlang.ir.options import OPTION_NAMES, Options, validate
from nnlang.ir.program import Comparison, Disjunction, Objective, Program
from nnlang.networks.load import load_network
from nnlang.networks.network import Network
from nnlang.parse import ast, parse_expr

ParamValue = Any  # a number, a nested list, a numpy array, or a string to parse


class _Checker:
    def __init__(self, prog: ast.Program, path: Path, params: dict[str, ParamValue],
                 networks: dict[str, Network] | None = None):
        self.prog = prog
        self.given_networks = dict(networks or {})
        self.path = path
        self.base_dir = path.parent
        self.overrides = dict(params)
        self.env: dict[str, Any] = {}
        self.defined_at: dict[str, Span] = {}
        self.exprs = ExprChecker(self.env, self.base_dir)
        self.budget = self.exprs.budget
        self.networks: dict[str, ir.NetworkDef] = {}
        self.params: dict[str, np.ndarray] = {}
        self.variables: dict[str, ir.Var] = {}
        self.lets: dict[str, ir.Expr] = {}
        self.objective: Objective | None = None
        self.constraints: list[Comparison] = []
        self.disjunctions: list[Disjunction] = []
        self.options = Options()
        self.options_span: Span | None = None
        self.warnings: list[str] = []
        self.training = None

    # ---- helpers
    def _define(self, name: str, value: Any, span: Span) -> None:
        if name in self.defined_at:
            prev = self.defined_at[name]
            raise SemanticError(f"'{name}' is already defined (line {prev.line})", span)
        self.env[name] = value
        self.defined_at[name] = span

    def _shape(self, dims: tuple[ast.Expr, ...] | None) -> tuple[int, ...]:
        if dims is None:
            return ()
        shape = []
        for d in dims:
            n = self.exprs.integer(d, "a dimension")
            if n < 1:
                raise SemanticError(f"a dimension must be at least 1, got {n}", d.span)
            shape.append(n)
        entries = float(np.prod(shape, dtype=float))
        if entries * 8 > MEMORY_LIMIT:  # even one array of this shape does not fit
            raise SemanticError(f"an array of shape [{','.join(map(str, shape))}] has "
                                f"{entries:,.0f} entries, more than nnlang builds "
                                "(docs/language.md, 'Limits')", dims[0].span)
        return tuple(shape)

    def _fit(self, value: np.ndarray, shape: tuple[int, ...], what: str, span: Span):
        try:
            return np.broadcast_to(value, shape).copy() if value.shape != shape else value
        except ValueError:
            raise SemanticError(f"{what} has shape [{','.join(map(str, value.shape))}], "
                                f"expected [{','.join(map(str, shape))}]", span) from None

    # ---- statements
    def run(self) -> Program:
        for stmt in self.prog.statements:
            getattr(self, "_" + type(stmt).__name__.lower())(stmt)
        unknown = set(self.overrides) - set(self.params)
        if unknown:
            name = min(unknown)
            known = ", ".join(sorted(self.params)) or "none"
            raise SemanticError(f"--set {name}: the spec declares no parameter '{name}' "
                                f"(parameters: {known})", Span(str(self.path), 1, 1))
        unused = set(self.given_networks) - set(self.networks)
        if unused:
            name = min(unused)
            known = ", ".join(sorted(self.networks)) or "none"
            raise SemanticError(f"networks={{'{name}': ...}}: the spec declares no network "
                                f"'{name}' (networks: {known})", Span(str(self.path), 1, 1))
        validate(self.options, self.options_span)
        # a spec that only declares networks still compiles (tests and tools inspect them)
        if not (self.variables or self.networks or self.objective or self.constraints):
            raise SemanticError("the spec declares no variables (write e.g. 'var x in [0, 1]')",
                                Span(str(self.path), 1, 1))
        return Program(
            path=self.path, source=self.prog.source, networks=self.networks,
            params=self.params, variables=self.variables, lets=self.lets,
            objective=self.objective, constraints=self.constraints, options=self.options,
            disjunctions=self.disjunctions, applications=list(self.exprs.applications),
            warnings=self.warnings, training=self.training,
        )

    def _networkstmt(self, stmt: ast.NetworkStmt) -> None:
        call = stmt.value
        if stmt.name in self.given_networks:  # from Python, like --set for a parameter
            given = self.given_networks[stmt.name]
            if not isinstance(given, Network):
                raise SemanticError(f"networks={{'{stmt.name}': ...}} must be an "
                                    "nnlang.Network (Network.from_sklearn, from_torch, "
                                    f"from_onnx), got {type(given).__name__}", stmt.span)
            self._add_network(stmt.name, dataclasses.replace(given, name=stmt.name), stmt.span)
            return
        if call is None:
            raise SemanticError(f"network '{stmt.name}' has no file: pass it from Python "
                                f"(nnlang.compile(..., networks={{'{stmt.name}': net}})) or "
                                f"write 'network {stmt.name} = load(\"file.onnx\")'", stmt.span)
        if not (isinstance(call, ast.Call) and call.func == "load"):
            raise SemanticError("a network is declared with load(\"file.npz\"), load(\"file.onnx\")"
                                " or a { ... } block", stmt.value.span)
        if len(call.args) != 1 or not isinstance(call.args[0], ast.String):
            raise SemanticError("load() takes one file path string", call.span)
        output = None
        for kw in call.kwargs:
            if kw.name != "output" or not isinstance(kw.value, ast.String):
                raise SemanticError("load() takes one option, output = \"logits\" (cut a "
                                    "classifier's Softmax/Sigmoid)", kw.span)
            output = kw.value.value
        network = self._load(call.args[0].value, None, call.args[0].span, output)
        self._add_network(stmt.name, network, stmt.span)

    def _load(self, rel: str, activations: list[str] | None, span: Span,
              output: str | None = None) -> Network:
        try:
            return load_network(self.base_dir / rel, activations, output)
        except NnlangError as err:
            raise err.with_span(span) from None
        except OSError as exc:  # a name too long, a folder, no permission
            raise DataError(f"cannot read weights file '{rel}': {exc.strerror or exc}",
                            span) from None

    def _add_network(self, name: str, network: Network, span: Span) -> None:
        widths = [network.n_in] + [layer.n_out for layer in network.layers]
        if min(widths) < 1:
            k = widths.index(min(widths))
            raise SemanticError(f"network '{name}' has a layer of width 0 (layer {k}): every "
                                "layer needs at least one unit", span)
        net = ir.NetworkDef(name, network, span)
        self._define(name, net, span)
        self.networks[name] = net

    def _networkblock(self, stmt: ast.NetworkBlock) -> None:
        inputs = [i for i in stmt.items if isinstance(i, ast.NetInput)]
        denses = [i for i in stmt.items if isinstance(i, ast.NetDense)]
        weights = [i for i in stmt.items if isinstance(i, ast.NetWeights)]
        if len(inputs) != 1:
            raise SemanticError(f"network '{stmt.name}' needs exactly one 'input' line",
                                stmt.span)
        if not denses:
            raise SemanticError(f"network '{stmt.name}' needs at least one 'dense' layer",
                                stmt.span)
        if len(weights) > 1:
            raise SemanticError(f"network '{stmt.name}' has more than one 'weights \"file\"' "
                                "line", weights[1].span)
        in_shape = self._shape(inputs[0].dims)
        sizes = [self.exprs.integer(d.size, "a layer size") for d in denses]
        for d, size in zip(denses, sizes):
            if size < 1:
                raise SemanticError(f"a layer needs at least 1 unit, got {size}", d.size.span)
        acts = [d.activation or "linear" for d in denses]
        n_in = int(np.prod(in_shape))
        variable, constant = layer_weights(self.exprs, stmt.name, denses, sizes, n_in)
        shape = in_shape if len(in_shape) > 1 else ()
        if not weights:
            untrained = len(variable) + len(constant) < len(denses)
            network = placeholder_network([n_in, *sizes], acts, constant, stmt.name, shape)
            net = ir.NetworkDef(stmt.name, network, stmt.span, variable, untrained)
            self._define(stmt.name, net, stmt.span)
            self.networks[stmt.name] = net
            return
        network = self._load(weights[0].path, acts, weights[0].span)
        if network.n_in != n_in:
            raise SemanticError(f"network '{stmt.name}' declares input {n_in} but "
                                f"'{weights[0].path}' has {network.n_in} inputs", inputs[0].span)
        if len(network.layers) != len(denses):
            raise SemanticError(f"network '{stmt.name}' declares {len(denses)} layers but "
                                f"'{weights[0].path}' has {len(network.layers)}",
                                weights[0].span)
        for d, size, layer in zip(denses, sizes, network.layers):
            if layer.n_out != size:
                raise SemanticError(f"layer declared with {size} units but "
                                    f"'{weights[0].path}' has {layer.n_out}", d.span)
        layers = tuple(constant.get(k, layer) for k, layer in enumerate(network.layers))
        network = dataclasses.replace(network, layers=layers, name=stmt.name, input_shape=shape)
        if variable:
            net = ir.NetworkDef(stmt.name, network, stmt.span, variable)
            self._define(stmt.name, net, stmt.span)
            self.networks[stmt.name] = net
            return
        self._add_network(stmt.name, network, stmt.span)

    def _train(self, stmt: ast.Train) -> None:
        if self.training is not None:
            raise SemanticError(f"a second 'train' statement (the first is on line "
                                f"{self.training.span.line})", stmt.span)
        self.training = check_train(self, stmt)

    def _paramdecl(self, stmt: ast.ParamDecl) -> None:
        shape = self._shape(stmt.shape) if stmt.shape is not None else None
        if stmt.name in self.overrides:
            value = self._override(stmt.name, self.overrides[stmt.name])
        elif stmt.value is not None:
            value = self.exprs.constant(stmt.value, f"parameter '{stmt.name}'")
        else:
            raise SemanticError(f"parameter '{stmt.name}' has no value: give one here or "
                                f"with --set {stmt.name}=VALUE", stmt.span)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise SemanticError(f"parameter '{stmt.name}' is not finite (NaN or inf)", stmt.span)
        if shape is not None:
            value = self._fit(value, shape, f"parameter '{stmt.name}'", stmt.span)
        self._define(stmt.name, const(value, stmt.span), stmt.span)
        self.params[stmt.name] = value

    def _override(self, name: str, raw: ParamValue) -> np.ndarray:
        if isinstance(raw, str):
            node = parse_expr(raw, f"--set {name}")
            try:
                return self.exprs.constant(node, f"--set {name}")
            except NnlangError as err:
                err.span, err.source = None, None
                raise SemanticError(f"--set {name}={raw}: {err.message}") from None
        value = np.asarray(raw)
        if value.dtype.kind not in "biuf":
            raise SemanticError(f"parameter '{name}': value of type {value.dtype} is not numeric")
        return value

    def _vardecl(self, stmt: ast.VarDecl) -> None:
        shape = self._shape(stmt.shape)
        self.budget.columns(int(np.prod(shape, dtype=int)), f"variable '{stmt.name}'", stmt.span)
        domain = stmt.domain
        lo = np.full(shape, 0.0 if domain == "binary" else -np.inf)
        hi = np.full(shape, 1.0 if domain == "binary" else np.inf)
        if stmt.lower is not None:
            lo = self._fit(self.exprs.constant(stmt.lower, "a variable bound").astype(float),
                           shape, "the lower bound", stmt.lower.span)
            hi = self._fit(self.exprs.constant(stmt.upper, "a variable bound").astype(float),
                           shape, "the upper bound", stmt.upper.span)
            if np.any(lo > hi):
                i = tuple(int(v) for v in np.argwhere(lo > hi)[0]) if shape else ()
                raise SemanticError(f"variable '{stmt.name}': lower bound {lo[i]} exceeds "
                                    f"upper bound {hi[i]}", stmt.span)
            if np.isnan(lo).any() or np.isnan(hi).any():
                raise SemanticError(f"variable '{stmt.name}': bounds contain NaN", stmt.span)
        fixed = stmt.fixed is not None
        if fixed:
            value = self._fit(self.exprs.constant(stmt.fixed, "a fixed value").astype(float),
                              shape, "the fixed value", stmt.fixed.span)
            if not np.isfinite(value).all():
                raise SemanticError(f"variable '{stmt.name}': fixed value is not finite",
                                    stmt.fixed.span)
            if np.any(value < lo) or np.any(value > hi):
                raise SemanticError(f"variable '{stmt.name}': fixed value outside its bounds",
                                    stmt.fixed.span)
            lo, hi = value.copy(), value.copy()
        start = None
        if stmt.start is not None:
            start = self._fit(self.exprs.constant(stmt.start, "a start value").astype(float),
                              shape, "the start value", stmt.start.span)
            if not np.isfinite(start).all():
                raise SemanticError(f"variable '{stmt.name}': start value is not finite",
                                    stmt.start.span)
            start = np.clip(start, lo, hi)
        size = int(np.prod(shape, dtype=int))
        integer = integer_entries(self.exprs, stmt, size) if stmt.integer_entries else ()
        names = entry_names(self.exprs, stmt, size) if stmt.names is not None else ()
        var = ir.Var(stmt.name, shape, domain, np.asarray(lo, float), np.asarray(hi, float),
                     stmt.span, fixed, start, integer_entries=integer, entry_names=names)
        self._define(stmt.name, ir.VarRef(stmt.span, var), stmt.span)
        self.variables[stmt.name] = var

    def _let(self, stmt: ast.Let) -> None:
        value = self.exprs.expr(stmt.value, label=stmt.name)
        self._define(stmt.name, value, stmt.span)
        self.lets[stmt.name] = value

    def _objective(self, stmt: ast.Objective) -> None:
        if self.objective is not None:
            raise SemanticError(f"a second objective (the first is on line "
                                f"{self.objective.span.line})", stmt.span)
        expr = self.exprs.expr(stmt.expr)
        if expr.shape != ():
            raise SemanticError(f"the objective must be a scalar, got an expression of shape "
                                f"[{','.join(map(str, expr.shape))}] (use sum(), norm1(), ...)",
                                stmt.expr.span)
        self.objective = Objective(stmt.sense, expr, stmt.span)

    def _subjectto(self, stmt: ast.SubjectTo) -> None:
        pass

    def _constraint(self, stmt: ast.Constraint) -> None:
        name = stmt.name or f"c{stmt.span.line}"
        if stmt.name is not None:
            self._define(stmt.name, None, stmt.span)
            del self.env[stmt.name]  # names constraints, not values
        for count, bindings in enumerate(self._expand(stmt.fors, 0, {})):
            if count % 256 == 0:
                self.budget.check_time(f"constraint '{name}' ({count:,} rows checked)",
                                       stmt.span)
            label = name + ("[" + ",".join(str(v) for v in bindings.values()) + "]"
                            if bindings else "")
            with self._bound(bindings, stmt.span):
                branches = []
                for conj in stmt.disjuncts:
                    if isinstance(conj, ast.AnyOf):
                        branches.extend(self._any_of(name, label, conj))
                    else:
                        branches.append(self._conjunct(name, label, conj))
            live = [b for b in branches if b is not None]  # None: constantly false
            if any(not b for b in live):
                continue  # a branch of constant comparisons that hold: always satisfied
            if not live:
                raise SemanticError(f"constraint '{label}' compares constants and is always "
                                    f"false: the problem is infeasible", stmt.span)
            if len(live) == 1:
                self.constraints.extend(live[0])
            else:
                self.disjunctions.append(Disjunction(name, label, live, stmt.span))

    def _any_of(self, name: str, label: str, node: ast.AnyOf) -> list:
        """One branch per value of the inner loop variables."""
        branches = []
        for bindings in self._expand(node.fors, 0, {}):
            with self._bound(bindings, node.span):
                inner = f"{label}|" + ",".join(f"{k}={v}" for k, v in bindings.items())
                branches.append(self._conjunct(name, inner, node.conjunct))
        return branches

    @contextlib.contextmanager
    def _bound(self, bindings: dict, span: Span):
        """Loop variables bound to constants for the body; the names' old values back after."""
        saved = {k: self.env.get(k) for k in bindings}
        self.env.update({k: const(v, span) for k, v in bindings.items()})
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    self.env.pop(k, None)
                else:
                    self.env[k] = v

    def _conjunct(self, name: str, label: str, conj) -> list[Comparison] | None:
        """The comparisons of one branch, or None if a constant one is false."""
        comps = []
        for chain in conj:
            values = [self.exprs.expr(e) for e in chain.exprs]
            for (left, right), op in zip(itertools.pairwise(values), chain.ops):
                try:
                    np.broadcast_shapes(left.shape, right.shape)
                except ValueError:
                    raise SemanticError(
                        f"cannot compare shapes [{','.join(map(str, left.shape))}] and "
                        f"[{','.join(map(str, right.shape))}]", chain.span) from None
                if isinstance(left, ir.Const) and isinstance(right, ir.Const):
                    fn = {"<=": np.less_equal, ">=": np.greater_equal, "==": np.equal}[op]
                    if not np.all(fn(left.value, right.value)):
                        return None
                    continue
                comps.append(Comparison(name, label, left, op, right, chain.span))
        return comps

    def _expand(self, fors, i, bound, rows_above=1, count=True):
        if i == len(fors):
            yield dict(bound)
            return
        clause = fors[i]
        if clause.var in bound:
            raise SemanticError(f"loop variable '{clause.var}' is used twice", clause.span)
        saved = self.env.get(clause.var)
        self.env.update({k: const(v, clause.span) for k, v in bound.items()})
        start = self.exprs.integer(clause.start, "a range start")
        stop = self.exprs.integer(clause.stop, "a range end")
        if start > stop:
            # legal (a family of no constraints) but usually a typo for a reversed range
            span = clause.span
            self.warnings.append(f"{span}: warning: 'for {clause.var} in {start}..{stop}' is "
                                 "an empty range: the constraint family is empty")
        if count:  # an inner range is counted once, at the outer loops' first values
            rows_above *= max(stop - start + 1, 0)
            if i == len(fors) - 1:
                self.budget.rows(rows_above, f"the constraint family 'for {clause.var} in "
                                 f"{start}..{stop}'", clause.span)
        for v in range(start, stop + 1):
            self.env[clause.var] = const(v, clause.span)
            if clause.cond is None or self._cond(clause.cond):
                yield from self._expand(fors, i + 1, {**bound, clause.var: v}, rows_above,
                                        count and v == start)
        if saved is None:
            self.env.pop(clause.var, None)
        else:
            self.env[clause.var] = saved

    def _cond(self, cond: ast.Cond) -> bool:
        if isinstance(cond, ast.CondCmp):
            a = self.exprs.constant(cond.left, "a condition")
            b = self.exprs.constant(cond.right, "a condition")
            fn = {"!=": np.not_equal, "==": np.equal, "<=": np.less_equal,
                  ">=": np.greater_equal, "<": np.less, ">": np.greater}[cond.op]
            return bool(np.all(fn(a, b)))
        if cond.op == "not":
            return not self._cond(cond.operands[0])
        values = (self._cond(c) for c in cond.operands)
        return all(values) if cond.op == "and" else any(values)

    def _options(self, stmt: ast.Options) -> None:
        if self.options_span is not None:
            raise SemanticError("a second options block", stmt.span)
        self.options_span = stmt.span
        changes: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        for opt in stmt.items:
            if opt.name in seen:
                raise SemanticError(f"option '{opt.name}' is given twice (first on line "
                                    f"{seen[opt.name].line})", opt.span)
            seen[opt.name] = opt.span
            if opt.name not in OPTION_NAMES:
                raise SemanticError(f"unknown option '{opt.name}' "
                                    f"(options: {', '.join(OPTION_NAMES)})", opt.span)
            changes.update(self._option_value(opt))
        opts = Options(**{**self.options.__dict__, **changes})
        validate(opts, stmt.span)
        self.options = opts

    def _option_value(self, opt: ast.Option) -> dict[str, Any]:
        v = opt.value
        if opt.name in ("encoding", "solver", "bounds"):
            if isinstance(v, (ast.Name, ast.String)):
                word = v.id if isinstance(v, ast.Name) else v.value
                out: dict[str, Any] = {opt.name: word}
                if opt.name == "bounds":
                    out["bounds_args"] = {}
                return out
            if opt.name == "bounds" and isinstance(v, ast.Call) and not v.args:
                args = {k.name: float(self.exprs.constant(k.value, "an option argument"))
                        for k in v.kwargs}
                return {"bounds": v.func, "bounds_args": args}
            example = {"encoding": "bigm", "solver": "highs"}.get(opt.name, "interval")
            raise SemanticError(f"option '{opt.name}' takes a name, e.g. "
                                f"{opt.name} = {example}", v.span)
        if opt.name in ("verbose", "tighten", "radius_search", "attack"):
            if isinstance(v, ast.Name) and v.id in ("true", "false"):
                return {opt.name: v.id == "true"}
            raise SemanticError(f"option '{opt.name}' takes true or false", v.span)
        value = self.exprs.constant(v, f"option '{opt.name}'")
        if value.shape != ():
            raise SemanticError(f"option '{opt.name}' takes a number", v.span)
        if opt.name in ("threads", "partition_parts"):
            if not (np.isfinite(value) and value == np.round(value) and value >= 1):
                raise SemanticError(f"option '{opt.name}' must be a whole number >= 1, "
                                    f"got {value}", v.span)
            return {opt.name: int(value)}
        if not np.isfinite(value):
            raise SemanticError(f"option '{opt.name}' must be finite, got {value}", v.span)
        return {opt.name: float(value)}


def check_program(prog: ast.Program, path: str | Path,
                  params: dict[str, ParamValue] | None = None,
                  networks: dict[str, Network] | None = None,
                  deadline: float | None = None) -> Program:
    """Check a parsed spec; ``params`` override parameter values (like ``--set``),
    ``networks`` the networks declared under those names (their files are not read);
    past ``deadline`` (``time.perf_counter()``) a constraint family stops with
    ``TimeLimitError``."""
    try:
        checker = _Checker(prog, Path(path), params or {}, networks)
        checker.budget.deadline = deadline
        return checker.run()
    except NnlangError as err:
        raise err.with_span(None, prog.source) from None
    except RecursionError:  # a long chain of mixed operators: the parser's limit is on brackets
        raise SemanticError("expression nested too deeply", Span(str(path), 1, 1),
                            prog.source) from None
