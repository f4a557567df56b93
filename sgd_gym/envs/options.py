"""``sgd_gym/ScienceWorldOptions-v1`` (and ``-v0``): sub-goals as temporally extended actions (an SMDP)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from sgd_gym.envs.scienceworld import MAX_ACTION_LENGTH, ScienceWorldEnv, text_space, to_text_space
from sgd_gym.executors import Executor, ScriptedExecutor
from sgd_gym.subgoals import END_SG, SubgoalError, parse_subgoal

DEFAULT_PRIMITIVE_STEPS = 100


def make_executor(executor: Any) -> Executor:
    """``"scripted"`` -> a ScriptedExecutor; an object with ``reset``/``act`` is used as given."""
    if isinstance(executor, str):
        if executor == "scripted":
            return ScriptedExecutor()
        raise ValueError(
            f"unknown executor {executor!r}: expected 'scripted' or an executor object with reset(task) and "
            "act(obs, info, subgoal) (a learned executor: agents.executor.LearnedExecutor.from_pretrained(path))"
        )
    if not (callable(getattr(executor, "act", None)) and callable(getattr(executor, "reset", None))):
        raise TypeError(f"executor must be 'scripted' or have reset() and act(), got {type(executor).__name__}")
    return executor


class ScienceWorldOptionsEnv(gym.Env[dict, str]):
    """## Description
    ScienceWorld where one action is a sub-goal such as ``heat(metal pot, stove)``. The env hands it to
    its executor, which issues primitive actions in an inner ``ScienceWorld-v1`` until it says
    ``END_SG``, the option budget ``max_option_steps`` runs out, or the episode ends.

    ## Action space
    ``Text(256)``: one sub-goal (see ``sgd_gym.subgoals``). A malformed sub-goal is not an error: the
    observation says what is wrong, ``info["subgoal_done"]`` is False, no primitive action is taken,
    and it still costs one primitive step of the episode budget, so no agent can loop forever.

    ## Observation space, rewards
    As ``ScienceWorld-v1`` after the option's last primitive step; the reward is the sum of the score
    changes during the option.

    ## Episode end
    ``terminated``: task completed or failed. ``truncated``: the primitive step budget
    ``max_primitive_steps`` (default 100, the flat env's ``max_episode_steps``), so flat and
    hierarchical agents get equal budgets. The ids are registered without a ``TimeLimit``: Gymnasium's
    ``gym.make(..., max_episode_steps=N)`` would count options, not primitive steps, and the env
    cannot see it, so pass ``max_primitive_steps=N`` instead.

    ## Info
    The inner env's info (``valid_actions`` holds the list ``listing`` names, as in ``ScienceWorld-v1``)
    plus ``option_steps`` (budget steps the option used: k for SMDP
    discounting), ``primitive_actions`` (the actions taken), ``subgoal_done`` (the executor ended it
    and it holds), ``subgoal_error`` (why not, when known), ``primitive_steps`` (used so far).

    ## Arguments
    ``executor`` (``"scripted"`` or an executor object), ``max_option_steps`` (default 10),
    ``max_primitive_steps`` (default 100), ``listing`` (``"accepted"``, default, or ``"raw"``: what the
    executor's ``info["valid_actions"]`` holds) and the arguments of ``ScienceWorld-v1``. Every
    observation returned is a new dict.
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        task: str = "boil",
        split: str = "train",
        variation: int | None = None,
        simplifications: str = "easy",
        executor: Any = "scripted",
        max_option_steps: int = 10,
        max_primitive_steps: int = DEFAULT_PRIMITIVE_STEPS,
        listing: str = "accepted",
        render_mode: str | None = None,
        jvm_heap: str | None = None,
        deterministic: bool = True,
    ) -> None:
        if max_option_steps < 1 or max_primitive_steps < 1:
            raise ValueError(
                f"max_option_steps and max_primitive_steps must be >= 1, got {max_option_steps!r}, {max_primitive_steps!r}"
            )
        self.executor = make_executor(executor)
        self.flat = ScienceWorldEnv(
            task=task,
            split=split,
            variation=variation,
            simplifications=simplifications,
            valid_actions=bool(getattr(self.executor, "needs_valid_actions", False)),
            listing=listing,
            render_mode=render_mode,
            jvm_heap=jvm_heap,
            deterministic=deterministic,
        )
        self.render_mode = render_mode
        self.listing = listing
        self.max_option_steps = int(max_option_steps)
        self.max_primitive_steps = int(max_primitive_steps)
        self.action_space = text_space(MAX_ACTION_LENGTH)
        self.observation_space = self.flat.observation_space
        self._obs: dict | None = None
        self._info: dict = {}
        self.primitive_steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Start an episode (same seeding and options as ``ScienceWorld-v1``)."""
        super().reset(seed=seed)
        self._obs, self._info = self.flat.reset(seed=seed, options=options)
        self.executor.reset(self._obs["task"])
        self.primitive_steps = 0
        return dict(self._obs), {**self._info, "primitive_steps": 0}

    def step(self, action: str) -> tuple[dict, float, bool, bool, dict]:
        """Carry out one sub-goal through the executor."""
        if not isinstance(action, str):
            raise TypeError(
                f"action must be a sub-goal str such as 'navigate_to(kitchen)', got {type(action).__name__}: {action!r}"
            )
        if self._obs is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        try:
            parse_subgoal(action)
        except SubgoalError as error:
            self.primitive_steps += 1
            obs = {**self._obs, "observation": to_text_space(f"Invalid sub-goal: {error}")}
            info = {**self._info, "valid": False, "option_steps": 1, "primitive_actions": [], "subgoal_done": False}
            info.update(subgoal_error=str(error), primitive_steps=self.primitive_steps)
            return obs, 0.0, False, self.primitive_steps >= self.max_primitive_steps, info

        total, actions, terminated, done, error = 0.0, [], False, False, None
        obs, info = self._obs, self._info
        while True:
            primitive = self.executor.act(obs, info, action)
            if primitive == END_SG:
                done = getattr(self.executor, "status", "done") != "failed"
                error = getattr(self.executor, "error", None)
                break
            if len(actions) >= self.max_option_steps or self.primitive_steps >= self.max_primitive_steps:
                if callable(getattr(self.executor, "abort", None)):
                    self.executor.abort()  # the option is cut: the next call starts a new sub-goal
                error = "option budget exhausted" if len(actions) >= self.max_option_steps else "episode budget exhausted"
                break
            obs, reward, terminated, _, info = self.flat.step(primitive)
            actions.append(primitive)
            total += reward
            self.primitive_steps += 1
            if terminated:
                break
        self._obs, self._info = obs, info
        obs = dict(obs)  # never the object returned before (Gymnasium's check_env: returned data not reused)
        truncated = not terminated and self.primitive_steps >= self.max_primitive_steps
        out = {**info, "option_steps": max(len(actions), 1), "primitive_actions": actions, "subgoal_done": done}
        out.update(subgoal_error=error, primitive_steps=self.primitive_steps)
        if not actions:
            self.primitive_steps += 1  # an option that took no step still costs one, so no agent loops forever
            out["primitive_steps"] = self.primitive_steps
            truncated = not terminated and self.primitive_steps >= self.max_primitive_steps
        return obs, total, terminated, truncated, out

    def valid_actions(self) -> list[str]:
        """ScienceWorld's own list of primitive valid actions in the current state (see ``ScienceWorld-v1``)."""
        return self.flat.valid_actions()

    def accepted_actions(self) -> list[str]:
        """The primitive valid actions the game's parser accepts (see ``ScienceWorldEnv.accepted_actions``)."""
        return self.flat.accepted_actions()

    def render(self) -> str | None:
        """As ``ScienceWorld-v1``."""
        return self.flat.render()

    def close(self) -> None:
        """Stop the JVM; idempotent."""
        self.flat.close()
