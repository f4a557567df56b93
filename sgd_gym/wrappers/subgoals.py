"""``DiscreteSubgoals``: sub-goal candidates of the current state as a masked ``Discrete(K)``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sgd_gym.subgoals import ROOMS, current_room, match_action
from sgd_gym.wrappers.discrete import MaskedChoiceWrapper, check_listing, current_actions

# Verbs offered as candidates, in priority order (earlier verbs are kept when K is too small).
CANDIDATE_VERBS = (
    "navigate_to", "focus_on", "pick_up", "open", "close", "activate", "deactivate", "mix", "read",
    "use", "pour", "put", "cool", "connect", "drop", "look_at", "examine",
)  # fmt: skip
NOOP_SUBGOAL = "look_around()"
DEFAULT_MAX_SUBGOALS = 4096  # the gold states of the 30 tasks list at most 3,630 candidates (benchmarks/RESULTS.md)
STATIC_CANDIDATES = ("look_around()", "wait(1)", "wait(10)")


def subgoal_candidates(valid_actions: list[str], look: str) -> list[str]:
    """Sub-goals that make sense now: ``navigate_to`` each other room, one per valid single action, waits.

    Ordered by verb priority (``CANDIDATE_VERBS``), then fewer words, then alphabetically.
    """
    here = current_room(look)
    found: dict[str, int] = {f"navigate_to({room})": 0 for room in ROOMS if room != here}
    rank = {verb: i for i, verb in enumerate(CANDIDATE_VERBS)}
    for action in valid_actions:
        subgoal = match_action(action, verbs=CANDIDATE_VERBS)
        if subgoal is not None:
            found.setdefault(str(subgoal), rank[subgoal.verb])
    ordered = sorted(found, key=lambda text: (found[text], text.count(" "), text))
    return list(STATIC_CANDIDATES) + ordered


class DiscreteSubgoals(MaskedChoiceWrapper, gym.utils.RecordConstructorArgs):
    """Turns ``ScienceWorldOptions-v1`` into ``Discrete(max_subgoals)`` over the current sub-goal candidates.

    Index ``i`` is the ``i``-th candidate of ``subgoal_candidates`` (``look_around()``, ``wait(1)``,
    ``wait(10)`` first, then by verb priority), built from the actions the game's parser accepts
    (``listing="accepted"``) or from ScienceWorld's raw list (``"raw"``). Slots past the list are masked
    (``action_masks()`` for sb3-contrib's MaskablePPO). A masked or out-of-range index sends
    ``look_around()`` (one step of budget) with ``info["valid"] = False``; a non-integer action raises
    ``TypeError``. ``info["subgoal"]`` is the sub-goal sent; ``info["dropped_subgoals"]`` counts the
    candidates of the new state that did not fit in K (a warning says so the first time).

    Args:
        env: an options env (its unwrapped env must have ``accepted_actions()`` and ``valid_actions()``).
        max_subgoals: K (default 4,096: the gold states of the 30 tasks list at most 3,630 candidates).
        listing: ``"accepted"`` (default) or ``"raw"``.
    """

    noop = NOOP_SUBGOAL
    info_key = "subgoal"
    dropped_key = "dropped_subgoals"
    unit = "sub-goal candidates"
    size_argument = "max_subgoals"

    def __init__(self, env: gym.Env, max_subgoals: int = DEFAULT_MAX_SUBGOALS, listing: str = "accepted") -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_subgoals=max_subgoals, listing=listing)
        check_subgoal_count(max_subgoals)
        self.listing = check_listing(listing)
        super().__init__(env, max_subgoals)
        self.max_subgoals = self.size

    @property
    def subgoals(self) -> list[str]:
        """The current candidates, in index order."""
        return self.choices

    def _list_choices(self, obs: Any) -> list[str]:
        return subgoal_candidates(current_actions(self.env, self.listing), obs["look"])


def check_subgoal_count(max_subgoals: Any) -> None:
    """Raise ``ValueError`` unless ``max_subgoals`` leaves room for the static candidates."""
    if isinstance(max_subgoals, bool) or not isinstance(max_subgoals, int) or max_subgoals < len(STATIC_CANDIDATES):
        raise ValueError(f"max_subgoals must be an integer >= {len(STATIC_CANDIDATES)}, got {max_subgoals!r}")
