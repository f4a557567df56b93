"""The flat imitation baseline (the paper's "Swift-only"): same model family and data, primitive actions only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.agent import Agent
from agents.context import EpisodeMemory, build_context
from agents.grounding import guarded_choice, propose
from agents.guards import Guard


class FlatBCAgent(Agent):
    """A policy from context to the next primitive action: a sequence model's beams grounded to the valid actions,
    or a candidate scorer's ranking of the valid actions (``agents.policies.scorer``).

    Uses the same episode memory, context builder, grounding and guards as the hierarchical agent.

    Args:
        policy: a ``Policy`` (``agents.policies``, either family) trained on flat examples.
        num_beams: beam width (1 = greedy).
        guards: action guards (``agents.guards``), none by default.
        listing: the list it grounds onto (``Agent.listing``): ``"accepted"``, or ``"raw"`` to replay a run made before
            the agent declared one (those runs were given ScienceWorld's raw list).
    """

    listing = "accepted"
    needs_valid_actions = True
    needs_gold_path = False

    def __init__(self, policy: Any, num_beams: int = 3, guards: Sequence[Guard] = (), listing: str = "accepted") -> None:
        from sgd_gym.wrappers.discrete import check_listing

        self.policy, self.num_beams, self.guards = policy, num_beams, list(guards)
        self.listing = check_listing(listing)
        self.max_tokens = getattr(policy, "max_source_tokens", 512)
        self.reset("")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> FlatBCAgent:
        """Load a flat checkpoint folder (``sgd train flat --out PATH``)."""
        from agents.policies import load_policy

        return cls(load_policy(path), **kwargs)

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.memory = EpisodeMemory(task=task_description)
        self.changed_by: tuple[str, ...] = ()  # the guards that changed the model's first choice at the last act

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        self.memory.observe(obs, info)
        source = build_context(self.memory, "flat", max_tokens=self.max_tokens)
        valid = info.get("valid_actions") or []
        candidates = propose(self.policy, source, lambda: valid or ["look around"], self.num_beams)
        action, self.changed_by = guarded_choice(candidates, valid, self.memory, self.guards)
        self.memory.sent(action)
        return action

    def trace(self) -> dict[str, Any]:
        """What the last ``act`` did, for the episode record (``sgd_gym.records.StepTrace``): ``guards``, the guards
        that changed the model's first choice, when any did."""
        return {"guards": list(self.changed_by)} if self.changed_by else {}
