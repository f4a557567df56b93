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


class MaskedChoiceWrapper(gym.Wrapper):
    """Base of the masked ``Discrete(K)`` wrappers: index ``i`` is the ``i``-th of the current choices.

    Subclasses list the choices of a state (``_list_choices``); slots past the list are masked
    (``action_masks()``, sb3-contrib's MaskablePPO protocol); a masked or out-of-range index sends
    ``noop`` and sets ``info["valid"] = False``; ``info[info_key]`` is the text sent.
    """

    noop = ""
    info_key = "action"

    def __init__(self, env: gym.Env, size: int) -> None:
        super().__init__(env)
        if size < 1:
            raise ValueError(f"the number of discrete actions must be >= 1, got {size!r}")
        self.size = int(size)
        self.action_space = spaces.Discrete(self.size)
        self.choices: list[str] = []

    def _list_choices(self, obs: Any) -> list[str]:
        raise NotImplementedError

    def action_masks(self) -> np.ndarray:
        """Boolean mask of length K: True where the index maps to a choice."""
        mask = np.zeros(self.size, dtype=bool)
        mask[: len(self.choices)] = True
        return mask

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the inner env and list the choices."""
        obs, info = self.env.reset(seed=seed, options=options)
        self.choices = self._list_choices(obs)[: self.size]
        return obs, info

    def step(self, action: int):
        """Send the choice at index ``action``; masked or out-of-range indices are no-ops."""
        try:
            index = int(action)
        except (TypeError, ValueError):
            index = -1
        usable = 0 <= index < len(self.choices) and np.ndim(action) == 0
        text = self.choices[index] if usable else self.noop
        obs, reward, terminated, truncated, info = self.env.step(text)
        info = {**info, self.info_key: text}
        if not usable:
            info["valid"] = False
        self.choices = self._list_choices(obs)[: self.size]
        return obs, reward, terminated, truncated, info


class ValidActionDiscrete(MaskedChoiceWrapper):
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

    noop = NOOP_ACTION
    info_key = "action"

    def __init__(self, env: gym.Env, max_actions: int = 512) -> None:
        super().__init__(env, max_actions)
        self.max_actions = self.size

    @property
    def actions(self) -> list[str]:
        """The current valid actions, in index order."""
        return self.choices

    def _list_choices(self, obs: Any) -> list[str]:
        return sorted(self.env.unwrapped.valid_actions(), key=action_order)
