"""nnlang: optimization over trained ReLU networks as exact 0-1 MILPs."""

__version__ = "0.1.0"
