"""The walk over an ONNX graph: constants folded, values kept as affine maps, each
node handed to its operator in ``nnlang.networks.onnx.ops.OPS``."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnlang.errors import DataError, UnsupportedError
from nnlang.networks.network import Dense, Network
from nnlang.networks.onnx.affine import Affine
from nnlang.networks.onnx.outputs import choose_output
from nnlang.networks.validate import check_layers

# ONNX element types the network input may have (FLOAT, FLOAT16, DOUBLE, BFLOAT16).
FLOAT_TYPES = {1, 10, 11, 16}


# Operators that must not be constant-folded even when all inputs are constants.
NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
            "Multinomial", "Bernoulli", "If", "Loop", "Scan"}


class Walker:
    """State of one graph walk: constants, affine values and finished layers."""

    def __init__(self, path: Path, model: Any, output: str | None = None):
        self.path = path
        self.output = output
        self.model = model
        self.graph = model.graph
        self.consts: dict[str, np.ndarray] = {}
        self.values: dict[str, Affine] = {}
        self.layers: list[Dense] = []
        self.last_relu_node = ""
        self.opset = next((int(o.version) for o in model.opset_import
                           if o.domain in ("", "ai.onnx")), 1)

    # ------------------------------------------------------------------ errors

    def unsupported(self, node: Any, why: str | None = None) -> UnsupportedError:
        op = node.op_type if not node.domain or node.domain == "ai.onnx" \
            else f"{node.domain}.{node.op_type}"
        msg = f"unsupported ONNX operator '{op}' at node '{node_name(node)}' in '{self.path}'"
        if why:
            msg += f": {why}"
        return UnsupportedError(msg)

    def data_error(self, node: Any, why: str) -> DataError:
        return DataError(f"ONNX file '{self.path}', node '{node_name(node)}' "
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

    def value(self, node: Any, name: str) -> Affine:
        """The affine value ``name``; it must belong to the current layer."""
        aff = self.values[name]
        if aff.epoch != len(self.layers):
            raise UnsupportedError(
                f"ONNX file '{self.path}' is not a simple chain of layers: node "
                f"'{node_name(node)}' ({node.op_type}) uses '{name}', which was computed "
                f"before the Relu at node '{self.last_relu_node}' (skip connections and "
                "parallel branches across a Relu are not supported)")
        return aff

    # -------------------------------------------------------------------- walk

    def run(self) -> Network:
        graph = self.graph
        for init in graph.initializer:
            self.consts[init.name] = to_array(init, self.path)
        inputs = [i for i in graph.input if i.name not in self.consts]
        if not inputs:
            raise DataError(f"ONNX file '{self.path}' has no graph input "
                            "(malformed, or not an ONNX model?)")
        if len(inputs) > 1:
            names = ", ".join(f"'{i.name}'" for i in inputs)
            raise UnsupportedError(f"ONNX file '{self.path}' has {len(inputs)} graph inputs "
                                   f"({names}); only single-input networks are supported")
        choice = choose_output(self.path, graph, self.consts, self.output)
        full_shape, input_shape = self.input_shapes(inputs[0])
        n_in = int(math.prod(full_shape))
        self.values[inputs[0].name] = Affine(full_shape, None, np.zeros(n_in), n_in, 0)

        out_name = choice.name
        for node in self.needed_nodes(out_name):
            self.step(node)

        if out_name in self.consts:
            raise DataError(f"ONNX file '{self.path}': the graph output '{out_name}' does not "
                            "depend on the graph input")
        out = self.value(FakeNode(out_name), out_name)
        if not out.is_identity or not self.layers:
            self.layers.append(Dense(out.dense_W(), out.b.copy(), "linear"))
        layers = tuple(self.layers)
        check_layers(layers, str(self.path))
        if layers[0].n_in != int(math.prod(input_shape)):
            raise DataError(f"ONNX file '{self.path}': the first layer has {layers[0].n_in} "
                            f"inputs but the graph input has shape {input_shape}")
        return Network(layers, name=self.path.stem, source=str(self.path),
                       input_shape=input_shape, kind=choice.kind, classes=choice.classes)

    def input_shapes(self, inp: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(shape used for the walk, ``input_shape`` of the network)."""
        ttype = inp.type.tensor_type if inp.type.HasField("tensor_type") else None
        if ttype is None or not ttype.HasField("shape"):
            raise UnsupportedError(f"ONNX file '{self.path}': graph input '{inp.name}' has no "
                                   "tensor shape, so the number of network inputs is unknown")
        if ttype.elem_type not in FLOAT_TYPES:
            raise UnsupportedError(f"ONNX file '{self.path}': graph input '{inp.name}' has "
                                   f"element type {type_name(ttype.elem_type)}; expected a "
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
            elif k == 0:  # a symbolic / unknown batch dimension
                full.append(1)
            else:
                label = dim.dim_param or "?"
                where = "after its data dimensions" if not leading else "where a feature " \
                    "size belongs"
                raise UnsupportedError(
                    f"ONNX file '{self.path}': graph input '{inp.name}' has a symbolic "
                    f"dimension '{label}' at position {k} {where}; only the first (batch) "
                    "dimension may be symbolic: export the network with its input size fixed")
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
        op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        if op == "Constant":
            self.set_const(node, node.output[0], constant_value(node, self.path))
            return
        var_inputs = [i for i in node.input if i and not self.is_const(i)]
        if not var_inputs:
            if op in NO_FOLD or any(a.type in (5, 10) for a in node.attribute):  # GRAPH(S)
                raise self.unsupported(node)
            self.fold(node)
            return
        handler = OPS.get(op)
        if handler is None:
            raise self.unsupported(node)
        try:
            handler(self, node)
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            # a damaged file: an attribute of the wrong type, a missing tensor
            raise self.data_error(node, f"malformed node ({type(exc).__name__}: {exc})") \
                from None

    def set_const(self, node: Any, name: str, arr: np.ndarray) -> None:
        self.consts[name] = np.asarray(arr)

    def set_value(self, name: str, aff: Affine) -> None:
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


def depth(k: int) -> int:
    """ReLU layers of a pairwise max over k entries."""
    return math.ceil(math.log2(k)) if k > 1 else 0


@dataclass
class FakeNode:
    """Stands in for a node in error messages about the graph output."""

    output0: str
    op_type: str = "graph output"
    name: str = ""
    domain: str = ""

    @property
    def output(self) -> list[str]:
        return [self.output0]


def node_name(node: Any) -> str:
    if node.name:
        return node.name
    outs = [o for o in node.output if o]
    return outs[0] if outs else node.op_type


def node_attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def type_name(elem_type: int) -> str:
    from onnx import TensorProto

    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return str(elem_type)


def to_array(tensor: Any, path: Path) -> np.ndarray:
    from onnx import numpy_helper

    try:
        return np.asarray(numpy_helper.to_array(tensor))
    except Exception as exc:  # noqa: BLE001 - bad raw data, missing external file, ...
        raise DataError(f"ONNX file '{path}': cannot read tensor '{tensor.name}': {exc}") \
            from None


def constant_value(node: Any, path: Path) -> np.ndarray:
    from onnx import helper

    for attr in node.attribute:
        if attr.name == "value":
            return to_array(attr.t, path)
        if attr.name == "sparse_value":
            raise UnsupportedError(f"ONNX file '{path}': sparse Constant at node "
                                   f"'{node_name(node)}' is not supported")
        value = helper.get_attribute_value(attr)
        if attr.name == "value_float":
            return np.array(value, dtype=np.float32)
        if attr.name == "value_floats":
            return np.array(value, dtype=np.float32)
        if attr.name in ("value_int", "value_ints"):
            return np.array(value, dtype=np.int64)
        if attr.name in ("value_string", "value_strings"):
            return np.array(value, dtype=object)
    raise DataError(f"ONNX file '{path}': Constant node '{node_name(node)}' has no value")


def load_onnx(path: Path, output: str | None = None) -> Network:
    """Read a dense ReLU network from the ONNX file ``path``; ``output="logits"`` cuts a
    classifier's Softmax/Sigmoid/ArgMax head (``nnlang.networks.onnx.outputs``)."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, OSError, ...
        raise DataError(f"cannot read ONNX file '{path}': {exc}") from None
    if not model.HasField("graph"):
        raise DataError(f"cannot read ONNX file '{path}': it has no graph "
                        "(malformed, or not an ONNX model?)")
    return Walker(path, model, output).run()


def read_onnx_model(model: Any, name: str, output: str | None = None) -> Network:
    """The network of an in-memory ``onnx.ModelProto`` (``name`` stands for its file in
    messages), e.g. a PyTorch module just exported."""
    return Walker(Path(name), model, output).run()


from nnlang.networks.onnx.ops import OPS
