"""A VNN-LIB property as nnlang holds it: input boxes (``Case``) with the output
condition in disjunctive normal form (``Conjunction`` rows ``A y <= d``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnlang.errors import Span, UnsupportedError


@dataclass(frozen=True)
class Conjunction:
    """Rows ``A @ y <= d``, all of which must hold (no rows: always true)."""

    A: np.ndarray  # (rows, n_out)
    d: np.ndarray  # (rows,)

    @property
    def rows(self) -> int:
        return int(self.d.size)

    def holds(self, y: np.ndarray, tol: float = 0.0) -> bool:
        """Whether ``y`` (one output vector) satisfies every row (within ``tol``)."""
        return bool(np.all(self.A @ np.asarray(y, dtype=float) <= self.d + tol))

    def violation(self, y: np.ndarray) -> np.ndarray:
        """Largest row excess ``max(A y - d)`` per output in a batch ``y`` (..., n_out)."""
        if self.rows == 0:
            return np.full(np.shape(y)[:-1], -np.inf)
        return np.max(np.asarray(y, dtype=float) @ self.A.T - self.d, axis=-1)


@dataclass(frozen=True)
class Case:
    """One input box with the output condition (a DNF) that makes a counterexample."""

    lo: np.ndarray
    hi: np.ndarray
    output: tuple[Conjunction, ...]

    def holds(self, y: np.ndarray, tol: float = 0.0) -> bool:
        """Whether the output ``y`` satisfies some branch of the condition."""
        return any(c.holds(y, tol) for c in self.output)

    def in_box(self, x: np.ndarray) -> bool:
        x = np.asarray(x, dtype=float).ravel()
        return bool(np.all(x >= self.lo) and np.all(x <= self.hi))


@dataclass(frozen=True)
class Property:
    """A parsed VNN-LIB file: ``sat`` iff some case has an input in its box whose
    output satisfies one of its conjunctions."""

    path: str
    n_in: int
    n_out: int
    cases: tuple[Case, ...]
    comment: str = ""  # the file's first comment line, e.g. "Mnist property with label: 8."
    spans: dict[str, Span] = field(default_factory=dict, compare=False, repr=False)

    @property
    def boxes(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(c.lo, c.hi) for c in self.cases]

    @property
    def output(self) -> tuple[Conjunction, ...]:
        """The output DNF, when every box shares the same one (the usual case)."""
        if not self.cases:
            return ()
        first = self.cases[0].output
        for case in self.cases[1:]:
            if not same_dnf(first, case.output):
                raise UnsupportedError(f"'{self.path}': the input boxes have different output "
                                       "conditions; use Property.cases")
        return first

    @property
    def shared_output(self) -> bool:
        return all(same_dnf(self.cases[0].output, c.output) for c in self.cases[1:])


def same_dnf(a: tuple[Conjunction, ...], b: tuple[Conjunction, ...]) -> bool:
    return len(a) == len(b) and all(
        x.A.shape == y.A.shape and np.array_equal(x.A, y.A) and np.array_equal(x.d, y.d)
        for x, y in zip(a, b))


# ------------------------------------------------------------------- grammar
