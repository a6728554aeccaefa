"""Affine expressions over the model's columns: ``A @ x + c`` in sparse form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(eq=False)
class Aff:
    """``A @ x + c`` flattened row-major; ``A`` may have fewer columns than the model."""

    A: sp.csr_matrix
    c: np.ndarray
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(self.c.size)

    @staticmethod
    def const(value: np.ndarray, n: int) -> Aff:
        v = np.asarray(value, dtype=float)
        return Aff(sp.csr_matrix((v.size, n)), v.ravel().copy(), tuple(v.shape))

    @staticmethod
    def columns(offset: int, size: int, n: int, shape: tuple[int, ...]) -> Aff:
        """The identity over columns ``offset .. offset + size``."""
        A = sp.csr_matrix((np.ones(size), np.arange(offset, offset + size),
                           np.arange(size + 1)), shape=(size, n))
        return Aff(A, np.zeros(size), shape)

    def padded(self, n: int) -> Aff:
        if self.A.shape[1] == n:
            return self
        A = self.A.copy()
        A.resize((A.shape[0], n))
        return Aff(A, self.c, self.shape)

    def rows(self, idx: np.ndarray, shape: tuple[int, ...]) -> Aff:
        return Aff(self.A[idx], self.c[idx], shape)

    def broadcast(self, shape: tuple[int, ...]) -> Aff:
        if tuple(shape) == self.shape:
            return self
        idx = np.broadcast_to(np.arange(self.size).reshape(self.shape), shape).ravel()
        return self.rows(idx, tuple(shape))

    def scaled(self, factor: np.ndarray) -> Aff:
        f = np.asarray(factor, dtype=float)
        shape = tuple(np.broadcast_shapes(f.shape, self.shape))
        base = self.broadcast(shape)
        fv = np.broadcast_to(f, shape).ravel()
        return Aff(sp.diags(fv).tocsr() @ base.A, fv * base.c, shape)

    def __add__(self, other: Aff) -> Aff:
        shape = tuple(np.broadcast_shapes(self.shape, other.shape))
        a, b = self.broadcast(shape), other.broadcast(shape)
        n = max(a.A.shape[1], b.A.shape[1])
        a, b = a.padded(n), b.padded(n)
        return Aff((a.A + b.A).tocsr(), a.c + b.c, shape)

    def __neg__(self) -> Aff:
        return Aff(-self.A, -self.c, self.shape)

    def __sub__(self, other: Aff) -> Aff:
        return self + (-other)

    def is_constant(self) -> bool:
        return self.A.nnz == 0 or not np.any(self.A.data)

    def value(self, x: np.ndarray) -> np.ndarray:
        """Evaluate at the column values ``x``."""
        A = self.A
        xs = x[: A.shape[1]] if A.shape[1] <= x.size else np.pad(x, (0, A.shape[1] - x.size))
        return (A @ xs + self.c).reshape(self.shape)


def interval(aff: Aff, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sound bounds of ``aff`` over the box ``lb <= x <= ub`` (W+/W- split).

    Infinite column bounds give infinite row bounds only where the row uses
    that column with a nonzero coefficient.
    """
    A = aff.A.copy()
    A.eliminate_zeros()
    n = A.shape[1]
    lb, ub = lb[:n], ub[:n]
    pos = A.maximum(0)
    neg = A.minimum(0)
    with np.errstate(invalid="ignore"):
        lo = pos @ lb + neg @ ub + aff.c
        hi = pos @ ub + neg @ lb + aff.c
    return lo, hi
