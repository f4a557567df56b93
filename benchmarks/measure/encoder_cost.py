"""What an observation encoder costs per step: ``BagOfWordsObservation`` vs ``MiniLMObservation`` (with its cache).

    python -m benchmarks.measure.encoder_cost --task find-living-thing --steps 300

Plays the same seeded uniformly random valid actions in ``ValidActionDiscrete`` (one JVM), records the Dict
observations, then times each encoder over them in one process: milliseconds per step, and for MiniLM the
cache's hit rate and milliseconds per encoded (missed) text. The env's own step time is printed for scale.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import sgd_gym  # noqa: F401
from sgd_gym.wrappers import MiniLMEncoder, ValidActionDiscrete, encode_observation

KEYS = ("observation", "look", "inventory", "task")


def record(task: str, steps: int, seed: int) -> tuple[list[dict], float]:
    """``steps`` observations of random valid actions (episodes of 50 steps), and the env's seconds per step."""
    env = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task=task, max_episode_steps=50))
    rng = np.random.default_rng(seed)
    observations, episode = [], 0
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        observations.append(obs)
        if terminated or truncated:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
    seconds = (time.perf_counter() - start) / steps
    env.close()
    return observations, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="find-living-thing")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    observations, env_seconds = record(args.task, args.steps, args.seed)
    start = time.perf_counter()
    for obs in observations:
        encode_observation(obs, KEYS, 256)
    bow_ms = 1000 * (time.perf_counter() - start) / len(observations)
    encoder = MiniLMEncoder()
    start = time.perf_counter()
    for obs in observations:
        encoder.encode_observation(obs, KEYS)
    minilm_ms = 1000 * (time.perf_counter() - start) / len(observations)
    cache = encoder.cache_info()
    print(
        f"| encoder | ms per step ({args.task}, {len(observations)} random steps, 4 texts each) | cache hit rate | ms per miss |"
    )
    print("|---|---:|---:|---:|")
    print(f"| env step (ValidActionDiscrete, for scale) | {1000 * env_seconds:.1f} | - | - |")
    print(f"| bow (dim 256) | {bow_ms:.2f} | - | - |")
    looked_up = cache["hits"] + cache["misses"]
    print(f"| minilm (cache 8192) | {minilm_ms:.1f} | {cache['hit_rate']:.2f} ({cache['hits']} / {looked_up}) "
          f"| {cache['ms_per_miss']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
