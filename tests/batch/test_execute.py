"""The local executors of nnlang.batch.execute: isolated processes with a hard kill."""

from __future__ import annotations

import subprocess

from nnlang.batch.execute import run_tasks

# subprocess.call(args, bufsize): a picklable fn(shared, item) whose duration and fate
# the shared command sets


def _run(command: list[str], kill_after: float) -> dict:
    got: dict = {}
    run_tasks(subprocess.call, command, [("a", -1)], got.__setitem__,
              lambda key, why: f"failed: {why}", isolate=True,
              kill_after=lambda item: kill_after)
    return got


def test_an_isolated_item_returns_its_result():
    assert _run(["true"], 60.0) == {"a": 0}


def test_an_isolated_item_past_its_limit_is_killed():
    got = _run(["sleep", "8"], 2.0)
    assert got == {"a": "failed: killed after 2 s without an answer"}


def test_an_isolated_item_whose_process_dies_is_reported():
    got = _run(["sh", "-c", "kill -9 $PPID"], 60.0)
    assert got["a"].startswith("failed: its process died (exit code -9)")
