"""Random and oracle baselines on the real env."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agents import Agent
from baselines import OracleAgent, RandomAgent
from benchmarks.protocol import EpisodeSpec, run_episode


@pytest.fixture(scope="module")
def env():
    env = gym.make("sgd_gym/ScienceWorld-v1", split="test", valid_actions=True, max_episode_steps=100)
    yield env
    env.close()


def test_agents_follow_the_protocol():
    assert isinstance(OracleAgent(), Agent) and isinstance(RandomAgent(), Agent)


def test_oracle_solves_short_tasks(env):
    for task in ("find-living-thing", "chemistry-mix"):
        record = run_episode(OracleAgent(), env, EpisodeSpec(task, "test", 1, seed=0))
        assert record["score"] == 100 and record["error"] is None and 0 < record["steps"] <= 100


def test_random_agent_is_seeded_and_acts_validly(env):
    spec = EpisodeSpec("boil", "test", 0, seed=5)
    first = run_episode(RandomAgent(seed=1), env, spec, max_steps=15)
    second = run_episode(RandomAgent(seed=99), env, spec, max_steps=15)  # re-seeded per episode
    assert first["actions"] == second["actions"] and first["score"] == second["score"]
    other = run_episode(RandomAgent(), env, EpisodeSpec("boil", "test", 0, seed=6), max_steps=15)
    assert other["actions"] != first["actions"]
    env.reset(seed=5, options={"task": "boil", "variation": 0})
    assert first["actions"][0] in env.unwrapped.valid_actions()


def test_evaluation_env_lists_what_the_agent_declares():
    from benchmarks.protocol import make_eval_env

    for agent, listing in ((RandomAgent(), "raw"), (RandomAgent(listing="accepted"), "accepted"), (OracleAgent(), None)):
        env = make_eval_env(agent, "test", 10)
        try:
            _, info = env.reset(seed=0, options={"task": "chemistry-mix", "variation": 0})
            assert info.get("listing") == listing
            if listing is not None:
                expected = env.unwrapped.accepted_actions() if listing == "accepted" else env.unwrapped.valid_actions()
                assert info["valid_actions"] == expected
        finally:
            env.close()
    with pytest.raises(ValueError, match="unknown listing"):
        RandomAgent(listing="clean")


def test_random_agent_needs_valid_actions():
    with pytest.raises(KeyError, match="valid_actions=True"):
        RandomAgent().act({}, {})
