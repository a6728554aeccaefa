"""One ``nnlang batch`` run per results folder.

Two runs on the same folder would both solve every instance and append each
one twice to ``results.jsonl``; the second run is refused instead. The lock is
an advisory ``fcntl.flock`` on ``DIR/.lock``, which the operating system drops
when the process ends, however it ends (Ctrl-C, a kill, a crash): there is no
stale lock to clean up. Platforms without ``fcntl`` run unlocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nnlang.errors import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".lock"


@contextmanager
def batch_lock(out_dir: Path) -> Iterator[Path]:
    """Hold the lock on ``out_dir`` (created if missing) while the block runs.

    Raises ``DataError`` naming the other run's process id when the folder is
    locked. A folder this call created and the run left empty is removed again.
    """
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle = open(out_dir / LOCK_NAME, "a+")  # noqa: SIM115 - held across the yield
    except OSError as exc:
        raise DataError(f"cannot use results folder '{out_dir}': {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise DataError(f"results folder '{out_dir}' is in use by another nnlang "
                                f"batch run (process {holder}); wait for it or give another "
                                "-o folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield out_dir
    finally:
        handle.close()
        if created and [p.name for p in out_dir.iterdir()] == [LOCK_NAME]:
            (out_dir / LOCK_NAME).unlink(missing_ok=True)
            out_dir.rmdir()
