"""Tensors that depend on the network input, as affine maps ``W @ z + b`` of the
current layer's variables, and the affine operators on them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Affine:
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

    def with_shape(self, shape: tuple[int, ...]) -> Affine:
        return Affine(tuple(int(d) for d in shape), self.W, self.b, self.n, self.epoch)

    def replaced(self, W: np.ndarray | None, b: np.ndarray,
                 shape: tuple[int, ...]) -> Affine:
        shape = tuple(int(d) for d in shape)
        size = int(math.prod(shape))
        if W is not None and W.ndim != 1:
            W = np.ascontiguousarray(W).reshape(size, self.n)
        elif W is not None and W.shape != (size,):
            raise AssertionError("a diagonal map must keep the tensor size")
        return Affine(shape, W, np.asarray(b, dtype=float).reshape(size), self.n, self.epoch)


def broadcast_W(aff: Affine, shape: tuple[int, ...]) -> np.ndarray:
    """``aff``'s coefficients broadcast to tensor shape ``shape``, as (prod(shape), n)."""
    shape = tuple(shape)
    if shape == aff.shape:
        return aff.dense_W()
    pad = (1,) * (len(shape) - len(aff.shape))
    Wt = aff.tensor_W().reshape(pad + aff.shape + (aff.n,))
    return np.broadcast_to(Wt, shape + (aff.n,)).reshape(-1, aff.n)


def scale_affine(aff: Affine, c: np.ndarray, divide: bool) -> Affine:
    """``aff * c`` (or ``aff / c``) with numpy broadcasting."""
    c = np.asarray(c, dtype=float)
    bias = aff.tensor_b() / c if divide else aff.tensor_b() * c
    out_shape = bias.shape
    if out_shape == aff.shape and aff.is_diagonal:
        cd = np.broadcast_to(c, out_shape).ravel()
        W = aff.diag() / cd if divide else aff.diag() * cd
        return aff.replaced(W, bias, out_shape)
    cb = np.broadcast_to(c, out_shape).reshape(-1, 1)
    W = broadcast_W(aff, out_shape)
    W = W / cb if divide else W * cb
    return aff.replaced(W, bias, out_shape)


def transpose_affine(aff: Affine, perm: list[int]) -> Affine:
    Wt = aff.tensor_W().transpose(list(perm) + [len(aff.shape)])
    shape = tuple(aff.shape[p] for p in perm)
    return aff.replaced(Wt, aff.tensor_b().transpose(perm), shape)


def matmul_right(aff: Affine, M: np.ndarray) -> Affine:
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


def matmul_left(M: np.ndarray, aff: Affine) -> Affine:
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


def conv2d(X: np.ndarray, K: np.ndarray, strides: list[int], dil: list[int], pads: list[int],
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
