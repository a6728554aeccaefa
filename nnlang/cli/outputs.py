"""Output paths checked before any work: a folder where a file belongs, a file
where a folder belongs, a folder that cannot be created or written, a name the
file system cannot hold. Each is a one-line error (exit 1) before parsing,
bounds or a solve has spent any time."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from nnlang.errors import DataError


def _existing_ancestor(path: Path) -> Path:
    here = path.parent
    while not here.exists() and here != here.parent:
        here = here.parent
    return here


def _check_names(path: Path, option: str) -> None:
    anchor = _existing_ancestor(path.absolute())
    try:
        name_max = os.pathconf(anchor, "PC_NAME_MAX")
        path_max = os.pathconf(anchor, "PC_PATH_MAX")
    except (OSError, ValueError):  # pragma: no cover - no pathconf on this platform
        name_max, path_max = 255, 4096
    for part in path.parts:
        if len(os.fsencode(part)) > name_max:
            raise DataError(f"{option} '{path}': the name '{part[:40]}...' is longer than the "
                            f"{name_max} bytes the file system allows")
    if len(os.fsencode(str(path.absolute()))) >= path_max:
        raise DataError(f"{option} '{path}': the path is longer than the {path_max} bytes "
                        "the file system allows")


def _check_writable(folder: Path, option: str, path: Path) -> None:
    if not folder.is_dir():
        raise DataError(f"{option} '{path}': '{folder}' is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"{option} '{path}': folder '{folder}' is not writable")


def check_output_dir(value: str | Path | None, option: str) -> None:
    """A folder the command creates (if missing) and writes into."""
    if value is None:
        return
    path = Path(value)
    _check_names(path, option)
    if path.exists():
        if not path.is_dir():
            raise DataError(f"{option} '{path}' is a file; it needs a folder")
        _check_writable(path, option, path)
        return
    _check_writable(_existing_ancestor(path.absolute()), option, path)


def check_output_file(value: str | Path | None, option: str, makes_folder: bool = False) -> None:
    """A file the command writes; its folder must exist (or, with ``makes_folder``,
    be creatable)."""
    if value is None:
        return
    path = Path(value)
    _check_names(path, option)
    if path.is_dir() or str(value).endswith(os.sep):
        raise DataError(f"{option} '{path}' is a folder; it needs a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists() and makes_folder:
        check_output_dir(folder, option)
        return
    if not folder.exists():
        raise DataError(f"{option} '{path}': folder '{folder}' does not exist")
    _check_writable(folder, option, path)


def stdout_error(exc: OSError) -> DataError:
    """A failed write to standard output (a full disk, ``> /dev/full``)."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    return DataError(f"cannot write to standard output: {reason}")
