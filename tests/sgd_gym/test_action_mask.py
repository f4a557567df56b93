"""ActionMaskObservation: RLlib's {"action_mask", "observations"} form over the masked Discrete envs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import ActionMaskObservation, BagOfWordsObservation, CandidateObservation, DiscreteSubgoals


@pytest.fixture(scope="module")
def subgoals_env():
    options = gym.make("sgd_gym/ScienceWorldOptions-v1", task="find-living-thing", max_primitive_steps=30)
    env = ActionMaskObservation(CandidateObservation(DiscreteSubgoals(options, max_subgoals=512), dim=16, candidate_dim=8))
    yield env
    env.close()


def test_the_mask_is_the_current_choices_and_the_observation_is_the_inner_one(subgoals_env):
    obs, _ = subgoals_env.reset(seed=0)
    for _ in range(3):
        assert subgoals_env.observation_space.contains(obs)
        mask, inner = obs["action_mask"], obs["observations"]
        assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, 1.0}
        np.testing.assert_array_equal(mask, subgoals_env.get_wrapper_attr("action_masks")())  # still reachable
        assert mask.sum() == len(subgoals_env.get_wrapper_attr("choices"))
        np.testing.assert_array_equal(inner["candidates"].any(axis=1), mask.astype(bool))  # rows where the mask is 1
        choices = subgoals_env.get_wrapper_attr("choices")
        obs, *_ = subgoals_env.step(next(i for i, text in enumerate(choices) if text.startswith("navigate_to(")))


def test_it_keeps_the_inner_space_under_observations_and_rebuilds_from_its_spec():
    env = ActionMaskObservation(
        BagOfWordsObservation(gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", max_subgoals=64, max_primitive_steps=5), dim=8)
    )
    try:
        assert env.observation_space["observations"] == env.env.observation_space
        assert env.observation_space["action_mask"] == gym.spaces.Box(0.0, 1.0, (64,), np.float32)
        assert env.spec.additional_wrappers[-1].entry_point == "sgd_gym.wrappers.action_mask:ActionMaskObservation"
    finally:
        env.close()


def test_it_refuses_an_env_without_masked_choices_or_a_second_mask():
    with pytest.raises(TypeError, match="needs a masked-choice env inside.*has no 'action_masks'"):
        ActionMaskObservation(gym.make("CartPole-v1"))
    flat = BagOfWordsObservation(gym.make("sgd_gym/ScienceWorld-v1"), dim=8)
    try:
        with pytest.raises(TypeError, match="needs a Discrete action space of choices, got Text"):
            ActionMaskObservation(flat)
    finally:
        flat.close()
    env = ActionMaskObservation(BagOfWordsObservation(gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", max_subgoals=8), dim=8))
    try:
        with pytest.raises(TypeError, match="already hold 'action_mask': wrap with ActionMaskObservation once"):
            ActionMaskObservation(env)
    finally:
        env.close()
