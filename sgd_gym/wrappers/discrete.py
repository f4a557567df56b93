"""``ValidActionDiscrete``: the current valid actions as a masked ``Discrete(K)`` action space."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

NOOP_ACTION = "look around"


def action_order(action: str) -> tuple[int, str]:
    """Sort key of the stable action order: fewer words first, then alphabetical."""
    return (action.count(" "), action)


class ValidActionDiscrete(gym.Wrapper):
    """Turns a text-action env into ``Discrete(max_actions)`` over its current valid actions.

    Index ``i`` means the ``i``-th valid action in a stable order: fewer words first, then
    alphabetical (so ``look around``, ``go to kitchen``, ``open door`` come before the long
    ``move X in Y to Z`` combinations). The list is padded with masked slots up to ``max_actions``;
    when a state has more valid actions than that, the longest ones are dropped.
    ``action_masks()`` (sb3-contrib's MaskablePPO protocol) marks the usable slots.

    A masked or out-of-range index is a harmless no-op: the inner env receives ``look around``
    (which spends no game move but one step of the episode budget, so no agent can loop forever)
    and ``info["valid"]`` is False. ``info["action"]`` holds the text that was sent and
    ``self.actions`` the current action list.

    Args:
        env: an env with ``Text`` actions whose unwrapped env has ``valid_actions()``.
        max_actions: K, the size of the discrete action space.
    """

    def __init__(self, env: gym.Env, max_actions: int = 512) -> None:
        super().__init__(env)
        if max_actions < 1:
            raise ValueError(f"max_actions must be >= 1, got {max_actions!r}")
        self.max_actions = int(max_actions)
        self.action_space = spaces.Discrete(self.max_actions)
        self.actions: list[str] = []

    def _refresh(self) -> None:
        self.actions = sorted(self.env.unwrapped.valid_actions(), key=action_order)[: self.max_actions]

    def action_masks(self) -> np.ndarray:
        """Boolean mask of length K: True where the index maps to a valid action."""
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(self.actions)] = True
        return mask

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the inner env and list its valid actions."""
        obs, info = self.env.reset(seed=seed, options=options)
        self._refresh()
        return obs, info

    def step(self, action: int):
        """Take the action at index ``action``; masked or out-of-range indices are no-ops."""
        try:
            index = int(action)
        except (TypeError, ValueError):
            index = -1
        usable = 0 <= index < len(self.actions) and np.ndim(action) == 0
        text = self.actions[index] if usable else NOOP_ACTION
        obs, reward, terminated, truncated, info = self.env.step(text)
        info = dict(info)
        info["action"] = text
        if not usable:
            info["valid"] = False
        self._refresh()
        return obs, reward, terminated, truncated, info
