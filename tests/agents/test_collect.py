"""Gold-trajectory collection: records, parallel workers, resuming, atomic files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agents.data.collect import PARTS, TRAJECTORIES, collect, plan_collection
from sgd_gym.folders import LOCK_FILE, ConfigMismatch
from sgd_gym.io import DataFileError, read_jsonl
from tests.conftest import GOLD_TASKS


def test_records_replay_gold_paths_to_completion(gold_data):
    records = read_jsonl(gold_data / TRAJECTORIES)
    assert [r["task"] for r in records] == GOLD_TASKS
    for record in records:
        assert record["completed"] and record["final_score"] == 100 and record["split"] == "train"
        steps = record["steps"]
        assert steps and set(steps[0]) == {"action", "observation", "look", "inventory", "score", "reward"}
        assert sum(s["reward"] for s in steps) + record["initial"]["score"] == 100
        assert record["task_description"].startswith("Your task is")
    assert not (gold_data / PARTS).exists()


def test_plan_collection_limits_and_all():
    assert len(plan_collection(["boil"], "dev", None)) == 7
    assert [i.variation for i in plan_collection(["boil", "power-component"], "test", 3)] == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="unknown task"):
        plan_collection(["boiling"], "train", 1)


def test_resume_skips_what_is_on_disk(tmp_path):
    first = collect(["find-non-living-thing"], "test", 1, tmp_path, workers=1)
    before = first.read_text()
    # an interrupted run leaves finished episodes in the parts folder: they are kept, not redone
    part = json.loads(before.splitlines()[0])
    part["variation"] = 1
    part["marker"] = "from-an-interrupted-run"
    (tmp_path / PARTS).mkdir()
    (tmp_path / PARTS / "find-non-living-thing.test.1.json").write_text(json.dumps(part))
    collect(["find-non-living-thing"], "test", 2, tmp_path, workers=2)
    records = read_jsonl(tmp_path / TRAJECTORIES)
    assert [r["variation"] for r in records] == [0, 1]
    assert records[1]["marker"] == "from-an-interrupted-run"
    assert json.dumps(records[0], ensure_ascii=False) + "\n" == before
    assert [p.name for p in tmp_path.iterdir() if p.name != LOCK_FILE] == [TRAJECTORIES]


def test_another_simplification_into_the_same_folder_is_refused(tmp_path):
    collect(["find-non-living-thing"], "test", 1, tmp_path, workers=1)
    before = (tmp_path / TRAJECTORIES).read_text()
    with pytest.raises(ConfigMismatch, match="collected with simplifications 'easy', not 'openDoors'"):
        collect(["find-non-living-thing"], "test", 1, tmp_path, workers=1, simplifications="openDoors")
    assert (tmp_path / TRAJECTORIES).read_text() == before
    done = subprocess.run([sys.executable, "-m", "benchmarks.cli", "collect", "--tasks", "find-non-living-thing", "--split",
                           "test", "--variations", "1", "--simplifications", "openDoors", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "--overwrite" in done.stderr
    collect(["find-non-living-thing"], "test", 1, tmp_path, workers=1, simplifications="openDoors", overwrite=True)
    assert [r["simplifications"] for r in read_jsonl(tmp_path / TRAJECTORIES)] == ["openDoors"]


def test_corrupt_trajectories_file_is_reported_and_kept(tmp_path):
    bad = '{"task": "boil"}\n{not json\n'
    (tmp_path / TRAJECTORIES).write_text(bad)
    with pytest.raises(DataFileError, match=r"trajectories.jsonl:1: trajectory field 'split': Field required"):
        collect(["boil"], "train", 1, tmp_path)
    (tmp_path / TRAJECTORIES).write_text(bad.split("\n", 1)[1])
    with pytest.raises(DataFileError, match=r"trajectories.jsonl:1: not valid JSON"):
        collect(["boil"], "train", 1, tmp_path)
    assert (tmp_path / TRAJECTORIES).read_text() == "{not json\n"
