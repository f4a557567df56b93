"""``sgd_gym/ScienceWorldOptionsDiscrete-v1``: the options env with a masked ``Discrete(K)`` over sub-goal candidates."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces

from sgd_gym.envs.options import ScienceWorldOptionsEnv
from sgd_gym.wrappers.discrete import MaskedChoices, current_actions
from sgd_gym.wrappers.subgoals import DEFAULT_MAX_SUBGOALS, NOOP_SUBGOAL, check_subgoal_count, subgoal_candidates


class ScienceWorldOptionsDiscreteEnv(ScienceWorldOptionsEnv):
    """## Description
    ``ScienceWorldOptions-v1`` whose action is an index into the sub-goal candidates of the current state
    (``sgd_gym.wrappers.subgoals.subgoal_candidates``: ``look_around()``, ``wait(1)``, ``wait(10)``, then
    ``navigate_to`` each other room, ``focus_on``, ``pick_up``, ... one per valid action), for RL libraries
    learning a high-level policy over the executor. The same as ``DiscreteSubgoals(ScienceWorldOptionsEnv())``,
    as one env, so that ``gym.make`` can check what wraps it.

    ## Action space
    ``Discrete(max_subgoals)``; ``action_masks()`` (sb3-contrib's MaskablePPO protocol) marks the candidates.
    A masked or out-of-range index sends ``look_around()`` (one primitive step of budget) with
    ``info["valid"] = False``; a non-integer action raises ``TypeError``.

    ## Observation space, rewards, episode end
    As ``ScienceWorldOptions-v1``.

    ## Info
    As ``ScienceWorldOptions-v1``, plus ``subgoal`` (the sub-goal sent) and ``dropped_subgoals`` (candidates of
    the new state that did not fit in K; a warning says so the first time).

    ## Arguments
    ``max_subgoals`` (K, default 4,096: every gold state measured fits; 256 for ``-v0``) and the arguments of
    ``ScienceWorldOptions-v1``; ``listing`` (``"accepted"`` or ``"raw"``) also decides which primitive actions
    the candidates come from.
    """

    def __init__(self, max_subgoals: int = DEFAULT_MAX_SUBGOALS, **kwargs: Any) -> None:
        check_subgoal_count(max_subgoals)
        super().__init__(**kwargs)
        self._choices = MaskedChoices(max_subgoals, type(self).__name__, "sub-goal candidates", "max_subgoals")
        self.max_subgoals = self._choices.size
        self.action_space = spaces.Discrete(self.max_subgoals)

    @property
    def subgoals(self) -> list[str]:
        """The current candidates, in index order."""
        return self._choices.choices

    @property
    def choices(self) -> list[str]:
        """The current candidates, in index order (the name ``MaskedChoiceWrapper`` gives them)."""
        return self._choices.choices

    def action_masks(self):
        """Boolean mask of length K: True where the index maps to a candidate."""
        return self._choices.mask()

    def _update(self, obs: dict[str, str]) -> None:
        self._choices.update(subgoal_candidates(current_actions(self, self.listing), obs["look"]))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode and list the candidates."""
        obs, info = super().reset(seed=seed, options=options)
        self._update(obs)
        return obs, {**info, "dropped_subgoals": self._choices.dropped}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:  # type: ignore[override]
        """Carry out the candidate at index ``action`` (``look_around()`` for a masked or out-of-range one).

        Raises:
            TypeError: ``action`` is not an integer index.
        """
        subgoal = self._choices.pick(action)
        obs, reward, terminated, truncated, info = super().step(NOOP_SUBGOAL if subgoal is None else subgoal)
        info["subgoal"] = NOOP_SUBGOAL if subgoal is None else subgoal
        if subgoal is None:
            info["valid"] = False
        self._update(obs)
        info["dropped_subgoals"] = self._choices.dropped
        return obs, reward, terminated, truncated, info
