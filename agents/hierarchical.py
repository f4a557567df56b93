"""The sub-goal distillation agent: a planner proposes sub-goals, an executor carries them out."""

from __future__ import annotations

from typing import Any

from agents.data.datasets import build_context
from agents.executor import EXECUTOR_OPTIONS, STALLED, LearnedExecutor, ScriptedContextExecutor
from agents.focus import unnamed_focus
from agents.grounding import sent_focus, subgoal_feasible
from sgd_gym.subgoals import END_SG, SubgoalError, current_room, expand, parse_subgoal

REPLAN_MODES = ("boundary", "every-step")
FALLBACK_SUBGOAL = "look_around()"
NOOP_ACTION = "look around"


def _where(obs: dict[str, str], info: dict[str, Any]) -> tuple[str | None, float]:
    """(room, score): a stalled sub-goal is passed over until it changes."""
    return current_room(obs.get("look") or ""), info.get("score", 0)


class HierarchicalAgent:
    """Planner + executor behind the common ``Agent`` interface (one primitive action per ``act``).

    The planner is asked for a sub-goal at option boundaries (``replan="boundary"``, the SMDP
    default: when the executor says ``END_SG`` or has spent ``max_option_steps``), or before every
    action (``replan="every-step"``, the paper's setting). Planner candidates that are not valid
    sub-goals are skipped (``look_around()`` if none is). ``plan(obs, info)`` alone gives one
    sub-goal, so the planner can drive ``ScienceWorldOptions-v0`` with any executor.

    Args:
        planner: a ``Seq2SeqPolicy`` trained on planner examples.
        executor: a ``LearnedExecutor`` or ``ScriptedContextExecutor`` (an executor with ``observe``, ``took``, ``completed``).
        replan: ``"boundary"`` or ``"every-step"``.
        max_option_steps: primitive steps before the planner is asked again.
        num_beams: planner beam width.
        ground_subgoals: take the first planner candidate that can start now (``agents.grounding.subgoal_feasible``:
            its objects named by the valid actions, no focus twice, no trip to the current room), the first
            valid sub-goal when none can.
        named_focus: pass over a ``focus_on`` candidate whose target the task description does not name, in a task
            whose gold paths focus only on named targets (``agents.focus.unnamed_focus``); the learned executor
            (``LearnedExecutor(named_focus=True)``) never sends such a focus either.

    A sub-goal whose option the executor ended as stalled (``LearnedExecutor(end_stalled=True)``) is passed over
    by the planner (its next candidate is taken, if any) until the score or the room changes.
    """

    needs_valid_actions = True
    needs_gold_path = False

    def __init__(
        self,
        planner: Any,
        executor: Any,
        replan: str = "boundary",
        max_option_steps: int = 10,
        num_beams: int = 3,
        ground_subgoals: bool = False,
        named_focus: bool = False,
    ) -> None:
        if replan not in REPLAN_MODES:
            raise ValueError(f"unknown replan mode {replan!r}: expected one of {list(REPLAN_MODES)}")
        self.planner, self.executor = planner, executor
        self.replan, self.max_option_steps, self.num_beams = replan, max_option_steps, num_beams
        self.ground_subgoals, self.named_focus = ground_subgoals, named_focus
        self.max_tokens = getattr(planner, "max_source_tokens", 512)
        self.planner_calls = 0
        self.reset("")

    @classmethod
    def from_pretrained(cls, planner_path: str, executor_path: str, **kwargs: Any) -> HierarchicalAgent:
        """Load planner and executor checkpoint folders (``executor_path="scripted"``: the scripted executor).

        Keyword arguments named in ``agents.executor.EXECUTOR_OPTIONS`` (``avoid_cycles``, ``safe_focus``, ...) go to
        the learned executor (see ``LearnedExecutor``; the scripted one has none), the others to the agent.
        """
        from agents.models import Seq2SeqPolicy

        options = {name: kwargs.pop(name) for name in EXECUTOR_OPTIONS if name in kwargs}
        if executor_path == "scripted":
            executor = ScriptedContextExecutor()
        else:
            executor = LearnedExecutor.from_pretrained(executor_path, **options)
        if options.get("named_focus"):  # the planner's guard too
            kwargs["named_focus"] = True
        return cls(Seq2SeqPolicy.load(planner_path), executor, **kwargs)

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.executor.reset(task_description)
        self.subgoal: str | None = None
        self.option_steps = 0
        self.subgoals: list[str] = []
        self.stalled: set[str] = set()  # sub-goals whose option stalled since ``stalled_at`` last changed
        self.stalled_at: tuple[str | None, float] | None = None  # (room, score)

    def plan(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """The planner's next sub-goal for the current state."""
        state = self.executor.observe(obs, info)
        source = build_context(state, completed=self.executor.completed, max_tokens=self.max_tokens)
        self.planner_calls += 1
        parsed = []
        for text, _ in self.planner.generate([source], num_beams=self.num_beams, num_return_sequences=self.num_beams)[0]:
            try:
                parsed.append(parse_subgoal(text))
            except SubgoalError:
                continue
        valid = info.get("valid_actions") or ()
        if self.named_focus:
            task = info.get("task_name")
            parsed = [s for s in parsed if s.verb != "focus_on" or not unnamed_focus(expand(s), task, state.task)] or parsed
        if self.ground_subgoals and valid:
            valid, room, focused = set(valid), current_room(obs.get("look") or ""), sent_focus(state.history)
            parsed = [subgoal for subgoal in parsed if subgoal_feasible(subgoal, valid, room, focused)] or parsed
        if self.stalled and self.stalled_at == _where(obs, info):
            parsed = [subgoal for subgoal in parsed if str(subgoal) not in self.stalled] or parsed
        return str(parsed[0]) if parsed else FALLBACK_SUBGOAL

    def _note_stall(self, obs: dict[str, str], info: dict[str, Any]) -> None:
        """Remember the sub-goal the executor just gave up on as stalled, in the current (room, score)."""
        where = _where(obs, info)
        if where != self.stalled_at:
            self.stalled, self.stalled_at = set(), where
        self.stalled.add(str(self.subgoal))

    def _new_subgoal(self, obs: dict[str, str], info: dict[str, Any]) -> None:
        self.subgoal, self.option_steps = self.plan(obs, info), 0
        self.subgoals.append(self.subgoal)

    def act(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        """One primitive action."""
        if self.subgoal is None or self.option_steps >= self.max_option_steps:
            if self.subgoal is not None:
                self.executor.abort()
            self._new_subgoal(obs, info)
        elif self.replan == "every-step":
            proposal = self.plan(obs, info)
            if proposal != self.subgoal:
                self.executor.abort()
                self.subgoal, self.option_steps = proposal, 0
                self.subgoals.append(proposal)
        for _ in range(2):  # a sub-goal that ends at once gets one more plan
            action = self.executor.act(obs, info, self.subgoal)
            if action != END_SG:
                self.option_steps += 1
                return action
            if getattr(self.executor, "error", None) == STALLED:
                self._note_stall(obs, info)
            self._new_subgoal(obs, info)
        self.executor.took(NOOP_ACTION)  # two sub-goals in a row ended at once: spend the step harmlessly
        return NOOP_ACTION
