"""The options env with the scripted executor, its discrete wrapper, and consistency with gold paths."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import sgd_gym  # noqa: F401
from agents.data.annotate import load_annotations
from agents.data.collect import TRAJECTORIES
from sgd_gym.executors import ScriptedExecutor
from sgd_gym.io import read_jsonl
from sgd_gym.subgoals import END_SG, VERBS, parse_subgoal
from sgd_gym.wrappers import BagOfWordsObservation


@pytest.fixture(scope="module")
def options_env():
    env = gym.make("sgd_gym/ScienceWorldOptions-v1", task="boil", variation=0, max_primitive_steps=30)
    yield env
    env.close()


def test_gold_subgoals_reach_the_gold_score_and_every_verb_completes(gold_data):
    """Rules annotation of a gold path, sub-goal by sub-goal through the scripted executor: same final score."""
    annotations = load_annotations(gold_data, "rules")
    env = gym.make("sgd_gym/ScienceWorldOptions-v1", split="train", max_primitive_steps=1000)
    done_verbs = set()
    try:
        for trajectory in read_jsonl(gold_data / TRAJECTORIES):
            obs, info = env.reset(options={"task": trajectory["task"], "variation": 0})
            used = 0
            for segment in annotations[(trajectory["task"], "train", 0)]["subgoals"]:
                obs, reward, terminated, truncated, info = env.step(segment["text"])
                used += info["option_steps"]
                if info["subgoal_done"]:
                    done_verbs.add(parse_subgoal(segment["text"]).verb)
                if terminated:
                    break
            assert info["score"] == trajectory["final_score"] == 100, trajectory["task"]
            assert terminated and not truncated and info["primitive_steps"] == used
    finally:
        env.close()
    assert done_verbs >= set(VERBS) - {"eat", "check_inventory"}


def test_option_info_and_primitive_budget(options_env):
    obs, info = options_env.reset()
    assert info["primitive_steps"] == 0
    obs, reward, terminated, truncated, info = options_env.step("navigate_to(kitchen)")
    assert info["primitive_actions"] == ["open door to kitchen", "go to kitchen"] and info["option_steps"] == 2
    assert info["subgoal_done"] and "kitchen" in obs["look"].split(".")[0] and info["moves"] == 2
    _, _, _, _, info = options_env.step("check_inventory()")
    assert info["primitive_actions"] == ["inventory"] and info["subgoal_done"]
    _, _, _, _, info = options_env.step("navigate_to(kitchen)")  # already there: no action, still one step of budget
    assert info["primitive_actions"] == [] and info["subgoal_done"] and info["primitive_steps"] == 4
    _, _, _, truncated, info = options_env.step("wait(30)")  # cut by the option budget of 10
    assert len(info["primitive_actions"]) == 10 and not info["subgoal_done"] and info["primitive_steps"] == 14
    _, _, terminated, truncated, info = options_env.step("wait(10)")
    assert not truncated and info["primitive_steps"] == 24
    _, _, terminated, truncated, info = options_env.step("wait(10)")
    assert truncated and not terminated and info["primitive_steps"] == 30 and len(info["primitive_actions"]) == 6


def test_malformed_and_impossible_sub_goals_cost_budget_not_crashes(options_env):
    options_env.reset()
    obs, reward, terminated, truncated, info = options_env.step("teleport(kitchen")
    assert obs["observation"].startswith("Invalid sub-goal: malformed sub-goal")
    assert info["primitive_actions"] == [] and not info["subgoal_done"] and info["primitive_steps"] == 1
    assert options_env.observation_space.contains(obs)
    _, _, _, _, info = options_env.step("pick_up(unicorn horn)")
    assert not info["subgoal_done"] and "no valid action is close" in info["subgoal_error"]
    with pytest.raises(TypeError, match="sub-goal str"):
        options_env.step(3)
    _, _, _, _, info = options_env.step("look_around()")
    assert info["subgoal_done"]


def test_ambiguous_requests_are_answered():
    executor = ScriptedExecutor()
    obs = {"observation": "Ambiguous request: Please enter the number...", "look": "This room is called the kitchen."}
    executor.reset("task")
    assert executor.act({"observation": "", "look": obs["look"]}, {"valid": True}, "pick_up(apple)") == "pick up apple"
    assert executor.act(obs, {"valid": True}, "pick_up(apple)") == "0"
    assert executor.act({"observation": "ok", "look": obs["look"]}, {"valid": True}, "pick_up(apple)") == END_SG
    assert executor.status == "done"


class CountingExecutor:
    """A user-supplied executor: 'wait1' n times for wait(n), anything else ends at once."""

    needs_valid_actions = False

    def reset(self, task_description):
        self.sent = 0
        self.status = None

    def act(self, obs, info, subgoal):
        sg = parse_subgoal(subgoal)
        if sg.verb == "wait" and self.sent < sg.count:
            self.sent += 1
            return "wait1"
        self.sent, self.status = 0, "done"
        return END_SG


def test_executor_objects_plug_in():
    env = gym.make("sgd_gym/ScienceWorldOptions-v1", task="boil", variation=0, executor=CountingExecutor())
    try:
        env.reset()
        _, _, _, _, info = env.step("wait(3)")
        assert info["primitive_actions"] == ["wait1"] * 3 and info["subgoal_done"] and "valid_actions" not in info
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown executor 'learned'"):
        gym.make("sgd_gym/ScienceWorldOptions-v1", executor="learned")
    with pytest.raises(TypeError, match="reset\\(\\) and act\\(\\)"):
        gym.make("sgd_gym/ScienceWorldOptions-v1", executor=object())


def test_discrete_subgoals_for_sb3():
    env = gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", task="find-living-thing", max_subgoals=64, max_primitive_steps=40)
    env = BagOfWordsObservation(env, dim=64)
    try:
        with pytest.warns(UserWarning, match=r"sub-goal candidates but Discrete\(64\) holds 64"):  # the cut is never silent
            sb3_check_env(env)
        obs, info = env.reset(seed=0)
        inner = env.get_wrapper_attr("subgoals")
        assert inner[:3] == ["look_around()", "wait(1)", "wait(10)"]
        assert any(s.startswith("navigate_to(") for s in inner) and any(s.startswith("focus_on(") for s in inner)
        masks = env.get_wrapper_attr("action_masks")()
        assert masks.sum() == len(inner) and masks.shape == (64,)
        index = inner.index("navigate_to(outside)") if "navigate_to(outside)" in inner else 3
        _, _, _, _, info = env.step(index)
        assert info["subgoal"] == inner[index]
        _, _, _, _, info = env.step(63 if not masks[63] else 10_000)
        assert info["valid"] is False and info["subgoal"] == "look_around()"
        model = MaskablePPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0)
        model.learn(64)
        assert model.num_timesteps >= 64 and np.isfinite(model.logger.name_to_value.get("train/loss", 0.0))
    finally:
        env.close()
