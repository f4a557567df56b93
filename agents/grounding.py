"""Grounding generated text to the game's valid actions, shared by every model-based agent."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from sgd_gym.grounding import ground_action
from sgd_gym.subgoals import Subgoal, expand, unescape_name

FOCUS = "focus on "
Ranker = Callable[[list[str]], Sequence[tuple[str, float]]]  # actions -> some of them, best first


def cycle_action(history: Sequence[tuple[str, str]], periods: Sequence[int] = (1, 2)) -> str | None:
    """The action that would go round a cycle again, or None.

    ``history`` holds (action, observation) pairs, oldest first. A cycle is the last ``p`` steps
    repeating the ``p`` before them, actions and observations alike (``go to hallway``, ``go to
    workshop``, ``go to hallway``, ``go to workshop`` with the same texts back): its next action is
    ``history[-p]``'s. Repeating an action whose observation changes (a heating loop) is no cycle.
    """
    for period in periods:
        if len(history) >= 2 * period and list(history[-period:]) == list(history[-2 * period : -period]):
            return history[-period][0]
    return None


def sent_focus(history: Sequence[tuple[str, str]]) -> set[str]:
    """The ``focus on`` actions of ``history`` ((action, observation) pairs): gold paths never send one twice."""
    return {action for action, _ in history if action.startswith(FOCUS)}


def ground_candidates(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    avoid: str | Collection[str] | None = None,
    safe_focus: bool = False,
    rank: Ranker | None = None,
) -> str:
    """Pick the action to send from generated candidates (best first).

    Exact: the best candidate when it is valid; else the best-scoring candidate inside the valid set;
    else the valid action most similar to the best candidate (rapidfuzz), or, with ``rank``, the first
    of ``rank(valid actions)`` (the model's own choice among them, see ``model_ranker``). Always a valid action when
    ``valid_actions`` is not empty; the best candidate itself otherwise. ``avoid`` (an action or
    several, e.g. the ``cycle_action`` of the history) is taken out of the valid actions when others
    remain; the action chosen instead is never a ``focus on`` that no candidate asked for (a wrong
    focus ends the episode). ``safe_focus``: the fuzzy match never lands on a ``focus on`` either, so
    a focus is sent only when a candidate names it exactly.
    """
    if not candidates:
        raise ValueError("no candidates to ground")
    avoided = {avoid} if isinstance(avoid, str) else set(avoid or ())
    asked = {text for text, _ in candidates}
    if avoided:
        others = [a for a in valid_actions if a not in avoided and (not a.startswith(FOCUS) or a in asked)]
        valid_actions = others or valid_actions
    valid = set(valid_actions)
    for text, _ in candidates:
        if text in valid:
            return text
    pool = [a for a in valid_actions if not a.startswith(FOCUS)] if safe_focus else valid_actions
    if rank is not None and (pool or valid_actions):
        ranked = rank(list(pool or valid_actions))
        if ranked:
            return ranked[0][0]
    grounded = ground_action(candidates[0][0], pool or valid_actions)
    return grounded if grounded is not None else candidates[0][0]


def model_ranker(policy: Any, source: str, num_beams: int) -> Ranker:
    """A ``rank`` for ``ground_candidates``: the policy's constrained decoding of ``source`` into the given
    actions (``Seq2SeqPolicy.generate(allowed=...)``), best first by the model's own probability."""

    def rank(actions: list[str]) -> Sequence[tuple[str, float]]:
        return policy.generate([source], num_beams=num_beams, num_return_sequences=num_beams, allowed=[actions])[0]

    return rank


def choose_action(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    history: Sequence[tuple[str, str]],
    avoid_cycles: bool = False,
    safe_focus: bool = False,
    rank: Ranker | None = None,
    blocked: Collection[str] = (),
) -> str:
    """``ground_candidates`` with the inference guards of a model agent.

    ``avoid_cycles``: pass over the ``cycle_action`` of ``history``. ``safe_focus``: never send a
    ``focus on`` again (``sent_focus``), nor one that only fuzzy matching (or ``rank``) proposes.
    ``blocked``: more actions to pass over (``agents.focus.unnamed_focus``).
    """
    avoid = avoided_actions(history, avoid_cycles, safe_focus) | set(blocked)
    return ground_candidates(candidates, valid_actions, avoid, safe_focus, rank)


def avoided_actions(history: Sequence[tuple[str, str]], avoid_cycles: bool = False, safe_focus: bool = False) -> set[str]:
    """The actions the inference guards pass over: the ``cycle_action`` of ``history`` (``avoid_cycles``) and
    the ``focus on`` actions sent before (``safe_focus``)."""
    avoid = sent_focus(history) if safe_focus else set()
    cycle = cycle_action(history) if avoid_cycles else None
    if cycle is not None:
        avoid.add(cycle)
    return avoid


def subgoal_feasible(subgoal: Subgoal, valid_actions: Collection[str], room: str | None, focused: Collection[str] = ()) -> bool:
    """Whether ``subgoal`` can start in the current state: the planner's counterpart of action grounding.

    ``navigate_to`` a room other than ``room`` (the current one); ``focus_on`` a focus that is a valid action
    and not in ``focused`` (sent before: gold paths never focus twice); ``act`` a valid action; any other
    verb when each of its object arguments (not the counts of ``wait``/``watch``) is named by some valid action.
    """
    if subgoal.verb == "navigate_to":
        return subgoal.args[0] != room
    if subgoal.verb in ("focus_on", "act"):
        action = expand(subgoal)[0]
        return action in valid_actions and action not in focused
    objects = subgoal.args[:-1] if subgoal.verb in ("wait", "watch") else subgoal.args
    names = [unescape_name(arg) for arg in objects]
    return all(any(action.endswith(" " + name) or f" {name} " in action for action in valid_actions) for name in names)
