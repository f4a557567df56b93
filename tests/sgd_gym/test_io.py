"""Atomic files with the process umask; records read back with errors naming file, line and field."""

from __future__ import annotations

import json
import os
import stat

import pytest

from sgd_gym.io import DataFileError, atomic_write_text, read_jsonl, write_jsonl
from sgd_gym.records import Annotation, Episode, Example, Trajectory


def test_files_get_the_process_umask(tmp_path):
    previous = os.umask(0o002)  # a group's shared data folder
    try:
        path = atomic_write_text(tmp_path / "shared.json", "{}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
        os.umask(0o077)
        assert stat.S_IMODE(write_jsonl(tmp_path / "private.jsonl", [{}]).stat().st_mode) == 0o600
    finally:
        os.umask(previous)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def trajectory() -> dict:
    step = {"action": "go to kitchen", "observation": "You move.", "look": "A kitchen.", "inventory": "nothing", "score": 5,
            "reward": 5}  # fmt: skip
    return {"task": "boil", "split": "train", "variation": 0, "variation_id": 0, "simplifications": "easy",
            "task_description": "Your task is to boil water.", "steps": [step],
            "initial": {"observation": "Hi.", "look": "A room.", "inventory": "nothing", "score": 0}}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("task"), r"trajectories\.jsonl:2: trajectory field 'task': Field required"),
        (lambda r: r["steps"][0].pop("action"), r":2: trajectory field 'steps\.0\.action': Field required"),
        (lambda r: r.update(split="val"), r":2: trajectory field 'split': Input should be 'train', 'dev' or 'test'"),
        (lambda r: r.update(variation="3"), r":2: trajectory field 'variation': Input should be a valid integer"),
        (lambda r: r.update(variation=-1), r":2: trajectory field 'variation': Input should be greater than or equal to 0"),
        (lambda r: r.pop("initial"), r":2: trajectory field 'initial': Field required"),
        (lambda r: r.update(steps="none"), r":2: trajectory field 'steps': Input should be a valid list"),
    ],
)
def test_a_trajectory_of_the_wrong_shape_is_named_by_file_line_and_field(tmp_path, change, message):
    bad = trajectory()
    change(bad)
    path = write_jsonl(tmp_path / "trajectories.jsonl", [trajectory(), bad])
    with pytest.raises(DataFileError, match=message):
        read_jsonl(path, Trajectory)
    assert len(read_jsonl(path)) == 2  # without a schema, any JSON object passes


def test_non_utf8_bytes_and_other_record_types(tmp_path):
    path = tmp_path / "trajectories.jsonl"
    path.write_bytes(json.dumps(trajectory()).encode() + b"\n" + b'{"task": "caf\xe9"}\n')
    with pytest.raises(DataFileError, match=r"trajectories\.jsonl:2: not UTF-8 text \(byte 13: invalid continuation byte\)"):
        read_jsonl(path, Trajectory)
    annotation = {"task": "boil", "split": "train", "variation": 0, "subgoals": [{"text": "navigate_to(kitchen)", "start": 0,
                  "end": 0}]}  # fmt: skip
    with pytest.raises(DataFileError, match=r"a\.jsonl:1: annotation field 'subgoals\.0\.end': Input should be greater"):
        read_jsonl(write_jsonl(tmp_path / "a.jsonl", [annotation]), Annotation)
    with pytest.raises(DataFileError, match=r"e\.jsonl:1: example field 'target': Field required"):
        read_jsonl(write_jsonl(tmp_path / "e.jsonl", [{"source": "x"}]), Example)
    with pytest.raises(DataFileError, match=r"ep\.jsonl:1: episode field 'seed': Field required \(and 6 more\)"):
        read_jsonl(write_jsonl(tmp_path / "ep.jsonl", [{"task": "boil", "split": "test", "variation": 0}]), Episode)
