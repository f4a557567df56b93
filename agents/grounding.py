"""Grounding generated text to the game's valid actions through the agent's guards, shared by every model agent."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from agents.context import EpisodeMemory
from agents.focus import FOCUS
from agents.guards import Guard
from sgd_gym.grounding import ground_action


def ground_candidates(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    avoid: Collection[str] = (),
    fallback_allows: Callable[[str], bool] | None = None,
) -> str:
    """Pick the action to send from generated candidates (best first).

    Exact: the best candidate when it is valid; else the best-scoring candidate inside the valid set;
    else the valid action most similar to the best candidate (``sgd_gym.grounding.ground_action``).
    Always a valid action when ``valid_actions`` is not empty; the best candidate itself otherwise.

    Args:
        candidates: (text, score) pairs, best first (``Policy.generate``).
        valid_actions: the game's valid actions now.
        avoid: actions to pass over (the guards'), taken out of the valid actions when others remain; the action
            chosen instead is then never a ``focus on`` that no candidate asked for (a wrong focus ends the episode).
        fallback_allows: which valid actions the similarity fallback may land on (all when None, or when it allows none).

    Raises:
        ValueError: no candidates.
    """
    if not candidates:
        raise ValueError("no candidates to ground")
    asked = {text for text, _ in candidates}
    if avoid:
        others = [a for a in valid_actions if a not in avoid and (not a.startswith(FOCUS) or a in asked)]
        valid_actions = others or valid_actions
    valid = set(valid_actions)
    for text, _ in candidates:
        if text in valid:
            return text
    pool = [a for a in valid_actions if fallback_allows(a)] if fallback_allows is not None else valid_actions
    grounded = ground_action(candidates[0][0], pool or valid_actions)
    return grounded if grounded is not None else candidates[0][0]


def choose_action(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    memory: EpisodeMemory,
    guards: Sequence[Guard] = (),
) -> str:
    """``ground_candidates`` through ``guards``: the union of what they avoid, and a fallback every guard allows."""
    avoid: set[str] = set()
    for guard in guards:
        avoid |= guard.avoid_actions(memory, valid_actions)

    def fallback_allows(action: str) -> bool:
        return all(guard.fallback_allows(action) for guard in guards)

    return ground_candidates(candidates, valid_actions, avoid, fallback_allows if guards else None)
