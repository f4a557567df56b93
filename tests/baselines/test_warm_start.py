"""The behaviour-cloning warm start: expert choices grounded onto the listed ones, replayed in the real env, cloned."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO

import sgd_gym  # noqa: F401
from baselines.drrn import CandidateScoringPolicy
from baselines.warm_start import (
    Demonstrations,
    accuracy,
    behaviour_clone,
    collect_demonstrations,
    discounted_returns,
    expert_choices,
    ground_choice,
)
from sgd_gym.wrappers import CandidateObservation, ValidActionDiscrete


def test_ground_choice_drops_locations_and_keeps_the_closest_arguments():
    choices = ["put(blue jay, inventory)", "put(blue jay, red box)", "focus_on(blue jay)", "put(cup, red box)"]
    assert ground_choice("put(blue jay, red box)", choices, "options") == "put(blue jay, red box)"  # exact
    assert ground_choice("put(egg blue jay egg in inventory, red box)", choices, "options") == "put(blue jay, red box)"
    assert ground_choice("focus_on(thermometer in inventory)", ["focus_on(inventory)", "focus_on(thermometer)"],
                         "options") == "focus_on(thermometer)"  # fmt: skip
    bulbs = ["connect(black wire terminal 2, cathode in blue light bulb)",
             "connect(black wire terminal 2, cathode in red light bulb)"]  # fmt: skip
    assert ground_choice("connect(black wire terminal 2, cathode in red light bulb)", bulbs[::-1], "options") == bulbs[1]
    assert ground_choice("connect(battery anode, black wire terminal 1)",
                         ["connect(anode in battery, black wire terminal 1)", "connect(anode in buzzer, black wire terminal 1)"],
                         "options") == "connect(anode in battery, black wire terminal 1)"  # fmt: skip
    assert ground_choice("move egg blue jay egg in inventory to red box",
                         ["move blue jay to inventory", "move blue jay to red box", "focus on blue jay"],
                         "primitive") == "move blue jay to red box"  # fmt: skip
    # nothing of the same verb close: the already open door, an unparsable text
    assert ground_choice("open door to kitchen", ["close door to kitchen", "go to kitchen"], "primitive") is None
    assert ground_choice("pick_up(frog)", ["pick_up(orange)", "focus_on(frog)"], "options") is None
    assert ground_choice("not a sub-goal", ["look_around()"], "options") is None


def test_expert_choices_speak_the_candidates_vocabulary():
    gold = ["open door to kitchen", "go to kitchen", "pick up thermometer", "examine water", "use thermometer on water",
            "wait1", "wait1"]  # fmt: skip
    assert expert_choices(gold, "primitive") == gold
    assert expert_choices(gold, "options") == ["navigate_to(kitchen)", "pick_up(thermometer)", "examine(water)",
                                               "use(thermometer, water)", "wait(1)", "wait(1)"]  # fmt: skip
    with pytest.raises(ValueError, match="action_space must be one of"):
        expert_choices(gold, "macro")
    assert discounted_returns([1.0, 0.0, 10.0], 0.5) == [1.0 + 0.5 * 0.0 + 0.25 * 10.0, 5.0, 10.0]


@pytest.mark.parametrize("action_space", ["options", "primitive"])
def test_demonstrations_replay_the_gold_path_to_its_score_and_clone_into_ppo(action_space):
    if action_space == "options":
        inner = gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", task="find-living-thing", split="train",
                         max_primitive_steps=50, max_subgoals=1024)  # fmt: skip
    else:
        inner = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task="find-living-thing", split="train",
                                             max_episode_steps=50), max_actions=1024)  # fmt: skip
    env = CandidateObservation(inner, dim=32, candidate_dim=16)
    try:
        demos = collect_demonstrations(env, [0, 37], action_space, seed=0, gamma=0.9)
        assert demos.scores == [100.0, 100.0] and demos.grounded >= 2  # the final put names the animal otherwise
        assert len(demos) == len(demos.masks) == len(demos.observations) == len(demos.returns)
        assert all(mask[action] for mask, action in zip(demos.masks, demos.actions))
        assert demos.primitive_steps >= len(demos) and demos.returns[0] > 0
        if action_space == "primitive":
            assert any("open door" in skipped for skipped in demos.skipped)  # the doors are open already
        model = MaskablePPO(CandidateScoringPolicy, env, n_steps=16, batch_size=16, seed=0, device="cpu")
        before = accuracy(model, demos)
        history = behaviour_clone(model, demos, epochs=300, batch_size=8, seed=0)
        assert len(history) == 300 and history[-1]["loss"] < history[0]["loss"]
        assert history[-1]["accuracy"] >= 0.8 > 0.3 > before  # the near-uniform start rarely agrees with the expert
        model.learn(32)  # PPO goes on from the cloned policy
    finally:
        env.close()
    with pytest.raises(ValueError, match="no demonstrations"):
        behaviour_clone(model, Demonstrations())


def test_demonstration_summary_counts():
    demos = Demonstrations(actions=[1, 2], scores=[100.0, 50.0], grounded=1, skipped=["x"], primitive_steps=5)
    summary = demos.summary()
    assert summary == {"decisions": 2, "episodes": 2, "primitive_steps": 5, "mean_score": 75.0, "grounded": 1,
                       "skipped": ["x"]}  # fmt: skip
    assert np.isclose(summary["mean_score"], 75.0)


def test_demonstrations_refuse_a_state_cut_before_the_experts_choice():
    env = CandidateObservation(ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task="find-living-thing",
                                                            split="train", max_episode_steps=50), max_actions=4),
                               dim=8, candidate_dim=8)  # fmt: skip
    try:
        with pytest.raises(ValueError, match=r"variation 0: the state lists \d+ choices but K = 4 are offered"):
            collect_demonstrations(env, [0], "primitive")
    finally:
        env.close()
