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
``Add``/``Sub``/``Sum`` of two values of the same layer), ``Relu``, ``LeakyRelu`` (as
two ReLUs per neuron: ``leaky(z) = relu(z) - alpha relu(-z)``),
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

from nnlang.networks.onnx.graph import load_onnx, read_onnx_model
from nnlang.networks.onnx.ops import OPS

__all__ = ["OPS", "load_onnx", "read_onnx_model"]
