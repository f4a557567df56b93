"""Named focus: the table learned from real gold paths, and the guard on the real boil task."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from agents.data.collect import TRAJECTORIES
from agents.executor import LearnedExecutor
from agents.focus import focus_names, learn_named_focus, main, named_focus_tasks, names_target, unnamed_focus
from agents.guards import make_guards
from agents.hierarchical import HierarchicalAgent
from baselines.flat_bc import FlatBCAgent
from sgd_gym.io import DataFileError, read_jsonl
from tests.agents.test_agents import FixedPlanner


def test_focus_targets_are_named_by_their_object_or_contents():
    assert focus_names("thermometer in inventory") == ["thermometer"]
    assert focus_names("glass jar containing sodium chloride") == ["glass jar", "sodium chloride"]
    assert focus_names("paint in cup containing red-orange paint") == ["paint", "red-orange paint"]
    description = "Your task is to boil water. First, focus on the substance. Then, use the Red Light Bulb."
    assert names_target(description, "water") and names_target(description, "substance in metal pot")
    assert names_target(description, "red light bulb")  # any case
    assert not names_target(description, "metal pot") and not names_target(description, "salt water")
    assert not names_target("Your task is to make red-orange paint.", "orange paint")  # nor part of a hyphenated word


def test_the_table_learned_from_gold_paths_agrees_with_the_shipped_one(gold_data, tmp_path):
    trajectories = read_jsonl(gold_data / TRAJECTORIES)
    table = learn_named_focus(trajectories)
    assert table["split"] == "train" and table["threshold"] == 0.95
    enforced = {task for task, row in table["tasks"].items() if row["enforced"]}
    assert {"melt", "use-thermometer", "chemistry-mix"} <= enforced
    assert "inclined-plane-determine-angle" not in enforced  # its gold path focuses on an unnamed plane
    assert table["tasks"]["melt"]["focus"] >= 1 and table["tasks"]["melt"]["named"] == table["tasks"]["melt"]["focus"]
    shipped = named_focus_tasks()
    for task in ("melt", "use-thermometer", "chemistry-mix", "inclined-plane-determine-angle"):
        assert (task in enforced) == (task in shipped), task
    with pytest.raises(ValueError, match="no gold 'focus on' action in the 'dev' split"):
        learn_named_focus(trajectories, split="dev")
    with pytest.raises(ValueError, match="threshold must be in"):
        learn_named_focus(trajectories, threshold=1.5)

    out = tmp_path / "named_focus.json"
    assert main(["--data", str(gold_data), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == table and named_focus_tasks(out) == frozenset(enforced)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "other.json")]) == 2
    assert not (tmp_path / "other.json").exists()
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"tasks": [1, 2]}')
    with pytest.raises(DataFileError, match="corrupt.json: not a named-focus table"):
        named_focus_tasks(corrupt)
    with pytest.raises(DataFileError, match="missing.json: no such file"):
        named_focus_tasks(tmp_path / "missing.json")


@pytest.fixture(scope="module")
def boil_start():
    """The first observation of the real boil task (train variation 0), valid actions included."""
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True)
    try:
        yield env.reset(seed=0, options={"task": "boil", "variation": 0})
    finally:
        env.close()


def test_named_focus_passes_over_unnamed_targets_on_the_real_boil_task(boil_start):
    obs, info = boil_start
    assert "boil" in named_focus_tasks() and info["task_name"] == "boil"
    foci = [action for action in info["valid_actions"] if action.startswith("focus on ")]
    blocked = unnamed_focus(info["valid_actions"], "boil", obs["task"])
    assert "focus on orange" in foci and blocked == set(foci)  # boil water: nothing in this room is named
    assert unnamed_focus(info["valid_actions"], "find-animal", obs["task"]) == set()  # a task where it is not enforced
    named = ["focus on water", "look around"]
    assert unnamed_focus(named, "boil", obs["task"]) == set()

    wrong = FixedPlanner(["focus on orange", "look around"])  # an exact, valid, wrong focus
    for guards, expected in [(["safe-focus"], "focus on orange"), (["safe-focus", "named-focus"], "look around")]:
        flat = FlatBCAgent(wrong, num_beams=2, guards=make_guards(guards))
        flat.reset(obs["task"])
        assert flat.act(obs, info) == expected
        executor = LearnedExecutor(wrong, num_beams=2, guards=make_guards(guards))
        executor.reset(obs["task"])
        assert executor.act(obs, info, "focus_on(orange)") == expected

    beams = ["focus_on(orange)", "navigate_to(kitchen)"]
    for guards, expected in [([], "focus_on(orange)"), (["named-focus"], "navigate_to(kitchen)")]:
        agent = HierarchicalAgent(FixedPlanner(beams), LearnedExecutor(wrong), num_beams=2, guards=make_guards(guards))
        agent.reset(obs["task"])
        assert agent.plan(obs, info) == expected
    named = make_guards(["named-focus"])
    agent = HierarchicalAgent(FixedPlanner(["focus_on(water)", "navigate_to(kitchen)"]), LearnedExecutor(wrong), num_beams=2,
                              guards=named)  # fmt: skip
    agent.reset(obs["task"])
    assert agent.plan(obs, info) == "focus_on(water)"  # named: kept
    other = HierarchicalAgent(FixedPlanner(beams), LearnedExecutor(wrong), num_beams=2, guards=named)
    other.reset(obs["task"])
    assert other.plan(obs, {**info, "task_name": "find-animal"}) == "focus_on(orange)"  # not enforced in that task
