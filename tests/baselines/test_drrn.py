"""CandidateScoringPolicy: one logit per choice from its text, so the logits move with the choices, not the indices."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from sb3_contrib import MaskablePPO

import sgd_gym  # noqa: F401
from baselines.drrn import CandidateScoringPolicy
from sgd_gym.wrappers import CandidateObservation


def candidate_space(size: int = 6, state: int = 12, width: int = 5) -> spaces.Dict:
    return spaces.Dict(
        {"state": spaces.Box(0.0, 1.0, (state,), np.float32), "candidates": spaces.Box(0.0, 1.0, (size, width), np.float32)}
    )


def make_policy(size: int = 6) -> CandidateScoringPolicy:
    torch.manual_seed(0)
    return CandidateScoringPolicy(candidate_space(size), spaces.Discrete(size), lambda _: 3e-4, ortho_init=False)


def logits(policy: CandidateScoringPolicy, obs: dict[str, np.ndarray]) -> torch.Tensor:
    tensors, _ = policy.obs_to_tensor(obs)
    return policy.mlp_extractor.forward_actor(policy.extract_features(tensors))[0]


def test_logits_follow_the_choices_when_the_list_is_reordered():
    policy = make_policy()
    rng = np.random.default_rng(0)
    obs = {"state": rng.random(12, dtype=np.float32), "candidates": rng.random((6, 5), dtype=np.float32)}
    order = np.array([3, 0, 5, 1, 4, 2])
    shuffled = {"state": obs["state"], "candidates": obs["candidates"][order]}
    before, after = logits(policy, obs), logits(policy, shuffled)
    torch.testing.assert_close(after, before[order])  # index i of the new list scores what it names
    assert before.std() > 0  # and different texts score differently


def test_masked_choices_are_never_picked_and_values_read_the_state_only():
    policy = make_policy()
    rng = np.random.default_rng(1)
    obs = {"state": rng.random(12, dtype=np.float32), "candidates": rng.random((6, 5), dtype=np.float32)}
    mask = np.array([False, True, False, False, True, False])
    picks = {int(policy.predict(obs, action_masks=mask)[0]) for _ in range(50)}
    assert picks <= {1, 4}
    other = {"state": obs["state"], "candidates": rng.random((6, 5), dtype=np.float32)}
    values = [policy.predict_values(policy.obs_to_tensor(o)[0]).item() for o in (obs, other)]
    assert values[0] == pytest.approx(values[1])


def test_refuses_other_spaces():
    with pytest.raises(TypeError, match="CandidateObservation's Dict"):
        CandidateScoringPolicy(spaces.Box(0, 1, (4,)), spaces.Discrete(6), lambda _: 3e-4)
    with pytest.raises(TypeError, match=r"needs Discrete\(6\) actions"):
        CandidateScoringPolicy(candidate_space(6), spaces.Discrete(7), lambda _: 3e-4)


def test_maskable_ppo_trains_saves_and_loads_on_the_options_env(tmp_path):
    env = CandidateObservation(
        gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", task="find-living-thing", max_primitive_steps=20, max_subgoals=1024),
        dim=32,
        candidate_dim=16,
    )
    try:
        model = MaskablePPO(CandidateScoringPolicy, env, n_steps=32, batch_size=16, n_epochs=2, seed=0, device="cpu")
        before = [p.detach().clone() for p in model.policy.parameters()]
        model.learn(32)
        assert any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters()))  # it trained
        model.save(tmp_path / "model.zip")
        loaded = MaskablePPO.load(tmp_path / "model.zip", device="cpu")
        assert isinstance(loaded.policy, CandidateScoringPolicy)
        obs, _ = env.reset(seed=4)
        mask = env.get_wrapper_attr("action_masks")()
        picks = [m.predict(obs, action_masks=mask, deterministic=True)[0] for m in (model, loaded)]
        assert picks[0] == picks[1] and mask[picks[0]]
    finally:
        env.close()
