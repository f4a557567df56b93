"""The RL study runs its grid through the example script, resumes, and tabulates and plots what finished."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_micro_study_runs_both_action_spaces_resumes_and_reports(tmp_path):
    logdir, out, results_md = tmp_path / "runs", tmp_path / "out", tmp_path / "RESULTS.md"
    command = [sys.executable, "-m", "benchmarks.measure.rl_study", "--logdir", str(logdir), "--tasks", "find-living-thing",
               "--seeds", "0", "--primitive-steps", "30", "--eval-every", "1000", "--run", "--out", str(out),
               "--results-md", str(results_md), "--", "--envs", "1", "--n-steps", "16", "--batch-size", "16",
               "--test-episodes", "2", "--episode-steps", "10"]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = sorted(path.parent.name for path in logdir.rglob("results.json"))
    assert [name.split("__")[:5] for name in runs] == [
        ["find-living-thing", "options", "drrn", "bow", "0"],
        ["find-living-thing", "primitive", "drrn", "bow", "0"],
    ]
    study = json.loads((out / "study.json").read_text())
    for space in ("options", "primitive"):
        cell = study["cells"][f"find-living-thing/{space}"]
        assert cell["seeds"] == [0] and cell["episodes"] == 2 and cell["test_variations"] == [0, 74]
        assert cell["primitive_steps"] >= 30 and 0 <= cell["mean"] <= 100 and cell["std"] == 0
        assert cell["max_choices"] == [1024] and cell["states_cut"] == 0
    table = results_md.read_text()
    assert "<!-- rl_study:start -->" in table and "| find-living-thing | primitive | 0 | 1 |" in table
    assert table.count("| 1,024 | 0 | **") == 0 and table.count("| 1024 | 0 | **") == 2  # K and states cut
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"

    again = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=environment)
    assert again.returncode == 0 and "rl study:" not in again.stdout  # nothing left to train
    assert sorted(path.parent.name for path in logdir.rglob("results.json")) == runs

    older = next(logdir.glob("find-living-thing__options__*/results.json"))  # a run from before states were counted
    older.write_text(json.dumps({key: value for key, value in json.loads(older.read_text()).items() if key != "states_cut"}))
    again = subprocess.run([*command[:3], "--section", "rl_study_older", *command[3:]], capture_output=True, text=True,
                           timeout=300, cwd=ROOT, env=environment)  # fmt: skip
    older_table = results_md.read_text().split("<!-- rl_study_older:start -->")[1]
    assert again.returncode == 0 and "| 1024 | n/r | **" in older_table and "<!-- rl_study:start -->" in table

    other = [*command[: command.index("--primitive-steps") + 1], "60", *command[command.index("--primitive-steps") + 2 :]]
    done = subprocess.run(other, capture_output=True, text=True, timeout=300, cwd=ROOT, env=environment)
    assert done.returncode == 2 and "was trained for 30 primitive steps, not --primitive-steps 60" in done.stderr

    done = subprocess.run([*command[:3], "--logdir", str(tmp_path / "empty")], capture_output=True, text=True, env=environment)
    assert done.returncode == 2 and "no finished run of the grid" in done.stderr


def test_wall_time_counts_the_warm_start_where_recorded():
    from benchmarks.measure.rl_study import warm_start_seconds

    assert warm_start_seconds({"warm_start": {"seconds": 1.5, "collect_seconds": 2.0}}) == 3.5
    assert warm_start_seconds({"warm_start": {"seconds": 1.5}}) == 1.5  # runs before the replay time was recorded
    assert warm_start_seconds({"warm_start": None}) == warm_start_seconds({}) == 0.0


def test_an_rllib_study_runs_its_example_keeps_the_runs_and_compares_with_the_sb3_study(tmp_path):
    logdir, out, results_md = tmp_path / "runs", tmp_path / "out", tmp_path / "RESULTS.md"
    command = [sys.executable, "-m", "benchmarks.measure.rl_study", "--library", "rllib", "--action-spaces", "options",
               "--logdir", str(logdir), "--tasks", "find-living-thing", "--seeds", "0", "--primitive-steps", "40",
               "--eval-every", "1000", "--run", "--out", str(out), "--results-md", str(results_md), "--section", "rllib",
               "--compare", str(ROOT / "benchmarks" / "results" / "rl-study" / "study.json"), "--", "--num-env-runners", "1",
               "--train-batch-size", "32", "--minibatch-size", "16", "--test-episodes", "1", "--episode-steps", "10"]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1200, cwd=ROOT, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    cell = json.loads((out / "study.json").read_text())["cells"]["find-living-thing/options"]
    assert cell["num_env_runners"] == [1] and cell["masked_choices_taken"] == 0 and cell["primitive_steps_per_second"] > 0
    assert cell["primitive_steps"] >= 40 and cell["training_episodes"] > 0  # one TensorBoard event per training episode
    kept = json.loads((out / "runs" / "find-living-thing__options__rllib__0.json").read_text())
    assert kept["args"]["library"] == "rllib" and (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    table = results_md.read_text()
    assert "## RL study: RLlib PPO (new API stack) over options" in table and "RLlib PPO vs MaskablePPO (SB3)" in table
    assert "| find-living-thing | options | 0 | **" in table.split("RLlib PPO vs MaskablePPO (SB3)")[1]
    assert "find-living-thing | primitive" not in table  # only the cells both ran
