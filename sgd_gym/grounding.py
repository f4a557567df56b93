"""Grounding: map a generated or remembered action text onto the game's valid actions."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process


def ground_action(text: str, valid_actions: Sequence[str], cutoff: float = 0.0) -> str | None:
    """The valid action closest to ``text``: itself when valid, else the best fuzzy match.

    Args:
        text: the action to ground.
        valid_actions: the actions the game accepts now: ``accepted_actions()`` (``info["valid_actions"]`` of
            ``ScienceWorld-v1``); ScienceWorld's raw list also holds actions its parser rejects, and a text
            grounded onto one of those wastes the step.
        cutoff: minimum similarity (0..100, rapidfuzz ``token_sort_ratio``) for a fuzzy match.

    Returns:
        A member of ``valid_actions``, or None when it is empty or nothing reaches ``cutoff``.
    """
    if not valid_actions:
        return None
    if text in valid_actions:
        return text
    best = process.extractOne(text, valid_actions, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff)
    return None if best is None else best[0]
