"""Outputs: paths checked before any work, every file of a command written together
or not at all, results kept when the terminal goes away, one batch per folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnlang.batch.lock import batch_lock
from nnlang.cli import main
from nnlang.emit.files import replace_together
from nnlang.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
LONG = "a" * 300

BAD_PATHS = {
    "compile_onto_file": (["compile", "{s}", "--to", "lp", "-o", "{w}/afile"], "is a file"),
    "compile_too_long": (["compile", "{s}", "--to", "lp", "-o", "{w}/" + LONG], "longer than"),
    "compile_under_file": (["compile", "{s}", "--to", "lp", "-o", "{w}/afile/sub"],
                           "is a file, not a folder"),
    "json_missing_folder": (["solve", "{s}", "--json", "{w}/missing/out.json"],
                            "does not exist"),
    "json_onto_folder": (["solve", "{s}", "--json", "{w}/adir"], "is a folder"),
    "json_too_long": (["solve", "{s}", "--json", "{w}/" + LONG + ".json"], "longer than"),
    "png_onto_file": (["solve", "{s}", "--png", "{w}/afile"], "is a file"),
    "batch_onto_file": (["batch", "{s}", "--count", "1", "-o", "{w}/afile"], "is a file"),
    "import_onto_folder": (["import", "{w}/net.onnx", "{w}/p.vnnlib", "-o", "{w}/adir"],
                           "is a folder"),
    "result_onto_folder": (["verify", "{w}/net.onnx", "{w}/p.vnnlib", "--result", "{w}/adir"],
                           "is a folder"),
    "result_missing_folder": (["verify", "{w}/net.onnx", "{w}/p.vnnlib", "--result",
                               "{w}/missing/r.txt"], "does not exist"),
}


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", BAD_PATHS)
def test_bad_output_path_is_refused_before_any_work(work, capsys, monkeypatch, case):
    argv, words = BAD_PATHS[case]
    before = _listing(work)
    # nothing may be parsed, bounded or solved before the paths are checked
    monkeypatch.setattr("nnlang.cli.solve.compile_spec", _must_not_run)
    monkeypatch.setattr("nnlang.cli.verify.verify", _must_not_run)
    monkeypatch.setattr("nnlang.cli.verify.read_vnnlib", _must_not_run)
    monkeypatch.setattr("nnlang.cli.batch.run_batch", _must_not_run)
    assert main([a.format(s=work / "s.nnq", w=work) for a in argv]) == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert _listing(work) == before


def _must_not_run(*args, **kwargs):
    raise AssertionError("work started before the output paths were checked")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(work, capsys):
    ro = work / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["compile", str(work / "s.nnq"), "--to", "lp", "-o", str(ro / "x")]) == 1
        assert "not writable" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_ampl_with_one_blocked_output_writes_nothing(work, capsys):
    out = work / "ampl"
    out.mkdir()
    (out / "s.dat").mkdir()  # one of the three targets cannot be replaced
    assert main(["compile", str(work / "s.nnq"), "--to", "ampl", "-o", str(out)]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert _listing(out) == ["s.dat"]


def test_a_failed_rename_puts_the_old_group_back(tmp_path, monkeypatch):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("old")
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if str(dst).endswith("b.txt"):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError), replace_together(tmp_path, ["a.txt", "b.txt"]) as streams:
        for stream in streams.values():
            stream.write("new")
    monkeypatch.setattr(os, "replace", real)
    assert (tmp_path / "a.txt").read_text() == "old" and (tmp_path / "b.txt").read_text() == "old"
    assert _listing(tmp_path) == ["a.txt", "b.txt"]


def test_import_writes_spec_and_box_together(work, capsys):
    out = work / "imp" / "p.nnq"
    (work / "imp").mkdir()
    (work / "imp" / "p_box.npz").mkdir()  # the box's name is taken by a folder
    assert main(["import", str(work / "net.onnx"), str(work / "p.vnnlib"), "-o", str(out)]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert _listing(work / "imp") == ["p_box.npz"]
    (work / "imp" / "p_box.npz").rmdir()
    assert main(["import", str(work / "net.onnx"), str(work / "p.vnnlib"), "-o", str(out)]) == 0
    assert _listing(work / "imp") == ["p.nnq", "p_box.npz"]


def _nnlang(*argv: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "nnlang", *argv], env=env, text=True,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=120)


def test_closed_pipe_still_writes_the_json(work):
    out = work / "out.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = f"{sys.executable} -m nnlang solve {work / 's.nnq'} --json {out} | head -c 1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], env=env, text=True,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert json.loads(out.read_text())["status"] == "optimal"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_stdout_to_a_full_device_is_an_error(work):
    with open("/dev/full", "w") as full:
        proc = _nnlang("solve", str(work / "s.nnq"), "--json", str(work / "o.json"),
                       stdout=full)
    assert proc.returncode == 1
    assert "cannot write to standard output" in proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert (work / "o.json").exists()  # the result file comes first


def test_ctrl_c_exits_130_without_a_traceback(work):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    spec = work / "slow.nnq"
    spec.write_text("var x[200000] in [0, 1]\nmaximize x[0]\nsubject to\n"
                    "  c: x[j] + x[j + 1] <= 1 for j in 0..199998\n")
    # SIGINT as at a terminal: a shell starts background jobs with it ignored, and a
    # test suite run in the background would pass that on (Python then never raises
    # KeyboardInterrupt, and nnlang rightly respects the ignored signal)
    proc = subprocess.Popen([sys.executable, "-m", "nnlang", "check", str(spec)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # the test starts no thread before it
                            preexec_fn=lambda: signal.signal(signal.SIGINT,  # noqa: PLW1509
                                                             signal.SIG_DFL))
    time.sleep(1.5)  # loading or checking: both are "anywhere"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err


def test_ctrl_c_inside_a_command_exits_130(work, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("nnlang.cli.solve.compile_spec", interrupted)
    assert main(["check", str(work / "s.nnq")]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_second_batch_on_the_same_folder_is_refused(tmp_path):
    with batch_lock(tmp_path / "out"), \
            pytest.raises(DataError, match="in use by another nnlang batch run"), \
            batch_lock(tmp_path / "out"):
        pass
    with batch_lock(tmp_path / "out"):  # released: the next run may go
        pass


def test_a_second_batch_process_is_refused(work):
    out = work / "b"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time\nfrom nnlang.batch.lock import batch_lock\n"
         f"with batch_lock({str(out)!r}):\n    print('locked', flush=True)\n"
         "    time.sleep(60)\n")], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = _nnlang("batch", str(work / "s.nnq"), "--count", "1", "-o", str(out), "-q")
        assert proc.returncode == 1
        assert f"process {holder.pid}" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_failed_batch_leaves_no_folder_behind(work, capsys):
    out = work / "never"
    assert main(["batch", str(work / "missing.nnq"), "--count", "1", "-o", str(out)]) == 1
    assert not out.exists()


def test_json_through_a_link_replaces_the_file_it_names(work):
    (work / "link.json").symlink_to(work / "real.json")
    assert main(["solve", str(work / "s.nnq"), "-q", "--json", str(work / "link.json")]) == 0
    assert (work / "link.json").is_symlink()
    assert json.loads((work / "real.json").read_text())["status"] == "optimal"


def test_json_to_a_pipe_is_written_directly(work):
    fifo = work / "fifo"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "nnlang", "solve", str(work / "s.nnq"), "-q",
                             "--json", str(fifo)], env=env, stderr=subprocess.PIPE, text=True)
    with open(fifo) as reader:
        text = reader.read()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert json.loads(text)["status"] == "optimal"
    assert fifo.exists() and not fifo.is_file()
