"""Grounding generated text to the game's valid actions, shared by every model-based agent."""

from __future__ import annotations

from collections.abc import Sequence

from sgd_gym.grounding import ground_action


def ground_candidates(candidates: Sequence[tuple[str, float]], valid_actions: Sequence[str]) -> str:
    """Pick the action to send from generated candidates (best first).

    Exact: the best candidate when it is valid; else the best-scoring candidate inside the valid set;
    else the valid action most similar to the best candidate (rapidfuzz). Always a valid action when
    ``valid_actions`` is not empty; the best candidate itself otherwise.
    """
    if not candidates:
        raise ValueError("no candidates to ground")
    valid = set(valid_actions)
    for text, _ in candidates:
        if text in valid:
            return text
    grounded = ground_action(candidates[0][0], valid_actions)
    return grounded if grounded is not None else candidates[0][0]
