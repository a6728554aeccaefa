"""Helpers for ``highspy.Highs`` objects that are reused for many solves."""

from __future__ import annotations

import highspy


def set_time_limit(h: highspy.Highs, seconds: float) -> None:
    """Let the next ``h.run()`` take at most ``seconds``.

    HiGHS measures ``time_limit`` against the object's total run clock, which
    keeps counting across ``run()`` calls: on a reused object a plain limit of
    2 s leaves nothing for the solves after the first 2 s. The limit is set
    relative to the clock's current reading instead.
    """
    h.setOptionValue("time_limit", float(h.getRunTime()) + max(float(seconds), 0.01))
