"""Which code produced a record: NNLANG_COMMIT, a git commit, or neither."""

import platform
import shutil
import subprocess

import pytest

from nnlang import provenance
from nnlang.provenance import ENV, code_version


def test_the_environment_names_the_code(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, "a35a512 (export)")
    assert code_version(tmp_path) == "a35a512 (export)"


def test_outside_git_says_so(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    assert "no git commit" in code_version(tmp_path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_git_tree_gives_its_commit_and_whether_it_changed(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = git("rev-parse", "--short", "HEAD")
    assert code_version(tmp_path) == head
    (tmp_path / "new.txt").write_text("untracked files do not count\n")
    assert code_version(tmp_path) == head
    (tmp_path / "a.txt").write_text("two\n")
    assert code_version(tmp_path) == head + "+changes"


def test_machine_line_names_processor_packages_load_and_code(monkeypatch):
    monkeypatch.setenv("NNLANG_COMMIT", "abc1234")
    line = provenance.machine()
    assert "CPUs" in line and "highspy " in line and "numpy " in line
    assert "load average" in line and line.endswith("code abc1234")
    short = provenance.machine(load=False, code=False)
    assert "load average" not in short and "abc1234" not in short
    assert provenance.versions()["python"] == platform.python_version()
