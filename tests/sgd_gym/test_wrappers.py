"""RL-library wrappers: SB3's checker, masks, order, the cut at K, MaskablePPO through DummyVecEnv and SubprocVecEnv."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import SubprocVecEnv

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import BagOfWordsObservation, ValidActionDiscrete, order_actions
from sgd_gym.wrappers.discrete import action_order, action_tier
from sgd_gym.wrappers.observation import hashed_ngrams

# These tests use K = 512 for speed; the cut it makes in some states is tested (and warned about) below.
pytestmark = pytest.mark.filterwarnings("ignore:ValidActionDiscrete. a state lists:UserWarning")


def make_rl_env(task: str = "find-non-living-thing", max_actions: int = 512, dim: int = 64) -> gym.Env:
    """The stack SB3 users train on: Text env -> Discrete(K) with masks -> Box observations."""
    env = gym.make("sgd_gym/ScienceWorld-v1", task=task, max_episode_steps=20)
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
    assert inner.actions == order_actions(rl_env.unwrapped.accepted_actions())
    assert set(inner.actions) <= set(rl_env.unwrapped.valid_actions())
    tiers = [action_tier(action) for action in inner.actions]
    assert tiers == sorted(tiers) and inner.actions[0] == "inventory"


def test_tiered_and_length_orders():
    actions = ["move metal pot to stove", "focus on substance in metal pot", "look around", "reset task",
               "pick up metal pot", "0", "wait1", "connect battery cathode to orange wire terminal 1",
               "use thermometer on water", "go to kitchen"]  # fmt: skip
    assert order_actions(actions) == [
        "0", "wait1", "look around",  # commands without objects (and the answers of an ambiguity prompt)
        "focus on substance in metal pot",
        "go to kitchen", "pick up metal pot",  # one object
        "use thermometer on water", "move metal pot to stove", "connect battery cathode to orange wire terminal 1",
        "reset task",
    ]  # fmt: skip
    assert order_actions(actions, "length") == sorted(actions, key=action_order)
    with pytest.raises(ValueError, match="unknown action order 'random'"):
        order_actions(actions, "random")
    with pytest.raises(ValueError, match="unknown action order 'random'"):
        ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1"), order="random")
    with pytest.raises(ValueError, match="max_actions must be an integer >= 1"):
        ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1"), max_actions=0)


def test_default_k_keeps_every_action_and_a_cut_is_counted_and_warned_once():
    env = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0, max_episode_steps=20))
    try:
        _, info = env.reset()
        env.step(env.actions.index("go to kitchen"))
        _, info = env.reset()
        assert info["dropped_actions"] == 0 and env.actions == order_actions(env.unwrapped.accepted_actions())
    finally:
        env.close()
    small = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task="boil", variation=0, max_episode_steps=20), 16)
    try:
        with pytest.warns(UserWarning, match=r"lists \d+ valid actions but Discrete\(16\) holds 16: \d+ are not offered"):
            _, info = small.reset()
        listed = len(small.unwrapped.accepted_actions())
        assert info["dropped_actions"] == listed - 16 > 0 and len(small.actions) == 16
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once is enough
            _, _, _, _, info = small.step(small.actions.index("look around"))
            small.reset()
        assert info["dropped_actions"] == listed - 16
    finally:
        small.close()


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


@pytest.mark.parametrize("bad", [2.5, 3.0, "3", True, np.array([1]), None])
def test_non_integer_actions_are_refused(rl_env, bad):
    rl_env.reset(seed=0)
    with pytest.raises(TypeError, match="must be an integer index"):
        rl_env.step(bad)
    index = rl_env.env.actions.index("look around")
    for good in (np.int64(index), np.array(index)):  # what SB3 and Gymnasium's Discrete.sample() send
        _, _, _, _, info = rl_env.step(good)
        assert info["valid"] and info["action"] == "look around"


def test_hashing_is_stable_and_bounded():
    a = hashed_ngrams("open door to kitchen", 32)
    assert np.array_equal(a, hashed_ngrams("Open door, to kitchen!", 32))
    assert a.sum() == 4 + 3  # four words, three bigrams
    with pytest.raises(ValueError, match="unknown observation keys"):
        BagOfWordsObservation(gym.make("sgd_gym/ScienceWorld-v1"), keys=("smell",))


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
    env = MultiTask(gym.make("sgd_gym/ScienceWorld-v1", split="dev"), tasks)
    try:
        drawn = [env.reset(seed=7)[1]["task_name"]] + [env.reset()[1]["task_name"] for _ in range(5)]
        again = [env.reset(seed=7)[1]["task_name"]] + [env.reset()[1]["task_name"] for _ in range(5)]
        assert drawn == again and set(drawn) <= set(tasks) and len(set(drawn)) > 1
        assert env.reset(options={"task": "boil"})[1]["task_name"] == "boil"
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown task 'boiling'"):
        MultiTask(gym.make("sgd_gym/ScienceWorld-v1"), ["boiling"])
