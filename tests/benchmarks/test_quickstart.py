"""sgd quickstart end to end with a micro config (a few variations, a few training steps)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from sgd_gym.io import read_jsonl

MICRO_CONFIG = {
    "tasks": ["find-non-living-thing", "find-living-thing"],
    "train_variations": 2,
    "dev_variations": 1,
    "test_variations": 1,
    "max_steps_per_model": 12,
    "minutes_per_model": 5,
    "eval_steps": 6,
    "batch_size": 8,
    "learning_rate": 0.01,
    "eval_max_steps": 8,
    "num_beams": 1,
    "config_overrides": {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16},
}


def test_quickstart_runs_end_to_end_and_resumes(tmp_path):
    config = tmp_path / "micro.yaml"
    config.write_text(yaml.safe_dump(MICRO_CONFIG))
    out = tmp_path / "qs"
    command = [sys.executable, "-m", "benchmarks.cli", "quickstart", "--config", str(config), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| task | hierarchical | flat | random | oracle |" in done.stdout
    for name in ("comparison.md", "comparison.png"):
        assert (out / name).stat().st_size > 0
    for agent in ("hierarchical", "flat", "random", "oracle"):
        summary = json.loads((out / "runs" / agent / "summary.json").read_text())
        assert summary["episodes"] == 2 and len(read_jsonl(out / "runs" / agent / "episodes.jsonl")) == 2
    oracle = json.loads((out / "runs" / "oracle" / "summary.json").read_text())
    assert oracle["per_task"]["find-non-living-thing"] == 100.0
    assert (out / "checkpoints" / "planner" / "sgd_policy.json").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=900)  # every stage is on disk: nothing redone
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("done earlier") == 6


def test_bad_config_is_rejected_before_work(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("tasks: [boil]\nlearning_rat: 0.1\n")
    command = [sys.executable, "-m", "benchmarks.cli", "quickstart", "--config", str(config), "--out", str(tmp_path / "o")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown quickstart setting(s) ['learning_rat']" in done.stderr
    assert not (tmp_path / "o").exists()
    config.write_text("tasks: [boiling]\n")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown task 'boiling'" in done.stderr
