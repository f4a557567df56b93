"""``DiscreteSubgoals``: sub-goal candidates of the current state as a masked ``Discrete(K)``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sgd_gym.subgoals import ROOMS, current_room, match_action
from sgd_gym.wrappers.discrete import MaskedChoiceWrapper

# Verbs offered as candidates, in priority order (earlier verbs are kept when K is too small).
CANDIDATE_VERBS = (
    "navigate_to", "focus_on", "pick_up", "open", "close", "activate", "deactivate", "mix", "read",
    "use", "pour", "put", "cool", "connect", "drop", "look_at", "examine",
)  # fmt: skip
NOOP_SUBGOAL = "look_around()"
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


class DiscreteSubgoals(MaskedChoiceWrapper):
    """Turns ``ScienceWorldOptions-v0`` into ``Discrete(max_subgoals)`` over the current sub-goal candidates.

    Index ``i`` is the ``i``-th candidate of ``subgoal_candidates`` (``look_around()``, ``wait(1)``,
    ``wait(10)`` first, then by verb priority); slots past the list are masked (``action_masks()``
    for sb3-contrib's MaskablePPO). A masked or out-of-range index sends ``look_around()`` (one
    step of budget) with ``info["valid"] = False``. ``info["subgoal"]`` is the sub-goal sent.

    Args:
        env: an options env (its unwrapped env must have ``valid_actions()``).
        max_subgoals: K.
    """

    noop = NOOP_SUBGOAL
    info_key = "subgoal"

    def __init__(self, env: gym.Env, max_subgoals: int = 256) -> None:
        if max_subgoals < len(STATIC_CANDIDATES):
            raise ValueError(f"max_subgoals must be >= {len(STATIC_CANDIDATES)}, got {max_subgoals!r}")
        super().__init__(env, max_subgoals)
        self.max_subgoals = self.size

    @property
    def subgoals(self) -> list[str]:
        """The current candidates, in index order."""
        return self.choices

    def _list_choices(self, obs: Any) -> list[str]:
        return subgoal_candidates(self.env.unwrapped.valid_actions(), obs["look"])


def make_discrete_options_env(max_subgoals: int = 256, **kwargs: Any) -> gym.Env:
    """Entry point of ``sgd_gym/ScienceWorldOptionsDiscrete-v0``: the options env behind DiscreteSubgoals."""
    from sgd_gym.envs.options import ScienceWorldOptionsEnv

    return DiscreteSubgoals(ScienceWorldOptionsEnv(**kwargs), max_subgoals=max_subgoals)
