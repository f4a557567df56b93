"""The sub-goal distillation agent: a planner proposes sub-goals, an executor carries them out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents.agent import Agent
from agents.context import EpisodeMemory, build_context
from agents.grounding import propose
from agents.guards import Guard
from sgd_gym.subgoals import END_SG, SubgoalError, parse_subgoal
from sgd_gym.wrappers.subgoals import subgoal_candidates

REPLAN_MODES = ("boundary", "every-step")
FALLBACK_SUBGOAL = "look_around()"
NOOP_ACTION = "look around"


class HierarchicalAgent(Agent):
    """Planner + executor behind the common ``Agent`` interface (one primitive action per ``act``).

    The agent owns the episode memory (``agents.context.EpisodeMemory``): it records every step and the option
    being carried out, hands the memory to its executor at ``reset`` and builds the planner's context from it.
    The planner is asked for a sub-goal at option boundaries (``replan="boundary"``, the SMDP default: when the
    executor says ``END_SG`` or has spent ``max_option_steps``), or before every action (``replan="every-step"``,
    the paper's setting). Planner candidates that are not valid sub-goals are skipped, and so are those a
    sub-goal guard passes over while others remain (``look_around()`` if no candidate is valid). ``plan(obs,
    info)`` alone gives one sub-goal, so the planner can drive ``ScienceWorldOptions-v0`` with any executor.

    Args:
        planner: a ``Policy`` (``agents.policies``, either family) trained on planner examples.
        executor: an executor (``sgd_gym.executors.Executor``): ``agents.executor.LearnedExecutor`` or the scripted one.
        replan: ``"boundary"`` or ``"every-step"``.
        max_option_steps: primitive steps before the planner is asked again.
        num_beams: planner beam width.
        guards: sub-goal guards for the planner (``agents.guards``; give action guards to the executor).
        listing: the list its planner's guards and its executor see (``Agent.listing``): ``"accepted"``, or ``"raw"``
            to replay a run made before the agent declared one (those runs were given ScienceWorld's raw list).
    """

    listing = "accepted"
    needs_valid_actions = True
    needs_gold_path = False

    def __init__(
        self,
        planner: Any,
        executor: Any,
        replan: str = "boundary",
        max_option_steps: int = 10,
        num_beams: int = 3,
        guards: Sequence[Guard] = (),
        listing: str = "accepted",
    ) -> None:
        from sgd_gym.wrappers.discrete import check_listing

        if replan not in REPLAN_MODES:
            raise ValueError(f"unknown replan mode {replan!r}: expected one of {list(REPLAN_MODES)}")
        self.planner, self.executor, self.guards = planner, executor, list(guards)
        self.replan, self.max_option_steps, self.num_beams = replan, max_option_steps, num_beams
        self.listing = check_listing(listing)
        self.max_tokens = getattr(planner, "max_source_tokens", 512)
        self.planner_calls = 0
        self.reset("")

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.memory = EpisodeMemory(task=task_description)
        self.executor.reset(task_description, memory=self.memory)
        self.subgoal: str | None = None  # the planner's latest sub-goal
        self.ended: list[list[str]] = []  # [sub-goal, how] of the options that ended during the last act
        self.changed_by: list[str] = []  # the guards that changed a model's first choice during the last act

    def plan(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """The planner's next sub-goal for the current state."""
        self.memory.observe(obs, info)
        source = build_context(self.memory, "planner", max_tokens=self.max_tokens)
        self.planner_calls += 1
        parsed = []
        valid = info.get("valid_actions") or ()
        proposals = propose(self.planner, source, lambda: subgoal_candidates(list(valid), obs["look"]), self.num_beams)
        for text, _ in proposals:
            try:
                parsed.append(parse_subgoal(text))
            except SubgoalError:
                continue
        if self.guards:
            allowed = [s for s in parsed if all(guard.allows_subgoal(s, self.memory, valid) for guard in self.guards)]
            if allowed and allowed[0] is not parsed[0]:
                self.changed_by += [g.name for g in self.guards if not g.allows_subgoal(parsed[0], self.memory, valid)]
            parsed = allowed or parsed
        return str(parsed[0]) if parsed else FALLBACK_SUBGOAL

    def _end_option(self, how: str) -> None:
        """Cut the running option short (executor and memory); ``how``: why, for ``trace``."""
        if callable(getattr(self.executor, "abort", None)):
            self.executor.abort()
        self._note_end(how)

    def _note_end(self, how: str) -> None:
        """End the running option in the memory, noting it for ``trace``."""
        if self.memory.current is not None:
            self.ended.append([self.memory.current, how])
        self.memory.end()

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        memory = self.memory
        memory.observe(obs, info)
        self.ended, self.changed_by = [], []
        if self.subgoal is None or memory.option_steps >= self.max_option_steps:
            if self.subgoal is not None:
                self._end_option("budget")
            self.subgoal = self.plan(obs, info)
        elif self.replan == "every-step":
            proposal = self.plan(obs, info)
            if proposal != self.subgoal:
                self._end_option("replanned")
                self.subgoal = proposal
        for _ in range(2):  # a sub-goal that ends at once gets one more plan
            memory.begin(self.subgoal)
            action = self.executor.act(obs, info, self.subgoal)
            if action != END_SG:
                memory.sent(action)
                self.changed_by += getattr(self.executor, "changed_by", ())
                return action
            self.changed_by += getattr(self.executor, "changed_by", ())  # an option guard that required the end
            self._note_end("done")
            self.subgoal = self.plan(obs, info)
        memory.sent(NOOP_ACTION)  # two sub-goals in a row ended at once: spend the step harmlessly
        return NOOP_ACTION

    def trace(self) -> dict[str, Any]:
        """What the last ``act`` did, for the episode record (``sgd_gym.records.StepTrace``; keys only when set).

        ``subgoal``: the option its action serves (none for the no-op after two options that ended at once);
        ``opened``: True when the action is its option's first; ``ended``: [sub-goal, how] of each option that ended
        before the action was chosen, ``how`` being ``done`` (the executor said ``END_SG``), ``budget``
        (``max_option_steps`` spent) or ``replanned`` (``every-step`` planning chose another sub-goal); ``guards``:
        the guards that changed the planner's or the executor's first choice.
        """
        memory, trace = self.memory, {}
        if memory.current is not None:
            trace["subgoal"] = memory.current
            if memory.option_steps == 1:
                trace["opened"] = True
        if self.ended:
            trace["ended"] = [list(pair) for pair in self.ended]
        if self.changed_by:
            trace["guards"] = list(dict.fromkeys(self.changed_by))
        return trace

    @classmethod
    def from_pretrained(
        cls, planner_path: str, executor_path: str, guards: Sequence[Guard] = (), num_beams: int = 3, **kwargs: Any
    ) -> HierarchicalAgent:
        """Load planner and executor checkpoint folders (``executor_path="scripted"``: the scripted executor).

        Each guard goes where it filters (``Guard.filters``): action and option guards to the learned executor,
        sub-goal guards to the planner. ``ValueError`` when a guard would filter nothing (an action or option guard
        with the scripted executor).
        """
        from agents.executor import LearnedExecutor
        from agents.guards import ACTIONS, OPTIONS, SUBGOALS
        from agents.policies import load_policy
        from sgd_gym.executors import ScriptedExecutor

        action_guards = [guard for guard in guards if guard.filters & {ACTIONS, OPTIONS}]
        if executor_path == "scripted":
            unused = [guard for guard in action_guards if SUBGOALS not in guard.filters]
            if unused:
                what = " and ".join(sorted(unused[0].filters))
                raise ValueError(f"guard {unused[0].name!r} filters {what}, which the scripted executor does not choose by model")
            executor: Any = ScriptedExecutor()
        else:
            executor = LearnedExecutor.from_pretrained(executor_path, num_beams=num_beams, guards=action_guards)
        planner_guards = [guard for guard in guards if SUBGOALS in guard.filters]
        return cls(load_policy(planner_path), executor, num_beams=num_beams, guards=planner_guards, **kwargs)
