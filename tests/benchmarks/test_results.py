"""Every committed run folder stays readable by ``sgd report`` and ``sgd gap``, whichever code version wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.gap import score_gap
from benchmarks.report import compare_runs

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"
RUNS = sorted(path.parent for path in RESULTS.rglob("summary.json"))


def test_there_are_committed_runs():
    assert len(RUNS) >= 40


@pytest.mark.parametrize("run", RUNS, ids=[str(run.relative_to(RESULTS)) for run in RUNS])
def test_committed_run_loads_in_report_and_gap(run):
    table = compare_runs([run])
    assert "**overall**" in table and "| task |" in table
    if (run / "episodes.jsonl").is_file():
        gap = score_gap(run, run, samples=50)  # a run against itself: every episode paired, nothing gained
        assert gap["episodes"] > 0 and gap["overall"]["gap"] == 0
