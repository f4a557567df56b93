"""``ActionMaskObservation``: the action mask inside the observation, as RLlib's action-masking modules read it.

sb3-contrib's ``MaskablePPO`` asks the env for its mask (``env.action_masks()``), but RLlib's env runners see only
what ``step`` and ``reset`` return, so RLlib's convention (``ray.rllib.examples.envs.classes.action_mask_env`` and
``ray.rllib.examples.rl_modules.classes.action_masking_rlm``) puts the mask in the observation:
``{"action_mask": Box(0, 1, (K,)), "observations": <the original observation space>}``. This wrapper gives any
masked ``Discrete(K)`` env of sgd-gym (``ValidActionDiscrete``, ``DiscreteSubgoals``,
``ScienceWorldOptionsDiscrete-v1``) that form, with an encoder of the text observations underneath
(``BagOfWordsObservation``, ``CandidateObservation``, ``MiniLMObservation``): RLlib batches arrays, not text.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sgd_gym.wrappers.discrete import require_masked_choices

MASK_KEY = "action_mask"
OBSERVATIONS_KEY = "observations"


class ActionMaskObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observations ``{"action_mask": Box(0, 1, (K,), float32), "observations": inner observation}``.

    ``action_mask[i]`` is 1.0 where index ``i`` names one of the current choices (the inner masked-choice
    wrapper's ``action_masks()`` for the state just returned) and 0.0 where it is masked. Float, not bool, as in
    RLlib's examples: a module turns it into additive logit masks with ``log``. ``action_masks()`` stays
    available through the wrapper, so sb3-contrib and the example's evaluation loop keep working.

    Args:
        env: an env with a ``Discrete(K)`` action space and ``action_masks()`` on some wrapper inside (``ValidActionDiscrete``,
            ``DiscreteSubgoals``, ``ScienceWorldOptionsDiscrete-v1``), its observations encoded as arrays (a ``Box``
            or a ``Dict`` of them) so that RLlib can batch them.

    Raises:
        TypeError: ``env`` has no ``Discrete`` action space or no ``action_masks()``, or its observation space is
            already a masked one (a second ``ActionMaskObservation``).
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        require_masked_choices("ActionMaskObservation", env, "action_masks")
        if isinstance(env.observation_space, spaces.Dict) and MASK_KEY in env.observation_space.spaces:
            raise TypeError(f"the observations of {env} already hold {MASK_KEY!r}: wrap with ActionMaskObservation once")
        self.size = int(env.action_space.n)
        self.observation_space = spaces.Dict(
            {
                MASK_KEY: spaces.Box(0.0, 1.0, shape=(self.size,), dtype=np.float32),
                OBSERVATIONS_KEY: env.observation_space,
            }
        )

    def observation(self, observation: Any) -> dict[str, Any]:
        """The inner observation with the mask of the state it shows (listed by the inner wrapper's step or reset)."""
        mask = np.asarray(self.env.get_wrapper_attr("action_masks")(), dtype=np.float32)
        return {MASK_KEY: mask, OBSERVATIONS_KEY: observation}
