"""Grounding generated text to the game's valid actions, shared by every model-based agent."""

from __future__ import annotations

from collections.abc import Sequence

from sgd_gym.grounding import ground_action


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


def ground_candidates(candidates: Sequence[tuple[str, float]], valid_actions: Sequence[str], avoid: str | None = None) -> str:
    """Pick the action to send from generated candidates (best first).

    Exact: the best candidate when it is valid; else the best-scoring candidate inside the valid set;
    else the valid action most similar to the best candidate (rapidfuzz). Always a valid action when
    ``valid_actions`` is not empty; the best candidate itself otherwise. ``avoid`` (e.g. the
    ``cycle_action`` of the history) is taken out of the valid actions when others remain; the
    action chosen instead is never a ``focus on`` that no candidate asked for (a wrong focus ends
    the episode).
    """
    if not candidates:
        raise ValueError("no candidates to ground")
    if avoid is not None:
        asked = {text for text, _ in candidates}
        others = [a for a in valid_actions if a != avoid and (not a.startswith("focus on") or a in asked)]
        valid_actions = others or valid_actions
    valid = set(valid_actions)
    for text, _ in candidates:
        if text in valid:
            return text
    grounded = ground_action(candidates[0][0], valid_actions)
    return grounded if grounded is not None else candidates[0][0]
