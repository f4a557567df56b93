"""Executors carry out one sub-goal with primitive actions; the scripted one is the oracle option layer."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from sgd_gym.grounding import ground_action
from sgd_gym.subgoals import END_SG, Subgoal, SubgoalError, current_room, expand, parse_subgoal, route

AMBIGUOUS = "Ambiguous request"


@runtime_checkable
class Executor(Protocol):
    """Turns a sub-goal into primitive actions, one per call, then ``END_SG``.

    The call after ``END_SG`` (or with another sub-goal text, or after ``abort()``, which an env
    calls when it cuts an option short) starts a new sub-goal; ``abort`` is optional.

    ``needs_valid_actions`` (optional attribute) asks the env for ``info["valid_actions"]``.
    After ``END_SG``, ``status`` is ``"done"`` when the sub-goal holds, ``"failed"`` otherwise.
    """

    status: str | None

    def reset(self, task_description: str, memory: Any = None) -> None:
        """Start a new episode; ``memory`` is the episode memory of an agent that drives this executor
        (``agents.context.EpisodeMemory``), for executors that read the episode; the env passes none."""

    def act(self, obs: dict[str, str], info: dict[str, Any], subgoal: str) -> str:
        """The next primitive action for ``subgoal``, or ``END_SG`` when it is over."""


class ScriptedExecutor:
    """Carries out sub-goals by rule: the action patterns of ``sgd_gym.subgoals`` and door-graph search.

    ``navigate_to(room)`` walks a shortest door path (``open door to X``, ``go to X`` per hop) and
    holds when the agent is in the room; other verbs send their pattern's actions. The game's
    "ambiguous request" prompts are answered with ``0`` (its first reading). An action the game does
    not understand is grounded once to the closest valid action (fuzzy match); if none is close
    enough, or a malformed sub-goal is given, the executor gives up: ``END_SG`` with
    ``status == "failed"`` and the reason in ``error``.

    Args:
        cutoff: minimum similarity (0..100) for grounding a failed action.
    """

    needs_valid_actions = True

    def __init__(self, cutoff: float = 70.0) -> None:
        self.cutoff = cutoff
        self.reset("")

    def reset(self, task_description: str, memory: Any = None) -> None:
        """Forget any sub-goal in progress (``memory`` is not read: this executor needs only the current observation)."""
        self.status: str | None = None
        self.error: str | None = None
        self._text: str | None = None
        self._subgoal: Subgoal | None = None
        self._queue: list[str] | None = None
        self._last: str | None = None
        self._grounded = False

    def abort(self) -> None:
        """The env cut the option short: the next call starts a new sub-goal."""
        self._finish("failed", "interrupted")

    def _finish(self, status: str, error: str | None = None) -> str:
        self.status, self.error = status, error
        self._last = None
        return END_SG

    def _plan(self, obs: dict[str, str]) -> list[str] | None:
        subgoal = self._subgoal
        if subgoal.verb != "navigate_to":
            return expand(subgoal)
        room = current_room(obs["look"])
        if room is None:
            return None
        return [action for hop in route(room, subgoal.args[0]) for action in (f"open door to {hop}", f"go to {hop}")]

    def act(self, obs: dict[str, str], info: dict[str, Any], subgoal: str) -> str:
        """The next primitive action for ``subgoal``, or ``END_SG``; the call after ``END_SG`` starts a new sub-goal."""
        if subgoal != self._text or self.status != "running":
            self.reset("")
            self._text, self.status = subgoal, "running"
            try:
                self._subgoal = parse_subgoal(subgoal)
            except SubgoalError as error:
                return self._finish("failed", str(error))
        if self._last is not None and obs["observation"].startswith(AMBIGUOUS):
            self._last = "0"
            return "0"
        if self._last is not None and not info.get("valid", True):
            grounded = None if self._grounded else ground_action(self._last, info.get("valid_actions") or [], self.cutoff)
            if grounded is None or grounded == self._last:
                return self._finish("failed", f"the game did not understand {self._last!r} and no valid action is close")
            self._grounded, self._last = True, grounded
            return grounded
        if self._queue is None:
            self._queue = self._plan(obs)
            if self._queue is None:
                return self._finish("failed", "cannot tell which room the agent is in")
        if self._queue:
            self._last, self._grounded = self._queue.pop(0), False
            return self._last
        if self._subgoal.verb == "navigate_to" and current_room(obs["look"]) != self._subgoal.args[0]:
            return self._finish("failed", f"did not reach {self._subgoal.args[0]}")
        return self._finish("done")
