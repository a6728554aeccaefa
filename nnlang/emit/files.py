"""Atomic replacement of the group of files one command writes.

Policy (docs/emitters.md): a format owns a fixed set of file names per stem
(``model.lp``; ``model.mps``; ``model.mod``, ``model.dat``, ``model.run``).
Every new file is first written completely to a hidden temporary file in the
target directory (``.model.lp.XXXX.tmp``); only when all of them are written
are they renamed over the old ones, and any other file the format owns for that
stem is removed. An error while writing leaves the earlier files untouched and
removes the temporaries. POSIX has no multi-file rename, so the old files are
kept as hard links until every rename has succeeded: a rename that fails
half-way (a target turned into a folder, a full disk) puts the old files back
and removes the new ones, so a command's outputs appear together or not at all.
Every file's header also carries the model's fingerprint to tell files of
different compiles apart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_BUFFER = 1 << 20


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _keep_old(target: Path) -> Path | None:
    """A hard link to ``target`` (restored if a later rename fails), or None."""
    if not target.exists():
        return None
    if target.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(target))
    backup = target.with_name(f".{target.name}.{os.getpid()}.old")
    backup.unlink(missing_ok=True)
    try:
        os.link(target, backup)
    except OSError:  # no hard links on this file system: best effort
        return None
    return backup


@contextmanager
def replace_together(out_dir: Path, names: Sequence[str], stale: Sequence[str] = (),
                     binary: Sequence[str] = ()) -> Iterator[dict[str, IO]]:
    """Yield a stream per file name; on success rename them all into place.

    Args:
        out_dir: the target directory (created if missing).
        names: the file names to write (no directories).
        stale: other names to remove after the renames (files the format owns
            for this stem but did not write this time).
        binary: the names opened as binary streams (the others are UTF-8 text).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: dict[str, tuple[IO, Path]] = {}
    backups: dict[str, Path | None] = {}
    placed: list[str] = []
    try:
        for name in names:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            if name in binary:
                stream = os.fdopen(fd, "wb", buffering=_BUFFER)
            else:
                stream = os.fdopen(fd, "w", encoding="utf-8", newline="\n", buffering=_BUFFER)
            temps[name] = (stream, Path(tmp))
        yield {name: stream for name, (stream, _) in temps.items()}
        mode = _umask_mode()
        for stream, tmp in temps.values():
            stream.flush()
            os.fsync(stream.fileno())
            stream.close()
            os.chmod(tmp, mode)
        for name in names:
            backups[name] = _keep_old(out_dir / name)
        for name, (_, tmp) in temps.items():
            os.replace(tmp, out_dir / name)
            placed.append(name)
        for name in stale:
            if name not in temps:
                (out_dir / name).unlink(missing_ok=True)
    except BaseException:
        for name in reversed(placed):  # put the old group back
            old = backups.get(name)
            if old is not None:
                os.replace(old, out_dir / name)
            else:
                (out_dir / name).unlink(missing_ok=True)
        for stream, tmp in temps.values():
            try:
                stream.close()
            except OSError:  # pragma: no cover - closing a broken stream
                pass
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for old in backups.values():
            if old is not None:
                old.unlink(missing_ok=True)


def write_file_atomically(path: Path, data: str | bytes) -> None:
    """Write one file through a temporary beside it and a rename (no half-written file).

    A symbolic link is followed (the file it names is replaced, not the link); a
    target that is not a regular file (``/dev/stdout``, a named pipe) is written
    directly, since it cannot be renamed over.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():  # follows links
        with open(path, "wb" if isinstance(data, bytes) else "w") as stream:
            stream.write(data)
        return
    if path.is_symlink():
        path = path.resolve()
    names = [path.name]
    with replace_together(path.parent if str(path.parent) else Path("."), names,
                          binary=names if isinstance(data, bytes) else ()) as streams:
        streams[path.name].write(data)
