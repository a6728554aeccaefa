"""Which tensor of an ONNX graph is the network's output.

A regressor has one output, the last affine layer. A classifier as exporters write it
ends in a *head*: ``Softmax``/``LogSoftmax`` (PyTorch, skl2onnx's multi-class MLP),
``Sigmoid`` (skl2onnx's binary MLP), ``ArgMax`` and the ``ai.onnx.ml`` ``ZipMap`` /
``ArrayFeatureExtractor`` label path. Probabilities are not piecewise linear, and a
margin on probabilities is not a margin on logits, so the head is never dropped
silently: ``output="logits"`` cuts the graph at the tensor the head reads (the last
affine layer), and without it a graph with a head is refused with a message naming the
option."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.errors import DataError, UnsupportedError

OUTPUTS = ("logits",)
# operators that turn a classifier's scores into probabilities or a label
HEADS = {"Softmax", "LogSoftmax", "Sigmoid", "ArgMax", "Hardmax"}
SOFT_HEADS = ("Softmax", "LogSoftmax", "Sigmoid")
# what exporters compute from a head: probabilities of the other class (``1 - p``),
# label look-ups, casts, reshapes. Anything else after a Sigmoid means it is a hidden
# activation, not a classifier's head (and the walk reports it as unsupported).
TAIL = HEADS | {"Sub", "Concat", "Cast", "Reshape", "Identity", "Flatten", "Squeeze",
                "Unsqueeze", "ZipMap", "ArrayFeatureExtractor"}


@dataclass(frozen=True)
class OutputChoice:
    """The tensor to read as the network output, and what it is."""

    name: str
    kind: str  # "classifier" (cut at the logits) or "" (whatever the graph computes)
    classes: tuple = ()


def choose_output(path: Path, graph: Any, consts: dict[str, np.ndarray],
                  output: str | None) -> OutputChoice:
    """The output tensor of ``graph`` for the load option ``output`` (None or "logits")."""
    if output is not None and output not in OUTPUTS:
        raise UnsupportedError(f"unknown network output '{output}' for '{path}' "
                               f"(output = {' or '.join(repr(o) for o in OUTPUTS)})")
    outs = [o.name for o in graph.output]
    heads, tainted = find_heads(graph)
    if not heads:
        if output == "logits":
            raise UnsupportedError(
                f"output = \"logits\" cuts a classifier's Softmax, Sigmoid or ArgMax, but "
                f"'{path}' has none: its output is already the last affine layer; drop the "
                "option")
        if len(outs) != 1:
            raise UnsupportedError(f"ONNX file '{path}' has {len(outs)} graph outputs; only "
                                   "single-output networks are supported")
        return OutputChoice(outs[0], "")
    first = next((h for h in heads if h.op_type in SOFT_HEADS), heads[0])
    if output != "logits":
        what = ("class probabilities are not piecewise linear"
                if first.op_type in SOFT_HEADS else "a class label is not a continuous value")
        raise UnsupportedError(
            f"the output of '{path}' goes through {first.op_type} (of '{first.input[0]}'): "
            f"{what}, so nnlang does not encode it; load the network with output = "
            "\"logits\" (Python: output=\"logits\") to use the scores before the "
            f"{first.op_type}. Class order is the same on logits (one logit: class 1 when "
            "positive), but a bound or margin on probabilities is not the same bound on "
            "logits")
    logits = {h.input[0] for h in heads if h.input and h.input[0] not in tainted}
    if len(logits) != 1:
        names = ", ".join(sorted(f"'{n}'" for n in logits)) or "none"
        raise UnsupportedError(f"ONNX file '{path}': its classifier output reads the scores "
                               f"of several tensors ({names}); expected one")
    name = logits.pop()
    if name in consts:
        raise DataError(f"ONNX file '{path}': the logits '{name}' do not depend on the "
                        "graph input")
    return OutputChoice(name, "classifier", class_labels(graph, consts))


def find_heads(graph: Any) -> tuple[list[Any], set[str]]:
    """The head nodes the graph outputs depend on (file order, which ONNX requires to
    be topological) and every tensor computed from a head's output."""
    producer = {o: node for node in graph.node for o in node.output if o}
    used: set[int] = set()
    stack = [o.name for o in graph.output]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen or name not in producer:
            continue
        seen.add(name)
        used.add(id(producer[name]))
        stack.extend(i for i in producer[name].input if i)
    heads: list[Any] = []
    tainted: set[str] = set()
    for node in graph.node:
        if id(node) not in used:
            continue
        if node.op_type in HEADS and node.domain in ("", "ai.onnx") \
                or any(i in tainted for i in node.input if i):
            if node.op_type in HEADS and not any(i in tainted for i in node.input if i):
                heads.append(node)
            tainted.update(o for o in node.output if o)
            if node.op_type not in TAIL:
                return [], set()
    return heads, tainted


def class_labels(graph: Any, consts: dict[str, np.ndarray]) -> tuple:
    """The class labels a scikit-learn export names (``ZipMap``'s labels or the
    ``classes`` constant its label path looks up); () when the graph names none."""
    from onnx import helper

    for node in graph.node:
        if node.domain != "ai.onnx.ml":
            continue
        if node.op_type == "ZipMap":
            for attr in node.attribute:
                if attr.name in ("classlabels_int64s", "classlabels_strings"):
                    values = helper.get_attribute_value(attr)
                    return tuple(v.decode() if isinstance(v, bytes) else int(v)
                                 for v in values)
        if node.op_type == "ArrayFeatureExtractor" and node.input[0] in consts:
            arr = np.asarray(consts[node.input[0]]).ravel()
            return tuple(v.decode() if isinstance(v, bytes) else v.item() for v in arr)
    return ()
