"""The encoder cost measurement runs and prints its table (a few steps)."""

from __future__ import annotations

import subprocess
import sys


def test_encoder_cost_prints_both_encoders_and_the_cache():
    command = [sys.executable, "-m", "benchmarks.measure.encoder_cost", "--steps", "6"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| env step (ValidActionDiscrete, for scale)", "| bow (dim 256)",
                                                         "| minilm (cache 8192)"]  # fmt: skip
    assert "/ 24)" in rows[-1]  # 6 steps x 4 texts looked up
