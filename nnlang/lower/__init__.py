"""Encoded model -> solver front ends (CVXPY)."""

from nnlang.lower.cvxpy import CvxpyModel, to_cvxpy

__all__ = ["CvxpyModel", "to_cvxpy"]
