"""Which code and machine produced a measurement: the git commit of nnlang's
source tree, and the machine's processor, package versions and load.

Benchmark and batch records carry it so that a number can be traced to the code
that produced it. A copy of the tree outside git (such as a ``git checkout-index``
export run while ``main`` moves on) has no commit of its own: set
``NNLANG_COMMIT`` to name it.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import nnlang

ENV = "NNLANG_COMMIT"


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version(root: Path | None = None) -> str:
    """``NNLANG_COMMIT`` if set; else the short commit of the git work tree at
    ``root`` (default: the one holding the imported ``nnlang`` package), with
    ``+changes`` if its tracked files differ from that commit; else
    ``nnlang <version>, no git commit``."""
    named = os.environ.get(ENV, "").strip()
    if named:
        return named
    root = Path(nnlang.__file__).resolve().parent.parent if root is None else Path(root)
    commit = _git(root, "rev-parse", "--short", "HEAD") if (root / ".git").exists() else None
    if not commit:
        return f"nnlang {nnlang.__version__}, no git commit (set {ENV})"
    changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    return commit + ("+changes" if changed else "")


PACKAGES = ("numpy", "scipy", "cvxpy", "highspy", "clarabel", "pyscipopt")


def _cpu() -> str:
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                return row.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    """Installed versions of the packages a measurement depends on ("-": absent)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def machine(load: bool = True, code: bool = True) -> str:
    """One line for a benchmark's header: host, processor and cores, package
    versions, the load average now (``load``) and :func:`code_version` (``code``)."""
    text = (f"{platform.node() or 'host'}: {_cpu()} ({platform.machine()}), "
            f"{os.cpu_count()} CPUs; "
            + ", ".join(f"{k} {v}" for k, v in versions().items()))
    if load and hasattr(os, "getloadavg"):
        text += "; load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{text}; code {code_version()}" if code else text
