"""``nnlang train``: a spec's ``train NET on INPUTS, LABELS { ... }`` statement run
by Goebbels' (2021) algorithm (:mod:`nnlang.training.goebbels`, batch learning in
:mod:`nnlang.training.run`).

Each dense layer of the network is trained: a line ``dense n relu`` has free
weights and bias in ``[-weight_bound, weight_bound]``; a line ``dense n relu
weights W, b`` with variables trains exactly those variables within their
bounds, so fixed zeros (``W * mask``), zero biases (``zeros(n)``) and tied
weights (a convolution, ``reshape(M @ k, n, d)``) are said in the spec. A
network with a ``weights "file"`` line starts from those weights instead of a
random initialization.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from nnlang import registry
from nnlang.api import compile as compile_spec
from nnlang.encode.builder import Builder
from nnlang.errors import NnlangError, SemanticError, Span
from nnlang.ir.program import Program
from nnlang.training import layers as layer_kinds
from nnlang.training.goebbels import Settings
from nnlang.training.layers import LayerParams
from nnlang.training.run import Trained, train_batches

# spec settings that are not Settings fields, or mean "off" at 0
_OFF_AT_ZERO = ("change", "post_every")
_NOT_SETTINGS = ("weight_bound", "test_inputs", "test_labels", registry.TRAINER_SETTING)


def settings_of(values: dict) -> Settings:
    fields = {k: v for k, v in values.items() if k not in _NOT_SETTINGS}
    for key in _OFF_AT_ZERO:
        if fields.get(key) == 0:
            fields[key] = None
    return Settings(**fields)


def layer_params(program: Program) -> list[LayerParams]:
    """What is trained in each layer of the ``train`` statement's network."""
    training = program.training
    net = training.net
    bound = float(training.settings.get("weight_bound", 1.0))
    b = Builder(program.options)
    b.var_blocks = {v.name: b.add_block(v.name, v.shape, v.domain, v.lower, v.upper, "user")
                    for v in program.variables.values()}
    b.in_objective = False
    lb, ub = b.column_bounds()
    out = []
    for k, layer in enumerate(net.network.layers):
        if k not in net.variable:
            out.append(layer_kinds.dense(layer.n_out, layer.n_in, bound))
            continue
        W_expr, b_expr = net.variable[k]
        W, bias = b.lower(W_expr, 0).padded(b.n), b.lower(b_expr, 0).padded(b.n)
        if np.any(W.c) or np.any(bias.c):
            raise SemanticError(f"layer {k + 1} of network '{net.name}': training needs the "
                                f"weights to be variables, zeros or sums of variables (no "
                                f"constant offsets)", W_expr.span)
        T = sp.vstack([W.A, bias.A], format="csc")
        used = np.flatnonzero(np.diff(T.indptr))
        if not (np.isfinite(lb[used]).all() and np.isfinite(ub[used]).all()):
            raise SemanticError(f"the weights of layer {k + 1} of network '{net.name}' need "
                                f"finite bounds (var ... in [lo, hi])", W_expr.span)
        out.append(LayerParams(layer.n_out, layer.n_in, T[:, used].tocsr(), lb[used],
                               ub[used]))
    return out


def train(path: str | Path | None = None, params: dict | None = None, *,
          text: str | None = None, run_dir: str | Path | None = None, report=None,
          **settings):
    """Train the network of a spec's ``train`` statement by its ``method``: Goebbels
    (2021), Algorithm 1 with batch learning (the default, a :class:`Trained`), or
    ``"wbo"``, the WBO master's thesis' NLP (:mod:`nnlang.training.wbo_spec`, a
    ``WboTrained``); ``settings`` override the statement's (``batches=2``,
    ``workers=2``, ...), ``run_dir`` makes the run resumable and receives
    ``network.npz``, ``network.onnx`` and ``history.json``; ``report(kind, what)``
    hears every layer update (``"step"``) and finished batch (``"batch"``).

    >>> t = nnlang.train("examples/training/tiny.nnq", batches=1)  # doctest: +SKIP
    >>> t.network.predict(x), t.batches[-1]["batch_accuracy"]       # doctest: +SKIP
    """
    program = compile_spec(path, params, text=text).program
    if program.training is None:
        raise SemanticError("the spec has no 'train NET on INPUTS, LABELS { ... }' statement",
                            Span(str(path or "<string>"), 1, 1))
    method = program.training.settings.get(registry.TRAINER_SETTING, registry.DEFAULT_TRAINER)
    trainer = registry.TRAINERS[method]
    unknown = set(settings) - set(trainer.settings)
    if unknown:
        raise NnlangError(f"unknown training setting(s) {', '.join(sorted(unknown))} for "
                          f"method \"{method}\"")
    program.training.settings.update(settings)
    module = importlib.import_module(trainer.module)
    return module.train_program(program, None if run_dir is None else Path(run_dir), report)


def train_program(program: Program, run_dir: Path | None = None, report=None) -> Trained:
    """Run a checked spec's ``train`` statement; the trained network and its history."""
    training = program.training
    settings = settings_of(training.settings)
    params = layer_params(program)
    test = None
    if "test_inputs" in training.settings:
        test = (training.settings["test_inputs"], training.settings["test_labels"])
    return train_batches(params, training.inputs, training.labels, settings,
                         program.options, run_dir=run_dir, test=test, report=report,
                         input_shape=training.net.network.input_shape,
                         start=None if training.net.untrained or training.net.variable
                         else training.net.network)
