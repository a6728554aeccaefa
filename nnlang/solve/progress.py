"""Progress of a long solve: radius steps, outer-approximation masters, MILP ticks.

Solving code reports what it is doing with :func:`say`; whoever started the solve
decides where the messages go (``CompiledModel.solve(progress=...)``; ``nnlang solve``
writes them to stderr). Without a listener nothing is reported and nothing costs.
A *transient* message (a MILP's nodes and bounds every second or so) is replaced
by the next one; the others are milestones (a radius step done, a master solved).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from nnlang.solve.results import relative_gap

Listener = Callable[[str, bool], None]  # (message, transient)

_listener: ContextVar[Listener | None] = ContextVar("nnlang_progress", default=None)
TICK_SECONDS = 1.0  # at most one transient MILP message per this many seconds


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the messages of the solves inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def say(message: str, transient: bool = False) -> None:
    """Report ``message`` to the current listener, if any."""
    listener = _listener.get()
    if listener is not None:
        listener(message, transient)


def mip_ticker(label: str, sign: float = 1.0) -> Callable | None:
    """A HiGHS callback (``kCallbackMipInterrupt``) that reports the MILP's nodes,
    best objective, bound and gap at most every :data:`TICK_SECONDS`, or None
    without a listener. ``sign``: the objective's sign as HiGHS minimizes it."""
    listener = _listener.get()
    if listener is None:
        return None
    last = [0.0]

    def tick(out) -> None:
        now = time.perf_counter()
        if now - last[0] < TICK_SECONDS:
            return
        last[0] = now
        best, bound = out.objective_function_value, out.mip_dual_bound
        text = f"{label}: {int(out.mip_node_count)} nodes"
        if abs(best) < 1e30:
            text += f", best {sign * best:.6g}"
        if abs(bound) < 1e30:
            text += f", bound {sign * bound:.6g}"
        if abs(best) < 1e30 and abs(bound) < 1e30:  # the gap of every nnlang result
            text += f", gap {100 * relative_gap(sign * best, sign * bound):.2f} %"
        listener(text, True)

    return tick
