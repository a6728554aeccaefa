"""The linear relaxation of a ReLU on ``[L, U]``: the one copy every bound method,
the verifier and the attack's bounds share.

``sl * p <= relu(p) <= su * p + tu`` for ``L <= p <= U``: stable active neurons are
exact (``sl = su = 1``), stable inactive ones are 0, and an unstable one gets the
triangle's upper chord ``U (p - L) / (U - L)`` and the lower line ``p`` if ``U > -L``
else ``0`` (the smaller-area choice of DeepPoly, which is also CROWN-Ada's).
Arrays of any shape (a batch of boxes, a bound per row) work elementwise.
"""

from __future__ import annotations

import numpy as np


def relu_lines(L: np.ndarray, U: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sl, su, tu)``, each of the shape of ``L``."""
    active = L >= 0
    unstable = (L < 0) & (U > 0)
    width = np.where(unstable, U - L, 1.0)
    su = np.where(unstable, U / width, active.astype(np.float64))
    tu = np.where(unstable, -L * U / width, 0.0)
    sl = np.where(unstable, (U > -L).astype(np.float64), active.astype(np.float64))
    return sl, su, tu


def relaxation(activation: str, L: np.ndarray, U: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lines of a layer's activation: :func:`relu_lines`, or the identity."""
    if activation != "relu":
        one = np.ones_like(L)
        return one, one, np.zeros_like(L)
    return relu_lines(L, U)
