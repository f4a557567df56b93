"""The one interface every agent implements, so that any agent runs in any comparison."""

from __future__ import annotations

from typing import Any


class Agent:
    """An agent that plays ``sgd_gym/ScienceWorld-v1`` one primitive action at a time.

    Subclasses implement ``reset`` and ``act`` and state what they need from the env in class attributes, which the
    evaluation loop (``benchmarks.protocol``) reads as declared:

    Attributes:
        listing: which list ``info["valid_actions"]`` holds: ``"accepted"`` (the actions the game's parser accepts,
            ``ScienceWorldEnv.accepted_actions``) or ``"raw"`` (ScienceWorld's own list, as ``ScienceWorld-v0``). An
            agent that can play either takes it as an argument and sets it per instance (checked with
            ``sgd_gym.wrappers.discrete.check_listing``).
        needs_valid_actions: the env adds ``info["valid_actions"]`` (and ``info["listing"]``) at every step.
        needs_gold_path: the env adds ``info["gold_path"]`` at reset.

    ``seed``, ``trace`` and ``usage`` have defaults (no randomness, no per-step record, no LLM use): override those
    that apply.
    """

    listing: str = "accepted"
    needs_valid_actions: bool = False
    needs_gold_path: bool = False

    def reset(self, task_description: str) -> None:
        """Start a new episode.

        Args:
            task_description: the task's text (``obs["task"]`` at reset).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement reset(task_description)")

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """Choose the next primitive action.

        Args:
            obs: the env's observation (``observation``, ``look``, ``inventory``, ``task``).
            info: the env's info, with ``valid_actions`` when the agent ``needs_valid_actions``.

        Returns:
            One primitive action, e.g. ``"open door to kitchen"``.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement act(obs, info)")

    def seed(self, seed: int) -> None:
        """Seed the agent's randomness; the evaluation loop calls it before every episode. No-op by default.

        Args:
            seed: the episode's seed.
        """

    def trace(self) -> dict[str, Any]:
        """What the last ``act`` did, for the episode record (``sgd_gym.records.StepTrace``).

        Returns:
            The step's record fields; ``{}`` by default. The loop records a ``step_trace`` only for agents that
            override this method.
        """
        return {}

    def usage(self) -> dict[str, int]:
        """What the agent has spent on LLM calls so far, over all episodes.

        Returns:
            ``llm_calls`` and ``llm_tokens`` for an agent that calls an LLM; ``{}`` by default.
        """
        return {}

    @classmethod
    def records_trace(cls) -> bool:
        """Whether this agent records a per-step ``trace`` (it overrides ``Agent.trace``).

        Returns:
            True when ``trace`` is the agent's own.
        """
        return cls.trace is not Agent.trace
