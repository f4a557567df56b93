"""Run summaries and tables (no episode is played here but in the first test, by the oracle)."""

from __future__ import annotations

import pytest

from baselines import OracleAgent
from benchmarks.protocol import evaluate, plan_episodes
from benchmarks.report import markdown_table, summarize


def test_summary_and_table_are_consistent():
    specs = plan_episodes(["find-living-thing", "boil"], "test", 1)
    records = evaluate(OracleAgent, specs, max_steps=100, patience=50)
    summary = summarize(records)
    assert summary["per_task"] == {"find-living-thing": 100.0, "boil": pytest.approx(records[1]["score"])}
    assert summary["overall"] == pytest.approx(sum(summary["per_task"].values()) / 2)
    assert set(summary["groups"]) == {"short", "medium"}
    table = markdown_table({"oracle": summary})
    assert "| find-living-thing | 100.0 |" in table and "**overall**" in table


def test_episodes_ending_in_a_loop_or_failed_are_counted():
    def record(actions, score, failed=False):
        return {"task": "boil", "score": score, "actions": actions, "steps": len(actions), "wall_time": 1.0, "error": None,
                "failed": failed}  # fmt: skip

    back_and_forth = ["look around"] + ["go to hallway", "go to workshop"] * 5
    varied = [f"focus on thing {i}" for i in range(12)]
    records = [record(back_and_forth, 3.0), record(back_and_forth, 100.0), record(varied, 3.0), record(back_and_forth[:9], 0.0)]
    records.append(record(["focus on air"], 0.0, failed=True))
    summary = summarize(records)
    assert summary["looping_episodes"] == 1  # the solved one, the varied one and the short ones do not count
    assert summary["failed_episodes"] == 1
    table = markdown_table({"agent": summary})
    assert "| unsolved, ending in a loop" in table and "| failed (the game ended the episode, e.g. a wrong focus) | 1 |" in table


def test_scores_csv_reads_back_what_was_written():
    import csv
    import io

    from benchmarks.report import CSV_COLUMNS, scores_csv

    error = 'ValueError: bad "quote", and a comma'
    record = {"task": "boil", "split": "test", "variation": 0, "variation_id": 21, "score": 12.5, "steps": 3,
              "wall_time": 1.25, "error": error}  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(scores_csv([record, {**record, "error": None}]))))
    assert list(rows[0]) == list(CSV_COLUMNS) and rows[0]["error"] == error and rows[1]["error"] == ""
    assert (rows[0]["score"], rows[0]["wall_time"]) == ("12.5", "1.250")
