"""How nnlang makes and reuses ``highspy.Highs`` objects: quiet, with nnlang's default
options, one thread scheduler per process, time limits on reused objects, models
from sparse matrices. Shared by the bound methods, the verifier and the solve
stage (whose HiGHS backend is ``nnlang.solve.backends.highs``)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

import highspy
import numpy as np
import scipy.sparse as sp

from nnlang.registry import HIGHS_DEFAULTS

# The thread count HiGHS's process-wide scheduler was last started with by
# :func:`use_threads` (None: not by us; it may hold HiGHS's default).
_scheduler_threads: int | None = None


# whether this process has made its first ``Highs`` object (see :func:`silence_banner`)
_banner_done = False



@contextlib.contextmanager
def _stdout_to_devnull():
    """File descriptor 1 goes to /dev/null inside the block (C code's prints too)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1: nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        with contextlib.suppress(Exception):  # C's buffer, before fd 1 is restored
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def silence_banner() -> None:
    """Make this process's first ``Highs`` object with stdout silenced.

    HiGHS (1.16) prints "Running HiGHS ... Copyright" once per process, when the
    first ``Highs`` object is made, whatever its options: on stdout, so ``nnlang
    solve -q`` and JSON sent to stdout carried it. Later objects (nnlang's and
    CVXPY's) print nothing unless their ``output_flag`` is on."""
    global _banner_done
    if _banner_done:
        return
    with _stdout_to_devnull():
        highspy.Highs()
    _banner_done = True


def new_highs(verbose: bool = False) -> highspy.Highs:
    """A ``Highs`` object that logs only if ``verbose`` (no banner otherwise), with
    nnlang's ``registry.HIGHS_DEFAULTS``."""
    if not verbose:
        silence_banner()
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    for key, value in HIGHS_DEFAULTS.items():
        h.setOptionValue(key, value)
    return h


def use_threads(threads: int | None) -> None:
    """Prepare HiGHS's process-wide thread scheduler for a solve with ``threads``.

    HiGHS (1.16 at least) starts one scheduler per process, sized by the first
    solve, and then refuses a solve that sets another ``threads`` ("the scheduler
    has already been initialized to use 2 threads"): through CVXPY that surfaces
    as "Solver 'HIGHS' failed". The scheduler is reset whenever the count asked
    for differs from the one it was started with (nnlang solves one problem at a
    time per process, so nothing is running when it is reset).
    """
    global _scheduler_threads
    if threads is None or int(threads) == _scheduler_threads:
        return
    reset = getattr(highspy.Highs, "resetThreadScheduler", None)
    if reset is not None:
        try:
            reset(True)  # blocking: wait for the old workers to stop
        except TypeError:  # older highspy: no argument
            reset()
    _scheduler_threads = int(threads)


def set_time_limit(h: highspy.Highs, seconds: float) -> None:
    """Let the next ``h.run()`` take at most ``seconds``.

    HiGHS measures ``time_limit`` against the object's total run clock, which
    keeps counting across ``run()`` calls: on a reused object a plain limit of
    2 s leaves nothing for the solves after the first 2 s. The limit is set
    relative to the clock's current reading instead.
    """
    h.setOptionValue("time_limit", float(h.getRunTime()) + max(float(seconds), 0.01))


def highs_from_matrix(A, col_lower, col_upper, row_lower, row_upper, cost=None,
                      offset: float = 0.0, verbose: bool = False) -> highspy.Highs:
    """A ``Highs`` object holding ``min cost x + offset`` s.t. ``row_lower <= A x <=
    row_upper``, ``col_lower <= x <= col_upper`` (infinite bounds as numpy infinities)."""
    A = sp.csc_matrix(A)
    A.sort_indices()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.zeros(A.shape[1]) if cost is None else np.asarray(cost, dtype=float)
    lp.offset_ = float(offset)
    lp.col_lower_ = np.where(np.isfinite(col_lower), col_lower, -inf)
    lp.col_upper_ = np.where(np.isfinite(col_upper), col_upper, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lower), row_lower, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_upper), row_upper, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h = new_highs(verbose)
    h.passModel(lp)
    return h


def relax_integers(h: highspy.Highs, cols, values=None) -> None:
    """Make the integer columns ``cols`` of ``h`` continuous, fixed at ``values``
    if given (the fixed-pattern QPs of the outer approximation, the polish LP)."""
    cols = np.asarray(cols, dtype=np.int32)
    if not cols.size:
        return
    if values is not None:
        values = np.asarray(values, dtype=float)
        h.changeColsBounds(int(cols.size), cols, values, values)
    h.changeColsIntegrality(int(cols.size), cols, np.zeros(cols.size, np.uint8))
