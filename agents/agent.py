"""The one interface every agent implements, so that any agent runs in any comparison."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Agent(Protocol):
    """An agent that plays ``sgd_gym/ScienceWorld-v0`` one primitive action at a time.

    Optional class attributes tell the evaluation loop what the agent needs from the env:
    ``needs_valid_actions`` (``info["valid_actions"]`` every step) and ``needs_gold_path``
    (``info["gold_path"]`` at reset). An agent with randomness also has ``seed(int)``, which the
    evaluation loop calls before each episode.
    """

    def reset(self, task_description: str) -> None:
        """Start a new episode of the task described."""

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """Return one primitive action for the current observation."""
