"""The action-coverage measurement: its arithmetic on made-up steps, and one real gold path through the command line."""

from __future__ import annotations

import json

import pytest

from benchmarks.measure.action_coverage import SECTION, main, plan_items, summarize
from sgd_gym.wrappers.discrete import DEFAULT_MAX_ACTIONS


def step(rank_before, rank_after, replaceable=False, reply="ok"):
    return {"gold": "g", "raw": 10, "accepted": 6, "subgoals": 4, "ms_raw": 2.0, "ms_accepted": 3.0, "reply": reply,
            "score": 0, "rank_before": rank_before, "rank_after": rank_after, "equivalent": None,
            "replaceable": replaceable}  # fmt: skip


def test_summary_counts_coverage_per_k_replaceable_steps_and_parser_shares():
    episodes = [
        {"task": "boil", "final_score": 100, "verdicts": {"before": {"rejected": 3, "accepted": 1}, "after": {"accepted": 4}},
         "steps": [step(0, 0), step(600, 300), step(None, None, replaceable=True, reply="The door is already open.")]},
        {"task": "find-plant", "final_score": 50,
         "verdicts": {"before": {"accepted": 2}, "after": {"ambiguous": 1, "accepted": 1}},
         "steps": [step(2000, 1500), step(None, None, reply="You focus on the egg.")]},
    ]  # fmt: skip
    summary = summarize(episodes, ks=(512, DEFAULT_MAX_ACTIONS))
    boil, overall = summary["per_task"]["boil"], summary["overall"]
    assert boil["coverage_before"] == {"512": pytest.approx(1 / 3), str(DEFAULT_MAX_ACTIONS): pytest.approx(2 / 3)}
    assert boil["coverage_after"]["512"] == pytest.approx(2 / 3)
    assert boil["needed_coverage_after"][str(DEFAULT_MAX_ACTIONS)] == 1.0 and boil["replaceable_steps"] == 1
    assert boil["rejected_before"] == 0.75 and boil["rejected_after"] == 0.0
    assert overall["gold_steps"] == 5 and overall["coverage_after"][str(DEFAULT_MAX_ACTIONS)] == pytest.approx(3 / 5)
    assert overall["needed_coverage_after"][str(DEFAULT_MAX_ACTIONS)] == pytest.approx(4 / 5)
    assert overall["ambiguous_after"] == pytest.approx(1 / 6) and overall["rejected_before"] == pytest.approx(3 / 6)
    assert overall["tasks_missing_before"] == 2 and overall["tasks_missing_after"] == 1  # find-plant's focus step
    assert overall["blocked"] == {"g -> You focus on the egg.": 1}
    assert overall["uncovered_replies"] == {"The door is already open.": 1, "You focus on the egg.": 1}


def test_plan_takes_the_first_variations_of_each_split():
    items = plan_items(["find-plant", "8-2"], ["train", "test"], 5)
    assert [(i.task, i.split, i.variation) for i in items[:2]] == [("find-plant", "train", 0), ("find-plant", "train", 1)]
    assert sum(i.task == "identify-life-stages-2" and i.split == "train" for i in items) == 4  # only 4 train variations
    with pytest.raises(ValueError, match="variations must be >= 1"):
        plan_items(["boil"], ["train"], 0)


def test_command_line_on_a_real_gold_path(tmp_path, capsys):
    results_md = tmp_path / "RESULTS.md"
    args = ["--tasks", "find-non-living-thing", "--splits", "test", "--variations", "1", "--check-every", "1", "--sample", "8"]
    assert main([*args, "--out", str(tmp_path / "out"), "--results-md", str(results_md)]) == 0
    result = json.loads((tmp_path / "out" / "coverage.json").read_text())
    row = result["per_task"]["find-non-living-thing"]
    assert row["episodes"] == 1 and row["gold_steps"] == len(result["episodes"][0]["steps"]) > 0
    assert result["episodes"][0]["final_score"] == 100  # measuring never changed the episode
    assert row["raw_max"] > row["accepted_max"] > 0 and row["rejected_after"] == 0.0
    assert row["needed_coverage_after"][str(DEFAULT_MAX_ACTIONS)] == 1.0
    assert row["ms_accepted"] > 0 and row["parsed"] > 0
    text = results_md.read_text()
    assert f"<!-- {SECTION}:start -->" in text and "| find-non-living-thing |" in text
    assert "python -m benchmarks.measure.action_coverage --tasks find-non-living-thing" in capsys.readouterr().out


def test_bad_arguments_exit_2(tmp_path):
    for bad in (["--tasks", "boiling"], ["--splits", "valid"], ["--variations", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*bad, "--out", str(tmp_path)])
        assert exit_info.value.code == 2
    assert not list(tmp_path.iterdir())
