"""``CandidateObservation``: the state *and* the text of every current choice, for policies that score choices.

Behind a masked ``Discrete(K)`` wrapper (``ValidActionDiscrete``, ``DiscreteSubgoals``), index ``i`` names the
``i``-th choice of the current state: ``focus_on(frog)`` in one room is index 7 and in the next room index 12.
A policy with one output per index (SB3's ``MlpPolicy``) must learn what each index means in each state, which
it cannot generalize. A DRRN-style policy (He et al. 2016, "Deep Reinforcement Learning with a Natural Language
Action Space", the RL baseline of the ScienceWorld paper) instead encodes each choice's *text* and scores it
against the state. This wrapper gives such a policy what it needs as ordinary observations:
``{"state": Box(len(keys) * dim), "candidates": Box(K, candidate_dim)}``, row ``i`` the hashed bag of words of
choice ``i`` (zeros past the list, where the mask is False). ``baselines.drrn.CandidateScoringPolicy`` is the
policy that reads it.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sgd_gym.wrappers.discrete import require_masked_choices
from sgd_gym.wrappers.observation import encode_observation, hashed_ngrams, observation_keys

CANDIDATE_CACHE_SIZE = 1 << 16  # distinct choice texts kept encoded (they repeat from state to state)


@functools.lru_cache(maxsize=CANDIDATE_CACHE_SIZE)
def encode_candidate(text: str, dim: int, ngram: int = 2) -> np.ndarray:
    """The squashed hashed n-gram counts (``c / (c + 1)``, shape ``(dim,)``) of one choice text, cached.

    ``navigate_to(kitchen)`` and ``move(frog, blue box)`` are split into words at every non-alphanumeric
    character, as observations are. The returned array is read-only (it is shared by the cache).
    """
    counts = hashed_ngrams(text, dim, ngram)
    vector = counts / (counts + 1.0)
    vector.flags.writeable = False
    return vector


def encode_candidates(choices: list[str], size: int, dim: int, ngram: int = 2) -> np.ndarray:
    """The ``(size, dim)`` float32 matrix of the first ``size`` choices' encodings, zero rows past the list."""
    matrix = np.zeros((size, dim), dtype=np.float32)
    for row, text in enumerate(choices[:size]):
        matrix[row] = encode_candidate(text, dim, ngram)
    return matrix


class CandidateObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observations ``{"state": Box(0, 1, (len(keys) * dim,)), "candidates": Box(0, 1, (K, candidate_dim))}``.

    ``state`` is ``BagOfWordsObservation``'s vector of the Dict-of-Text observation (same keys, hash and
    squashing); ``candidates[i]`` encodes the text of the inner wrapper's ``choices[i]`` (hashed word n-grams into
    ``candidate_dim`` buckets), zero rows where ``action_masks()`` is False. Works with SB3 policies for ``Dict``
    observations; ``baselines.drrn.CandidateScoringPolicy`` scores each row against the state.

    Args:
        env: a masked-choice env: ``Discrete(K)`` actions and a ``choices`` attribute on some wrapper
            (``ValidActionDiscrete``, ``DiscreteSubgoals``, optionally under ``MultiTask``), with ``Dict`` of
            ``Text`` observations.
        dim: buckets per observation key.
        candidate_dim: buckets per choice text.
        ngram: longest word n-gram counted (state and choices).
        keys: observation keys encoded into ``state``, in order (default: all).

    Raises:
        TypeError: ``env`` has no ``Discrete`` action space, no ``choices``, or no ``Dict`` observation space.
        ValueError: an unknown key, or a size below 1.
    """

    def __init__(
        self, env: gym.Env, dim: int = 256, candidate_dim: int = 64, ngram: int = 2, keys: tuple[str, ...] | None = None
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, dim=dim, candidate_dim=candidate_dim, ngram=ngram, keys=None if keys is None else tuple(keys)
        )
        super().__init__(env)
        require_masked_choices("CandidateObservation", env, "choices")
        self.keys = observation_keys("CandidateObservation", env, keys)
        for name, value in (("dim", dim), ("candidate_dim", candidate_dim), ("ngram", ngram)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.dim, self.candidate_dim, self.ngram = dim, candidate_dim, ngram
        self.size = int(env.action_space.n)
        self.observation_space = spaces.Dict(
            {
                "state": spaces.Box(0.0, 1.0, shape=(len(self.keys) * dim,), dtype=np.float32),
                "candidates": spaces.Box(0.0, 1.0, shape=(self.size, candidate_dim), dtype=np.float32),
            }
        )

    def observation(self, observation: dict) -> dict[str, np.ndarray]:
        """Encode the state and the inner wrapper's current choices (listed for this observation by its step)."""
        choices = self.env.get_wrapper_attr("choices")
        return {
            "state": encode_observation(observation, self.keys, self.dim, self.ngram),
            "candidates": encode_candidates(choices, self.size, self.candidate_dim, self.ngram),
        }
