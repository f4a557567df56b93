"""The ceiling: ScienceWorld's gold path, replayed."""

from __future__ import annotations

from typing import Any

from agents.agent import Agent


class OracleAgent(Agent):
    """Replays the gold path given in ``info["gold_path"]`` at reset, then waits (``look around``).

    Gold paths longer than the step budget show as scores below 100: the ceiling under that budget. It reads no
    action list (``listing`` is moot; ``"raw"``, as before the agent contract).
    """

    listing = "raw"
    needs_valid_actions = False
    needs_gold_path = True

    def __init__(self) -> None:
        self.plan: list[str] = []

    def reset(self, task_description: str) -> None:
        """Forget the previous episode's path."""
        self.plan = []

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """The next gold action."""
        if "gold_path" in info:
            self.plan = list(info["gold_path"])
        return self.plan.pop(0) if self.plan else "look around"
