"""The learned executor: a sequence model that turns (context, sub-goal) into the next action or ``END_SG``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.context import EpisodeMemory, build_context
from agents.grounding import guarded_choice, propose
from agents.guards import Guard
from sgd_gym.subgoals import END_SG


class LearnedExecutor:
    """The executor protocol (``sgd_gym.executors.Executor``) over a trained executor policy.

    It builds the same context as the training examples (``agents.context.build_context``) from the episode
    memory, generates ``num_beams`` candidates (a candidate scorer: the ``num_beams`` best of the valid actions and
    ``END_SG``), returns ``END_SG`` when the best one is ``END_SG`` (never before
    the sub-goal's first action: every annotated sub-goal has one) or an option guard requires the end, unless an
    option guard forbids it (``Guard.requires_end``, ``Guard.allows_end``: the option's termination condition), and
    otherwise grounds them to a valid action through ``guards`` (``agents.grounding.choose_action``).

    The memory is the agent's: ``reset(task, memory=...)`` hands it over, the agent records each step and the
    option being carried out, and the executor only reads it. Without one (``ScienceWorldOptions-v0`` calls
    ``reset(task)`` and then ``act`` with each observation), the executor keeps a memory of its own.

    Args:
        policy: a ``Policy`` (``agents.policies``, either family) trained on executor examples.
        num_beams: beam width (1 = greedy).
        guards: action guards (``agents.guards``), none by default.
        max_tokens: the context budget (default: the policy's ``max_source_tokens``).
    """

    needs_valid_actions = True

    def __init__(self, policy: Any, num_beams: int = 3, guards: Sequence[Guard] = (), max_tokens: int | None = None) -> None:
        self.policy, self.num_beams, self.guards = policy, num_beams, list(guards)
        self.max_tokens = max_tokens or getattr(policy, "max_source_tokens", 512)
        self.reset("")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> LearnedExecutor:
        """Load an executor checkpoint folder (``sgd train executor --out PATH``)."""
        from agents.policies import load_policy

        return cls(load_policy(path), **kwargs)

    def reset(self, task_description: str, memory: EpisodeMemory | None = None) -> None:
        """Start an episode, reading ``memory`` (kept up to date by its owner) or a memory of its own."""
        self.owns_memory = memory is None
        self.changed_by: tuple[str, ...] = ()  # the guards that changed the model's first choice at the last act
        self.memory = EpisodeMemory(task=task_description) if memory is None else memory

    def abort(self) -> None:
        """The option was cut short: the next call starts a new sub-goal."""
        if self.owns_memory:
            self.memory.end()

    def act(self, obs: dict[str, str], info: dict[str, Any], subgoal: str) -> str:
        """The next action for ``subgoal``, or ``END_SG`` when the model says it is done."""
        memory, self.changed_by = self.memory, ()
        if self.owns_memory:
            memory.observe(obs, info)
            memory.begin(subgoal)
        source = build_context(memory, "executor", max_tokens=self.max_tokens)
        valid = info.get("valid_actions") or ()
        candidates = propose(self.policy, source, lambda: [*valid, END_SG], self.num_beams)
        ends = candidates[0][0] == END_SG and memory.option_steps > 0  # every annotated sub-goal takes an action
        if not ends and memory.option_steps > 0:
            forcing = tuple(guard.name for guard in self.guards if guard.requires_end(memory))
            ends, self.changed_by = bool(forcing), forcing
        vetoes = tuple(guard.name for guard in self.guards if not guard.allows_end(memory)) if ends else ()
        if vetoes:
            ends, self.changed_by = False, vetoes
        if ends:
            if self.owns_memory:
                memory.end()
            return END_SG
        actions = [c for c in candidates if c[0] != END_SG] or [("look around", 0.0)]
        action, changed_by = guarded_choice(actions, valid, memory, self.guards)
        self.changed_by += changed_by
        if self.owns_memory:
            memory.sent(action)
        return action
