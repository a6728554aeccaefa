"""Usage errors: one ``nnlang ...: error:`` line and exit code 2, before any work;
the one exit-code table in ``nnlang --help``."""

from __future__ import annotations

import pytest

from nnlang.cli import EXIT_CODES, main

USAGE = {
    "set_empty_value": ["solve", "{s}", "--set", "eps="],
    "set_no_equals": ["solve", "{s}", "--set", "eps"],
    "set_bad_name": ["solve", "{s}", "--set", "1x=3"],
    "threads_zero": ["solve", "{s}", "--threads", "0"],
    "threads_fraction": ["solve", "{s}", "--threads", "2.5"],
    "threads_text": ["batch", "{s}", "--threads", "many"],
    "time_limit_negative": ["solve", "{s}", "--time-limit", "-1"],
    "time_limit_zero": ["verify", "{n}", "{p}", "--timeout", "0"],
    "time_limit_nan": ["solve", "{s}", "--time-limit", "nan"],
    "time_limit_inf": ["solve", "{s}", "--time-limit", "inf"],
    "mip_gap_negative": ["solve", "{s}", "--mip-gap", "-0.1"],
    "bounds_bad_number": ["solve", "{s}", "--bounds", "milp(time_limit=abc)"],
    "bounds_unknown": ["compile", "{s}", "--to", "lp", "-o", "{d}", "--bounds", "magic"],
    "bounds_unclosed": ["solve", "{s}", "--bounds", "milp(time_limit=1"],
    "bounds_no_equals": ["solve", "{s}", "--bounds", "milp(1)"],
    "bounds_twice": ["solve", "{s}", "--bounds", "milp(budget=1, budget=2)"],
    "jobs_zero": ["batch", "{s}", "--jobs", "0"],
    "count_zero": ["batch", "{s}", "--count", "0"],
    "start_negative": ["batch", "{s}", "--start", "-1"],
    "obbt_one": ["verify", "{n}", "{p}", "--obbt", "1"],
    "workers_zero": ["train", "{s}", "--workers", "0"],
    "unknown_format": ["compile", "{s}", "--to", "docx", "-o", "{d}"],
    "missing_output": ["compile", "{s}", "--to", "lp"],
    "missing_property": ["verify", "{n}"],
    "unknown_command": ["frobnicate"],
    "unknown_flag": ["solve", "{s}", "--fast"],
    "no_command": [],
}


@pytest.mark.parametrize("case", USAGE)
def test_usage_error_exits_2(work, capsys, case):
    argv = [a.format(s=work / "s.nnq", n=work / "net.onnx", p=work / "p.vnnlib",
                     d=work / "out") for a in USAGE[case]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
    assert not (work / "out").exists()


def test_help_shows_the_one_exit_code_table(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in EXIT_CODES:
        assert f"  {code:<4} " in out
    assert main(["solve", "--help"]) == 0
    assert "130" in capsys.readouterr().out


def test_docs_show_the_same_table():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in text
