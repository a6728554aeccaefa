"""Checking what training adds to the language: layers whose weights are
expressions (``dense 8 relu weights W, b``), networks applied to every sample
of a data set, and the ``train NET on INPUTS, LABELS { ... }`` statement."""

from __future__ import annotations

import itertools

import numpy as np

from nnlang import registry
from nnlang.check.values import describe, is_const
from nnlang.errors import SemanticError, Span
from nnlang.ir import nodes as ir
from nnlang.ir.program import Training
from nnlang.networks.network import Dense, Network
from nnlang.parse import ast


def layer_weights(exprs, name: str, denses, sizes: list[int], n_in: int):
    """The ``weights W, b`` of each dense line: ``{k: (W, b)}`` of IR expressions
    with variables, and ``{k: Dense}`` of those that are constants."""
    variable, constant = {}, {}
    widths = [n_in, *sizes]
    for k, d in enumerate(denses):
        if d.weights is None:
            continue
        W = exprs.expr(d.weights[0])
        b = exprs.expr(d.weights[1])
        want_W, want_b = (widths[k + 1], widths[k]), (widths[k + 1],)
        if W.shape != want_W:
            raise SemanticError(f"network '{name}' layer {k + 1}: the weights have shape "
                                f"[{','.join(map(str, W.shape))}], expected "
                                f"[{','.join(map(str, want_W))}] (outputs x inputs)",
                                d.weights[0].span)
        if b.shape != want_b:
            raise SemanticError(f"network '{name}' layer {k + 1}: the bias has shape "
                                f"[{','.join(map(str, b.shape))}], expected [{want_b[0]}]",
                                d.weights[1].span)
        act = d.activation or "linear"
        if is_const(W) and is_const(b):
            constant[k] = Dense(W.value.astype(float), b.value.astype(float), act)
        else:
            variable[k] = (W, b)
    return variable, constant


def placeholder_network(sizes: list[int], acts: list[str], constant: dict,
                        name: str, in_shape) -> Network:
    """Zero weights where no constant is known (variable or untrained layers)."""
    layers = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(constant.get(k, Dense(np.zeros((b, a)), np.zeros(b), acts[k])))
    return Network(tuple(layers), name, "", in_shape)


def batch_of(arg: ir.Expr, network: Network) -> int:
    """The number of samples if ``arg`` holds one input per row (first axis), else 0."""
    shape = tuple(arg.shape)
    size = int(np.prod(shape, dtype=int))
    if size == network.n_in and shape != ():
        return 0
    inner = network.input_shape or (network.n_in,)
    if len(shape) >= 2 and (shape[1:] == tuple(inner)
                            or int(np.prod(shape[1:], dtype=int)) == network.n_in):
        return int(shape[0])
    return -1


def check_variable_application(net: ir.NetworkDef, arg: ir.Expr, span: Span) -> None:
    """A layer with variable weights needs a constant input: otherwise weights times
    activations multiply variables (not a MILP)."""
    first = min(net.variable)
    if not is_const(arg):
        raise SemanticError(
            f"network '{net.name}' has variable weights in layer {first + 1} and is applied "
            f"to {describe(arg)}: weights times a variable input is a product of variables, "
            f"not a MILP. Apply it to data (constants), or fix the weights; Goebbels (2021) "
            f"trains one layer at a time with the inputs fixed (nnlang train)", span)
    if len(net.variable) > 1:
        second = sorted(net.variable)[1]
        raise SemanticError(
            f"network '{net.name}' has variable weights in layers {first + 1} and "
            f"{second + 1}: the output of layer {first + 1} is variable, so layer "
            f"{second + 1}'s weights multiply variables (not a MILP). Leave one layer's "
            f"weights variable at a time", span)


def check_train(checker, stmt: ast.Train) -> Training:
    net = checker.networks.get(stmt.net)
    if net is None:
        raise SemanticError(f"'train {stmt.net}': no network named '{stmt.net}'", stmt.span)
    X = checker.exprs.constant(stmt.inputs, "the training inputs").astype(float)
    y = checker.exprs.constant(stmt.labels, "the training labels")
    network = net.network
    if X.ndim < 2 or int(np.prod(X.shape[1:], dtype=int)) != network.n_in:
        raise SemanticError(f"the training inputs have shape [{','.join(map(str, X.shape))}]: "
                            f"expected one row of {network.n_in} features per sample",
                            stmt.inputs.span)
    X = X.reshape(X.shape[0], -1)
    method, entry = _method(checker, stmt)
    settings, seen = {registry.TRAINER_SETTING: method}, {}
    for opt in stmt.settings:
        if opt.name in seen:
            raise SemanticError(f"training setting '{opt.name}' is given twice", opt.span)
        seen[opt.name] = opt.span
        if opt.name == registry.TRAINER_SETTING:
            continue
        if opt.name not in entry.settings:
            raise SemanticError(f"unknown training setting '{opt.name}' for method "
                                f"\"{method}\" (settings: {', '.join(entry.settings)})",
                                opt.span)
        settings[opt.name] = _setting(checker, opt, entry.settings[opt.name][0])
    # a regression (the squared error of the WBO problem) learns real targets
    regression = method == "wbo" and settings.get("loss", "squared") == "squared"
    y = _labels(y, X.shape[0], network.n_out, regression, stmt.labels.span)
    if ("test_inputs" in settings) != ("test_labels" in settings):
        raise SemanticError("give test_inputs and test_labels together", stmt.span)
    if "test_inputs" in settings:
        settings["test_inputs"] = settings["test_inputs"].reshape(
            settings["test_inputs"].shape[0], -1)
        if settings["test_inputs"].shape[1] != network.n_in or \
                settings["test_labels"].shape[:1] != (settings["test_inputs"].shape[0],):
            raise SemanticError("test_inputs must have one row per test_labels entry, with "
                                f"{network.n_in} features", seen["test_inputs"])
        settings["test_labels"] = _labels(settings["test_labels"],
                                          settings["test_inputs"].shape[0], network.n_out,
                                          regression, seen["test_inputs"])
    return Training(net, X, y, settings, stmt.span)


def _method(checker, stmt: ast.Train):
    """The trainer a ``method = "..."`` setting names (default Goebbels (2021))."""
    for opt in stmt.settings:
        if opt.name == registry.TRAINER_SETTING:
            if not isinstance(opt.value, ast.String) or opt.value.value not in \
                    registry.TRAINERS:
                raise SemanticError(f"'method' takes one of "
                                    f"{', '.join(map(repr, registry.TRAINERS))} (a string)",
                                    opt.value.span)
            return opt.value.value, registry.TRAINERS[opt.value.value]
    return registry.DEFAULT_TRAINER, registry.TRAINERS[registry.DEFAULT_TRAINER]


def _labels(y: np.ndarray, n: int, n_out: int, regression: bool, span: Span) -> np.ndarray:
    """Class indices (``int``), or real targets of shape (n, n_out) for a regression."""
    if regression:
        y = np.asarray(y, float)
        if y.shape not in ((n,), (n, n_out)) or (y.ndim == 1 and n_out != 1) \
                or not np.isfinite(y).all():
            raise SemanticError(f"the regression targets must be {n} finite rows of "
                                f"{n_out} value(s), got shape [{','.join(map(str, y.shape))}]",
                                span)
        return y.reshape(n, n_out)
    if y.shape != (n,) or not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= n_out:
        raise SemanticError(f"the training labels must be {n} class indices in "
                            f"0..{n_out - 1} (one per sample), got "
                            f"shape [{','.join(map(str, y.shape))}]", span)
    return y.astype(int)


def _setting(checker, opt: ast.Option, kind: str):
    if kind.startswith("choice:"):
        words = kind.partition(":")[2].split(",")
        if not isinstance(opt.value, ast.String) or opt.value.value not in words:
            quoted = ", ".join(f'"{w}"' for w in words)
            raise SemanticError(f"'{opt.name}' takes one of {quoted}", opt.value.span)
        return opt.value.value
    if kind == "bool":
        if isinstance(opt.value, ast.Name) and opt.value.id in ("true", "false"):
            return opt.value.id == "true"
        raise SemanticError(f"'{opt.name}' takes true or false", opt.value.span)
    value = checker.exprs.constant(opt.value, f"setting '{opt.name}'").astype(float)
    if kind == "array":
        if not np.isfinite(value).all():
            raise SemanticError(f"'{opt.name}' holds values that are not finite",
                                opt.value.span)
        return value
    if kind == "pair":
        if value.shape != (2,) or not value[0] <= value[1]:
            raise SemanticError(f"'{opt.name}' takes [lo, hi] with lo <= hi", opt.value.span)
        return (float(value[0]), float(value[1]))
    if value.shape != () or not np.isfinite(value):
        raise SemanticError(f"'{opt.name}' takes a finite number", opt.value.span)
    if kind == "int":
        if value != np.round(value) or value < 0:
            raise SemanticError(f"'{opt.name}' takes a whole number >= 0, got {value}",
                                opt.value.span)
        return int(value)
    if value < 0:
        raise SemanticError(f"'{opt.name}' must be >= 0, got {value}", opt.value.span)
    return float(value)
