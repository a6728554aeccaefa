"""Atomic replacement of the group of files one compile writes.

Policy (docs/emitters.md): a format owns a fixed set of file names per stem
(``model.lp``; ``model.mps``; ``model.mod``, ``model.dat``, ``model.run``).
Every new file is first written completely to a hidden temporary file in the
target directory (``.model.lp.XXXX.tmp``); only when all of them are written
are they renamed over the old ones, and any other file the format owns for that
stem is removed. An error while writing leaves the earlier files untouched and
removes the temporaries. Each rename is atomic; the group of renames is not
(POSIX has no multi-file rename), so every file's header carries the model's
fingerprint to tell files of different compiles apart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

_BUFFER = 1 << 20


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def replace_together(out_dir: Path, names: Sequence[str],
                     stale: Sequence[str] = ()) -> Iterator[dict[str, TextIO]]:
    """Yield a text stream per file name; on success rename them all into place.

    Args:
        out_dir: the target directory (created if missing).
        names: the file names to write (no directories).
        stale: other names to remove after the renames (files the format owns
            for this stem but did not write this time).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, tuple[TextIO, Path]] = {}
    try:
        for name in names:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=_BUFFER)
            temps[name] = (stream, Path(tmp))
        yield {name: stream for name, (stream, _) in temps.items()}
        mode = _umask_mode()
        for stream, tmp in temps.values():
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
            os.chmod(tmp, mode)
        for name, (_, tmp) in temps.items():
            os.replace(tmp, out_dir / name)
        for name in stale:
            if name not in temps:
                (out_dir / name).unlink(missing_ok=True)
    except BaseException:
        for stream, tmp in temps.values():
            try:
                stream.close()
            except OSError:  # pragma: no cover - closing a broken stream
                pass
            tmp.unlink(missing_ok=True)
        raise
