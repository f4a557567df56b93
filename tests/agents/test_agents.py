"""Model agents on the real env with really tiny models trained on data the test collects."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agents.data.datasets import build_context, build_data
from agents.executor import LearnedExecutor
from agents.grounding import choose_action, cycle_action, ground_candidates, sent_focus, subgoal_feasible
from agents.hierarchical import HierarchicalAgent
from agents.models import Seq2SeqPolicy
from agents.train import train
from baselines.flat_bc import FlatBCAgent
from benchmarks.evaluate import EpisodeSpec, run_episode
from sgd_gym.subgoals import END_SG, parse_subgoal

MICRO = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)


@pytest.fixture(scope="module")
def policies(gold_data, tmp_path_factory):
    """Planner, executor and flat micro models, 40 steps each on the collected gold data."""
    build_data(gold_data, max_tokens=256)
    out = tmp_path_factory.mktemp("ckpt")
    for kind in ("planner", "executor", "flat"):
        train(kind, gold_data, out / kind, max_steps=40, batch_size=8, learning_rate=1e-2, eval_steps=20, progress=False,
              config_overrides=MICRO, max_source_tokens=256)  # fmt: skip
    return {kind: Seq2SeqPolicy.load(out / kind) for kind in ("planner", "executor", "flat")}


def test_grounding_always_returns_a_valid_action():
    valid = ["open door to kitchen", "go to kitchen", "pick up thermometer"]
    assert ground_candidates([("pick up thermometer", -0.1)], valid) == "pick up thermometer"
    assert ground_candidates([("pick up thermomter", -0.1), ("go to kitchen", -0.5)], valid) == "go to kitchen"
    assert ground_candidates([("pick up the thermometr", -0.1)], valid) == "pick up thermometer"
    assert ground_candidates([("zzzz", -0.1)], valid) in valid
    assert ground_candidates([("zzzz", -0.1)], []) == "zzzz"
    with pytest.raises(ValueError, match="no candidates"):
        ground_candidates([], valid)


def test_cycles_are_found_and_passed_over():
    hall, shop = ("go to hallway", "You move to the hallway."), ("go to workshop", "You move to the workshop.")
    assert cycle_action([hall, shop, hall, shop]) == "go to hallway"  # period 2: next would be hallway again
    assert cycle_action([shop, ("look around", "A room."), ("look around", "A room.")]) == "look around"  # period 1
    heating = [("examine water", "a substance called water (20 C)"), ("examine water", "a substance called water (30 C)")]
    assert cycle_action(heating) is None  # same action, new text: no cycle
    assert cycle_action([hall, shop, hall]) is None and cycle_action([]) is None
    valid = ["go to hallway", "go to kitchen", "look around"]
    candidates = [("go to hallway", -0.1), ("go to garden", -0.2), ("go to kitchen", -0.3)]
    assert ground_candidates(candidates, valid, avoid="go to hallway") == "go to kitchen"
    assert ground_candidates(candidates[:2], valid, avoid="go to hallway") == "go to kitchen"  # the closest other one
    assert ground_candidates(candidates, ["go to hallway"], avoid="go to hallway") == "go to hallway"  # nothing else
    focus = ["go to hallway", "focus on hallway", "look around"]
    assert ground_candidates([("go to hallway", -0.1)], focus, avoid="go to hallway") == "look around"  # never a new focus
    asked = [("go to hallway", -0.1), ("focus on hallway", -0.2)]
    assert ground_candidates(asked, focus, avoid="go to hallway") == "focus on hallway"  # unless a candidate asked
    assert ground_candidates(candidates, valid, avoid=None) == "go to hallway"


def test_safe_focus_sends_only_a_named_focus_and_never_twice():
    valid = ["focus on hallway", "focus on thermometer", "go to hallway", "look around"]
    misspelt = [("focus on thermometr", -0.1)]
    assert ground_candidates(misspelt, valid) == "focus on thermometer"  # the default guesses the focus target
    assert not ground_candidates(misspelt, valid, safe_focus=True).startswith("focus on")
    assert choose_action([("focus on thermometer", -0.1)], valid, [], safe_focus=True) == "focus on thermometer"  # named
    history = [("pick up thermometer", "You move the thermometer to the inventory."),
               ("focus on thermometer", "You focus on the thermometer.")]  # fmt: skip
    assert sent_focus(history) == {"focus on thermometer"}
    again = [("focus on thermometer", -0.1), ("look around", -0.2)]
    assert choose_action(again, valid, history) == "focus on thermometer"
    assert choose_action(again, valid, history, safe_focus=True) == "look around"
    only = [("focus on thermometer", -0.1)]
    assert not choose_action(only, valid, history, safe_focus=True).startswith("focus on")  # nor a new guessed one
    loop = [("go to hallway", "You move to the hallway."), ("look around", "A hallway.")] * 2
    assert choose_action([("go to hallway", -0.1), ("look around", -0.2)], valid, loop, avoid_cycles=True) == "look around"


def test_agents_take_the_guard_options_by_name(policies, tmp_path):
    from benchmarks.evaluate import make_agent

    for kind in ("planner", "executor", "flat"):
        policies[kind].save(tmp_path / kind)
    flat = make_agent("flat", str(tmp_path / "flat"), avoid_cycles=True, safe_focus=True)
    hierarchical = make_agent("hierarchical", None, str(tmp_path / "planner"), str(tmp_path / "executor"), avoid_cycles=True,
                              safe_focus=True)  # fmt: skip
    assert flat.avoid_cycles and hierarchical.executor.avoid_cycles and flat.safe_focus and hierarchical.executor.safe_focus
    copying = make_agent("hierarchical", None, str(tmp_path / "planner"), str(tmp_path / "executor"), copy_actions=True)
    assert copying.executor.copy_actions and not hierarchical.executor.copy_actions
    default = make_agent("flat", str(tmp_path / "flat"))
    assert not default.avoid_cycles and not default.safe_focus and not default.constrained
    flat = make_agent("flat", str(tmp_path / "flat"), constrained=True)
    hierarchical = make_agent("hierarchical", None, str(tmp_path / "planner"), str(tmp_path / "executor"), constrained=True)
    assert flat.constrained and hierarchical.executor.constrained
    stalling = make_agent("hierarchical", None, str(tmp_path / "planner"), str(tmp_path / "executor"), end_stalled=True)
    assert stalling.executor.end_stalled and not hierarchical.executor.end_stalled
    named = make_agent("hierarchical", None, str(tmp_path / "planner"), str(tmp_path / "executor"), named_focus=True)
    assert named.named_focus and named.executor.named_focus and not hierarchical.named_focus
    assert make_agent("flat", str(tmp_path / "flat"), named_focus=True).named_focus and not default.named_focus


def test_hierarchical_agent_finishes_an_episode_within_budget(policies):
    agent = HierarchicalAgent(policies["planner"], LearnedExecutor(policies["executor"], num_beams=2), num_beams=2,
                              max_option_steps=4)  # fmt: skip
    env = gym.make("sgd_gym/ScienceWorld-v0", split="test", valid_actions=True, max_episode_steps=12)
    try:
        record = run_episode(agent, env, EpisodeSpec("find-living-thing", "test", 0, seed=0), max_steps=12)
    finally:
        env.close()
    assert record["error"] is None and 0 < record["steps"] <= 12
    assert agent.subgoals and all(parse_subgoal(s) for s in agent.subgoals)
    assert agent.planner_calls >= 1 and END_SG not in record["actions"]


def test_every_step_replanning_and_flat_agent(policies):
    env = gym.make("sgd_gym/ScienceWorld-v0", split="test", valid_actions=True, max_episode_steps=6)
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
    env = gym.make("sgd_gym/ScienceWorldOptions-v0", task="find-living-thing", split="test", variation=0, executor=executor,
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
    from agents.executor import ScriptedContextExecutor

    key = ("use-thermometer", "train", 0)
    subgoals = [s["text"] for s in load_annotations(gold_data, "rules")[key]["subgoals"]]
    gold_score = load_trajectories(gold_data)[key]["steps"][-1]["score"]
    agent = HierarchicalAgent(ReplayPlanner(subgoals), ScriptedContextExecutor())
    env = gym.make("sgd_gym/ScienceWorld-v0", split="train", valid_actions=True, max_episode_steps=100)
    try:
        record = run_episode(agent, env, EpisodeSpec(*key, seed=0), max_steps=100)
    finally:
        env.close()
    assert record["error"] is None and record["score"] == gold_score == 100
    assert agent.subgoals[: len(subgoals)] == subgoals
    assert agent.executor.completed[: len(subgoals) - 1] == subgoals[:-1]  # the planner's context saw each one end


def test_copy_actions_sends_a_single_action_subgoal_own_action(policies):
    """The partly scripted ablation: focus_on(x) starts with 'focus on x' when valid, then the model decides."""
    from agents.executor import single_action

    assert single_action("focus_on(ice cream)") == "focus on ice cream"
    assert single_action("put(metal pot, stove)") == "move metal pot to stove"
    assert single_action("heat(water, stove)") is None and single_action("navigate_to(kitchen)") is None
    assert single_action("not a sub-goal") is None

    obs = {"task": "Your task is to boil ice cream.", "look": "This room is called the kitchen.", "inventory": "nothing",
           "observation": "The freezer is now open."}  # fmt: skip
    info = {"score": 0, "valid_actions": ["look around", "focus on ice cream", "open freezer"]}
    executor = LearnedExecutor(policies["executor"], num_beams=2, copy_actions=True, safe_focus=True)
    executor.reset(obs["task"])
    assert executor.act(obs, info, "focus_on(ice cream)") == "focus on ice cream"
    second = executor.act({**obs, "observation": "You focus on the ice cream."}, info, "focus_on(ice cream)")
    assert second != "focus on ice cream" and (second == END_SG or second in info["valid_actions"])  # the model's turn
    executor.reset(obs["task"])
    assert executor.act(obs, {**info, "valid_actions": ["look around", "open freezer"]}, "open(fridge)") in info["valid_actions"]
    plain = LearnedExecutor(policies["executor"], num_beams=2)  # off by default: the model alone
    plain.reset(obs["task"])
    model_choice = plain.act(obs, info, "focus_on(ice cream)")
    assert model_choice in info["valid_actions"] and plain.copy_actions is False


def test_rank_replaces_fuzzy_matching_only_when_no_candidate_is_valid():
    asked: list[list[str]] = []

    def rank(actions):
        asked.append(actions)
        return [(actions[-1], -1.0)]

    valid = ["look around", "focus on ice cream", "open freezer"]
    assert ground_candidates([("open freezer", -0.1)], valid, rank=rank) == "open freezer" and not asked
    assert ground_candidates([("open fridge", -0.1)], valid, rank=rank) == "open freezer"
    assert asked == [valid]
    assert ground_candidates([("open fridge", -0.1)], valid[:2], safe_focus=True, rank=rank) == "look around"
    assert asked[-1] == ["look around"]  # safe focus: a focus only when a candidate names it
    assert ground_candidates([("open fridge", -0.1)], valid, rank=lambda actions: []) == "open freezer"  # fuzzy fallback


class RecordingPolicy:
    """A real policy that also keeps the ``allowed`` sets it was asked to decode into."""

    def __init__(self, policy):
        self.policy, self.allowed = policy, []
        self.max_source_tokens = policy.max_source_tokens

    def generate(self, sources, **options):
        self.allowed.append(options.get("allowed"))
        return self.policy.generate(sources, **options)


def test_constrained_agents_ground_by_the_model_choice(policies):
    obs = {"task": "Your task is to boil ice cream.", "look": "This room is called the kitchen.", "inventory": "nothing",
           "observation": "The freezer is now open."}  # fmt: skip
    # Texts no model writes on its own, so grounding has to choose; the model's constrained decoding does.
    info = {"score": 0, "valid_actions": ["zebra dance", "focus on ice cream", "quux the blorp"]}
    recorder = RecordingPolicy(policies["executor"])
    executor = LearnedExecutor(recorder, num_beams=2, constrained=True, safe_focus=True)
    executor.reset(obs["task"])
    action = executor.act(obs, info, "open(freezer)")
    assert recorder.allowed[-1] == [["zebra dance", "quux the blorp"]]  # safe focus: no focus nobody named
    source = build_context(executor.state, current="open(freezer)", max_tokens=executor.max_tokens)
    best = policies["executor"].generate([source], num_beams=2, num_return_sequences=2, allowed=recorder.allowed[-1])[0]
    assert action == best[0][0]

    flat_recorder = RecordingPolicy(policies["flat"])
    flat = FlatBCAgent(flat_recorder, num_beams=2, constrained=True)
    flat.reset(obs["task"])
    assert flat.act(obs, info) in info["valid_actions"] and flat_recorder.allowed[-1] == [info["valid_actions"]]
    assert FlatBCAgent(policies["flat"]).constrained is False

    env = gym.make("sgd_gym/ScienceWorld-v0", split="test", valid_actions=True, max_episode_steps=6)
    try:
        agent = HierarchicalAgent(policies["planner"], LearnedExecutor(policies["executor"], constrained=True), num_beams=1)
        record = run_episode(agent, env, EpisodeSpec("boil", "test", 0, seed=0), max_steps=6)
        assert record["error"] is None and record["steps"] == 6 and END_SG not in record["actions"]
    finally:
        env.close()


def test_subgoal_feasibility_reads_the_valid_actions():
    valid = {"look around", "focus on ice cream", "pick up metal pot", "move metal pot to stove", "open freezer", "wait1",
             "look at book (the origin of species)", "go to hallway"}  # fmt: skip
    ok = [
        "navigate_to(hallway)", "navigate_to(bedroom)", "focus_on(ice cream)", "pick_up(metal pot)", "heat(metal pot, stove)",
        "open(freezer)", "wait(5)", "look_around()", "read(book [the origin of species])", "act(go to hallway)",
    ]  # fmt: skip
    not_ok = ["navigate_to(kitchen)", "focus_on(freezer)", "pick_up(thermometer)", "heat(metal pot, oven)",
              "watch(thermometer, 3)", "act(go to bedroom)"]  # fmt: skip
    assert [s for s in ok if not subgoal_feasible(parse_subgoal(s), valid, "kitchen")] == []
    assert [s for s in not_ok if subgoal_feasible(parse_subgoal(s), valid, "kitchen")] == []
    assert not subgoal_feasible(parse_subgoal("focus_on(ice cream)"), valid, "kitchen", focused={"focus on ice cream"})


class FixedPlanner:
    """A planner whose beams are fixed texts, best first (the agent's choice among them is under test)."""

    max_source_tokens = 256

    def __init__(self, texts):
        self.texts = texts

    def generate(self, sources, num_beams=1, num_return_sequences=1, **options):
        return [[(text, -float(i)) for i, text in enumerate(self.texts[:num_return_sequences])]]


def test_grounded_planning_takes_the_first_candidate_that_can_start(policies):
    obs = {"task": "Your task is to boil water.", "look": "This room is called the kitchen. In it, you see: a stove.",
           "inventory": "nothing", "observation": "You are in the kitchen."}  # fmt: skip
    info = {"score": 0, "valid_actions": ["look around", "pick up metal pot", "go to hallway", "focus on water"]}
    beams = ["navigate_to(kitchen)", "pick_up(thermometer)", "not a sub-goal", "pick_up(metal pot)"]
    for grounded, expected in [(False, "navigate_to(kitchen)"), (True, "pick_up(metal pot)")]:
        agent = HierarchicalAgent(FixedPlanner(beams), LearnedExecutor(policies["executor"]), num_beams=4,
                                  ground_subgoals=grounded)  # fmt: skip
        agent.reset(obs["task"])
        assert agent.plan(obs, info) == expected
    agent = HierarchicalAgent(FixedPlanner(beams[:2]), LearnedExecutor(policies["executor"]), num_beams=2, ground_subgoals=True)
    agent.reset(obs["task"])
    assert agent.plan(obs, info) == "navigate_to(kitchen)"  # none can start: the planner's first valid sub-goal
    assert agent.plan(obs, {"score": 0}) == "navigate_to(kitchen)"  # no valid actions known: nothing to ground against


def test_subgoal_done_by_rule():
    from agents.executor import subgoal_done

    assert subgoal_done("navigate_to(kitchen)", ["open door to kitchen", "go to kitchen"], "kitchen") is True
    assert subgoal_done("navigate_to(kitchen)", ["open door to kitchen"], "hallway") is False
    assert subgoal_done("navigate_to(kitchen)", [], None) is None  # room unknown
    assert subgoal_done("heat(water, stove)", ["move water to stove"], "kitchen") is False
    assert subgoal_done("heat(water, stove)", ["look around", "move water to stove", "activate stove"], "kitchen") is True
    assert subgoal_done("wait(3)", ["wait1", "wait1"], None) is False and subgoal_done("wait(3)", ["wait1"] * 3, None)
    assert subgoal_done("not a sub-goal", ["look around"], None) is None


def test_scripted_end_closes_the_option_by_rule_only(policies):
    obs = {"task": "Your task is to boil water.", "look": "This room is called the kitchen.", "inventory": "nothing",
           "observation": "You are in the kitchen."}  # fmt: skip
    info = {"score": 0, "valid_actions": ["look around", "pick up metal pot", "open freezer"]}
    executor = LearnedExecutor(policies["executor"], scripted_end=True)
    executor.reset(obs["task"])
    sent = [executor.act(obs, info, "pick_up(thermometer)") for _ in range(4)]  # never sent: the option never ends
    assert END_SG not in sent and executor.status == "running"
    executor.reset(obs["task"])
    info = {**info, "valid_actions": ["pick up metal pot"]}
    assert executor.act(obs, info, "pick_up(metal pot)") == "pick up metal pot"
    assert executor.act({**obs, "observation": "You move the metal pot to the inventory."}, info, "pick_up(metal pot)") == END_SG
    assert executor.status == "done" and executor.completed == ["pick_up(metal pot)"]


def test_end_stalled_ends_a_cycling_option_and_the_planner_passes_it_over():
    from agents.executor import STALLED, stalls

    assert stalls("look around", [("look around", "a"), ("look around", "a")])
    assert not stalls("look around", [("look around", "a"), ("look around", "b")])  # the text changed: progress
    assert not stalls("wait1", [("wait1", "a"), ("wait1", "a")])  # time passes while waiting
    assert stalls("go to kitchen", [("go to kitchen", "k"), ("go to hallway", "h")] * 2)  # round the cycle again

    obs = {"task": "Your task is to boil water.", "look": "This room is called the kitchen.", "inventory": "nothing",
           "observation": "You are in the kitchen."}  # fmt: skip
    info = {"score": 0, "valid_actions": ["look around"]}  # every step the same action and the same text back
    model = FixedPlanner(["go to workshop"])  # an executor model that never says END_SG: the option's end is under test
    executor = LearnedExecutor(model, end_stalled=True)
    executor.reset(obs["task"])
    sent = [executor.act(obs, info, "navigate_to(workshop)") for _ in range(3)]
    assert sent == ["look around", "look around", END_SG] and (executor.status, executor.error) == ("failed", STALLED)
    waiting = LearnedExecutor(model, end_stalled=True)
    waiting.reset(obs["task"])
    assert [waiting.act(obs, {**info, "valid_actions": ["wait1"]}, "wait(3)") for _ in range(3)] == ["wait1"] * 3

    agent = HierarchicalAgent(FixedPlanner(["navigate_to(workshop)", "pick_up(metal pot)"]),
                              LearnedExecutor(model, end_stalled=True), num_beams=2)  # fmt: skip
    agent.reset(obs["task"])
    assert [agent.act(obs, info) for _ in range(3)] == ["look around"] * 3
    # The third step: the first option stalls, the planner's next candidate stalls at once, and every candidate
    # having stalled, the planner's first is taken again, with a harmless look around for this step.
    assert agent.subgoals == ["navigate_to(workshop)", "pick_up(metal pot)", "navigate_to(workshop)"]
    assert agent.stalled == {"navigate_to(workshop)", "pick_up(metal pot)"}
    assert agent.plan(obs, info) == "navigate_to(workshop)"  # every candidate stalled: the planner's first
    assert agent.plan(obs, {**info, "score": 5}) == "navigate_to(workshop)"  # the score moved: passed over no more
    plain = HierarchicalAgent(FixedPlanner(["navigate_to(workshop)"]), LearnedExecutor(model), num_beams=1)
    plain.reset(obs["task"])
    assert [plain.act(obs, info) for _ in range(5)] == ["look around"] * 5 and plain.subgoals == ["navigate_to(workshop)"]
