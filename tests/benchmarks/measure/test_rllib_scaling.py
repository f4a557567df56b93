"""The env-runner scaling measurement: a row per runner count, its rates from the sampled episodes, a RESULTS section."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_micro_scaling_measures_sampling_and_training_rates(tmp_path):
    command = [sys.executable, "-m", "benchmarks.measure.rllib_scaling", "--runners", "1", "--rounds", "1", "--decisions", "8",
               "--iterations", "1", "--out", str(tmp_path), "--results-md", str(tmp_path / "RESULTS.md")]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads((tmp_path / "scaling.json").read_text())["rows"]
    assert row["runners"] == 1 and row["sampled_decisions"] == 8 and row["sampled_primitive_steps"] >= 8  # options: >= 1 each
    assert row["trained_primitive_steps"] >= 8 and row["sampling_rate"] > 0 and row["training_rate"] > 0
    assert "| 1 | " in (tmp_path / "RESULTS.md").read_text().split("<!-- rllib_scaling:start -->")[1]
    done = subprocess.run([*command[:3], "--runners", "0"], capture_output=True, text=True, env=environment)
    assert done.returncode == 2 and "must be >= 1" in done.stderr
