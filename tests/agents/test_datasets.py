"""The planner/executor/flat examples built from annotated gold paths (the context builder: test_context.py)."""

from __future__ import annotations

import pytest

from agents.data.annotate import load_annotations
from agents.data.collect import TRAJECTORIES
from agents.data.datasets import EXAMPLES, build_data, trajectory_examples
from sgd_gym.io import read_jsonl
from sgd_gym.subgoals import END_SG


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


def copy_data(gold_data, target):
    import shutil

    shutil.copytree(gold_data, target, ignore=shutil.ignore_patterns("examples", ".sgd.lock"))
    return target


def test_build_data_refuses_annotations_of_another_collection(gold_data, tmp_path):
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect
    from sgd_gym.io import DataFileError, write_jsonl

    data = copy_data(gold_data, tmp_path / "data")
    trajectories = len(read_jsonl(data / TRAJECTORIES))
    collect(["melt"], "train", 2, data, workers=1)  # one more trajectory, not annotated
    with pytest.raises(DataFileError, match=r"annotations\.rules\.jsonl: made from another trajectories\.jsonl"):
        build_data(data)
    (data / "annotations.rules.json").unlink()  # annotations written before their provenance was recorded
    with pytest.raises(DataFileError, match=rf"1 of {trajectories + 1} trajectories have no annotation .*sgd annotate"):
        build_data(data)
    annotate_rules(data)
    assert build_data(data)["flat.train"] == sum(len(t["steps"]) for t in read_jsonl(data / TRAJECTORIES))
    labels = read_jsonl(data / "annotations.rules.jsonl")
    labels[0]["subgoals"][-1]["end"] += 1  # a segment ending past its trajectory
    write_jsonl(data / "annotations.rules.jsonl", labels)
    (data / "annotations.rules.json").unlink()
    with pytest.raises(DataFileError, match=r"annotations\.rules\.jsonl: \('melt', 'train', 0\): segments cover steps"):
        build_data(data)
