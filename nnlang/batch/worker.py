"""What a Dask worker holds for nnlang's tasks: the settings a run's tasks share.

Imported only with ``--cluster`` (it needs ``distributed``). The settings reach every
worker once through a worker plugin, which the scheduler also hands to workers that
join later or replace dead ones, so a task carries a token and its own parameters
only, and has no data dependency that would pin the tasks to one worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distributed import WorkerPlugin

SHARED: dict[str, Any] = {}  # token -> the settings of one run, on this worker


class SharedSettings(WorkerPlugin):
    def __init__(self, token: str, shared: Any):
        self.name = f"nnlang-shared-{token}"
        self.token, self.shared = token, shared

    def setup(self, worker: Any = None) -> None:
        SHARED[self.token] = self.shared

    def teardown(self, worker: Any = None) -> None:
        SHARED.pop(self.token, None)


def task(fn: Callable[[Any, Any], Any], token: str, item: Any) -> Any:
    """``fn(shared, item)`` with the run's shared settings held by this worker."""
    try:
        shared = SHARED[token]
    except KeyError:
        raise RuntimeError(f"this worker holds no settings for run {token}") from None
    return fn(shared, item)
