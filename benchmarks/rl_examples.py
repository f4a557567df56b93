"""What the RL examples share: their common arguments, and how they score a policy against a seeded random floor.

``examples/ppo_options.py`` (SB3) and ``examples/rllib_ppo.py`` (RLlib) each take one dataclass of arguments, a
subclass of ``RLExampleArgs`` (the task, the action space, the budget in primitive steps, the test and the warm
start), so the two libraries' runs are defined alike; and both score a policy with ``play`` on ``pick_variations``
against ``random_floor``, so that their ``test_score`` and ``random_score`` mean the same thing: the final score
(0..100) of one episode per test variation, the variations evenly spaced over the split (``spread``: its targets vary
along it) or the first ones.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

import gymnasium as gym
import numpy as np

from baselines.warm_start import spread_variations


def arg(default: object, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A field of a command line's arguments dataclass (``dataclass_parser``): its default, what ``--help`` says of
    it and, for a choice, the values allowed."""
    return dataclasses.field(default=default, metadata={"help": help, **({"choices": choices} if choices else {})})


def dataclass_parser(cls: type, description: str) -> argparse.ArgumentParser:
    """A parser with one ``--flag`` per field of the dataclass ``cls`` (``max_choices`` -> ``--max-choices``).

    Each flag takes the type of its field's default (a bool becomes ``--flag`` / ``--no-flag``), its help is the
    field's ``metadata["help"]`` followed by the default, and ``metadata["choices"]`` restricts its values.
    ``cls(**vars(parser.parse_args()))`` is then the parsed dataclass.

    Raises:
        TypeError: a field without ``metadata["help"]`` (every flag must say what it does).
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for field in dataclasses.fields(cls):
        if "help" not in field.metadata:
            raise TypeError(f"{cls.__name__}.{field.name} has no metadata['help']: every flag must explain itself")
        options: dict = {"default": field.default, "help": field.metadata["help"], "choices": field.metadata.get("choices")}
        if isinstance(field.default, bool):
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = type(field.default)
        parser.add_argument(f"--{field.name.replace('_', '-')}", **options)
    return parser


TEST_VARIATIONS = ("spread", "first")
ACTION_SPACES = ("options", "primitive")
ExampleArgs = TypeVar("ExampleArgs", bound="RLExampleArgs")


@dataclasses.dataclass
class RLExampleArgs:
    """The arguments both RL examples take (each adds its library's own in a subclass)."""

    task: str = arg("find-living-thing", "a ScienceWorld task name (find-living-thing) or id (1-1)")
    action_space: str = arg("options", "options: sub-goals carried out by the scripted executor; primitive: the actions "
                            "the game's parser accepts", ACTION_SPACES)  # fmt: skip
    max_choices: int = arg(1024, "K: choices (sub-goals or actions) offered per state; a state with more is cut, counted "
                           "(states_cut) and warned about")  # fmt: skip
    seed: int = arg(0, "seeds Python, NumPy, torch, the training envs' variation draws and the learner")
    primitive_steps: int = arg(20_000, "training budget in primitive env steps (an option counts the steps it took)")
    episode_steps: int = arg(50, "primitive steps per episode, in training and test")
    learning_rate: float = arg(3e-4, "Adam's step size")
    ent_coef: float = arg(0.01, "weight of PPO's entropy bonus")
    eval_every: int = arg(5_000, "primitive steps between evaluations on the test variations")
    test_episodes: int = arg(10, "test variations played per evaluation, one episode each")
    test_variations: str = arg("spread", "spread: evenly spaced over the test split; first: the first ones", TEST_VARIATIONS)
    bc_variations: int = arg(0, "warm start: clone the gold paths of this many train variations (spread) before PPO; 0: none")
    bc_epochs: int = arg(200, "passes over those demonstrations (a few hundred Adam steps for 20 variations)")

    def problems(self) -> list[str]:
        """What is wrong with these arguments, one message per flag at fault (empty: nothing)."""
        least = {"max_choices": 1, "primitive_steps": 1, "episode_steps": 1, "eval_every": 1, "test_episodes": 1,
                 "bc_variations": 0, "bc_epochs": 1}  # fmt: skip
        return [f"--{name.replace('_', '-')} must be >= {bound}, got {getattr(self, name)}"
                for name, bound in least.items() if getattr(self, name) < bound]  # fmt: skip


def parse_example_args(cls: type[ExampleArgs], description: str) -> ExampleArgs:
    """``cls`` from the command line (one ``--flag`` per field, ``--help`` explaining each); exits with status 2 naming
    every problem of ``cls.problems()``."""
    parser = dataclass_parser(cls, description)
    args = cls(**vars(parser.parse_args()))
    if args.problems():
        parser.error("; ".join(args.problems()))
    return args


def pick_variations(n_split: int, count: int, how: str) -> list[int]:
    """``count`` variations of a split of ``n_split``: evenly spaced (``spread``) or the first (``first``).

    Raises:
        ValueError: ``how`` is neither.
    """
    if how not in TEST_VARIATIONS:
        raise ValueError(f"unknown choice of test variations {how!r}: expected one of {list(TEST_VARIATIONS)}")
    return spread_variations(n_split, count) if how == "spread" else list(range(min(count, n_split)))


def play(env: gym.Env, policy: Callable[[Any, np.ndarray], int], variations: list[int], seed: int) -> list[float]:
    """The final score (0..100) of one episode per variation.

    Args:
        env: a masked-choice env (``action_masks()`` on some wrapper) of one task, on the split of ``variations``.
        policy: ``policy(obs, mask) -> index``, ``mask`` the ``(K,)`` boolean mask of the state ``obs`` shows.
        variations: variation indices of the env's split, one episode each.
        seed: the reset seed of every episode.
    """
    scores = []
    for variation in variations:
        obs, info = env.reset(seed=seed, options={"variation": variation})
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(policy(obs, env.get_wrapper_attr("action_masks")()))
            done = terminated or truncated
        scores.append(float(info["score"]))
    return scores


def random_floor(task: str, episode_steps: int, variations: list[int], seed: int) -> float:
    """Mean final score of uniformly random valid primitive actions (seeded) on ``variations`` of the test split:
    the protocol's ``random`` floor, on the examples' variations and episode length."""
    from sgd_gym.wrappers import BagOfWordsObservation, ValidActionDiscrete

    rng = np.random.default_rng(seed)
    flat = gym.make("sgd_gym/ScienceWorld-v1", task=task, split="test", max_episode_steps=episode_steps)
    env = BagOfWordsObservation(ValidActionDiscrete(flat), dim=8)
    try:
        return float(np.mean(play(env, lambda obs, mask: int(rng.choice(np.flatnonzero(mask))), variations, seed)))
    finally:
        env.close()
