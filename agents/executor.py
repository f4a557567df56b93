"""The learned executor: a seq2seq model that turns (context, sub-goal) into the next action or ``END_SG``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from agents.data.datasets import State, build_context
from agents.focus import unnamed_focus
from agents.grounding import choose_action, cycle_action, model_ranker, sent_focus
from sgd_gym.subgoals import END_SG, PATTERNS, SubgoalError, current_room, expand, parse_subgoal

STALLED = "stalled"  # the ``error`` of an option that ``end_stalled`` ended
# The switches of ``LearnedExecutor`` (the scripted executor has none).
EXECUTOR_OPTIONS = ("avoid_cycles", "safe_focus", "copy_actions", "constrained", "scripted_end", "end_stalled", "named_focus")


def stalls(action: str, history: Sequence[tuple[str, str]]) -> bool:
    """Whether sending ``action`` would go round a cycle of ``history`` again (``agents.grounding.cycle_action``:
    the same actions with the same texts back), waiting excepted (its text never changes while time passes)."""
    return not action.startswith("wait") and action == cycle_action(history)


def single_action(subgoal: str) -> str | None:
    """The one primitive action of a single-action sub-goal (``focus_on(x)`` -> ``focus on x``), or None."""
    try:
        parsed = parse_subgoal(subgoal)
    except SubgoalError:
        return None
    if len(PATTERNS.get(parsed.verb, ())) != 1:
        return None
    return expand(parsed)[0]


def subgoal_done(subgoal: str, sent: Sequence[str], room: str | None) -> bool | None:
    """Whether ``subgoal`` is carried out by rule, or None when no rule tells.

    ``navigate_to(r)``: the agent is in room ``r`` (``room``; None when unknown). Any other verb: every action
    of its pattern (``sgd_gym.subgoals.expand``, as often as it repeats) is among ``sent``, the actions of
    the option so far.
    """
    try:
        parsed = parse_subgoal(subgoal)
    except SubgoalError:
        return None
    if parsed.verb == "navigate_to":
        return None if room is None else room == parsed.args[0]
    return not Counter(expand(parsed)) - Counter(sent)


class ContextExecutor:
    """What the hierarchical agent needs of an executor besides ``act``: the episode state it saw and
    the sub-goals completed so far (the planner's context), and ``took`` for actions sent without it."""

    needs_valid_actions = True

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        self.state: State | None = None
        self.task = task_description
        self.completed: list[str] = []
        self.current: str | None = None
        self.steps = 0
        self.status: str | None = None
        self.error: str | None = None
        self._pending: str | None = None

    def abort(self) -> None:
        """The option was cut short: the next call starts a new sub-goal."""
        self._close("failed")

    def _close(self, status: str) -> None:
        if self.current is not None:
            self.completed.append(self.current)
        self.current, self.status = None, status

    def _start(self, subgoal: str) -> None:
        if self.current != subgoal or self.status != "running":
            if self.current is not None and self.status == "running":
                self._close("done")
            self.current, self.status, self.error, self.steps = subgoal, "running", None, 0

    def took(self, action: str) -> None:
        """Note an action the caller sent on its own, so the next observation is folded in after it."""
        self._pending = action

    def observe(self, obs: dict[str, str], info: dict[str, Any]) -> State:
        """Fold the latest observation (after the action this executor sent) into the episode state."""
        if self.state is None:
            self.state = State(obs["task"] or self.task, obs["look"], obs["inventory"], obs["observation"], info.get("score", 0))
        elif self._pending is not None:
            self.state.advance(self._pending, obs, info.get("score", 0))
        self._pending = None
        return self.state


class ScriptedContextExecutor(ContextExecutor):
    """The scripted executor (``sgd_gym.executors.ScriptedExecutor``) with the context a learned
    planner needs: the ablation "learned planner, scripted executor"."""

    def __init__(self, cutoff: float = 70.0) -> None:
        from sgd_gym.executors import ScriptedExecutor

        self.inner = ScriptedExecutor(cutoff=cutoff)
        self.reset("")

    def reset(self, task_description: str) -> None:
        """Start an episode."""
        super().reset(task_description)
        self.inner.reset(task_description)

    def abort(self) -> None:
        """The option was cut short: the next call starts a new sub-goal."""
        self.inner.abort()
        super().abort()

    def act(self, obs: dict[str, str], info: dict[str, Any], subgoal: str) -> str:
        """The scripted executor's next action for ``subgoal``, or ``END_SG``."""
        self.observe(obs, info)
        self._start(subgoal)
        action = self.inner.act(obs, info, subgoal)
        if action == END_SG:
            self.error = self.inner.error
            self._close(self.inner.status or "done")
            return END_SG
        self._pending, self.steps = action, self.steps + 1
        return action


class LearnedExecutor(ContextExecutor):
    """Executor protocol (``sgd_gym.executors.Executor``) over a trained executor policy.

    It keeps the episode's history and the sub-goals completed so far, builds the same context as
    the training examples (``agents.data.datasets.build_context``), generates ``num_beams``
    candidates, returns ``END_SG`` when the best one is ``END_SG`` (never before the sub-goal's first
    action: every annotated sub-goal has one), and otherwise grounds them to a valid action. Plugs
    into ``ScienceWorldOptions-v0`` as ``executor=`` and into the hierarchical agent.

    Args:
        policy: a ``Seq2SeqPolicy`` trained on executor examples.
        num_beams: beam width (1 = greedy).
        avoid_cycles, safe_focus: the inference guards of ``agents.grounding.choose_action`` (off by default).
        copy_actions: an ablation, partly scripted: a single-action sub-goal's action (``focus_on(x)`` ->
            ``focus on x``, see ``single_action``) is sent as its first action when it is valid (and, with
            ``safe_focus``, not a focus sent before), instead of asking the model.
        constrained: when no candidate is a valid action, send the model's own choice among the valid actions
            (constrained decoding, ``agents.grounding.model_ranker``) instead of the fuzzy match.
        scripted_end: an ablation, partly scripted: the option ends (``END_SG``) when ``subgoal_done`` says the
            sub-goal is carried out and never before; the model's ``END_SG`` counts only where no rule tells.
        end_stalled: the option ends as failed (``END_SG``, ``status`` ``"failed"``, ``error`` ``STALLED``) when the
            action chosen would go round a cycle of the last steps again (``stalls``), instead of sending it.
        named_focus: in a task whose gold paths focus only on what its description names, never send a focus on
            anything else (``agents.focus.unnamed_focus``).
    """

    def __init__(
        self,
        policy: Any,
        num_beams: int = 3,
        max_tokens: int | None = None,
        avoid_cycles: bool = False,
        safe_focus: bool = False,
        copy_actions: bool = False,
        constrained: bool = False,
        scripted_end: bool = False,
        end_stalled: bool = False,
        named_focus: bool = False,
    ) -> None:
        self.policy, self.named_focus = policy, named_focus
        self.constrained, self.scripted_end, self.end_stalled = constrained, scripted_end, end_stalled
        self.num_beams = num_beams
        self.avoid_cycles, self.safe_focus, self.copy_actions = avoid_cycles, safe_focus, copy_actions
        self.max_tokens = max_tokens or getattr(policy, "max_source_tokens", 512)
        self.reset("")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs: Any) -> LearnedExecutor:
        """Load an executor checkpoint folder (``sgd train executor --out PATH``)."""
        from agents.models import Seq2SeqPolicy

        return cls(Seq2SeqPolicy.load(path), **kwargs)

    def act(self, obs: dict[str, str], info: dict[str, Any], subgoal: str) -> str:
        """The next action for ``subgoal``, or ``END_SG`` when the model says it is done."""
        state = self.observe(obs, info)
        self._start(subgoal)
        copied = single_action(subgoal) if self.copy_actions and self.steps == 0 else None
        valid = info.get("valid_actions") or ()
        blocked = unnamed_focus(valid, info.get("task_name"), state.task) if self.named_focus else set()
        repeated = self.safe_focus and copied in sent_focus(state.history)
        if copied is not None and copied in valid and copied not in blocked and not repeated:
            self._pending, self.steps = copied, 1
            return copied
        done = None
        if self.scripted_end and self.steps > 0:
            done = subgoal_done(subgoal, [action for action, _ in state.history[-self.steps :]], current_room(obs["look"]))
            if done:
                self._close("done")
                return END_SG
        source = build_context(state, completed=self.completed, current=subgoal, max_tokens=self.max_tokens)
        candidates = self.policy.generate([source], num_beams=self.num_beams, num_return_sequences=self.num_beams)[0]
        if candidates[0][0] == END_SG and self.steps > 0 and done is None:  # every annotated sub-goal takes an action
            self._close("done")
            return END_SG
        action = choose_action(
            [c for c in candidates if c[0] != END_SG] or [("look around", 0.0)],
            valid,
            state.history,
            self.avoid_cycles,
            self.safe_focus,
            model_ranker(self.policy, source, self.num_beams) if self.constrained else None,
            blocked,
        )
        if self.end_stalled and stalls(action, state.history):
            self._close("failed")
            self.error = STALLED
            return END_SG
        self._pending, self.steps = action, self.steps + 1
        return action
