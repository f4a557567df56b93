"""The action set learners see, on real states: the cut at K, parser-rejected actions, the ambiguity prompt."""

from __future__ import annotations

import random

import gymnasium as gym
import pytest

import sgd_gym  # noqa: F401
from sgd_gym.backend import ACCEPTED, AMBIGUOUS, REJECTED, answer_is_carried_out
from sgd_gym.envs.scienceworld import AMBIGUITY_PROMPT
from sgd_gym.wrappers import DEFAULT_MAX_ACTIONS, ValidActionDiscrete, order_actions


def gold_state(env: gym.Env, task: str, split: str, variation: int, steps: int) -> list[str]:
    """Reset ``env`` on a variation and play the first ``steps`` gold actions; returns the gold path."""
    _, info = env.reset(options={"task": task, "variation": variation, "gold_path": True})
    gold = info["gold_path"]
    for action in gold[:steps]:
        env.step(action)
    return gold


@pytest.fixture(scope="module")
def env():
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train")
    yield env
    env.close()


# ---------------------------------------------------------------- case 1: the cut at K
@pytest.mark.parametrize(
    ("task", "steps", "action"),
    [
        ("boil", 11, "focus on substance in metal pot"),  # the raw list, fewest words first: 770th of 1,078
        ("power-component", 5, "connect battery cathode to orange wire terminal 1"),  # 747th of 1,469
        ("measure-melting-point-known-substance", 14, "move chocolate to metal pot"),  # 688th of 1,548
    ],
)
def test_deciding_gold_actions_are_among_the_default_k_choices(env, task, steps, action):
    gold = gold_state(env, task, "train", 0, steps)
    assert gold[steps] == action  # the next gold action
    raw = env.unwrapped.valid_actions()
    assert order_actions(raw, "length").index(action) >= 512  # what a 512-slot learner lost before
    wrapper = ValidActionDiscrete(env)
    choices = order_actions(env.unwrapped.accepted_actions())
    assert len(choices) <= DEFAULT_MAX_ACTIONS and action in choices[: wrapper.max_actions]
    if action.startswith("focus on"):
        assert choices.index(action) < 256  # focus actions come right after the plain commands


# ---------------------------------------------------------------- case 2: listed actions the parser rejects
def test_accepted_actions_drop_what_the_parser_rejects_in_the_art_studio(env):
    gold_state(env, "chemistry-mix-paint-secondary-color", "train", 0, 14)  # in the art studio, cupboards closed
    backend = env.unwrapped.backend
    raw, accepted = env.unwrapped.valid_actions(), env.unwrapped.accepted_actions()
    assert [listed.text for listed in backend.listed_actions()] == raw
    assert set(accepted) < set(raw) and accepted == [action for action in raw if action in set(accepted)]
    sample = random.Random(0).sample(raw, 60)
    verdicts = [backend.parse(action).verdict for action in sample]
    assert verdicts.count(REJECTED) >= 25  # stock ScienceWorld: 31 of 60 at this state
    rejected = [action for action, verdict in zip(sample, verdicts) if verdict == REJECTED]
    assert not set(rejected) & set(accepted)
    assert all("cupboard" in action or "drawer" in action for action in rejected)  # inside the closed cupboards
    after = [backend.parse(action).verdict for action in accepted]
    assert after.count(REJECTED) == 0 and after.count(ACCEPTED) > 0.8 * len(after)
    assert set(after) <= {ACCEPTED, AMBIGUOUS}  # names shared by several paints: the game asks which one


def test_parse_leaves_the_episode_unchanged(env):
    gold = gold_state(env, "boil", "train", 0, 11)
    backend = env.unwrapped.backend
    before = (backend.look(), backend.inventory(), env.unwrapped.valid_actions())
    results = [backend.parse(action) for action in ("focus on substance in metal pot", "move metal pot to stove", "fly")]
    assert [result.verdict for result in results] == [ACCEPTED, ACCEPTED, REJECTED]
    assert results[0].action_id == 11 and len(results[0].object_ids) == 1  # ActionDefinitions.ACTION_ID_FOCUS
    assert (backend.look(), backend.inventory(), env.unwrapped.valid_actions()) == before
    for action in gold[11:]:
        _, _, terminated, _, info = env.step(action)
    assert terminated and info["score"] == 100


# ---------------------------------------------------------------- case 3: the ambiguity prompt
def test_ambiguity_prompt_and_the_swallowed_answer_are_flagged():
    env = gym.make("sgd_gym/ScienceWorld-v1", task="chemistry-mix-paint-secondary-color", variation=0, valid_actions=True)
    try:
        gold_state(env, "chemistry-mix-paint-secondary-color", "train", 0, 14)
        obs, _, _, _, info = env.step("pour red paint in wood cup")  # three wood cups in view
        assert obs["observation"].startswith(AMBIGUITY_PROMPT) and info["valid"] is False and info["awaiting_choice"]
        assert info["valid_actions"] == ["0", "1", "2"]
        moves = info["moves"]
        obs, _, _, _, info = env.step("look around")  # not an answer: cancels the prompt, the command is dropped
        assert obs["observation"].startswith("Unknown action.") and info["valid"] is False and not info["awaiting_choice"]
        assert info["moves"] == moves + 1  # the world still took a turn
        obs, _, _, _, info = env.step("look around")
        assert info["valid"] is True and obs["observation"].startswith("This room is called the art studio")
        env.step("pour red paint in wood cup")
        obs, _, _, _, info = env.step("help")  # answered before the parser: the prompt still waits
        assert info["valid"] is True and info["awaiting_choice"]
        obs, _, _, _, info = env.step("1")
        assert info["valid"] is True and not info["awaiting_choice"]
        assert obs["observation"] == "You pour the red paint into the wood cup."
        _, _, _, _, info = env.step("fly")
        assert info["valid"] is False and not info["awaiting_choice"]  # the unknown-action case is unchanged
    finally:
        env.close()


@pytest.mark.parametrize(
    ("answer", "choices", "carried_out"),
    [("0", 3, True), ("2", 3, True), ("+1", 3, True), ("3", 3, False), ("-1", 3, False), (" 1", 3, False), ("look", 3, False)],
)
def test_prompt_answers_follow_integer_parsing(answer, choices, carried_out):
    assert answer_is_carried_out(answer, choices) is carried_out
