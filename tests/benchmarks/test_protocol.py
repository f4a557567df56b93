"""The evaluation loop: episode plans, worker processes, failing agents, run folders."""

from __future__ import annotations

import functools

import pytest

from agents.agent import Agent
from baselines import RandomAgent
from benchmarks.protocol import episode_spec, evaluate, plan_episodes, run_evaluation
from benchmarks.report import summarize


class ExplodingAgent(Agent):
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


def test_one_episode_spec_is_the_one_the_plan_holds():
    assert episode_spec("4-1", "test", 3) == plan_episodes(["find-living-thing"], "test", 4)[3]
    with pytest.raises(ValueError, match=r"variation 5 is out of range .* expected an int in 0..4"):
        episode_spec("power-component", "test", 5)


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
    for record in records:  # each step taken is recorded: the score after it and whether the game understood it
        assert record["step_valid"] == [True, True] and len(record["step_scores"]) == 2 and "step_trace" not in record


def test_run_folder_outputs_and_resume(tmp_path):
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
