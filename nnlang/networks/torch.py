"""A PyTorch module as a ``Network``: exported to ONNX in memory and read by the ONNX
reader, so it takes exactly the layers an ONNX file may have (``Linear``, ``ReLU``,
``LeakyReLU``, ``Flatten``, ``Dropout``, ``BatchNorm`` in eval mode, ``Conv2d``,
pooling, ...; ``Softmax``/``LogSoftmax`` at the end with ``output="logits"``). PyTorch
is imported only when this is called."""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

from nnlang.errors import UnsupportedError
from nnlang.networks.network import Network
from nnlang.networks.onnx import read_onnx_model


def from_torch(module: Any, input_shape: tuple[int, ...] | int,
               output: str | None = None) -> Network:
    """The network of ``module`` for one input of shape ``input_shape`` (no batch
    dimension, e.g. ``(8,)`` or ``(1, 28, 28)``)."""
    import onnx
    import torch

    if not isinstance(module, torch.nn.Module):
        raise UnsupportedError(f"Network.from_torch takes a torch.nn.Module, got "
                               f"{type(module).__name__}")
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    param = next(module.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    was_training = module.training
    module.eval()  # dropout off, batch norm on its running statistics
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (torch.zeros((1, *shape), dtype=dtype),), buf,
                              dynamo=False, input_names=["input"], output_names=["output"])
    except Exception as exc:  # noqa: BLE001 - the exporter's own message says what failed
        raise UnsupportedError(f"Network.from_torch: PyTorch cannot export the "
                               f"{type(module).__name__} to ONNX: {exc}") from None
    finally:
        module.train(was_training)
    net = read_onnx_model(onnx.load_from_string(buf.getvalue()),
                          f"<torch {type(module).__name__}>", output)
    return Network(net.layers, type(module).__name__, f"PyTorch {type(module).__name__}",
                   net.input_shape, net.kind or "", net.classes)
