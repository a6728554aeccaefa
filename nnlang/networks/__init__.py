"""Networks: the model, weight loaders (npz, onnx) and the forward pass."""

from nnlang.networks.load import load_network
from nnlang.networks.network import Dense, Network

__all__ = ["Dense", "Network", "load_network"]
