"""The command's start-up: ``nnlang --help`` loads no numpy, a solve that goes to
HiGHS directly loads no CVXPY, and ``nnlang check`` loads neither CVXPY nor SCIP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "breast_cancer_adversarial.nnq"
HEAVY = ("numpy", "scipy", "lark", "cvxpy", "highspy", "pyscipopt", "onnx", "jinja2", "PIL")


def _loaded(*argv: str) -> dict[str, bool]:
    code = ("import sys, json\nfrom nnlang.cli import main\n"
            f"try:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    return json.loads(out.stderr.strip().splitlines()[-1])


def test_help_loads_nothing_heavy():
    assert not any(_loaded("--help").values())
    assert not any(_loaded("solve", "--help").values())


def test_check_loads_no_cvxpy_or_scip():
    mods = _loaded("check", str(EXAMPLE))
    assert mods["numpy"] and not mods["cvxpy"] and not mods["pyscipopt"]


def test_a_highs_solve_loads_no_cvxpy():
    mods = _loaded("solve", str(EXAMPLE), "-q")
    assert mods["highspy"] and not mods["cvxpy"] and not mods["pyscipopt"]
