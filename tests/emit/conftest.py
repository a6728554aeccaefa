"""Readers for emitted files: HiGHS, SCIP (pyscipopt) and GLPK (glpsol).

Each returns ``(status, objective)`` with status one of optimal, infeasible,
other; the objective is None unless optimal.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

TIGHT_GAP = 1e-9


def highs_solve(path: Path) -> tuple[str, float | None]:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", TIGHT_GAP)
    status = h.readModel(str(path))
    assert status != highspy.HighsStatus.kError, f"HiGHS cannot read {path}"
    h.run()
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kOptimal:
        return "optimal", float(h.getInfo().objective_function_value)
    if ms == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", None
    return h.modelStatusToString(ms), None


def highs_solution(path: Path) -> dict[str, float]:
    """Column values by name after solving ``path`` with HiGHS."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", TIGHT_GAP)
    h.readModel(str(path))
    h.run()
    values = h.getSolution().col_value
    lp = h.getLp()
    return dict(zip(lp.col_names_, values))


def scip_solve(path: Path) -> tuple[str, float | None]:
    pyscipopt = pytest.importorskip("pyscipopt")
    m = pyscipopt.Model()
    m.hideOutput()
    m.setParam("limits/gap", TIGHT_GAP)
    m.readProblem(str(path))
    m.optimize()
    st = m.getStatus()
    if st == "optimal":
        return "optimal", float(m.getObjVal())
    return ("infeasible" if st == "infeasible" else st), None


def require_glpsol() -> str:
    """The glpsol path; missing glpsol fails under CI=... and skips otherwise."""
    path = shutil.which("glpsol")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("glpsol (GLPK) is not installed but CI is set: "
                        "apt-get install -y glpk-utils")
        pytest.skip("glpsol (GLPK) is not installed")
    return path


def glpk_solve(args: list[str], out: Path, timeout: float = 60) -> tuple[str, float | None]:
    """Run ``glpsol ARGS -o out`` and read status and objective from its report."""
    glpsol = require_glpsol()
    run = subprocess.run([glpsol, *args, "-o", str(out)], capture_output=True, text=True,
                         timeout=timeout)
    assert run.returncode == 0, f"glpsol failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
    report = out.read_text()
    m = re.search(r"^Status:\s+(.*)$", report, re.MULTILINE)
    status = m.group(1).strip() if m else "?"
    if status in ("INTEGER OPTIMAL", "OPTIMAL"):
        value = re.search(r"^Objective:\s+\S+ = (\S+)", report, re.MULTILINE)
        return "optimal", float(value.group(1)) if value else 0.0
    if status in ("INTEGER EMPTY", "INFEASIBLE (FINAL)", "EMPTY", "INTEGER UNDEFINED",
                  "UNDEFINED") or "NO PRIMAL FEASIBLE" in run.stdout:
        return "infeasible", None
    return status, None


def assert_same(reference: tuple[str, float | None], got: tuple[str, float | None],
                what: str, rel: float = 1e-6) -> None:
    status, value = reference
    assert got[0] == status, f"{what}: status {got[0]} != {status}"
    if status == "optimal":
        assert got[1] == pytest.approx(value, rel=rel, abs=rel), f"{what}: {got[1]} != {value}"


@pytest.fixture
def readers():
    """The helpers above, for test modules (conftest is not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(highs=highs_solve, highs_solution=highs_solution, scip=scip_solve,
                           glpk=glpk_solve, require_glpsol=require_glpsol, same=assert_same)
