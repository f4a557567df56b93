"""``MultiTask``: each episode a task drawn from a list, for training one policy on several tasks."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from sgd_gym.tasks import get_task


class MultiTask(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """On each ``reset`` without a ``task`` option, draws a task uniformly from ``tasks`` and a
    variation uniformly from the env's split (the inner env draws it from its seeded generator).

    The draw uses the wrapper's own generator, seeded by the first ``reset(seed=...)``, so a seeded
    run repeats the same sequence of tasks (``info["task_name"]`` names the one drawn).

    Args:
        env: ``ScienceWorld-v1`` or ``ScienceWorldOptions-v1`` (or a wrapper of one).
        tasks: task names or ids (see ``sgd_gym.tasks``).
    """

    def __init__(self, env: gym.Env, tasks: list[str]) -> None:
        if isinstance(tasks, str) or not tasks:
            raise ValueError(f"MultiTask needs a non-empty list of task names or ids, got {tasks!r}")
        names = [get_task(task).name for task in tasks]
        gym.utils.RecordConstructorArgs.__init__(self, tasks=names)
        super().__init__(env)
        self.tasks = names
        self._rng = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset on a drawn task (an explicit ``options["task"]`` wins)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        options = dict(options or {})
        if "task" not in options:
            options["task"] = self.tasks[int(self._rng.integers(len(self.tasks)))]
        return self.env.reset(seed=seed, options=options)
