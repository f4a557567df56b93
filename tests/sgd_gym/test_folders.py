"""One writer per folder, and a recorded configuration that a re-use must match."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from sgd_gym.folders import LOCK_FILE, ConfigMismatch, FolderInUse, check_config, differences, folder_digest, writer

HOLD = (
    "import sys, time; from sgd_gym.folders import writer\n"
    "with writer(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"
)


def test_a_second_writer_is_refused_naming_the_holder_until_it_ends_even_by_sigkill(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderInUse, match=rf"is being written by process {holder.pid} \(`.*-c .*`, since"):
            with writer(tmp_path):
                pass
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the kernel releases the lock
        holder.wait()
    with writer(tmp_path):
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] != holder.pid  # ours now
    with writer(tmp_path), pytest.raises(FolderInUse):  # one writer even within one process
        with writer(tmp_path):
            pass


def test_a_recorded_configuration_must_match(tmp_path):
    config = {"agent": {"name": "random", "seed": 0}, "protocol": {"max_steps": 100}, "code": "0.1.0"}
    assert check_config(tmp_path, "run", config, "an evaluation run") is False  # recorded
    assert check_config(tmp_path, "run", {**config, "code": "0.2.0"}, "an evaluation run", ignore=["code"]) is True
    other = {**config, "agent": {"name": "oracle", "seed": 0}, "protocol": {"max_steps": 5}}
    with pytest.raises(ConfigMismatch) as refused:
        check_config(tmp_path, "run", other, "an evaluation run")
    text = str(refused.value)
    assert "holds an evaluation run made with other settings (run.json)" in text
    assert "agent.name: recorded 'random', now 'oracle'" in text and "protocol.max_steps: recorded 100, now 5" in text
    assert "--overwrite" in text and "agent.seed" not in text
    assert check_config(tmp_path, "run", other, "an evaluation run", overwrite=True) is False
    assert json.loads((tmp_path / "run.json").read_text())["protocol"]["max_steps"] == 5


def test_content_without_a_recorded_configuration_is_refused(tmp_path):
    (tmp_path / "episodes.jsonl").write_text("{}\n")
    with pytest.raises(ConfigMismatch, match="holds an evaluation run .*episodes.jsonl.* but no record of the settings"):
        check_config(tmp_path, "run", {"a": 1}, "an evaluation run", content=[tmp_path / "episodes.jsonl"])


def test_differences_and_digests(tmp_path):
    assert differences({"a": {"b": 1}, "c": [1]}, {"a": {"b": 1}, "c": [2], "d": 3}) == [
        "c: recorded [1], now [2]", "d: recorded '(absent)', now 3"]  # fmt: skip
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "checkpoints").mkdir()  # sub-folders (Trainer checkpoints, logs) are not content
    before = folder_digest(tmp_path)
    (tmp_path / "checkpoints" / "x").write_text("x")
    (tmp_path / LOCK_FILE).write_text("held")
    assert folder_digest(tmp_path) == before
    time.sleep(0.01)
    (tmp_path / "model.safetensors").write_bytes(b"retrained")
    assert folder_digest(tmp_path) != before
