"""The sgd command line."""

from __future__ import annotations

import subprocess
import sys


def sgd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.cli", *args], capture_output=True, text=True, timeout=600)


def test_demo_prints_a_score_table():
    done = sgd("demo", "--tasks", "find-non-living-thing,4-1", "--variations", "1")
    assert done.returncode == 0, done.stderr
    assert "| task | oracle | random |" in done.stdout
    assert "| find-non-living-thing | 100.0 |" in done.stdout and "| find-living-thing | 100.0 |" in done.stdout


def test_bad_flag_values_fail_before_any_work():
    done = sgd("demo", "--tasks", "boiling")
    assert done.returncode == 2 and "unknown task 'boiling'" in done.stderr
    done = sgd("demo", "--variations", "0")
    assert done.returncode == 2 and "expected a positive integer, got '0'" in done.stderr
    done = sgd("demo", "--split", "val")
    assert done.returncode == 2 and "invalid choice: 'val'" in done.stderr


def test_help_documents_every_flag():
    done = sgd("demo", "--help")
    for flag in ("--tasks", "--split", "--variations", "--max-steps", "--workers", "--seed"):
        assert flag in done.stdout


def test_eval_rejects_bad_agent_and_missing_checkpoint_before_any_episode(tmp_path):
    done = sgd("eval", "--agent", "genius", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "invalid choice: 'genius'" in done.stderr
    done = sgd("eval", "--agent", "flat", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "--agent flat needs --checkpoint" in done.stderr
    done = sgd("eval", "--agent", "flat", "--checkpoint", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and str(tmp_path / "nothing") in done.stderr
    assert not (tmp_path / "r").exists()
