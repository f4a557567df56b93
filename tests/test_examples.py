"""The examples run as written: a micro run of each (a few hundred primitive steps), with its TensorBoard scalars."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("script", ["ppo_options.py", "rllib_ppo.py"])
def test_every_flag_of_the_examples_explains_itself_in_help(script, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"example_{script[:-3]}", ROOT / "examples" / script)
    example = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, example)  # dataclasses look their module up
    spec.loader.exec_module(example)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--help"], capture_output=True, text=True,
                          env={**ENVIRONMENT, "COLUMNS": "1000"}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    shown = " ".join(done.stdout.split())
    for field in dataclasses.fields(example.Args):
        explained = f"--{field.name.replace('_', '-')} "
        assert explained in shown and f"{' '.join(field.metadata['help'].split())} (default: {field.default})" in shown


def test_ppo_options_example_trains_evaluates_and_logs(tmp_path):
    command = [sys.executable, str(ROOT / "examples" / "ppo_options.py"), "--primitive-steps", "200", "--envs", "1",
               "--n-steps", "16", "--batch-size", "16", "--eval-every", "100", "--test-episodes", "2", "--episode-steps",
               "20", "--bc-variations", "2", "--bc-epochs", "20", "--logdir", str(tmp_path)]  # fmt: skip
    environment = ENVIRONMENT
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "find-living-thing, options (mlp, bow), seed 0: test score" in done.stdout and "vs random" in done.stdout
    (run,) = [path for path in tmp_path.iterdir() if path.name.startswith("find-living-thing__options__mlp__bow__0__")]
    results = json.loads((run / "results.json").read_text())
    assert results["primitive_steps"] >= 200 > results["decisions"] and results["test_variations"] == [0, 74]  # spread
    assert [point["primitive_steps"] for point in results["curve"]][-1] == results["primitive_steps"]
    assert len(results["curve"]) >= 3 and 0 <= results["test_score"] <= 100 and 0 <= results["random_score"] <= 100
    assert results["states_cut"] == 0 and "warning" not in done.stdout  # K = 1024 holds every sub-goal here
    warm = results["warm_start"]  # the gold paths of train variations 0 and 149, replayed and cloned first
    assert warm["variations"] == [0, 149] and warm["mean_score"] == 100 and warm["decisions"] > 0 and warm["epochs"] == 20
    assert "warm start: " in done.stdout and 0 <= warm["accuracy"] <= 1 and warm["collect_seconds"] > 0 < warm["seconds"]

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ours = EventAccumulator(str(run)).Reload().Tags()["scalars"]
    assert {"eval/test_score", "eval/random_score", "rollout/episode_score", "rollout/primitive_steps",
            "warm_start/loss", "warm_start/accuracy"} <= set(ours)  # fmt: skip
    (sb3,) = [path for path in (run / "sb3").rglob("events.out.tfevents.*")]
    assert "train/loss" in EventAccumulator(str(sb3)).Reload().Tags()["scalars"]

    minilm = [*command[:2], "--action-space", "primitive", "--encoder", "minilm", "--primitive-steps", "40", "--envs", "1",
              "--n-steps", "16", "--batch-size", "16", "--eval-every", "1000", "--test-episodes", "1", "--episode-steps",
              "10", "--logdir", str(tmp_path / "minilm")]  # fmt: skip
    done = subprocess.run(minilm, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = [json.loads(path.read_text()) for path in (tmp_path / "minilm").rglob("results.json")]
    assert results["warm_start"] is None  # --bc-variations 0 by default
    (cache,) = results["encoder_cache"]
    assert results["primitive_steps"] == results["decisions"] >= 40 and cache["misses"] > 0 and cache["hits"] > 0

    drrn = [*command[:2], "--action-space", "primitive", "--policy", "drrn", "--primitive-steps", "40", "--envs", "1",
            "--n-steps", "16", "--batch-size", "16", "--eval-every", "1000", "--test-episodes", "1", "--episode-steps",
            "10", "--test-variations", "first", "--max-choices", "8", "--logdir", str(tmp_path / "drrn")]  # fmt: skip
    done = subprocess.run(drrn, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "find-living-thing, primitive (drrn, bow), seed 0: test score" in done.stdout
    (results,) = [json.loads(path.read_text()) for path in (tmp_path / "drrn").rglob("results.json")]
    assert results["primitive_steps"] == results["decisions"] >= 40 and results["test_variations"] == [0]
    assert results["states_cut"] > 0 and "training states listed more than --max-choices 8" in done.stdout  # counted

    plot = [sys.executable, str(ROOT / "examples" / "plot_curves.py"), *map(str, tmp_path.rglob("results.json")),
            "--out", str(tmp_path / "curves.png")]  # fmt: skip
    done = subprocess.run(plot, capture_output=True, text=True, timeout=300, env=environment)
    assert done.returncode == 0 and (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG", done.stderr[-3000:]

    for bad, message in ((["--action-space", "macro"], "--action-space: invalid choice: 'macro'"),
                         (["--policy", "drrn", "--encoder", "minilm"], "--policy drrn reads the bag of words: --encoder bow"),
                         (["--test-variations", "last"], "--test-variations: invalid choice: 'last'"),
                         (["--bc-variations", "-3", "--envs", "0"], "--bc-variations must be >= 0, got -3; --envs, "
                          "--n-steps and --batch-size must be >= 1, got 0, 128")):  # fmt: skip
        done = subprocess.run([*command[:2], *bad], capture_output=True, text=True, env=environment)
        assert done.returncode == 2 and message in done.stderr, done.stderr


@pytest.mark.slow
def test_rllib_ppo_example_trains_on_ray_evaluates_and_its_checkpoint_runs_under_sgd_eval(tmp_path):
    command = [sys.executable, str(ROOT / "examples" / "rllib_ppo.py"), "--primitive-steps", "150", "--num-env-runners", "1",
               "--train-batch-size", "48", "--minibatch-size", "24", "--eval-every", "100", "--test-episodes", "2",
               "--episode-steps", "20", "--bc-variations", "2", "--bc-epochs", "10", "--logdir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=ENVIRONMENT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "find-living-thing, options (RLlib PPO, drrn, 1 env runners), seed 0: test score" in done.stdout
    (run,) = [path for path in tmp_path.iterdir() if path.name.startswith("find-living-thing__options__rllib__0__")]
    results = json.loads((run / "results.json").read_text())  # the SB3 example's form, and RLlib's counts
    assert results["args"]["num_env_runners"] == 1 and results["test_variations"] == [0, 74]
    assert results["primitive_steps"] >= 150 > results["decisions"] >= 48 and results["masked_choices_taken"] == 0
    curve = results["curve"]
    assert curve[0]["primitive_steps"] == 0 and curve[-1]["primitive_steps"] == results["primitive_steps"] and len(curve) >= 3
    assert curve[-1]["test_score"] == results["test_score"] and 0 <= results["random_score"] <= 100
    warm = results["warm_start"]
    assert warm["variations"] == [0, 149] and warm["mean_score"] == 100 and warm["epochs"] == 10 and "warm start: " in done.stdout

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set(EventAccumulator(str(run)).Reload().Tags()["scalars"])
    assert {"eval/test_score", "eval/random_score", "rollout/primitive_steps", "losses/policy_loss", "losses/vf_loss",
            "charts/primitive_steps_per_second", "warm_start/loss", "warm_start/accuracy"} <= tags  # fmt: skip

    sgd = [sys.executable, "-m", "benchmarks.cli", "eval", "--checkpoint", results["checkpoint"], "--tasks", "find-living-thing"]
    done = subprocess.run([*sgd, "--agent", "rllib-ppo-options", "--variations", "1", "--max-steps", "10", "--out",
                           str(tmp_path / "eval")], capture_output=True, text=True, timeout=600, env=ENVIRONMENT)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["episodes"] == 1 and summary["parameters"] > 0 and summary["agent_settings"]["agent"] == "rllib-ppo-options"
    done = subprocess.run([*sgd, "--agent", "rllib-ppo", "--out", str(tmp_path / "x")], capture_output=True, text=True,
                          env=ENVIRONMENT)  # fmt: skip
    assert done.returncode == 2 and "holds a 'rllib-ppo-options' checkpoint; --agent rllib-ppo needs a 'rllib-ppo' one" in (
        done.stderr
    )

    for bad, message in ((["--action-space", "macro"], "--action-space: invalid choice: 'macro'"),
                         (["--num-env-runners", "-1"], "--num-env-runners must be >= 0 and --train-batch-size, "
                                                       "--minibatch-size >= 1, got -1, 256, 64"),
                         (["--eval-every", "0"], "--eval-every must be >= 1, got 0")):  # fmt: skip
        done = subprocess.run([*command[:2], *bad], capture_output=True, text=True, env=ENVIRONMENT)
        assert done.returncode == 2 and message in done.stderr, done.stderr
