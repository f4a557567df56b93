"""The one context builder and the planner/executor/flat examples built from annotated gold paths."""

from __future__ import annotations

from agents.data.annotate import load_annotations
from agents.data.collect import TRAJECTORIES
from agents.data.datasets import EXAMPLES, State, build_context, build_data, count_tokens, trajectory_examples
from sgd_gym.io import read_jsonl
from sgd_gym.subgoals import END_SG


def test_context_keeps_newest_history_within_budget():
    state = State("Your task is to boil water.", "This room is called the kitchen. " + "a thing, " * 200, "an orange",
                  "You move.", 25, 12)  # fmt: skip
    state.history = [(f"action {i}", f"observation number {i} " + "word " * 20) for i in range(12)]
    full = build_context(state, max_tokens=2000)
    assert "action 2 ->" in full and "action 1 ->" not in full  # at most the last 10 pairs
    short = build_context(state, completed=["navigate_to(kitchen)"], current="pick_up(thermometer)", max_tokens=150)
    assert count_tokens(short) <= 150
    assert "action 11 ->" in short and "action 5 ->" not in short
    assert short.startswith(
        "task: Your task is to boil water. | step: 12 score: 25 | current: pick_up(thermometer) | observation: You move. | "
        "inventory: an orange | completed: navigate_to(kitchen) | history:"
    )
    assert "| look: This room is called the kitchen. a thing," in short and short.endswith("...")
    assert "completed: none" in build_context(state, completed=[])


def test_context_never_loses_the_observation_to_a_long_plan_or_room():
    state = State("Your task is to " + "boil water and more " * 10, "This room is called the kitchen. " + "a thing, " * 300,
                  "an orange", "The stove is now activated.", 0, 40)  # fmt: skip
    completed = [f"pick_up(thing {i})" for i in range(30)]
    for budget in (96, 256):
        source = build_context(state, completed=completed, current="heat(water, stove)", max_tokens=budget)
        assert count_tokens(source) <= budget
        assert "observation: The stove is now activated." in source and "current: heat(water, stove)" in source
    source = build_context(state, completed=completed, max_tokens=512)
    assert "completed: (24 earlier) pick_up(thing 24); " in source and "pick_up(thing 29) |" in source


def test_examples_from_an_annotated_trajectory(gold_data):
    trajectory = read_jsonl(gold_data / TRAJECTORIES)[2]
    subgoals = load_annotations(gold_data, "rules")[(trajectory["task"], "train", 0)]["subgoals"]
    examples = trajectory_examples(trajectory, subgoals)
    n = len(trajectory["steps"])
    assert [e["target"] for e in examples["flat"]] == [s["action"] for s in trajectory["steps"]]
    assert [e["target"] for e in examples["planner"]] == [s["text"] for s in subgoals]
    assert len(examples["executor"]) == n + len(subgoals)
    assert sum(e["target"] == END_SG for e in examples["executor"]) == len(subgoals)
    first, second = subgoals[0], subgoals[1]
    assert f"current: {first['text']}" in examples["executor"][0]["source"]
    assert "completed: none" in examples["planner"][0]["source"]
    assert f"completed: {first['text']}" in examples["planner"][1]["source"] and second["start"] == first["end"]
    end_example = examples["executor"][first["end"] - first["start"]]
    assert end_example["target"] == END_SG and f"step: {first['end']} " in end_example["source"]


def test_build_data_writes_train_and_dev_files(gold_data):
    counts = build_data(gold_data)
    assert counts["flat.train"] == sum(len(t["steps"]) for t in read_jsonl(gold_data / TRAJECTORIES))
    assert counts["flat.dev"] == 0  # the fixture collected the train split only
    for name in ("planner.train", "executor.train", "flat.train"):
        rows = read_jsonl(gold_data / EXAMPLES / f"{name}.jsonl")
        assert len(rows) == counts[name] and set(rows[0]) == {"source", "target"}
