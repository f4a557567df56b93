"""``CandidateScoringPolicy``: a MaskablePPO policy that scores each choice's text against the state (DRRN-style).

SB3's ``MlpPolicy`` over a masked ``Discrete(K)`` choice space has one logit per *index*, but an index names a
different action in every state (``sgd_gym.wrappers.candidates``). This policy follows the Deep Reinforcement
Relevance Network (He et al. 2016, §3: a state network and an action network whose outputs meet in an inner
product; the RL baseline of the ScienceWorld paper, Wang et al. 2022): the logit of choice ``i`` is
``<f(state), g(candidate_i)>``, so what it learns about ``focus_on(frog)`` holds wherever that choice appears
and carries over to any text sharing its words. The value head reads the state only. It reads the observations
of ``CandidateObservation`` and keeps sb3-contrib's masking (masked logits are set to -inf by the distribution).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class StateAndCandidates(BaseFeaturesExtractor):
    """Flattens ``{"state": (B, S), "candidates": (B, K, C)}`` into ``(B, S + K * C)``, state first."""

    def __init__(self, observation_space: spaces.Dict) -> None:
        state, candidates = check_candidate_space(observation_space)
        super().__init__(observation_space, state + int(np.prod(candidates)))

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([observations["state"], observations["candidates"].flatten(1)], dim=1)


def check_candidate_space(observation_space: spaces.Space) -> tuple[int, tuple[int, int]]:
    """``(S, (K, C))`` of a ``CandidateObservation`` space; ``TypeError`` for any other space."""
    if (
        not isinstance(observation_space, spaces.Dict)
        or set(observation_space.spaces) != {"state", "candidates"}
        or len(observation_space["state"].shape) != 1
        or len(observation_space["candidates"].shape) != 2
    ):
        raise TypeError(
            "CandidateScoringPolicy reads CandidateObservation's Dict(state=Box(S,), candidates=Box(K, C)), "
            f"got {observation_space}"
        )
    return observation_space["state"].shape[0], tuple(observation_space["candidates"].shape)


def mlp(sizes: list[int], activation: type[nn.Module], last_activation: bool) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them (and after the last when asked)."""
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(size_in, size_out))
        if last_activation or index < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class CandidateScorer(nn.Module):
    """SB3's ``mlp_extractor`` slot: ``forward_actor`` gives the ``(B, K)`` logits ``<f(state), g(candidate_k)>``
    and ``forward_critic`` the ``(B, H)`` value features of the state."""

    def __init__(self, state_dim: int, candidates: tuple[int, int], hidden: list[int], activation: type[nn.Module]) -> None:
        super().__init__()
        self.state_dim, (self.size, self.candidate_dim) = state_dim, candidates
        self.state_net = mlp([state_dim, *hidden], activation, last_activation=True)
        self.candidate_net = mlp([self.candidate_dim, *hidden], activation, last_activation=False)
        self.value_net = mlp([state_dim, *hidden], activation, last_activation=True)
        self.latent_dim_pi, self.latent_dim_vf = self.size, hidden[-1]

    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        state = self.state_net(features[:, : self.state_dim])  # (B, H)
        candidates = self.candidate_net(features[:, self.state_dim :].view(-1, self.size, self.candidate_dim))  # (B, K, H)
        return torch.einsum("bh,bkh->bk", state, candidates)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return self.value_net(features[:, : self.state_dim])

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)


def start_near_uniform(scorer: CandidateScorer) -> None:
    """Start the choice network's last layer at orthogonal gain 0.01 and zero bias, as SB3 starts its action layer,
    so that the first policy is close to uniform over the unmasked choices."""
    last = scorer.candidate_net[-1]
    nn.init.orthogonal_(last.weight, gain=0.01)
    nn.init.zeros_(last.bias)


class CandidateScoringPolicy(MaskableActorCriticPolicy):
    """MaskablePPO's actor-critic with DRRN-style choice scoring (see the module docstring).

    Pass it as the policy: ``MaskablePPO(CandidateScoringPolicy, env)`` with ``env`` wrapped in
    ``CandidateObservation``. ``net_arch`` (``dict(pi=[64, 64], vf=[64, 64])`` by default, SB3's) gives the widths
    of the state and choice networks (``pi``, the same for both) and of the value network (``vf``). With
    ``ortho_init`` the choice network's last layer starts at gain 0.01, as SB3 starts its action layer, so the
    first policy is close to uniform over the unmasked choices.

    Raises:
        TypeError: the observation space is not ``CandidateObservation``'s, or the action space is not
            ``Discrete(K)`` with K the number of candidate rows.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, lr_schedule: Any, **kwargs: Any) -> None:
        _, (size, _) = check_candidate_space(observation_space)
        if not isinstance(action_space, spaces.Discrete) or int(action_space.n) != size:
            raise TypeError(f"CandidateScoringPolicy needs Discrete({size}) actions (one per candidate row), got {action_space}")
        kwargs.setdefault("features_extractor_class", StateAndCandidates)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build_mlp_extractor(self) -> None:
        arch = self.net_arch if isinstance(self.net_arch, dict) else {"pi": self.net_arch, "vf": self.net_arch}
        state_dim, candidates = check_candidate_space(self.observation_space)
        self.mlp_extractor = CandidateScorer(state_dim, candidates, list(arch.get("pi") or [64]), self.activation_fn)
        if list(arch.get("vf") or [64]) != list(arch.get("pi") or [64]):
            self.mlp_extractor.value_net = mlp([state_dim, *arch["vf"]], self.activation_fn, last_activation=True)
            self.mlp_extractor.latent_dim_vf = arch["vf"][-1]

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.action_net = nn.Identity()  # the scorer's output is already one logit per choice
        if self.ortho_init:
            start_near_uniform(self.mlp_extractor)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)
