"""CandidateObservation: the state and one row per current choice, in the inner wrapper's index order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import BagOfWordsObservation, CandidateObservation, DiscreteSubgoals, ValidActionDiscrete
from sgd_gym.wrappers.candidates import encode_candidate
from sgd_gym.wrappers.observation import encode_observation


@pytest.fixture(scope="module")
def options_env():
    env = CandidateObservation(
        DiscreteSubgoals(gym.make("sgd_gym/ScienceWorldOptions-v1", task="find-living-thing"), max_subgoals=1024),
        dim=32,
        candidate_dim=16,
    )
    yield env
    env.close()


def assert_rows_follow_the_choices(env: gym.Env, obs: dict) -> None:
    choices = env.get_wrapper_attr("choices")
    mask = env.get_wrapper_attr("action_masks")()
    assert 0 < len(choices) == mask.sum() <= 1024
    assert obs["candidates"].shape == (1024, 16) and obs["candidates"].dtype == np.float32
    for row in (0, len(choices) // 2, len(choices) - 1):
        np.testing.assert_array_equal(obs["candidates"][row], encode_candidate(choices[row], 16))
    assert not obs["candidates"][len(choices) :].any()  # masked slots are zero rows
    assert obs["candidates"][: len(choices)].any(axis=1).all()  # every listed choice has words


def test_rows_are_the_current_choices_after_reset_and_step(options_env):
    raw, _ = options_env.env.reset(seed=0)
    obs, _ = options_env.reset(seed=0)  # the same start: the state is BagOfWordsObservation's vector of it
    np.testing.assert_array_equal(obs["state"], encode_observation(raw, options_env.keys, 32))
    assert_rows_follow_the_choices(options_env, obs)
    before = list(options_env.get_wrapper_attr("choices"))
    index = next(i for i, text in enumerate(before) if text.startswith("navigate_to("))
    obs, *_ = options_env.step(index)
    after = options_env.get_wrapper_attr("choices")
    assert after != before  # another room lists other choices, and the rows follow them
    assert_rows_follow_the_choices(options_env, obs)
    assert options_env.observation_space.contains(obs)


def test_the_same_text_encodes_the_same_wherever_it_is_listed():
    vector = encode_candidate("focus_on(frog)", 16)
    assert vector is encode_candidate("focus_on(frog)", 16)  # cached, and read-only so the cache stays right
    with pytest.raises(ValueError):
        vector[0] = 1.0
    assert not np.array_equal(vector, encode_candidate("focus_on(bee)", 16))


def test_refuses_an_env_without_choices_and_bad_sizes():
    flat = gym.make("sgd_gym/ScienceWorld-v1", task="find-living-thing")
    try:
        with pytest.raises(TypeError, match="Discrete action space of choices"):
            CandidateObservation(flat)
        with pytest.raises(TypeError, match="Dict observation space"):
            CandidateObservation(BagOfWordsObservation(ValidActionDiscrete(flat), dim=8))
        with pytest.raises(ValueError, match="candidate_dim must be an integer >= 1, got 0"):
            CandidateObservation(ValidActionDiscrete(flat), candidate_dim=0)
        with pytest.raises(ValueError, match=r"unknown observation keys \['room'\]"):
            CandidateObservation(ValidActionDiscrete(flat), keys=("room",))
    finally:
        flat.close()
