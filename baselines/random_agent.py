"""The floor: a uniformly random valid action each step."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.agent import Agent


class RandomAgent(Agent):
    """Picks uniformly among ``info["valid_actions"]``, seeded, so runs repeat exactly.

    Args:
        seed: seed of the agent's own generator; each ``reset`` keeps drawing from it.
        listing: the list the evaluation env must hand it (``benchmarks.protocol.make_eval_env`` reads
            ``self.listing``): ``"raw"``, ScienceWorld's own list, in which about half of a crowded room's
            actions are rejected by the game's parser ("No known action matches that input."), what the
            committed protocol rows used; or ``"accepted"``, only the actions the parser accepts
            (``ScienceWorldEnv.accepted_actions``), a floor that does not waste steps on rejected commands.
    """

    listing = "raw"
    needs_valid_actions = True
    needs_gold_path = False

    def __init__(self, seed: int = 0, listing: str = "raw") -> None:
        from sgd_gym.wrappers.discrete import check_listing

        self.listing = check_listing(listing)
        self.rng = np.random.default_rng(seed)

    def seed(self, seed: int) -> None:
        """Restart the generator (the evaluation loop seeds each episode, so results ignore worker counts)."""
        self.rng = np.random.default_rng(seed)

    def reset(self, task_description: str) -> None:
        """Nothing to remember between episodes."""

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """A uniformly random valid action (``look around`` if the env lists none)."""
        actions = info.get("valid_actions")
        if actions is None:
            raise KeyError("RandomAgent needs info['valid_actions']: create the env with valid_actions=True")
        return str(actions[self.rng.integers(len(actions))]) if actions else "look around"
