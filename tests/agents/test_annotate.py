"""Annotators: rules segmentation, import validation, statistics."""

from __future__ import annotations

import json

import pytest

from agents.data.annotate import (
    annotation_path,
    annotation_stats,
    import_annotations,
    load_annotations,
    rules_segments,
    stats_table,
)
from agents.data.collect import TRAJECTORIES
from sgd_gym.io import DataFileError, read_jsonl
from sgd_gym.subgoals import format_subgoal, parse_subgoal


def test_rules_segments_are_contiguous_covering_and_round_trip(gold_data):
    trajectories = read_jsonl(gold_data / TRAJECTORIES)
    annotations = load_annotations(gold_data, "rules")
    for trajectory in trajectories:
        segments = annotations[(trajectory["task"], "train", 0)]["subgoals"]
        assert segments[0]["start"] == 0 and segments[-1]["end"] == len(trajectory["steps"])
        assert all(a["end"] == b["start"] for a, b in zip(segments, segments[1:]))
        for segment in segments:
            assert format_subgoal(parse_subgoal(segment["text"])) == segment["text"]
            assert segment["end"] - segment["start"] <= 10 or parse_subgoal(segment["text"]).verb == "navigate_to"


def test_rules_on_the_gold_path_quirks():
    actions = [
        "open door to kitchen", "go to kitchen", "open door to outside", "go to outside", "look around",
        "move seed in seed jar to flower pot 3", "0", "wait1", "wait1", "wait", "look at plane", "look at plane",
        "examine water", "use thermometer in inventory on water", "move metal pot to stove", "activate stove",
        "move pot to freezer", "open door to hallway", "mix jug",
    ]  # fmt: skip
    texts = [(s["text"], s["start"], s["end"]) for s in rules_segments(actions)]
    assert texts == [
        ("navigate_to(outside)", 0, 4),
        ("look_around()", 4, 5),
        ("put(seed in seed jar, flower pot 3)", 5, 7),
        ("wait(2)", 7, 9),
        ("act(wait)", 9, 10),
        ("watch(plane, 2)", 10, 12),
        ("measure(water, thermometer in inventory)", 12, 14),
        ("heat(metal pot, stove)", 14, 16),
        ("cool(pot, freezer)", 16, 17),
        ("open(door to hallway)", 17, 18),
        ("mix(jug)", 18, 19),
    ]
    long_wait = rules_segments(["wait1"] * 23)
    assert [s["text"] for s in long_wait] == ["wait(10)", "wait(10)", "wait(3)"]


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_import_accepts_valid_and_rejects_corrupt_files_writing_nothing(gold_data, tmp_path):
    good = read_jsonl(annotation_path(gold_data, "rules"))
    source = tmp_path / "mine.jsonl"
    _write(source, good)
    path = import_annotations(gold_data, source)
    assert read_jsonl(path) == good
    path.unlink()

    first = good[0]
    n = first["subgoals"][-1]["end"]
    cases = {
        "gap": (
            dict(first, subgoals=[{"text": "look_around()", "start": 0, "end": 1}, {"text": "wait(1)", "start": 2, "end": n}]),
            r"mine.jsonl:2: segment 1 starts at step 2, expected 1",
        ),
        "short": (
            dict(first, subgoals=[{"text": "look_around()", "start": 0, "end": 1}]),
            r"cover steps 0..1, the trajectory has",
        ),
        "verb": (dict(first, subgoals=[{"text": "fly(kitchen)", "start": 0, "end": n}]), r"segment 0: unknown verb 'fly'"),
        "key": (dict(first, variation=99), r"no trajectory for task='melt' split='train' variation=99"),
        "field": ({"task": "melt"}, r"missing field\(s\) \['split', 'subgoals', 'variation'\]"),
    }
    for name, (record, message) in cases.items():
        _write(source, [good[1], record])
        with pytest.raises(DataFileError, match=message):
            import_annotations(gold_data, source)
        assert not annotation_path(gold_data, "import").exists(), name
    source.write_text(json.dumps(good[0]) + "\n[1, 2]\n")
    with pytest.raises(DataFileError, match=r"mine.jsonl:2: expected a JSON object"):
        import_annotations(gold_data, source)


def test_stats(gold_data):
    stats = annotation_stats(gold_data, "rules")
    assert stats["overall"]["trajectories"] == 6
    assert stats["per_task"]["chemistry-mix"]["verbs"]["mix"] >= 1
    assert stats["overall"]["steps_per_subgoal"] > 1
    table = stats_table(stats).splitlines()  # what `sgd annotate --stats` prints: a row per task, 2 decimals
    assert len(table) == 2 + len(stats["per_task"]) + 1 and table[-1].startswith("| **overall** | 6 | ")
    assert f"| {stats['overall']['steps_per_subgoal']:.2f} |" in table[-1]
    with pytest.raises(DataFileError, match="annotations.llm.jsonl: no such file"):
        annotation_stats(gold_data, "llm")


def test_an_empty_collection_is_not_annotated(tmp_path):
    from agents.data.annotate import annotate_rules

    (tmp_path / TRAJECTORIES).write_text("")
    with pytest.raises(DataFileError, match=r"trajectories\.jsonl: no trajectories to annotate; run 'sgd collect"):
        annotate_rules(tmp_path)
    assert not annotation_path(tmp_path, "rules").exists()
