"""Grounding generated text to the game's valid actions through the agent's guards, shared by every model agent."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

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


def propose(policy: Any, source: str, candidates: Callable[[], Sequence[str]], k: int) -> list[tuple[str, float]]:
    """A policy's ``k`` best proposals for the context ``source``, as ``(text, score)`` pairs, best first.

    A candidate scorer (``agents.policies.scorer.ScorerPolicy``, ``scores_candidates``) ranks the state's
    ``candidates()`` (called only for it: building them costs a sub-goal enumeration); a generative policy writes
    ``k`` beams (``Policy.generate``), which grounding then maps onto the valid actions.
    """
    if getattr(policy, "scores_candidates", False):
        return policy.propose(source, list(candidates()), k)
    return policy.generate([source], num_beams=k, num_return_sequences=k)[0]


class Choice(NamedTuple):
    """The action ``guarded_choice`` picked, and the names of the guards that changed the model's first choice."""

    action: str
    changed_by: tuple[str, ...]


def guarded_choice(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    memory: EpisodeMemory,
    guards: Sequence[Guard] = (),
) -> Choice:
    """``ground_candidates`` through ``guards``: the union of what they avoid, and a fallback every guard allows.

    ``changed_by`` names the guards that turned the model's first choice (what grounding without guards sends) into
    another action: those that avoid it or keep the similarity fallback off it (else every guard that avoided
    something); empty when the action is the first choice.

    Raises:
        ValueError: no candidates.
    """
    avoided = [guard.avoid_actions(memory, valid_actions) for guard in guards]
    avoid: set[str] = set().union(*avoided)

    def fallback_allows(action: str) -> bool:
        return all(guard.fallback_allows(action) for guard in guards)

    action = ground_candidates(candidates, valid_actions, avoid, fallback_allows if guards else None)
    if not guards:
        return Choice(action, ())
    first = ground_candidates(candidates, valid_actions)
    if first == action:
        return Choice(action, ())
    guessed = first not in {text for text, _ in candidates}  # the similarity fallback's, which guards may keep off
    names = [guard.name for guard, avoids in zip(guards, avoided)
             if first in avoids or (guessed and not guard.fallback_allows(first))]  # fmt: skip
    return Choice(action, tuple(names or (guard.name for guard, avoids in zip(guards, avoided) if avoids)))


def choose_action(
    candidates: Sequence[tuple[str, float]],
    valid_actions: Sequence[str],
    memory: EpisodeMemory,
    guards: Sequence[Guard] = (),
) -> str:
    """The action of ``guarded_choice``."""
    return guarded_choice(candidates, valid_actions, memory, guards).action
