"""The evaluation loop: episode plans, worker processes, failing agents, tables."""

from __future__ import annotations

import functools

import pytest

from baselines import OracleAgent, RandomAgent
from benchmarks.evaluate import agent_settings, evaluate, make_agent, markdown_table, plan_episodes, summarize


class ExplodingAgent:
    """Raises on its third action."""

    def reset(self, task_description: str) -> None:
        self.calls = 0

    def act(self, obs, info) -> str:
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("boom")
        return "look around"


def test_plan_episodes_takes_the_first_variations():
    specs = plan_episodes(["boil", "identify-life-stages-2"], "test", 5)
    assert [(s.task, s.variation) for s in specs] == [("boil", v) for v in range(5)] + [
        ("identify-life-stages-2", v) for v in range(4)
    ]
    assert len({s.seed for s in specs}) == len(specs)
    with pytest.raises(ValueError, match="unknown split"):
        plan_episodes(["boil"], "val", 1)
    with pytest.raises(ValueError, match="variations must be >= 1"):
        plan_episodes(["boil"], "test", 0)


def test_worker_count_does_not_change_results():
    specs = plan_episodes(["find-living-thing", "power-component"], "test", 2)
    factory = functools.partial(RandomAgent, seed=3)
    one = evaluate(factory, specs, max_steps=20, workers=1)
    two = evaluate(factory, specs, max_steps=20, workers=2)
    strip = [{k: v for k, v in r.items() if k != "wall_time"} for r in one]
    assert strip == [{k: v for k, v in r.items() if k != "wall_time"} for r in two]


def test_failing_agent_is_reported_per_episode():
    specs = plan_episodes(["find-non-living-thing"], "test", 2)
    records = evaluate(ExplodingAgent, specs, max_steps=10)
    assert [r["error"] for r in records] == ["RuntimeError: boom"] * 2
    assert all(r["steps"] == 2 for r in records)
    assert summarize(records)["errors"] == 2


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


def test_run_folder_outputs_and_resume(tmp_path):
    from benchmarks.evaluate import run_evaluation
    from sgd_gym.io import read_jsonl

    specs = plan_episodes(["find-non-living-thing", "power-component"], "test", 2)
    factory = functools.partial(RandomAgent, seed=0)
    summary = run_evaluation(factory, specs[:3], tmp_path, "random", max_steps=10)
    first = read_jsonl(tmp_path / "episodes.jsonl")
    assert summary["episodes"] == 3 and len(first) == 3
    for name in ("scores.csv", "summary.json", "table.md", "scores.png"):
        assert (tmp_path / name).stat().st_size > 0
    summary = run_evaluation(factory, specs, tmp_path, "random", max_steps=10)
    again = read_jsonl(tmp_path / "episodes.jsonl")
    assert again[:3] == first  # not played again (same wall times)
    assert summary["episodes"] == 4 and len((tmp_path / "scores.csv").read_text().splitlines()) == 5
    assert summary["per_task"]["power-component"] == pytest.approx((again[2]["score"] + again[3]["score"]) / 2)


def test_agent_settings_names_every_argument_of_the_factory():
    factory = functools.partial(make_agent, "flat", "ckpt/flat", safe_focus=True)
    settings = agent_settings(factory)
    assert settings["name"] == "flat" and settings["checkpoint"] == "ckpt/flat" and settings["safe_focus"] is True
    assert settings["num_beams"] == 3 and settings["replan"] == "boundary"  # defaults are written out too
    nested = functools.partial(factory, avoid_cycles=True)  # an ablation built on a base factory
    assert agent_settings(nested)["avoid_cycles"] is True and agent_settings(nested)["checkpoint"] == "ckpt/flat"
    assert agent_settings(lambda: None) == {}
