"""Grounding generated text to the game's valid actions, shared by every model-based agent."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sgd_gym.grounding import ground_action

FOCUS = "focus on "


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
) -> str:
    """Pick the action to send from generated candidates (best first).

    Exact: the best candidate when it is valid; else the best-scoring candidate inside the valid set;
    else the valid action most similar to the best candidate (rapidfuzz). Always a valid action when
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
    grounded = ground_action(candidates[0][0], pool or valid_actions)
    return grounded if grounded is not None else candidates[0][0]


def choose_action(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    history: Sequence[tuple[str, str]],
    avoid_cycles: bool = False,
    safe_focus: bool = False,
) -> str:
    """``ground_candidates`` with the inference guards of a model agent.

    ``avoid_cycles``: pass over the ``cycle_action`` of ``history``. ``safe_focus``: never send a
    ``focus on`` again (``sent_focus``), nor one that only fuzzy matching proposes.
    """
    avoid = sent_focus(history) if safe_focus else set()
    cycle = cycle_action(history) if avoid_cycles else None
    if cycle is not None:
        avoid.add(cycle)
    return ground_candidates(candidates, valid_actions, avoid, safe_focus)
