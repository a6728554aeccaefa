"""Progress messages of long solves (nnlang.progress), and the gap every result
reports."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import nnlang
from nnlang.cli import main
from nnlang.solve import progress
from nnlang.solve.results import relative_gap
from nnlang.testing import flip_spec

SPECS = Path(__file__).resolve().parents[2] / "examples" / "reproductions"


def _heard(m, **options):
    heard: list[tuple[str, bool]] = []
    result = m.solve(progress=lambda msg, transient: heard.append((msg, transient)), **options)
    return result, [msg for msg, transient in heard if not transient]


@pytest.mark.parametrize("objective", ["norm1(x - c)", "sumsq(x - c)"])
def test_a_radius_search_reports_its_steps_and_masters(tmp_path, objective):
    _, path = flip_spec(tmp_path, 3, objective)
    result, said = _heard(nnlang.compile(path))
    assert result.status == "optimal"
    steps = result.search["steps"]
    # every step is announced and concluded, in order
    starts = [m for m in said if m.startswith("radius step") and "unstable ReLUs)" in m]
    assert len(starts) == len(steps)
    assert starts[0].startswith("radius step 1: ")
    last = [m for m in said if m.startswith(f"radius step {len(steps)}: ")][-1]
    assert f"optimal, objective {result.objective:.6g}" in last
    masters = [m for m in said if m.startswith("outer approximation, master")]
    if objective.startswith("sumsq"):
        assert len(masters) == sum(len(s["masters"]) for s in steps)
    else:
        assert not masters


def test_no_listener_no_messages_and_a_ticker_only_with_one():
    assert progress.mip_ticker("HiGHS") is None
    progress.say("nobody hears this")  # no error without a listener
    heard = []
    with progress.listening(lambda msg, transient: heard.append((msg, transient))):
        tick = progress.mip_ticker("HiGHS", sign=-1.0)
        out = SimpleNamespace(mip_node_count=12, objective_function_value=-3.5,
                              mip_dual_bound=-4.0, mip_gap=0.5)  # HiGHS's own gap: unused
        tick(out)
        tick(out)  # within a second of the first: not repeated
    assert heard == [("HiGHS: 12 nodes, best 3.5, bound 4, gap 14.29 %", True)]
    assert progress.mip_ticker("HiGHS") is None  # the listener is gone with the block


def test_the_command_shows_milestones_on_stderr_unless_quiet(tmp_path, capsys):
    _, path = flip_spec(tmp_path, 3, "norm1(x - c)")
    assert main(["solve", str(path)]) == 0
    err = capsys.readouterr().err
    assert "] radius step 1: " in err and "optimal, objective" in err
    assert main(["solve", str(path), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_the_gap_is_the_same_definition_for_every_solve():
    """abs(objective - bound) / abs(objective), not HiGHS's mip_gap (which divides by
    its objective without the model's constant: 103.8 % for a bound of 0 here)."""
    m = nnlang.compile(SPECS / "linkola_l1.nnq", params={"index": 1})
    r = m.solve(time_limit=3, radius_search=False, threads=1)
    assert r.objective is not None and r.bound is not None
    assert r.gap == pytest.approx(relative_gap(r.objective, r.bound), rel=1e-12)
    assert r.gap <= 1.0 + 1e-9  # a bound of at least 0 for a nonnegative distance


def test_an_infeasible_search_says_so_at_the_whole_box(tmp_path):
    _, path = flip_spec(tmp_path, 5, "norm1(x - c)")  # no input flips this network
    result, said = _heard(nnlang.compile(path))
    assert result.status == "infeasible"
    n = len(result.search["steps"])
    assert said[-2].startswith(f"radius step {n}: the whole box")
    assert said[-1].startswith(f"radius step {n}: infeasible (")
