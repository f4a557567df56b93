"""RLlib PPO (new API stack): the masking, choice-scoring RLModule, a micro run with 2 env runners on a local Ray, and
its checkpoint."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch
import tree
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchCategorical
from ray.rllib.utils.torch_utils import FLOAT_MIN

from baselines.ppo import PPOSettings
from baselines.rllib_drrn import CandidateScoringRLModule
from baselines.rllib_ppo import env_creator, load_rllib_module, ppo_config, rllib_kind, save_checkpoint

SIZE, STATE, WIDTH = 8, 12, 6
# K = 128 cuts some states of the micro run's env (counted and warned once, tested elsewhere): small tensors, fast updates
pytestmark = pytest.mark.filterwarnings("ignore:DiscreteSubgoals. a state lists:UserWarning")
SETTINGS = PPOSettings(kind="ppo-options", tasks=["find-living-thing"], max_steps=20, max_choices=128, dim=32, candidate_dim=16,
                       policy="drrn")  # fmt: skip


def spaces(size: int = SIZE) -> tuple[gym.spaces.Dict, gym.spaces.Discrete]:
    inner = gym.spaces.Dict({"state": gym.spaces.Box(0, 1, (STATE,), np.float32),
                             "candidates": gym.spaces.Box(0, 1, (size, WIDTH), np.float32)})  # fmt: skip
    mask = gym.spaces.Box(0, 1, (size,), np.float32)
    return gym.spaces.Dict({"action_mask": mask, "observations": inner}), gym.spaces.Discrete(size)


def make_module(**model_config) -> CandidateScoringRLModule:
    observation_space, action_space = spaces()
    return CandidateScoringRLModule(observation_space=observation_space, action_space=action_space, model_config=model_config)


def batch(rows: int = 5, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    mask = np.zeros((rows, SIZE), dtype=np.float32)
    for row in range(rows):
        mask[row, rng.choice(SIZE, size=row % 3 + 1, replace=False)] = 1.0  # one to three choices open
    inner = {"state": rng.random((rows, STATE), dtype=np.float32), "candidates": rng.random((rows, SIZE, WIDTH), np.float32)}
    return {"action_mask": mask, "observations": inner}


def test_masked_choices_get_no_probability_when_sampling_nor_in_the_greedy_action():
    module, observations = make_module(), batch(rows=6)
    with torch.no_grad():  # make a masked choice the best-scored one in every row: the mask must still win
        module.scorer.candidate_net[-1].bias.fill_(0.0)
        module.scorer.candidate_net[-1].weight.mul_(100.0)
    tensors = {Columns.OBS: tree.map_structure(torch.as_tensor, observations)}
    mask = observations["action_mask"].astype(bool)
    for forward in (module.forward_exploration, module.forward_inference, module.forward_train):
        logits = forward(tensors)[Columns.ACTION_DIST_INPUTS].detach()
        assert logits.shape == (6, SIZE) and (logits[~mask] == FLOAT_MIN).all() and (logits[mask] > FLOAT_MIN).all()
        distribution = TorchCategorical(logits=logits)
        samples = torch.stack([distribution.sample() for _ in range(300)]).numpy()  # (300, 6)
        assert mask[np.arange(6), samples].all()
        assert torch.allclose(distribution.to_deterministic().sample(), logits.argmax(dim=1))
        assert np.exp(distribution.logp(torch.as_tensor(np.argmin(mask, axis=1))).numpy()).max() == 0.0  # a masked one
    greedy = module.greedy_actions(observations)
    assert mask[np.arange(6), greedy].all()
    values = module.compute_values(tensors)
    assert values.shape == (6,)


def test_the_network_is_the_sb3_drrn_policy_and_takes_its_weights():
    from sb3_contrib import MaskablePPO

    from baselines.drrn import CandidateScoringPolicy

    class Spaces(gym.Env):
        observation_space = spaces()[0]["observations"]
        action_space = spaces()[1]

    sb3 = MaskablePPO(CandidateScoringPolicy, Spaces(), n_steps=8, batch_size=8, device="cpu", seed=1).policy
    module, observations = make_module(), batch()
    module.load_sb3_policy(sb3)
    obs, _ = sb3.obs_to_tensor(observations["observations"])
    mask = observations["action_mask"].astype(bool)
    with torch.no_grad():
        probabilities = sb3.get_distribution(obs, action_masks=mask).distribution.probs.numpy()
        sb3_values = sb3.predict_values(obs).squeeze(-1).numpy()
        tensors = {Columns.OBS: {"action_mask": torch.as_tensor(observations["action_mask"]), "observations": obs}}
        logits = module.forward_inference(tensors)[Columns.ACTION_DIST_INPUTS]
        np.testing.assert_allclose(torch.softmax(logits, dim=1).numpy(), probabilities, atol=1e-6)
        np.testing.assert_allclose(module.compute_values(tensors).numpy(), sb3_values, atol=1e-5)
    assert sum(p.numel() for p in module.parameters()) == sum(p.numel() for p in sb3.parameters())


def test_the_module_refuses_other_spaces_and_settings():
    observation_space, action_space = spaces()
    with pytest.raises(TypeError, match=r"reads Dict\(action_mask=Box\(K,\), observations=.*got Box"):
        CandidateScoringRLModule(observation_space=observation_space["observations"]["state"], action_space=action_space)
    with pytest.raises(TypeError, match=r"needs Discrete\(8\) actions \(one per candidate row\), got Discrete\(9\)"):
        CandidateScoringRLModule(observation_space=observation_space, action_space=gym.spaces.Discrete(9))
    with pytest.raises(ValueError, match="activation one of \\['tanh', 'relu'\\].*got 'gelu'"):
        make_module(activation="gelu")
    with pytest.raises(ValueError, match="scores choices by their text: PPOSettings\\(policy='drrn'\\), got policy 'mlp'"):
        ppo_config(dataclasses.replace(SETTINGS, policy="mlp"))


@pytest.fixture(scope="module")
def micro_run():
    """PPO on find-living-thing over options: 2 env runners on a local Ray, 2 updates of 96 decisions."""
    import ray

    from benchmarks.ray_backend import ensure_ray

    ensure_ray(2)
    algo = ppo_config(SETTINGS, num_env_runners=2, train_batch_size=96, minibatch_size=48, seed=3).build_algo()
    results = [algo.train() for _ in range(2)]
    yield algo, results
    algo.stop()
    ray.shutdown()


def test_a_micro_run_with_two_env_runners_never_takes_a_masked_choice(micro_run):
    algo, results = micro_run
    sampled = results[-1]["env_runners"]
    assert algo.config.num_env_runners == 2 and sampled["num_env_steps_sampled_lifetime"] >= 192
    assert sampled["steps_checked"] == sampled["num_env_steps_sampled_lifetime"]  # every sampled step was checked...
    assert sampled["masked_choices_taken"] == 0  # ...against the mask of the state it was taken in
    assert sampled["primitive_steps"] > sampled["steps_checked"]  # options take several primitive steps
    assert results[-1]["learners"]["default_policy"]["num_module_steps_trained_lifetime"] > 0


def test_a_checkpoint_restores_the_same_greedy_actions(micro_run, tmp_path):
    algo, _ = micro_run
    save_checkpoint(algo, SETTINGS, tmp_path / "checkpoint")
    restored, settings = load_rllib_module(tmp_path / "checkpoint")
    assert settings == SETTINGS and rllib_kind(tmp_path / "checkpoint")[0] == "rllib-ppo-options"
    env = env_creator({"settings": dataclasses.asdict(SETTINGS)})
    try:
        observations = []
        for seed in range(3):  # three variations, a few states each
            obs, _ = env.reset(seed=seed)
            for _ in range(3):
                observations.append(obs)
                obs, *_ = env.step(int(np.flatnonzero(obs["action_mask"])[0]))
    finally:
        env.close()
    stacked = tree.map_structure(lambda *rows: np.stack(rows), *observations)
    trained = algo.get_module()  # the driver's copy, synced with the learner after each update
    np.testing.assert_array_equal(restored.greedy_actions(stacked), trained.greedy_actions(stacked))
    assert stacked["action_mask"][np.arange(len(observations)), restored.greedy_actions(stacked)].all()


def test_the_agent_of_a_checkpoint_refuses_another_listing_and_a_partial_checkpoint_is_a_clear_error(micro_run, tmp_path):
    from baselines.ppo import CheckpointMissing
    from baselines.rllib_ppo import RLlibPPOAgent
    from benchmarks.registry import read_checkpoint

    algo, _ = micro_run
    checkpoint = save_checkpoint(algo, SETTINGS, tmp_path / "checkpoint")
    agent = RLlibPPOAgent.from_pretrained(checkpoint)
    assert agent.listing == "accepted" and read_checkpoint(str(checkpoint))[0] == "rllib-ppo-options"
    obs = {"observation": "", "look": "You are in the kitchen.", "inventory": "", "task": ""}
    with pytest.raises(ValueError, match="trained on the 'accepted' action listing but the env lists 'raw'"):
        agent.act(obs, {"valid_actions": ["look around"], "listing": "raw"})
    (checkpoint / "settings.json").unlink()
    with pytest.raises(CheckpointMissing, match="settings.json: no such file"):
        read_checkpoint(str(checkpoint))
    with pytest.raises(ValueError, match="not a checkpoint: .* nor an RLlib PPO checkpoint"):
        read_checkpoint(str(tmp_path))


def test_a_start_from_sb3_weights_reaches_the_learner_and_every_env_runner(micro_run):
    """The warm start's path: a ``CandidateScoringPolicy`` (here untrained, seeded) into the module everywhere."""
    from sb3_contrib import MaskablePPO

    from baselines.drrn import CandidateScoringPolicy
    from baselines.ppo import make_env
    from baselines.rllib_ppo import start_from_sb3_policy

    algo, _ = micro_run
    env = make_env(SETTINGS)
    try:
        policy = MaskablePPO(CandidateScoringPolicy, env, device="cpu", seed=5).policy
    finally:
        env.close()
    start_from_sb3_policy(algo, policy)
    expected = policy.value_net.weight.detach().numpy()
    value_head = lambda module: module.value_head.weight.detach().numpy()  # noqa: E731
    remote = algo.env_runner_group.foreach_env_runner(lambda runner: value_head(runner.module), local_env_runner=False)
    learner = [one.get() for one in algo.learner_group.foreach_learner(lambda each: value_head(each.module["default_policy"]))]
    assert len(remote) == 2 and len(learner) == 1
    for weights in (*remote, *learner, value_head(algo.get_module())):
        np.testing.assert_array_equal(weights, expected)
