"""``CandidateScoringRLModule``: RLlib's (new API stack) counterpart of ``baselines.drrn.CandidateScoringPolicy``.

The same DRRN-style network (He et al. 2016: a state network and a choice network whose outputs meet in an inner
product, the value read from the state alone), as a ``TorchRLModule`` for RLlib's PPO, with the action masking of
RLlib's own example (``ray.rllib.examples.rl_modules.classes.action_masking_rlm``): the env gives the mask inside
the observation (``sgd_gym.wrappers.ActionMaskObservation``) and every masked choice's logit is set to the lowest
float, so it gets no probability when sampling (exploration), in the greedy action (inference) and in the loss.

The network is ``baselines.drrn.CandidateScorer`` itself, with SB3's initialisation, so weights move between the
two libraries: ``load_sb3_policy`` copies a ``CandidateScoringPolicy`` into this module (the behaviour-cloned start
of ``baselines/warm_start.py``).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch
import tree  # dm_tree, RLlib's dependency: maps over nested observations
from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.torch_utils import FLOAT_MIN
from torch import nn

from baselines.drrn import CandidateScorer, check_candidate_space, start_near_uniform
from sgd_gym.wrappers.action_mask import MASK_KEY, OBSERVATIONS_KEY

DEFAULT_HIDDEN = (64, 64)  # SB3's default net_arch for PPO, so the two libraries train the same network
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def check_masked_candidate_space(observation_space: spaces.Space, action_space: spaces.Space) -> tuple[int, tuple[int, int]]:
    """``(S, (K, C))`` of ``ActionMaskObservation(CandidateObservation(...))``'s space with ``Discrete(K)`` actions.

    Raises:
        TypeError: another observation space (naming what is expected), or an action space other than ``Discrete(K)``.
    """
    if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {MASK_KEY, OBSERVATIONS_KEY}:
        raise TypeError(
            f"CandidateScoringRLModule reads Dict({MASK_KEY}=Box(K,), {OBSERVATIONS_KEY}=Dict(state=Box(S,), "
            f"candidates=Box(K, C))): ActionMaskObservation(CandidateObservation(...)), got {observation_space}"
        )
    state, (size, width) = check_candidate_space(observation_space[OBSERVATIONS_KEY])
    if not isinstance(action_space, spaces.Discrete) or int(action_space.n) != size:
        raise TypeError(f"CandidateScoringRLModule needs Discrete({size}) actions (one per candidate row), got {action_space}")
    if observation_space[MASK_KEY].shape != (size,):
        raise TypeError(f"the action mask must have shape ({size},), one per candidate row, got {observation_space[MASK_KEY]}")
    return state, (size, width)


class CandidateScoringRLModule(TorchRLModule, ValueFunctionAPI):
    """Masked DRRN-style scoring of the current choices, for RLlib's PPO (see the module docstring).

    Input: ``batch[Columns.OBS]`` = ``{"action_mask": (B, K), "observations": {"state": (B, S), "candidates": (B, K, C)}}``.
    Output of every forward pass: ``Columns.ACTION_DIST_INPUTS``, the ``(B, K)`` logits ``<f(state), g(candidate_k)>``,
    ``FLOAT_MIN`` where the mask is 0 (RLlib's default ``TorchCategorical`` then gives those choices probability 0, and
    its greedy ``argmax`` never picks one while any choice is unmasked). ``compute_values``: ``(B,)`` values of the
    state alone.

    ``model_config``: ``hidden`` (widths of the state, choice and value networks, default ``(64, 64)``) and
    ``activation`` (``"tanh"``, SB3's default, or ``"relu"``). Weights start as SB3 starts them (orthogonal, gain
    sqrt(2) in the hidden layers, 1 for the value head, 0.01 for the choice network's last layer).

    Raises:
        TypeError: in ``setup``, the spaces are not ``ActionMaskObservation(CandidateObservation(...))``'s with
            ``Discrete(K)`` actions (``check_masked_candidate_space``).
        ValueError: in ``setup``, an unknown activation or empty ``hidden``.
    """

    def setup(self) -> None:
        """Build the scorer and the value head for the spaces and ``model_config``."""
        from stable_baselines3.common.policies import BasePolicy

        self.state_dim, candidates = check_masked_candidate_space(self.observation_space, self.action_space)
        config = dict(self.model_config or {})
        hidden = [int(width) for width in config.get("hidden", DEFAULT_HIDDEN)]
        activation = config.get("activation", "tanh")
        if activation not in ACTIVATIONS or not hidden:
            raise ValueError(f"model_config: activation one of {list(ACTIVATIONS)} and a non-empty hidden, got "
                             f"{activation!r}, {hidden!r}")  # fmt: skip
        self.scorer = CandidateScorer(self.state_dim, candidates, hidden, ACTIVATIONS[activation])
        self.value_head = nn.Linear(hidden[-1], 1)
        self.scorer.apply(functools.partial(BasePolicy.init_weights, gain=np.sqrt(2)))
        BasePolicy.init_weights(self.value_head, gain=1.0)
        start_near_uniform(self.scorer)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        observations = batch[Columns.OBS]
        inner = observations[OBSERVATIONS_KEY]
        features = torch.cat([inner["state"], inner["candidates"].flatten(1)], dim=1)
        logits = self.scorer.forward_actor(features)
        masked = logits.masked_fill(observations[MASK_KEY] < 0.5, FLOAT_MIN)
        return {Columns.ACTION_DIST_INPUTS: masked}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        """``(B,)`` state values (the choices and the mask are not read)."""
        state = batch[Columns.OBS][OBSERVATIONS_KEY]["state"]
        return self.value_head(self.scorer.forward_critic(state)).squeeze(-1)

    def greedy_actions(self, observations: dict[str, Any]) -> np.ndarray:
        """The ``(B,)`` most likely unmasked choices of a batch of observations (nested dicts of ``(B, ...)`` arrays)."""
        batch = {Columns.OBS: tree.map_structure(lambda array: torch.as_tensor(np.asarray(array, np.float32)), observations)}
        with torch.no_grad():
            logits = self.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
        return logits.argmax(dim=-1).numpy()

    def load_sb3_policy(self, policy: Any) -> None:
        """Copy the weights of a ``CandidateScoringPolicy`` of the same sizes (its scorer and value head) into this module.

        Raises:
            RuntimeError: the sizes differ (torch's ``load_state_dict`` names the mismatched tensors).
        """
        self.scorer.load_state_dict(policy.mlp_extractor.state_dict())
        self.value_head.load_state_dict(policy.value_net.state_dict())
