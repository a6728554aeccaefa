"""Checked IR -> MILP in matrix form: bounds, ReLU formulations and atom encodings."""

from nnlang.encode.builder import encode_program

__all__ = ["encode_program"]
