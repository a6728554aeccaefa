"""Load a dense ReLU network from an ``.onnx`` file.

The graph is walked once, in topological order, from its single input. Every
tensor that depends on the input is kept as an affine map of the current
layer's variables (the flattened network input, or the outputs of the last
``Relu``)::

    tensor.ravel() == W @ z + b

(``W`` is kept as ``None`` for the identity and as a vector for a diagonal
matrix, so that an input normalisation costs nothing until the first layer.)

Affine operators are folded into that map; a ``Relu`` closes a layer
(``Dense(W, b, "relu")``) and starts a new one on its outputs, and an affine
map left over at the graph output becomes a ``linear`` output layer. An input
normalisation (``Sub`` mean, ``Div`` std) therefore ends up inside the first
layer.

Supported on the network value: ``Gemm``, ``MatMul`` (constant on either
side), ``Add``/``Sub``/``Mul``/``Div``/``Neg``/``Sum`` with constants (and
``Add``/``Sub``/``Sum`` of two values of the same layer), ``Relu``,
``Flatten``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Transpose``,
``Identity``, ``Dropout`` (inference), ``BatchNormalization`` (inference),
``Shape``, and on 2-D images (``[1, C, H, W]``) ``Conv`` (strides, pads,
auto_pad, dilations, groups), ``AveragePool`` and ``GlobalAveragePool``: all
affine, so they fold into the next dense layer (a convolution becomes its
dense matrix, fine for small images). ``MaxPool`` (2-D; strides, pads,
auto_pad, dilations; not ``ceil_mode`` or the ``Indices`` output) is not
affine: it becomes ``ceil(log2 k)`` extra ReLU layers for a k-entry window,
exactly, with ``max(a, b) = b + relu(a - b)`` (see ``nnlang.networks.maxpool``),
and the affine operators after it fold into the next layer as usual. Nodes
whose inputs are all constants (``Constant``, initializers,
the shape of a value) are evaluated with ``onnx.reference``, so exporter
boilerplate such as ``Shape -> Gather -> Concat -> Reshape`` is fine.
Everything else raises ``UnsupportedError``.

Batch dimensions: the graph is evaluated for one sample, so symbolic
dimensions of the graph input count as 1. ``Network.input_shape`` is the input
shape without its size-1 or symbolic dimensions (``[1, 1, 28, 28]`` gives
``(28, 28)``, ``[1, 784, 1]`` gives ``(784,)``).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.maxpool import max_layers, pool_windows
from nnlang.networks.network import Dense, Network
from nnlang.networks.validate import check_layers

# ONNX element types the network input may have (FLOAT, FLOAT16, DOUBLE, BFLOAT16).
_FLOAT_TYPES = {1, 10, 11, 16}

# Operators that must not be constant-folded even when all inputs are constants.
_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
            "Multinomial", "Bernoulli", "If", "Loop", "Scan"}


@dataclass
class _Affine:
    """A tensor of shape ``shape`` whose ravel is ``W @ z + b``.

    ``z`` are the variables of layer ``epoch`` (0 = the network input), ``n``
    of them. ``W is None`` means the identity matrix and a 1-D ``W`` the
    diagonal matrix ``diag(W)`` (then ``prod(shape) == n``); otherwise ``W`` has
    shape (prod(shape), n).
    """

    shape: tuple[int, ...]
    W: np.ndarray | None
    b: np.ndarray
    n: int
    epoch: int

    @property
    def is_identity(self) -> bool:
        return self.W is None and not self.b.any()

    @property
    def size(self) -> int:
        return int(math.prod(self.shape))

    @property
    def is_diagonal(self) -> bool:
        return self.W is None or self.W.ndim == 1

    def diag(self) -> np.ndarray:
        """The diagonal of a diagonal ``W``."""
        return np.ones(self.n) if self.W is None else self.W

    def dense_W(self) -> np.ndarray:
        if self.W is None:
            return np.eye(self.n)
        if self.W.ndim == 1:
            return np.diag(self.W)
        return self.W

    def tensor_W(self) -> np.ndarray:
        """``W`` as an array of shape ``shape + (n,)``."""
        return self.dense_W().reshape(self.shape + (self.n,))

    def tensor_b(self) -> np.ndarray:
        return self.b.reshape(self.shape)

    def with_shape(self, shape: tuple[int, ...]) -> _Affine:
        return _Affine(tuple(int(d) for d in shape), self.W, self.b, self.n, self.epoch)

    def replaced(self, W: np.ndarray | None, b: np.ndarray,
                 shape: tuple[int, ...]) -> _Affine:
        shape = tuple(int(d) for d in shape)
        size = int(math.prod(shape))
        if W is not None and W.ndim != 1:
            W = np.ascontiguousarray(W).reshape(size, self.n)
        elif W is not None and W.shape != (size,):
            raise AssertionError("a diagonal map must keep the tensor size")
        return _Affine(shape, W, np.asarray(b, dtype=float).reshape(size), self.n, self.epoch)


class _Walker:
    """State of one graph walk: constants, affine values and finished layers."""

    def __init__(self, path: Path, model: Any):
        self.path = path
        self.model = model
        self.graph = model.graph
        self.consts: dict[str, np.ndarray] = {}
        self.values: dict[str, _Affine] = {}
        self.layers: list[Dense] = []
        self.last_relu_node = ""
        self.opset = next((int(o.version) for o in model.opset_import
                           if o.domain in ("", "ai.onnx")), 1)

    # ------------------------------------------------------------------ errors

    def unsupported(self, node: Any, why: str | None = None) -> UnsupportedError:
        op = node.op_type if not node.domain or node.domain == "ai.onnx" \
            else f"{node.domain}.{node.op_type}"
        msg = f"unsupported ONNX operator '{op}' at node '{_node_name(node)}' in '{self.path}'"
        if why:
            msg += f": {why}"
        return UnsupportedError(msg)

    def data_error(self, node: Any, why: str) -> DataError:
        return DataError(f"ONNX file '{self.path}', node '{_node_name(node)}' "
                         f"({node.op_type}): {why}")

    # ------------------------------------------------------------------ inputs

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, node: Any, name: str, dtype: Any = float) -> np.ndarray:
        if name not in self.consts:
            raise self.unsupported(node, f"input '{name}' must be a constant, but it depends "
                                         "on the network input")
        arr = self.consts[name]
        return arr if dtype is None else np.asarray(arr, dtype=dtype)

    def value(self, node: Any, name: str) -> _Affine:
        """The affine value ``name``; it must belong to the current layer."""
        aff = self.values[name]
        if aff.epoch != len(self.layers):
            raise UnsupportedError(
                f"ONNX file '{self.path}' is not a simple chain of layers: node "
                f"'{_node_name(node)}' ({node.op_type}) uses '{name}', which was computed "
                f"before the Relu at node '{self.last_relu_node}' (skip connections and "
                "parallel branches across a Relu are not supported)")
        return aff

    # -------------------------------------------------------------------- walk

    def run(self) -> Network:
        graph = self.graph
        for init in graph.initializer:
            self.consts[init.name] = _to_array(init, self.path)
        inputs = [i for i in graph.input if i.name not in self.consts]
        if not inputs:
            raise DataError(f"ONNX file '{self.path}' has no graph input "
                            "(malformed, or not an ONNX model?)")
        if len(inputs) > 1:
            names = ", ".join(f"'{i.name}'" for i in inputs)
            raise UnsupportedError(f"ONNX file '{self.path}' has {len(inputs)} graph inputs "
                                   f"({names}); only single-input networks are supported")
        if len(graph.output) != 1:
            raise UnsupportedError(f"ONNX file '{self.path}' has {len(graph.output)} graph "
                                   "outputs; only single-output networks are supported")
        full_shape, input_shape = self.input_shapes(inputs[0])
        n_in = int(math.prod(full_shape))
        self.values[inputs[0].name] = _Affine(full_shape, None, np.zeros(n_in), n_in, 0)

        out_name = graph.output[0].name
        for node in self.needed_nodes(out_name):
            self.step(node)

        if out_name in self.consts:
            raise DataError(f"ONNX file '{self.path}': the graph output '{out_name}' does not "
                            "depend on the graph input")
        out = self.value(_FakeNode(out_name), out_name)
        if not out.is_identity or not self.layers:
            self.layers.append(Dense(out.dense_W(), out.b.copy(), "linear"))
        layers = tuple(self.layers)
        check_layers(layers, str(self.path))
        if layers[0].n_in != int(math.prod(input_shape)):
            raise DataError(f"ONNX file '{self.path}': the first layer has {layers[0].n_in} "
                            f"inputs but the graph input has shape {input_shape}")
        return Network(layers, name=self.path.stem, source=str(self.path),
                       input_shape=input_shape)

    def input_shapes(self, inp: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(shape used for the walk, ``input_shape`` of the network)."""
        ttype = inp.type.tensor_type if inp.type.HasField("tensor_type") else None
        if ttype is None or not ttype.HasField("shape"):
            raise UnsupportedError(f"ONNX file '{self.path}': graph input '{inp.name}' has no "
                                   "tensor shape, so the number of network inputs is unknown")
        if ttype.elem_type not in _FLOAT_TYPES:
            raise UnsupportedError(f"ONNX file '{self.path}': graph input '{inp.name}' has "
                                   f"element type {_type_name(ttype.elem_type)}; expected a "
                                   "floating-point tensor")
        full: list[int] = []
        kept: list[int] = []
        leading = True
        for k, dim in enumerate(ttype.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                full.append(int(dim.dim_value))
                if dim.dim_value > 1:
                    leading = False
                    kept.append(int(dim.dim_value))
            elif leading:  # symbolic / unknown batch dimension
                full.append(1)
            else:
                label = dim.dim_param or "?"
                raise UnsupportedError(
                    f"ONNX file '{self.path}': graph input '{inp.name}' has a symbolic "
                    f"dimension '{label}' at position {k} after its data dimensions; "
                    "only leading batch dimensions may be symbolic")
        return tuple(full), tuple(kept) if kept else (1,)

    def needed_nodes(self, out_name: str) -> list[Any]:
        """The nodes the output depends on, in topological order."""
        producer: dict[str, int] = {}
        nodes = list(self.graph.node)
        for k, node in enumerate(nodes):
            for o in node.output:
                if o:
                    if o in producer or o in self.consts or o in self.values:
                        raise DataError(f"ONNX file '{self.path}': tensor '{o}' is defined "
                                        "more than once")
                    producer[o] = k
        needed: set[int] = set()
        stack = [out_name]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            if name in self.consts or name in self.values:
                continue
            if name not in producer:
                raise DataError(f"ONNX file '{self.path}': tensor '{name}' is used but never "
                                "defined")
            k = producer[name]
            needed.add(k)
            stack.extend(i for i in nodes[k].input if i)
        # Kahn's algorithm restricted to the needed nodes (stable in file order).
        deps = {k: {producer[i] for i in nodes[k].input if i and i in producer} for k in needed}
        users: dict[int, list[int]] = {k: [] for k in needed}
        for k, ds in deps.items():
            for d in ds:
                users[d].append(k)
        count = {k: len(ds) for k, ds in deps.items()}
        ready = sorted(k for k, c in count.items() if c == 0)
        order: list[int] = []
        while ready:
            k = heapq.heappop(ready)
            order.append(k)
            for u in users[k]:
                count[u] -= 1
                if count[u] == 0:
                    heapq.heappush(ready, u)
        if len(order) != len(needed):
            raise DataError(f"ONNX file '{self.path}': the graph has a cycle")
        return [nodes[k] for k in order]

    # -------------------------------------------------------------------- nodes

    def step(self, node: Any) -> None:
        if node.domain not in ("", "ai.onnx"):
            raise self.unsupported(node)
        op = node.op_type
        if op == "Constant":
            self.set_const(node, node.output[0], _constant_value(node, self.path))
            return
        var_inputs = [i for i in node.input if i and not self.is_const(i)]
        if not var_inputs:
            if op in _NO_FOLD or any(a.type in (5, 10) for a in node.attribute):  # GRAPH(S)
                raise self.unsupported(node)
            self.fold(node)
            return
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise self.unsupported(node)
        handler(node)

    def set_const(self, node: Any, name: str, arr: np.ndarray) -> None:
        self.consts[name] = np.asarray(arr)

    def set_value(self, name: str, aff: _Affine) -> None:
        self.values[name] = aff

    def fold(self, node: Any) -> None:
        """Evaluate a node whose inputs are all constants."""
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        names = [i for i in node.input if i]
        feeds = {i: self.consts[i] for i in dict.fromkeys(names)}
        try:
            graph = helper.make_graph(
                [node], "fold",
                [helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(a.dtype),
                                               a.shape)
                 for i, a in feeds.items()],
                [helper.make_empty_tensor_value_info(o) for o in node.output if o])
            model = helper.make_model(graph, opset_imports=list(self.model.opset_import))
            results = ReferenceEvaluator(model).run(None, feeds)
        except Exception as exc:  # noqa: BLE001 - any failure means we cannot fold it
            raise self.unsupported(node, f"cannot evaluate it on constant inputs ({exc})") \
                from None
        for name, arr in zip([o for o in node.output if o], results):
            self.set_const(node, name, np.asarray(arr))

    # Shape-only operators -------------------------------------------------

    def op_Identity(self, node: Any) -> None:
        self.set_value(node.output[0], self.value(node, node.input[0]))

    def op_Dropout(self, node: Any) -> None:
        if len(node.input) > 2 and node.input[2]:
            training = self.const(node, node.input[2], dtype=None)
            if bool(np.asarray(training).ravel()[0]):
                raise self.unsupported(node, "training_mode is true")
        if len(node.output) > 1 and node.output[1]:
            raise self.unsupported(node, "its mask output is used")
        self.op_Identity(node)

    def op_Flatten(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        r = len(aff.shape)
        axis = int(_attrs(node).get("axis", 1))
        if axis < 0:
            axis += r
        if not 0 <= axis <= r:
            raise self.data_error(node, f"axis {axis} out of range for rank {r}")
        shape = (math.prod(aff.shape[:axis]), math.prod(aff.shape[axis:]))
        self.set_value(node.output[0], aff.with_shape(shape))

    def op_Reshape(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        attrs = _attrs(node)
        if len(node.input) > 1 and node.input[1]:
            target = [int(v) for v in self.const(node, node.input[1], dtype=np.int64).ravel()]
        elif "shape" in attrs:
            target = [int(v) for v in attrs["shape"]]
        else:
            raise self.data_error(node, "no target shape")
        allowzero = int(attrs.get("allowzero", 0))
        out = []
        for k, d in enumerate(target):
            if d == 0 and not allowzero:
                if k >= len(aff.shape):
                    raise self.data_error(node, f"dimension {k} of {target} copies a "
                                                f"dimension the input {aff.shape} lacks")
                out.append(aff.shape[k])
            else:
                out.append(d)
        if out.count(-1) > 1 or any(d < -1 for d in out):
            raise self.data_error(node, f"invalid target shape {target}")
        if -1 in out:
            rest = math.prod(d for d in out if d != -1)
            if rest == 0 or aff.size % rest:
                raise self.data_error(node, f"cannot reshape {aff.shape} to {target}")
            out[out.index(-1)] = aff.size // rest
        if math.prod(out) != aff.size:
            raise self.data_error(node, f"cannot reshape {aff.shape} to {target}")
        self.set_value(node.output[0], aff.with_shape(tuple(out)))

    def _axes(self, node: Any) -> list[int] | None:
        if len(node.input) > 1 and node.input[1]:
            return [int(v) for v in self.const(node, node.input[1], dtype=np.int64).ravel()]
        axes = _attrs(node).get("axes")
        return None if axes is None else [int(a) for a in axes]

    def op_Squeeze(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        r = len(aff.shape)
        axes = self._axes(node)
        if axes is None:
            drop = {k for k, d in enumerate(aff.shape) if d == 1}
        else:
            drop = {a + r if a < 0 else a for a in axes}
            if any(not 0 <= a < r or aff.shape[a] != 1 for a in drop):
                raise self.data_error(node, f"cannot squeeze axes {axes} of shape {aff.shape}")
        shape = tuple(d for k, d in enumerate(aff.shape) if k not in drop)
        self.set_value(node.output[0], aff.with_shape(shape))

    def op_Unsqueeze(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        axes = self._axes(node)
        if not axes:
            raise self.data_error(node, "no axes")
        r = len(aff.shape) + len(axes)
        norm = sorted(a + r if a < 0 else a for a in axes)
        if len(set(norm)) != len(norm) or any(not 0 <= a < r for a in norm):
            raise self.data_error(node, f"invalid axes {axes} for output rank {r}")
        shape = list(aff.shape)
        for a in norm:
            shape.insert(a, 1)
        self.set_value(node.output[0], aff.with_shape(tuple(shape)))

    def op_Transpose(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        r = len(aff.shape)
        perm = _attrs(node).get("perm")
        perm = list(range(r))[::-1] if perm is None else [int(p) for p in perm]
        if sorted(perm) != list(range(r)):
            raise self.data_error(node, f"perm {perm} is not a permutation of rank {r}")
        self.set_value(node.output[0], _transpose(aff, perm))

    def op_Shape(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        shape = np.array(aff.shape, dtype=np.int64)
        attrs = _attrs(node)
        r = len(aff.shape)
        start = int(attrs.get("start", 0))
        end = attrs.get("end")
        start = min(max(start + r if start < 0 else start, 0), r)
        if end is None:
            end = r
        else:
            end = int(end)
            end = min(max(end + r if end < 0 else end, 0), r)
        self.set_const(node, node.output[0], shape[start:end])

    # Affine operators ------------------------------------------------------

    def op_Relu(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        if aff.is_identity and self.layers and self.layers[-1].activation == "relu":
            # Relu of a Relu output: a no-op.
            self.set_value(node.output[0], aff)
            return
        self.layers.append(Dense(aff.dense_W(), aff.b.copy(), "relu"))
        self.last_relu_node = _node_name(node)
        n = aff.size
        self.set_value(node.output[0], _Affine(aff.shape, None, np.zeros(n), n, len(self.layers)))

    def op_Neg(self, node: Any) -> None:
        aff = self.value(node, node.input[0])
        W = -aff.diag() if aff.is_diagonal else -aff.W
        self.set_value(node.output[0], aff.replaced(W, -aff.b, aff.shape))

    def op_Add(self, node: Any) -> None:
        self._add_sub(node, +1.0)

    def op_Sub(self, node: Any) -> None:
        self._add_sub(node, -1.0)

    def op_Sum(self, node: Any) -> None:
        acc: _Affine | np.ndarray | None = None
        for name in node.input:
            term = self.consts[name] if self.is_const(name) else self.value(node, name)
            acc = term if acc is None else self._combine(node, acc, term, 1.0)
        assert isinstance(acc, _Affine)
        self.set_value(node.output[0], acc)

    def _add_sub(self, node: Any, sign: float) -> None:
        if len(node.input) != 2:
            raise self.data_error(node, f"expected 2 inputs, got {len(node.input)}")
        a, b = (self.consts[i] if self.is_const(i) else self.value(node, i) for i in node.input)
        self.set_value(node.output[0], self._combine(node, a, b, sign))

    def _combine(self, node: Any, a: Any, b: Any, sign: float) -> Any:
        """``a + sign * b`` for affine values and/or constants."""
        if not isinstance(a, _Affine) and not isinstance(b, _Affine):
            return np.asarray(a, dtype=float) + sign * np.asarray(b, dtype=float)
        if isinstance(a, _Affine) and isinstance(b, _Affine):
            out_shape = np.broadcast_shapes(a.shape, b.shape)
            Wa = _broadcast_W(a, out_shape)
            Wb = _broadcast_W(b, out_shape)
            bias = np.broadcast_to(a.tensor_b(), out_shape) + sign * b.tensor_b()
            return a.replaced(Wa + sign * Wb, bias, out_shape)
        if isinstance(a, _Affine):
            c = np.asarray(b, dtype=float)
            bias = a.tensor_b() + sign * c
            W = a.W if bias.shape == a.shape else _broadcast_W(a, bias.shape)
            return a.replaced(W, bias, bias.shape)
        # constant (+|-) affine
        c = np.asarray(a, dtype=float)
        bias = c + sign * b.tensor_b()
        if bias.shape != b.shape:
            W = sign * _broadcast_W(b, bias.shape)
        elif sign > 0:
            W = b.W
        else:
            W = -b.diag() if b.is_diagonal else -b.W
        return b.replaced(W, bias, bias.shape)

    def op_Mul(self, node: Any) -> None:
        if len(node.input) != 2:
            raise self.data_error(node, f"expected 2 inputs, got {len(node.input)}")
        x, y = node.input
        if not self.is_const(x) and not self.is_const(y):
            raise self.unsupported(node, "it multiplies two values that depend on the "
                                         "network input, which is not affine")
        if self.is_const(x):
            x, y = y, x
        aff = self.value(node, x)
        self.set_value(node.output[0], _scale(aff, self.const(node, y), divide=False))

    def op_Div(self, node: Any) -> None:
        if len(node.input) != 2:
            raise self.data_error(node, f"expected 2 inputs, got {len(node.input)}")
        x, y = node.input
        if not self.is_const(y):
            raise self.unsupported(node, "it divides by a value that depends on the network "
                                         "input, which is not affine")
        c = self.const(node, y)
        if not np.all(c != 0):
            raise self.data_error(node, f"divides by zero (constant '{y}')")
        self.set_value(node.output[0], _scale(self.value(node, x), c, divide=True))

    def op_MatMul(self, node: Any) -> None:
        if len(node.input) != 2:
            raise self.data_error(node, f"expected 2 inputs, got {len(node.input)}")
        x, y = node.input
        if not self.is_const(x) and not self.is_const(y):
            raise self.unsupported(node, "it multiplies two values that depend on the "
                                         "network input, which is not affine")
        try:
            if self.is_const(y):
                out = _matmul_right(self.value(node, x), self.const(node, y))
            else:
                out = _matmul_left(self.const(node, x), self.value(node, y))
        except ValueError as exc:
            raise self.data_error(node, f"shapes do not match ({exc})") from None
        self.set_value(node.output[0], out)

    def op_Gemm(self, node: Any) -> None:
        attrs = _attrs(node)
        alpha = float(attrs.get("alpha", 1.0))
        beta = float(attrs.get("beta", 1.0))
        trans_a = int(attrs.get("transA", 0))
        trans_b = int(attrs.get("transB", 0))
        if len(node.input) < 2:
            raise self.data_error(node, "expected at least 2 inputs")
        a, b = node.input[0], node.input[1]
        if not self.is_const(a) and not self.is_const(b):
            raise self.unsupported(node, "it multiplies two values that depend on the "
                                         "network input, which is not affine")
        try:
            if self.is_const(b):
                A = self.value(node, a)
                if len(A.shape) != 2:
                    raise self.data_error(node, f"input A has shape {A.shape}, expected 2-D")
                if trans_a:
                    A = _transpose(A, [1, 0])
                B = self.const(node, b)
                B = B.T if trans_b else B
                out = _matmul_right(A, alpha * B)
            else:
                Bv = self.value(node, b)
                if len(Bv.shape) != 2:
                    raise self.data_error(node, f"input B has shape {Bv.shape}, expected 2-D")
                if trans_b:
                    Bv = _transpose(Bv, [1, 0])
                Ac = self.const(node, a)
                Ac = Ac.T if trans_a else Ac
                out = _matmul_left(alpha * Ac, Bv)
        except ValueError as exc:
            raise self.data_error(node, f"shapes do not match ({exc})") from None
        if len(node.input) > 2 and node.input[2]:
            C = beta * self.const(node, node.input[2])
            try:
                bias = np.broadcast_to(C, out.shape)
            except ValueError:
                raise self.data_error(node, f"bias C of shape {C.shape} does not broadcast "
                                            f"to {out.shape}") from None
            out = out.replaced(out.W, out.b + bias.ravel(), out.shape)
        self.set_value(node.output[0], out)

    def op_BatchNormalization(self, node: Any) -> None:
        attrs = _attrs(node)
        training = int(attrs.get("training_mode", 0))
        if self.opset < 7 and not int(attrs.get("is_test", 0)):
            training = 1
        if training or any(o for o in node.output[1:]):
            raise self.unsupported(node, "only inference mode (one output) is supported")
        aff = self.value(node, node.input[0])
        if len(node.input) < 5:
            raise self.data_error(node, "expected 5 inputs")
        scale, bias, mean, var = (self.const(node, i) for i in node.input[1:5])
        eps = float(attrs.get("epsilon", 1e-5))
        if len(aff.shape) < 2:
            raise self.data_error(node, f"input has shape {aff.shape}, expected rank >= 2")
        # Channels are axis 1: y = (x - mean) * scale / sqrt(var + eps) + bias.
        expand = (aff.shape[1],) + (1,) * (len(aff.shape) - 2)
        factor = (scale / np.sqrt(var + eps)).reshape(expand)
        shift = (bias - mean * (scale / np.sqrt(var + eps))).reshape(expand)
        out = _scale(aff, factor, divide=False)
        self.set_value(node.output[0], self._combine(node, out, shift, 1.0))


    # Convolutions and pooling (affine, folded like Gemm) -------------------

    def _image(self, node: Any, name: str) -> _Affine:
        aff = self.value(node, name)
        if len(aff.shape) != 4 or aff.shape[0] != 1:
            raise self.unsupported(node, f"input has shape {aff.shape}; only 2-D images "
                                         "(shape [1, C, H, W]) are supported")
        return aff

    def _apply_linear(self, aff: _Affine, fn, bias: np.ndarray | None = None) -> _Affine:
        """``fn`` (linear, on a batch (B, C, H, W)) applied to the affine image ``aff``."""
        C, H, W = aff.shape[1:]
        cols = np.moveaxis(aff.tensor_W().reshape(C, H, W, aff.n), -1, 0)  # (n, C, H, W)
        out_W = fn(cols)
        out_b = fn(aff.tensor_b().reshape(1, C, H, W))
        if bias is not None:
            out_b = out_b + bias.reshape(1, -1, 1, 1)
        shape = (1,) + out_W.shape[1:]
        W_out = np.moveaxis(out_W, 0, -1).reshape(-1, aff.n)
        return aff.replaced(W_out, out_b.ravel(), shape)

    def _window(self, node: Any, attrs: dict, spatial: tuple[int, int],
                kernel: tuple[int, int]) -> tuple[list[int], list[int], list[int]]:
        """(strides, dilations, pads [top, left, bottom, right]) of a Conv or pooling node."""
        strides = [int(v) for v in attrs.get("strides", [1, 1])]
        dil = [int(v) for v in attrs.get("dilations", [1, 1])]
        pads = [int(v) for v in attrs.get("pads", [0, 0, 0, 0])]
        if len(strides) != 2 or len(dil) != 2 or len(pads) != 4:
            raise self.data_error(node, "strides, dilations and pads must be for 2 "
                                        "spatial axes")
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto == "VALID":
            pads = [0, 0, 0, 0]
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = [0, 0, 0, 0]
            for a in range(2):
                eff = (kernel[a] - 1) * dil[a] + 1
                out = -(-spatial[a] // strides[a])
                total = max((out - 1) * strides[a] + eff - spatial[a], 0)
                small, big = total // 2, total - total // 2
                pads[a], pads[a + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto != "NOTSET":
            raise self.data_error(node, f"unknown auto_pad '{auto}'")
        return strides, dil, pads

    def op_Conv(self, node: Any) -> None:
        aff = self._image(node, node.input[0])
        K = self.const(node, node.input[1])
        bias = self.const(node, node.input[2]) if len(node.input) > 2 and node.input[2] \
            else None
        attrs = _attrs(node)
        group = int(attrs.get("group", 1))
        C = aff.shape[1]
        if K.ndim != 4:
            raise self.unsupported(node, f"kernel of shape {K.shape}; only 2-D "
                                         "convolutions are supported")
        if C % group or K.shape[0] % group or K.shape[1] * group != C:
            raise self.data_error(node, f"kernel {K.shape} does not fit {C} input channels "
                                        f"in {group} group(s)")
        strides, dil, pads = self._window(node, attrs, aff.shape[2:], K.shape[2:])
        fn = lambda X: _conv2d(X, K, strides, dil, pads, group)
        try:
            out = self._apply_linear(aff, fn, bias)
        except ValueError as exc:
            raise self.data_error(node, str(exc)) from None
        self.set_value(node.output[0], out)

    def _pool_window(self, node: Any, aff, attrs: dict) -> tuple:
        """``(kernel, strides, dilations, pads)`` of a 2-D pooling node (ceil_mode refused)."""
        if int(attrs.get("ceil_mode", 0)):
            raise self.unsupported(node, "ceil_mode=1 is not supported")
        kernel = tuple(int(v) for v in attrs.get("kernel_shape", []))
        if len(kernel) != 2:
            raise self.unsupported(node, "only 2-D pooling is supported")
        return (kernel, *self._window(node, attrs, aff.shape[2:], kernel))

    def op_AveragePool(self, node: Any) -> None:
        aff = self._image(node, node.input[0])
        attrs = _attrs(node)
        kernel, strides, dil, pads = self._pool_window(node, aff, attrs)
        C = aff.shape[1]
        K = np.ones((C, 1) + kernel)
        if int(attrs.get("count_include_pad", 0)) or not any(pads):
            count = np.full((1, 1), float(np.prod(kernel)))
        else:
            ones = np.ones((1, 1) + tuple(aff.shape[2:]))
            count = _conv2d(ones, np.ones((1, 1) + kernel), strides, dil, pads, 1)[0, 0]
        fn = lambda X: _conv2d(X, K, strides, dil, pads, C) / count
        self.set_value(node.output[0], self._apply_linear(aff, fn))

    def op_GlobalAveragePool(self, node: Any) -> None:
        aff = self._image(node, node.input[0])
        fn = lambda X: X.mean(axis=(2, 3), keepdims=True)
        self.set_value(node.output[0], self._apply_linear(aff, fn))

    def op_MaxPool(self, node: Any) -> None:
        """Max pooling as ``ceil(log2 k)`` exact ReLU layers (``nnlang.networks.maxpool``)."""
        aff = self._image(node, node.input[0])
        attrs = _attrs(node)
        if any(o for o in node.output[1:]):
            raise self.unsupported(node, "its Indices output is used")
        kernel, strides, dil, pads = self._pool_window(node, aff, attrs)
        C = aff.shape[1]
        try:
            windows, (Ho, Wo) = pool_windows(aff.shape[1:], kernel, strides, dil, pads)
        except ValueError as exc:
            raise self.data_error(node, str(exc)) from None
        # Which entries are >= 0 for sure: the variables of a layer after the
        # first are ReLU outputs, so a row with nonnegative coefficients and bias is.
        if aff.W is None:
            T, nonneg = sp.eye_array(aff.n, format="csr"), aff.b >= 0
        elif aff.W.ndim == 1:
            T, nonneg = sp.diags_array(aff.W, format="csr"), (aff.W >= 0) & (aff.b >= 0)
        else:
            T, nonneg = aff.W, (aff.W >= 0).all(axis=1) & (aff.b >= 0)
        if aff.epoch == 0:
            nonneg = np.zeros(aff.size, dtype=bool)
        if _depth(kernel[0]) + _depth(kernel[1]) == _depth(kernel[0] * kernel[1]):
            windows = windows.reshape(len(windows), kernel[0], kernel[1])  # rows first
        layers, W, b = max_layers(T, aff.b, nonneg, windows)
        shape = (1, C, Ho, Wo)
        if not layers:  # 1x1 windows: a selection, still affine
            self.set_value(node.output[0], aff.replaced(W, b, shape))
            return
        self.layers.extend(layers)
        self.last_relu_node = _node_name(node)
        self.set_value(node.output[0], _Affine(shape, W, b, W.shape[1], len(self.layers)))


# ---------------------------------------------------------------------- helpers


def _depth(k: int) -> int:
    """ReLU layers of a pairwise max over k entries."""
    return math.ceil(math.log2(k)) if k > 1 else 0


@dataclass
class _FakeNode:
    """Stands in for a node in error messages about the graph output."""

    output0: str
    op_type: str = "graph output"
    name: str = ""
    domain: str = ""

    @property
    def output(self) -> list[str]:
        return [self.output0]


def _node_name(node: Any) -> str:
    if node.name:
        return node.name
    outs = [o for o in node.output if o]
    return outs[0] if outs else node.op_type


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _type_name(elem_type: int) -> str:
    from onnx import TensorProto

    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return str(elem_type)


def _to_array(tensor: Any, path: Path) -> np.ndarray:
    from onnx import numpy_helper

    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except Exception as exc:  # noqa: BLE001 - bad raw data, missing external file, ...
        raise DataError(f"ONNX file '{path}': cannot read tensor '{tensor.name}': {exc}") \
            from None


def _constant_value(node: Any, path: Path) -> np.ndarray:
    from onnx import helper

    for attr in node.attribute:
        if attr.name == "value":
            return _to_array(attr.t, path)
        if attr.name == "sparse_value":
            raise UnsupportedError(f"ONNX file '{path}': sparse Constant at node "
                                   f"'{_node_name(node)}' is not supported")
        value = helper.get_attribute_value(attr)
        if attr.name == "value_float":
            return np.array(value, dtype=np.float32)
        if attr.name == "value_floats":
            return np.array(value, dtype=np.float32)
        if attr.name in ("value_int", "value_ints"):
            return np.array(value, dtype=np.int64)
        if attr.name in ("value_string", "value_strings"):
            return np.array(value, dtype=object)
    raise DataError(f"ONNX file '{path}': Constant node '{_node_name(node)}' has no value")


def _broadcast_W(aff: _Affine, shape: tuple[int, ...]) -> np.ndarray:
    """``aff``'s coefficients broadcast to tensor shape ``shape``, as (prod(shape), n)."""
    shape = tuple(shape)
    if shape == aff.shape:
        return aff.dense_W()
    pad = (1,) * (len(shape) - len(aff.shape))
    Wt = aff.tensor_W().reshape(pad + aff.shape + (aff.n,))
    return np.broadcast_to(Wt, shape + (aff.n,)).reshape(-1, aff.n)


def _scale(aff: _Affine, c: np.ndarray, divide: bool) -> _Affine:
    """``aff * c`` (or ``aff / c``) with numpy broadcasting."""
    c = np.asarray(c, dtype=float)
    bias = aff.tensor_b() / c if divide else aff.tensor_b() * c
    out_shape = bias.shape
    if out_shape == aff.shape and aff.is_diagonal:
        cd = np.broadcast_to(c, out_shape).ravel()
        W = aff.diag() / cd if divide else aff.diag() * cd
        return aff.replaced(W, bias, out_shape)
    cb = np.broadcast_to(c, out_shape).reshape(-1, 1)
    W = _broadcast_W(aff, out_shape)
    W = W / cb if divide else W * cb
    return aff.replaced(W, bias, out_shape)


def _transpose(aff: _Affine, perm: list[int]) -> _Affine:
    Wt = aff.tensor_W().transpose(list(perm) + [len(aff.shape)])
    shape = tuple(aff.shape[p] for p in perm)
    return aff.replaced(Wt, aff.tensor_b().transpose(perm), shape)


def _matmul_right(aff: _Affine, M: np.ndarray) -> _Affine:
    """``aff @ M`` (numpy ``matmul`` semantics) for a constant ``M``."""
    M = np.asarray(M, dtype=float)
    bias = np.matmul(aff.tensor_b(), M)
    out_shape = bias.shape
    S = aff.shape
    if M.ndim <= 2 and len(S) >= 1 and all(d == 1 for d in S[:-1]):
        # A vector times a matrix: the common x @ W case.
        M2 = M.reshape(M.shape[0], -1)
        W = M2.T * aff.diag()[None, :] if aff.is_diagonal else M2.T @ aff.W
        return aff.replaced(W, bias, out_shape)
    Wt = aff.tensor_W()
    if len(S) == 1:
        Wt = Wt[None]
    M2 = M[:, None] if M.ndim == 1 else M
    # out[..., i, m, z] = sum_k Wt[..., i, k, z] M[..., k, m]
    R = np.matmul(np.swapaxes(Wt, -1, -2), M2[..., None, :, :])
    return aff.replaced(np.swapaxes(R, -1, -2), bias, out_shape)


def _matmul_left(M: np.ndarray, aff: _Affine) -> _Affine:
    """``M @ aff`` (numpy ``matmul`` semantics) for a constant ``M``."""
    M = np.asarray(M, dtype=float)
    bias = np.matmul(M, aff.tensor_b())
    out_shape = bias.shape
    S = aff.shape
    if len(S) == 1 and M.ndim == 2:
        W = M * aff.diag()[None, :] if aff.is_diagonal else M @ aff.W
        return aff.replaced(W, bias, out_shape)
    Wt = aff.tensor_W()
    if len(S) == 1:
        Wt = Wt[:, None, :]
    M2 = M[None, :] if M.ndim == 1 else M
    # out[..., m, j, z] = sum_k M[..., m, k] Wt[..., k, j, z]
    Wt2 = Wt.reshape(Wt.shape[:-2] + (Wt.shape[-2] * aff.n,))
    R = np.matmul(M2, Wt2)
    return aff.replaced(R, bias, out_shape)


def _conv2d(X: np.ndarray, K: np.ndarray, strides: list[int], dil: list[int], pads: list[int],
            group: int) -> np.ndarray:
    """ONNX ``Conv`` without bias: ``X`` (B, C, H, W), ``K`` (M, C/group, kh, kw)."""
    from numpy.lib.stride_tricks import sliding_window_view

    B = X.shape[0]
    M, Cg, kh, kw = K.shape
    Xp = np.pad(X, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    eh, ew = (kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1
    if Xp.shape[2] < eh or Xp.shape[3] < ew:
        raise ValueError(f"kernel {kh}x{kw} is larger than the padded input {Xp.shape[2:]}")
    win = sliding_window_view(Xp, (eh, ew), axis=(2, 3))
    win = win[:, :, ::strides[0], ::strides[1], ::dil[0], ::dil[1]]  # (B, C, Ho, Wo, kh, kw)
    Ho, Wo = win.shape[2], win.shape[3]
    win = win.reshape(B, group, Cg, Ho, Wo, kh, kw)
    Kg = K.reshape(group, M // group, Cg, kh, kw)
    out = np.einsum("bgchwij,gmcij->bgmhw", win, Kg, optimize=True)
    return out.reshape(B, M, Ho, Wo)


def load_onnx(path: Path) -> Network:
    """Read a dense ReLU network from the ONNX file ``path``."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, OSError, ...
        raise DataError(f"cannot read ONNX file '{path}': {exc}") from None
    if not model.HasField("graph"):
        raise DataError(f"cannot read ONNX file '{path}': it has no graph "
                        "(malformed, or not an ONNX model?)")
    return _Walker(path, model).run()
