"""``BagOfWordsObservation``: text observations as a fixed-size hashed bag of n-grams."""

from __future__ import annotations

import re
import zlib

import gymnasium as gym
import numpy as np
from gymnasium import spaces

_TOKEN = re.compile(r"[a-z0-9]+")


def hashed_ngram_ids(text: str, dim: int, ngram: int = 2, prefix: str = "") -> list[int]:
    """The bucket (``0..dim-1``) of each word n-gram (1..ngram) of ``text``, by a stable hash (crc32), in text order.

    Words are runs of lowercase letters and digits (``navigate_to(kitchen)`` is three words). ``prefix`` is hashed
    before each n-gram, so that the same words in two fields of a text (``current: ...`` and ``look: ...``) land in
    different buckets; the default (none) gives ``hashed_ngrams``'s buckets.
    """
    words = _TOKEN.findall(text.lower())
    seed = zlib.crc32(prefix.encode()) if prefix else 0
    return [zlib.crc32(" ".join(words[i : i + n]).encode(), seed) % dim
            for n in range(1, ngram + 1) for i in range(len(words) - n + 1)]  # fmt: skip


def hashed_ngrams(text: str, dim: int, ngram: int = 2) -> np.ndarray:
    """Count the word n-grams (1..ngram) of ``text`` into ``dim`` buckets with a stable hash (crc32)."""
    return np.bincount(hashed_ngram_ids(text, dim, ngram), minlength=dim).astype(np.float32)


def observation_keys(wrapper: str, env: gym.Env, keys: tuple[str, ...] | None) -> tuple[str, ...]:
    """The Dict-of-Text keys a text-encoding wrapper reads: ``keys`` (checked against the space) or all of them.

    Raises:
        TypeError: ``env`` has no ``Dict`` observation space (the message names ``wrapper``).
        ValueError: a key the space does not have.
    """
    if not isinstance(env.observation_space, spaces.Dict):
        raise TypeError(f"{wrapper} needs a Dict observation space, got {env.observation_space}")
    available = tuple(env.observation_space.spaces)
    chosen = tuple(keys) if keys is not None else available
    missing = [key for key in chosen if key not in available]
    if missing:
        raise ValueError(f"unknown observation keys {missing}: expected some of {list(available)}")
    return chosen


def encode_observation(observation: dict, keys: tuple[str, ...], dim: int, ngram: int = 2) -> np.ndarray:
    """The ``BagOfWordsObservation`` vector of one Dict observation (for agents that run without the wrapper)."""
    counts = np.concatenate([hashed_ngrams(observation[key], dim, ngram) for key in keys])
    return counts / (counts + 1.0)


class BagOfWordsObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Encodes a ``Dict`` of ``Text`` observations as a ``Box(0, 1, (len(keys) * dim,))``.

    Each key (``observation``, ``look``, ``inventory``, ``task`` by default) gets its own block of
    ``dim`` buckets holding its hashed word n-gram counts, squashed to ``c / (c + 1)`` so the
    values stay in [0, 1). The hash is crc32, so encodings are identical across processes and runs
    (Python's ``hash`` is salted). Works with SB3's ``"MlpPolicy"``.

    Args:
        env: an env with a ``Dict`` of ``Text`` observations.
        dim: buckets per key.
        ngram: longest n-gram counted.
        keys: which observation keys to encode, in order.
    """

    def __init__(self, env: gym.Env, dim: int = 512, ngram: int = 2, keys: tuple[str, ...] | None = None) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, dim=dim, ngram=ngram, keys=None if keys is None else tuple(keys))
        super().__init__(env)
        self.keys = observation_keys("BagOfWordsObservation", env, keys)
        if dim < 1 or ngram < 1:
            raise ValueError(f"dim and ngram must be >= 1, got dim={dim!r}, ngram={ngram!r}")
        self.dim, self.ngram = int(dim), int(ngram)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(len(self.keys) * self.dim,), dtype=np.float32)

    def observation(self, observation: dict) -> np.ndarray:
        """Encode one Dict observation."""
        return encode_observation(observation, self.keys, self.dim, self.ngram)
