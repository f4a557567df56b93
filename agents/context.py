"""The episode memory an agent owns, and the one context builder that training and inference share.

``EpisodeMemory`` holds what an agent knows before acting: the task, the current texts (observation, room,
inventory), step and score, the (action, observation) history, and the sub-goals begun so far (completed, and the
one being carried out). An agent records every step into it; its planner and executor read the memory they are
handed and keep no copy of the episode. ``build_context(memory, kind)`` turns it into a model source for the
planner, the executor or the flat policy (docs/architecture.md, "The context builder"), at inference and, replayed
over a gold trajectory (``agents.data.datasets``), for the training examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sgd_gym.subgoals import current_room

CONTEXT_KINDS = ("planner", "executor", "flat")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Approximate token count (words and punctuation marks), close to the domain tokenizer's."""
    return len(_TOKEN.findall(text))


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class EpisodeMemory:
    """What an agent knows before acting, one episode long.

    Fill it with ``observe`` (the first observation, then each later one) after ``sent`` (the action the agent
    returned), or ``record`` a step directly. ``begin``/``end`` track the option being carried out
    (hierarchical agents); a sub-goal is ``completed`` once its option ends, however it ended.

    Attributes:
        task: the task description (``obs["task"]``).
        task_name: ScienceWorld's task name (``info["task_name"]``), when known.
        look, inventory, observation: the latest texts.
        score: the latest ``info["score"]``.
        step: primitive steps recorded.
        history: (action, observation) pairs, oldest first.
        completed: sub-goals whose option has ended, oldest first.
        outcomes: for each of ``completed``, the observation its option ended on (the latest at ``end``).
        current: the sub-goal being carried out, or None between options.
        option_steps: primitive actions sent for ``current`` so far.
        rooms: each room the episode has been in (``sgd_gym.subgoals.current_room`` of a look), with its latest look,
            in the order first entered.
    """

    task: str = ""
    task_name: str | None = None
    look: str = ""
    inventory: str = ""
    observation: str = ""
    score: Any = 0
    step: int = 0
    history: list[tuple[str, str]] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    current: str | None = None
    option_steps: int = 0
    rooms: dict[str, str] = field(default_factory=dict)
    started: bool = False
    pending: str | None = None  # the action sent, whose observation ``observe`` folds in next

    def start(self, obs: dict[str, str], info: dict[str, Any]) -> None:
        """Take the episode's first observation (``reset``'s); an empty ``obs["task"]`` keeps ``task``."""
        self.task = obs.get("task") or self.task
        self.task_name = info.get("task_name", self.task_name)
        self.look, self.inventory, self.observation = obs["look"], obs["inventory"], obs["observation"]
        self.score, self.started = info.get("score", 0), True
        self._visit()

    def record(self, action: str, obs: dict[str, str], info: dict[str, Any]) -> None:
        """Record one step taken: ``action`` and what the env returned for it (``obs``, ``info["score"]``)."""
        self.history.append((action, obs["observation"]))
        self.look, self.inventory, self.observation = obs["look"], obs["inventory"], obs["observation"]
        self.score, self.step = info.get("score", 0), self.step + 1
        self._visit()

    def _visit(self) -> None:
        """Note the room of the latest look in ``rooms``."""
        room = current_room(self.look)
        if room is not None:
            self.rooms[room] = self.look

    def sent(self, action: str) -> None:
        """Note the action the agent returns; the next ``observe`` records it with its observation."""
        self.pending = action
        if self.current is not None:
            self.option_steps += 1

    def observe(self, obs: dict[str, str], info: dict[str, Any]) -> None:
        """Fold in the latest observation: the first one starts the episode, later ones record the ``sent`` action.

        Calling it again before the next ``sent`` changes nothing.
        """
        if not self.started:
            self.start(obs, info)
        elif self.pending is not None:
            self.record(self.pending, obs, info)
        self.pending = None

    def begin(self, subgoal: str) -> None:
        """Carry out ``subgoal``: a new option unless it is the one running (a running other one ends first)."""
        if self.current == subgoal:
            return
        self.end()
        self.current, self.option_steps = subgoal, 0

    def end(self) -> None:
        """End the running option (done, failed or cut short alike): its sub-goal joins ``completed``."""
        if self.current is not None:
            self.completed.append(self.current)
            self.outcomes.append(self.observation)
        self.current, self.option_steps = None, 0


def _fit(text: str, budget: int, count: Callable[[str], int]) -> str:
    """``text`` cut to its first words so that it costs at most ``budget`` tokens ('' if none fit)."""
    if count(text) <= budget:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) + 1 <= budget:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low]) + " ..." if low else ""


def build_context(
    memory: EpisodeMemory,
    kind: str = "flat",
    max_tokens: int = 512,
    max_history: int = 10,
    count: Callable[[str], int] = count_tokens,
    max_completed: int = 6,
) -> str:
    """The model source of ``kind`` (``planner``, ``executor`` or ``flat``) for the state in ``memory``.

    Every kind sees the task, step and score, the last observation, the inventory, the newest history and the
    room; the planner also the completed sub-goals, the executor those and the current one (``memory.current``).
    The whole context fits in ``max_tokens``, so no tokenizer cuts it. The short parts that decide the next step
    come first (task, step and score, current sub-goal, the last observation, inventory, the last
    ``max_completed`` completed sub-goals); then the newest of the last ``max_history`` (action, observation)
    pairs, using at most half of what is left, written oldest first; then the room description (``look``), cut
    to the rest of the budget.

    Raises:
        ValueError: an unknown ``kind``, or ``executor`` with no current sub-goal.
    """
    if kind not in CONTEXT_KINDS:
        raise ValueError(f"unknown context kind {kind!r}: expected one of {list(CONTEXT_KINDS)}")
    if kind == "executor" and memory.current is None:
        raise ValueError("an executor context needs a current sub-goal (EpisodeMemory.begin)")
    parts = [f"task: {_squash(memory.task)}", f"step: {memory.step} score: {memory.score}"]
    if kind == "executor":
        parts.append(f"current: {memory.current}")
    parts += [f"observation: {_squash(memory.observation)}", f"inventory: {_squash(memory.inventory)}"]
    if kind != "flat":
        completed = memory.completed
        recent = list(completed)[-max_completed:] if max_completed > 0 else []
        earlier = len(completed) - len(recent)
        listed = "; ".join(recent) if recent else "none"
        parts.append(f"completed: {f'({earlier} earlier) ' if earlier else ''}{listed}")
    head = _fit(" | ".join(parts), max_tokens - 4, count)
    budget = max_tokens - count(head) - 4
    history_budget = budget // 2
    pairs: list[str] = []
    for action, observation in reversed(memory.history[-max_history:]):
        pair = f"{action} -> {_squash(observation)}"
        cost = count(pair) + 1
        if cost > history_budget:
            break
        pairs.append(pair)
        history_budget -= cost
    history = "history: " + (" ; ".join(reversed(pairs)) if pairs else "none")
    look = _fit(f"look: {_squash(memory.look)}", budget - count(history) - 2, count)
    return " | ".join(part for part in (head, history, look) if part)


CONTEXT_FIELDS = ("task", "step", "current", "observation", "inventory", "completed", "history", "look")
_FIELD = re.compile(r"(?:^|(?<= \| ))(" + "|".join(CONTEXT_FIELDS) + r"): ")


def context_fields(source: str) -> dict[str, str]:
    """The parts of a ``build_context`` source by field name (``task``, ``step`` (step and score), ``current``,
    ``observation``, ``inventory``, ``completed``, ``history``, ``look``), each without its label; a field the
    source lacks (``current`` for the planner and the flat policy) is absent. Candidate scorers
    (``agents.policies.scorer``) read a source this way, so that a word means something else in each field."""
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(source))
    for match, following in zip(matches, matches[1:] + [None]):
        end = following.start() - 3 if following is not None else len(source)
        fields.setdefault(match.group(1), source[match.end() : max(end, match.end())])
    return fields
