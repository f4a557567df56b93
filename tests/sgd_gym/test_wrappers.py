"""RL-library wrappers: SB3's checker, masks, MaskablePPO through DummyVecEnv and SubprocVecEnv."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import BagOfWordsObservation, ValidActionDiscrete
from sgd_gym.wrappers.discrete import action_order
from sgd_gym.wrappers.observation import hashed_ngrams


def make_rl_env(task: str = "find-non-living-thing", max_actions: int = 512, dim: int = 64) -> gym.Env:
    """The stack SB3 users train on: Text env -> Discrete(K) with masks -> Box observations."""
    env = gym.make("sgd_gym/ScienceWorld-v0", task=task, max_episode_steps=20)
    return BagOfWordsObservation(ValidActionDiscrete(env, max_actions=max_actions), dim=dim)


@pytest.fixture(scope="module")
def rl_env():
    env = make_rl_env()
    yield env
    env.close()


def test_sb3_check_env_passes(rl_env):
    sb3_check_env(rl_env, warn=True)


def test_masks_follow_valid_actions(rl_env):
    obs, _ = rl_env.reset(seed=0)
    assert rl_env.observation_space.contains(obs) and obs.dtype == np.float32
    inner = rl_env.env  # ValidActionDiscrete
    masks = rl_env.get_wrapper_attr("action_masks")()
    assert masks.shape == (512,) and masks.sum() == len(inner.actions) > 0 and not masks.all()
    assert inner.actions == sorted(inner.actions, key=action_order)
    assert set(inner.actions) <= set(rl_env.unwrapped.valid_actions())
    assert inner.actions[0] == "inventory" or action_order(inner.actions[0])[0] == 0


@pytest.mark.parametrize("bad", ["masked", 500, -3])
def test_masked_or_out_of_range_index_is_a_noop(rl_env, bad):
    rl_env.reset(seed=0)
    inner = rl_env.env
    before = list(inner.actions)
    if bad == "masked":
        bad = int(np.flatnonzero(~inner.action_masks())[0])
    _, reward, terminated, truncated, info = rl_env.step(bad)
    assert reward == 0 and not terminated and info["valid"] is False and info["action"] == "look around"
    assert inner.actions == before


def test_valid_index_sends_that_action(rl_env):
    rl_env.reset(seed=0)
    inner = rl_env.env
    index = inner.actions.index("look around")
    _, _, _, _, info = rl_env.step(index)
    assert info["valid"] and info["action"] == "look around"


def test_hashing_is_stable_and_bounded():
    a = hashed_ngrams("open door to kitchen", 32)
    assert np.array_equal(a, hashed_ngrams("Open door, to kitchen!", 32))
    assert a.sum() == 4 + 3  # four words, three bigrams
    with pytest.raises(ValueError, match="unknown observation keys"):
        BagOfWordsObservation(gym.make("sgd_gym/ScienceWorld-v0"), keys=("smell",))


def test_maskable_ppo_learns_a_few_hundred_steps():
    vec = make_vec_env(make_rl_env, n_envs=1, seed=0)
    try:
        model = MaskablePPO("MlpPolicy", vec, n_steps=64, batch_size=32, n_epochs=2, seed=0, verbose=0)
        model.learn(total_timesteps=256)
        assert model.num_timesteps >= 256
        obs = vec.reset()
        action, _ = model.predict(obs, action_masks=get_action_masks(vec))
        assert get_action_masks(vec)[0][action[0]]
    finally:
        vec.close()


def test_maskable_ppo_through_subproc_vec_env():
    vec = make_vec_env(make_rl_env, n_envs=2, seed=0, vec_env_cls=SubprocVecEnv)
    try:
        vec.reset()
        masks = get_action_masks(vec)
        assert masks.shape == (2, 512) and masks.any(axis=1).all()
        model = MaskablePPO("MlpPolicy", vec, n_steps=32, batch_size=32, n_epochs=1, seed=0, verbose=0)
        model.learn(total_timesteps=128)
        assert model.num_timesteps >= 128
    finally:
        vec.close()


def test_multitask_draws_seeded_tasks_and_keeps_explicit_ones():
    from sgd_gym.wrappers import MultiTask

    tasks = ["find-living-thing", "find-non-living-thing", "power-component"]
    env = MultiTask(gym.make("sgd_gym/ScienceWorld-v0", split="dev"), tasks)
    try:
        drawn = [env.reset(seed=7)[1]["task_name"]] + [env.reset()[1]["task_name"] for _ in range(5)]
        again = [env.reset(seed=7)[1]["task_name"]] + [env.reset()[1]["task_name"] for _ in range(5)]
        assert drawn == again and set(drawn) <= set(tasks) and len(set(drawn)) > 1
        assert env.reset(options={"task": "boil"})[1]["task_name"] == "boil"
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown task 'boiling'"):
        MultiTask(gym.make("sgd_gym/ScienceWorld-v0"), ["boiling"])
