"""PPO baselines: one command trains (and resumes), one evaluates, on the real env with real SB3."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from baselines.ppo import CheckpointMissing, PPOAgent, PPOSettings, load_ppo, make_env
from benchmarks.protocol import evaluate, plan_episodes
from sgd_gym.io import read_jsonl
from sgd_gym.wrappers.discrete import DEFAULT_MAX_ACTIONS

TASKS = "find-living-thing,find-non-living-thing"


def sgd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.cli", *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """ppo and ppo-options checkpoints, 128 decisions each, trained through ``sgd train``."""
    root = tmp_path_factory.mktemp("ppo")
    for kind in ("ppo", "ppo-options"):
        done = sgd("train", kind, "--tasks", TASKS, "--timesteps", "128", "--envs", "1", "--episode-steps", "20",
                   "--out", str(root / kind))  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout[done.stdout.index("{") :])["timesteps"] >= 128
    return root


@pytest.mark.filterwarnings("ignore:(ValidActionDiscrete|DiscreteSubgoals). a state lists:UserWarning")  # K = 64 for speed
def test_training_env_has_the_spaces_sb3_needs():
    from stable_baselines3.common.env_checker import check_env

    for kind in ("ppo", "ppo-options"):
        env = make_env(PPOSettings(kind=kind, tasks=TASKS.split(","), max_steps=10, dim=32, max_choices=64))
        try:
            check_env(env, warn=True)
            obs, info = env.reset(seed=1)
            assert obs.shape == (4 * 32,) and info["task_name"] in TASKS.split(",")
            assert env.get_wrapper_attr("action_masks")().any()
        finally:
            env.close()


def test_trained_checkpoints_evaluate_and_resume(trained, tmp_path):
    for kind in ("ppo", "ppo-options"):
        model, settings = load_ppo(trained / kind)
        assert settings.kind == kind and (trained / kind / "tb").is_dir()
        progress = json.loads((trained / kind / "progress.json").read_text())
        assert progress["primitive_steps"] >= progress["timesteps"] >= 128  # an option takes one primitive step or more
        specs = plan_episodes(["find-living-thing"], "test", 2)
        records = evaluate(lambda kind=kind: PPOAgent.from_pretrained(trained / kind), specs, max_steps=12)
        assert all(r["error"] is None and 0 < r["steps"] <= 12 for r in records)
        again = evaluate(lambda kind=kind: PPOAgent.from_pretrained(trained / kind), specs, max_steps=12)
        assert [r["actions"] for r in again] == [r["actions"] for r in records]  # deterministic policy, seeded env
    before = json.loads((trained / "ppo" / "progress.json").read_text())["timesteps"]
    done = sgd("train", "ppo", "--tasks", TASKS, "--timesteps", str(before + 64), "--envs", "1", "--episode-steps", "20",
               "--out", str(trained / "ppo"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert before + 64 <= json.loads((trained / "ppo" / "progress.json").read_text())["timesteps"] < 2 * before + 64


def test_sgd_eval_runs_ppo_options_and_rejects_bad_checkpoints(trained, tmp_path):
    run = tmp_path / "run"
    done = sgd("eval", "--agent", "ppo-options", "--checkpoint", str(trained / "ppo-options"), "--tasks", "find-living-thing",
               "--variations", "1", "--max-steps", "10", "--name", "rl-over-options", "--out", str(run))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["agent"] == "rl-over-options"
        and "| task | rl-over-options |" in done.stdout
        and summary["parameters"] > 0
        and summary["llm_calls"] == 0
    )
    assert len(read_jsonl(run / "episodes.jsonl")) == 1
    done = sgd("eval", "--agent", "ppo", "--checkpoint", str(trained / "ppo-options"), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "holds a 'ppo-options' checkpoint; --agent ppo needs a 'ppo' one" in done.stderr
    done = sgd("eval", "--agent", "ppo", "--checkpoint", str(tmp_path / "none"), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "none: no such checkpoint folder" in done.stderr
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "settings.json").write_text((trained / "ppo" / "settings.json").read_text())
    done = sgd("eval", "--agent", "ppo", "--checkpoint", str(partial), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "model.zip: no such file" in done.stderr
    (partial / "model.zip").write_bytes(b"not a zip")
    done = sgd("eval", "--agent", "ppo", "--checkpoint", str(partial), "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and "model.zip: not a zip file" in done.stderr
    assert not (tmp_path / "x").exists()


def test_corrupt_checkpoint_is_a_clear_error(trained, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained / "ppo", broken)
    (broken / "model.zip").write_bytes(b"not a zip")
    with pytest.raises(CheckpointMissing, match="model.zip: cannot be loaded"):
        load_ppo(broken)
    (broken / "settings.json").write_text('{"kind": "dqn"}')
    with pytest.raises(CheckpointMissing, match="unknown PPO kind 'dqn'"):
        load_ppo(broken)


def test_checkpoints_without_a_listing_load_as_trained_and_refuse_another_listing(trained, tmp_path):
    """Checkpoints from before ``listing``/``order`` existed were trained on the raw list, fewest words first."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained / "ppo", old)
    saved = json.loads((old / "settings.json").read_text())
    assert (saved["listing"], saved["order"], saved["max_choices"]) == ("accepted", "tiered", DEFAULT_MAX_ACTIONS)
    del saved["listing"], saved["order"]
    (old / "settings.json").write_text(json.dumps(saved))
    agent = PPOAgent.from_pretrained(old)
    assert (agent.settings.listing, agent.settings.order, agent.listing) == ("raw", "length", "raw")
    obs = {"observation": "", "look": "", "inventory": "", "task": ""}
    with pytest.raises(ValueError, match="trained on the 'raw' action listing but the env lists 'accepted'"):
        agent.act(obs, {"valid_actions": ["look around"], "listing": "accepted"})
    with pytest.raises(ValueError, match="unknown listing 'all'"):
        PPOSettings(tasks=["boil"], listing="all")


def test_agent_actions_follow_the_wrapper_order(trained):
    """The agent encodes the state and orders the actions exactly as the training wrappers do."""
    import gymnasium as gym

    from sgd_gym.wrappers import BagOfWordsObservation, ValidActionDiscrete

    agent = PPOAgent.from_pretrained(trained / "ppo")
    settings = agent.settings
    env = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", valid_actions=True), max_actions=settings.max_choices)
    try:
        obs, info = env.reset(seed=0, options={"task": "find-living-thing", "variation": 0})
        features = BagOfWordsObservation(env, dim=settings.dim, ngram=settings.ngram, keys=settings.keys).observation(obs)
        index, _ = agent.model.predict(features, action_masks=env.action_masks(), deterministic=True)
        agent.reset(obs["task"])
        assert agent.act(obs, info) == env.actions[int(index)]
    finally:
        env.close()


def test_minilm_encoder_and_seed_are_recorded_and_eval_uses_the_encoder(tmp_path):
    out = tmp_path / "minilm"
    done = sgd("train", "ppo", "--tasks", "find-living-thing", "--encoder", "minilm", "--seed", "3", "--timesteps", "16",
               "--envs", "1", "--episode-steps", "10", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    settings = json.loads((out / "settings.json").read_text())
    summary = json.loads((out / "train_summary.json").read_text())
    progress = json.loads((out / "progress.json").read_text())
    assert settings["encoder"] == "minilm" and settings["tasks"] == ["find-living-thing"]
    assert (summary["seed"], summary["encoder"], summary["timesteps"]) == (3, "minilm", progress["timesteps"])
    assert progress["primitive_steps"] == progress["timesteps"] >= 16  # one primitive step per decision
    agent = PPOAgent.from_pretrained(out)
    assert agent.encode({"observation": "a", "look": "b", "inventory": "c", "task": "d"}).shape == (4 * 384,)
    run = tmp_path / "run"
    done = sgd("eval", "--agent", "ppo", "--checkpoint", str(out), "--tasks", "find-living-thing", "--variations", "1",
               "--max-steps", "5", "--out", str(run))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["error"] for r in read_jsonl(run / "episodes.jsonl")] == [None]
    done = sgd("train", "ppo", "--tasks", "find-living-thing", "--encoder", "bow", "--timesteps", "32", "--envs", "1",
               "--episode-steps", "10", "--out", str(out))  # fmt: skip
    assert done.returncode == 2 and "encoder" in done.stderr and "minilm" in done.stderr
    with pytest.raises(ValueError, match="unknown observation encoder 'bert'"):
        PPOSettings(tasks=["boil"], encoder="bert")


def test_checkpoints_without_an_encoder_load_and_resume_as_bag_of_words(trained, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained / "ppo", old)
    saved = json.loads((old / "settings.json").read_text())
    del saved["encoder"]
    (old / "settings.json").write_text(json.dumps(saved))
    assert PPOAgent.from_pretrained(old).settings.encoder == "bow"
    before = json.loads((old / "progress.json").read_text())["timesteps"]
    done = sgd("train", "ppo", "--tasks", TASKS, "--timesteps", str(before + 1), "--envs", "1", "--episode-steps", "20",
               "--out", str(old))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((old / "progress.json").read_text())["timesteps"] > before


def test_drrn_policy_trains_through_sgd_and_the_agent_encodes_choices_as_training_did(tmp_path):
    out = tmp_path / "drrn"
    done = sgd("train", "ppo-options", "--policy", "drrn", "--tasks", "find-living-thing", "--timesteps", "16", "--envs",
               "1", "--episode-steps", "10", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    agent = PPOAgent.from_pretrained(out)
    assert agent.settings.policy == "drrn" and type(agent.model.policy).__name__ == "CandidateScoringPolicy"
    env = make_env(agent.settings)
    try:
        raw, _ = env.env.reset(seed=5)  # the Dict of texts under CandidateObservation
        choices = list(env.get_wrapper_attr("choices"))
        index, _ = agent.model.predict(env.observation(raw), action_masks=env.get_wrapper_attr("action_masks")(),
                                       deterministic=True)  # fmt: skip
        assert agent._choose(raw, choices) == choices[int(index)]
    finally:
        env.close()
    run = tmp_path / "run"
    done = sgd("eval", "--agent", "ppo-options", "--checkpoint", str(out), "--tasks", "find-living-thing", "--variations",
               "1", "--max-steps", "5", "--out", str(run))  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert [r["error"] for r in read_jsonl(run / "episodes.jsonl")] == [None]
    done = sgd("train", "ppo", "--policy", "drrn", "--encoder", "minilm", "--tasks", "find-living-thing", "--out",
               str(tmp_path / "bad"))  # fmt: skip
    assert done.returncode == 2 and "policy 'drrn' reads hashed bags of words" in done.stderr
    with pytest.raises(ValueError, match="unknown PPO policy 'dqn'"):
        PPOSettings(tasks=["boil"], policy="dqn")


@pytest.mark.filterwarnings("ignore:(ValidActionDiscrete|DiscreteSubgoals). a state lists:UserWarning")
def test_warm_start_clones_gold_paths_before_ppo_and_a_resume_must_ask_for_the_same(tmp_path):
    out = tmp_path / "warm"
    command = ["train", "ppo-options", "--policy", "drrn", "--tasks", "find-living-thing,find-plant", "--timesteps", "16",
               "--envs", "1", "--episode-steps", "30", "--warm-start", "2", "--out", str(out)]  # fmt: skip
    done = sgd(*command)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((out / "warm_start.json").read_text())
    assert record["variations_per_task"] == 2 and record["episodes"] == 4 and record["mean_score"] == 100
    assert record["decisions"] > 0 and record["accuracy"] > 0.5 and record["epochs"] == 200
    assert json.loads(done.stdout[done.stdout.index("{") :])["warm_start"] == 2
    assert list((out / "tb" / "warm_start").glob("events.out.tfevents.*"))
    again = sgd(*command[:-4], "--warm-start", "0", "--out", str(out))  # resuming a cloned run without the clone
    assert again.returncode != 0 and "warm-started from 2 variations per task, not --warm-start 0" in again.stderr
    bad = sgd(*command[:-4], "--warm-start", "-1", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "expected an integer >= 0, got '-1'" in bad.stderr
