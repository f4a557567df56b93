"""``RejectOptionTimeLimit``: ``gym.make(options id, max_episode_steps=N)`` would count options, so refuse it."""

from __future__ import annotations

import gymnasium as gym
from gymnasium.wrappers import TimeLimit


class RejectOptionTimeLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Refuses a ``TimeLimit`` inside it; otherwise passes everything through unchanged.

    The options ids are registered with it as their outermost wrapper: ``gym.make(id, max_episode_steps=N)``
    puts a ``TimeLimit`` under it, which would count options (sub-goals), not primitive steps (5 options may
    be 50 steps), and the env inside cannot see that wrapper. The budget of the options envs is
    ``max_primitive_steps``. A ``TimeLimit`` you add yourself around the env is yours to mean.

    Raises:
        ValueError: ``env`` holds a ``TimeLimit``, naming ``max_primitive_steps``.
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        inner = env
        while isinstance(inner, gym.Wrapper):
            if isinstance(inner, TimeLimit):
                raise ValueError(
                    f"max_episode_steps={inner._max_episode_steps} would count options (sub-goals), not primitive "
                    f"steps: pass max_primitive_steps={inner._max_episode_steps} to the options env instead "
                    "(gym.make(id, max_primitive_steps=N))"
                )
            inner = inner.env
        super().__init__(env)
