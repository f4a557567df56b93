"""Model agents on the real env with really tiny models trained on data the test collects."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agents.data.datasets import build_data
from agents.executor import LearnedExecutor
from agents.hierarchical import HierarchicalAgent
from agents.policies import Seq2SeqPolicy
from agents.train import TrainSettings, train
from baselines.flat_bc import FlatBCAgent
from benchmarks.protocol import EpisodeSpec, run_episode
from sgd_gym.executors import ScriptedExecutor
from sgd_gym.subgoals import END_SG, parse_subgoal

MICRO = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)


@pytest.fixture(scope="module")
def policies(gold_data, tmp_path_factory):
    """Planner, executor and flat micro models, 40 steps each on the collected gold data."""
    build_data(gold_data, max_tokens=256)
    out = tmp_path_factory.mktemp("ckpt")
    for kind in ("planner", "executor", "flat"):
        settings = TrainSettings(kind, max_steps=40, batch_size=8, learning_rate=1e-2, eval_steps=20, config_overrides=MICRO,
                                 max_source_tokens=256)  # fmt: skip
        train(settings, gold_data, out / kind, progress=False)
    return {kind: Seq2SeqPolicy.load(out / kind) for kind in ("planner", "executor", "flat")}


def test_hierarchical_agent_finishes_an_episode_within_budget(policies):
    agent = HierarchicalAgent(policies["planner"], LearnedExecutor(policies["executor"], num_beams=2), num_beams=2,
                              max_option_steps=4)  # fmt: skip
    env = gym.make("sgd_gym/ScienceWorld-v1", split="test", valid_actions=True, max_episode_steps=12)
    try:
        record = run_episode(agent, env, EpisodeSpec("find-living-thing", "test", 0, seed=0), max_steps=12)
    finally:
        env.close()
    assert record["error"] is None and 0 < record["steps"] <= 12
    begun = agent.memory.completed + [agent.memory.current or agent.subgoal]
    assert all(parse_subgoal(s) for s in begun) and agent.memory.step == record["steps"] - 1  # the last step unseen
    assert agent.planner_calls >= 1 and END_SG not in record["actions"]


def test_every_step_replanning_and_flat_agent(policies):
    env = gym.make("sgd_gym/ScienceWorld-v1", split="test", valid_actions=True, max_episode_steps=6)
    try:
        agent = HierarchicalAgent(policies["planner"], LearnedExecutor(policies["executor"]), replan="every-step", num_beams=1)
        record = run_episode(agent, env, EpisodeSpec("boil", "test", 0, seed=0), max_steps=6)
        assert record["error"] is None and record["steps"] == 6 and agent.planner_calls >= 6
        flat = run_episode(FlatBCAgent(policies["flat"]), env, EpisodeSpec("boil", "test", 0, seed=0), max_steps=6)
        assert flat["error"] is None and flat["steps"] == 6
        env.reset(seed=0, options={"task": "boil", "variation": 0})
        assert flat["actions"][0] in env.unwrapped.valid_actions()
    finally:
        env.close()
    with pytest.raises(ValueError, match="unknown replan mode"):
        HierarchicalAgent(policies["planner"], LearnedExecutor(policies["executor"]), replan="sometimes")


def test_learned_executor_runs_inside_the_options_env(policies):
    executor = LearnedExecutor(policies["executor"], num_beams=2)
    env = gym.make("sgd_gym/ScienceWorldOptions-v1", task="find-living-thing", split="test", variation=0, executor=executor,
                   max_option_steps=3, max_primitive_steps=9)  # fmt: skip
    try:
        env.reset()
        for subgoal in ("navigate_to(outside)", "focus_on(dove egg)", "look_around()"):
            obs, reward, terminated, truncated, info = env.step(subgoal)
            assert 1 <= info["option_steps"] <= 3 and len(info["primitive_actions"]) <= 3
            assert END_SG not in info["primitive_actions"]
            if terminated or truncated:
                break
        assert info["primitive_steps"] <= 9
    finally:
        env.close()


class ReplayPlanner:
    """The gold planner: proposes the rules annotation's sub-goals in order (the ceiling of the planner)."""

    max_source_tokens = 256

    def __init__(self, subgoals: list[str]) -> None:
        self.subgoals, self.calls = subgoals, 0

    def generate(self, sources, num_beams=1, num_return_sequences=1):
        text = self.subgoals[min(self.calls, len(self.subgoals) - 1)]
        self.calls += 1
        return [[(text, 0.0)]]


def test_scripted_executor_under_a_planner_reaches_the_gold_score(gold_data):
    """The ablation 'planner + scripted executor': with the gold plan it replays the expert's score."""
    from agents.data.annotate import load_annotations
    from agents.data.collect import load_trajectories

    key = ("use-thermometer", "train", 0)
    subgoals = [s["text"] for s in load_annotations(gold_data, "rules")[key]["subgoals"]]
    gold_score = load_trajectories(gold_data)[key]["steps"][-1]["score"]
    agent = HierarchicalAgent(ReplayPlanner(subgoals), ScriptedExecutor())
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True, max_episode_steps=100)
    try:
        record = run_episode(agent, env, EpisodeSpec(*key, seed=0), max_steps=100)
    finally:
        env.close()
    assert record["error"] is None and record["score"] == gold_score == 100
    assert agent.memory.completed[: len(subgoals) - 1] == subgoals[:-1]  # the planner's context saw each one end


class FixedPlanner:
    """A planner whose beams are fixed texts, best first (the agent's choice among them is under test)."""

    max_source_tokens = 256

    def __init__(self, texts):
        self.texts = texts

    def generate(self, sources, num_beams=1, num_return_sequences=1, **options):
        return [[(text, -float(i)) for i, text in enumerate(self.texts[:num_return_sequences])]]


@pytest.fixture(scope="module")
def causal_checkpoints(gold_data, tmp_path_factory):
    """Planner and flat tiny random Llamas trained whole, the executor as a LoRA adapter: 2 steps each."""
    from agents.train import read_examples
    from tests.agents.tiny_llama import save_tiny_llama

    build_data(gold_data, max_tokens=256)
    texts = [text for kind in ("planner", "executor", "flat") for example in read_examples(gold_data / "examples" /
             f"{kind}.train.jsonl") for text in example.values()]  # fmt: skip
    out = tmp_path_factory.mktemp("causal")
    base = save_tiny_llama(out / "base", texts, vocab_size=800)
    for kind in ("planner", "executor", "flat"):
        settings = TrainSettings(kind, init=str(base), max_steps=2, batch_size=4, eval_steps=2, max_source_tokens=256,
                                 lora_rank=4 if kind == "executor" else None)  # fmt: skip
        train(settings, gold_data, out / kind, progress=False)
    return out


def test_causal_lm_agents_act_in_the_real_env(causal_checkpoints):
    from benchmarks.registry import AgentConfig

    hierarchical = AgentConfig("hierarchical", planner=str(causal_checkpoints / "planner"),
                               executor=str(causal_checkpoints / "executor"), num_beams=2)  # fmt: skip
    flat = AgentConfig("flat", checkpoint=str(causal_checkpoints / "flat"), num_beams=2, guards=("avoid-cycles",))
    env = gym.make("sgd_gym/ScienceWorld-v1", split="test", valid_actions=True, max_episode_steps=5)
    try:
        for config in (hierarchical, flat):
            config.check()  # kinds from the saved metadata, adapter included
            agent = config.build()
            record = run_episode(agent, env, EpisodeSpec("find-living-thing", "test", 0, seed=0), max_steps=5)
            assert record["error"] is None and record["steps"] == 5, record
            env.reset(seed=0, options={"task": "find-living-thing", "variation": 0})
            assert record["actions"][0] in env.unwrapped.valid_actions()  # grounded
    finally:
        env.close()
    assert type(agent.policy).__name__ == "CausalLMPolicy"
    assert hierarchical.parameters() > flat.parameters() > 0  # planner + (base + adapter) executor


class ScriptedReplies:
    """An executor that replies from a script, saying which guard changed its choice for ``go to kitchen``."""

    def __init__(self, replies):
        self.replies, self.changed_by = list(replies), ()

    def reset(self, task_description, memory=None):
        pass

    def act(self, obs, info, subgoal):
        reply = self.replies.pop(0)
        self.changed_by = ("avoid-cycles",) if reply == "go to kitchen" else ()
        return reply


def test_the_hierarchical_agent_traces_options_and_guards():
    from agents.guards import make_guards

    planner = FixedPlanner(["focus_on(orange)", "focus_on(water)"])  # boil water: named-focus passes over the orange
    executor = ScriptedReplies(["go to hallway", "go to kitchen", END_SG, "look around"])
    agent = HierarchicalAgent(planner, executor, max_option_steps=2, num_beams=2, guards=make_guards(["named-focus"]))
    agent.reset("Your task is to boil water.")
    obs = {"observation": "", "look": "", "inventory": "", "task": "Your task is to boil water."}
    info = {"score": 0, "task_name": "boil", "valid_actions": ["focus on water", "focus on orange", "look around"]}
    traces = [(agent.act(obs, info), agent.trace()) for _ in range(3)]
    assert traces == [
        ("go to hallway", {"subgoal": "focus_on(water)", "opened": True, "guards": ["named-focus"]}),
        ("go to kitchen", {"subgoal": "focus_on(water)", "guards": ["avoid-cycles"]}),
        ("look around", {"subgoal": "focus_on(water)", "opened": True, "guards": ["named-focus"],
                         "ended": [["focus_on(water)", "budget"], ["focus_on(water)", "done"]]}),
    ]  # fmt: skip


def test_the_flat_agent_traces_the_guard_that_changed_its_choice():
    from agents.guards import make_guards

    class Policy:
        def generate(self, sources, num_beams=1, num_return_sequences=1):
            return [[("focus on thermometer", 0.0)]]

    agent = FlatBCAgent(Policy(), num_beams=1, guards=make_guards(["safe-focus"]))
    agent.reset("Your task is to measure the temperature.")
    obs = {"observation": "", "look": "", "inventory": "", "task": "Your task is to measure the temperature."}
    info = {"score": 0, "valid_actions": ["focus on thermometer", "look around"]}
    assert (agent.act(obs, info), agent.trace()) == ("focus on thermometer", {})
    assert (agent.act(obs, info), agent.trace()) == ("look around", {"guards": ["safe-focus"]})  # never twice
