"""The scorer family on the real env: decision data from gold paths, a tiny scorer trained, saved, loaded and acting."""

from __future__ import annotations

import gzip
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.data.annotate import annotate_rules
from agents.data.collect import collect
from agents.data.decisions import (
    Decision,
    StaleCandidates,
    candidates_path,
    collect_candidates,
    decisions,
    option_segments,
)
from agents.executor import LearnedExecutor
from agents.hierarchical import HierarchicalAgent
from agents.policies import load_policy
from agents.policies.checkpoint import CheckpointError
from agents.policies.scorer import (
    CONTEXT_FIELDS,
    CROSS_BUCKETS,
    DEFAULT_FEATURES,
    FEATURE_SETS,
    FEATURES,
    PAIR_VERBS,
    ScorerConfig,
    ScorerError,
    ScorerNet,
    ScorerPolicy,
    _Relations,
    candidate_features,
    cross_ids,
    relation_tokens,
    verb_pairs,
)
from agents.train_scorer import ScorerTrainSettings, evaluate, sampling_weights, train_scorer
from baselines.flat_bc import FlatBCAgent
from benchmarks.protocol import EpisodeSpec, run_episode
from benchmarks.registry import AgentConfig
from sgd_gym.subgoals import END_SG

TINY = dict(model=ScorerConfig(buckets=1024, dim=8, hidden=8), steps=30, eval_steps=15, batch_size=8, learning_rate=1e-2)


@pytest.fixture(scope="module")
def decision_data(tmp_path_factory):
    """Gold paths of two find-living-thing train variations and one dev variation, rules-annotated, replayed with
    their candidates."""
    data = tmp_path_factory.mktemp("decisions")
    collect(["find-living-thing"], "train", 2, data, workers=1)
    collect(["find-living-thing"], "dev", 1, data, workers=1)
    annotate_rules(data)
    assert collect_candidates(data, workers=1) == {"replayed": 3, "reused": 0}
    return data


@pytest.fixture(scope="module")
def scorers(decision_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("scorers")
    for kind in ("planner", "executor", "flat"):
        train_scorer(ScorerTrainSettings(kind=kind, **TINY), decision_data, out / kind, progress=False)
    return out


def test_decisions_hold_the_experts_choice_among_the_candidates(decision_data):
    assert collect_candidates(decision_data, workers=1) == {"replayed": 0, "reused": 3}  # resumed, nothing replayed
    found, counts = decisions(decision_data, "train")
    assert all(found[kind] for kind in ("planner", "executor", "flat"))
    for kind, rows in found.items():
        for row in rows:
            assert 0 <= row.target < len(row.candidates)
            assert row.kind == kind and row.task == "find-living-thing"
    assert all(row.candidates[-1] == END_SG for row in found["executor"])
    assert any(row.candidates[row.target] == END_SG for row in found["executor"])
    table = counts.table()["find-living-thing"]
    # every gold step is one flat decision, counted once: exact, same meaning, grounded or missing; the missing ones
    # here are the "open door" steps of easy mode, where every door is open already
    records = [json.loads(line) for line in (decision_data / "trajectories.jsonl").read_text().splitlines()]
    assert sum(table["flat"].values()) == sum(len(r["steps"]) for r in records if r["split"] == "train")
    missing = counts.examples[("find-living-thing", "flat")]
    assert len(missing) == table["flat"]["missing"] and all(text.startswith("open door") for text in missing)


def test_a_stale_candidate_file_is_refused(decision_data, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(decision_data, copy)
    path = copy / "trajectories.jsonl"
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["steps"][0]["observation"] += " (edited)"
    path.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    with pytest.raises(StaleCandidates, match="another trajectory"):
        collect_candidates(copy, workers=1)
    with pytest.raises(StaleCandidates):
        decisions(copy, record["split"])


def test_option_segments_split_verbs_the_candidates_never_offer():
    actions = ["examine water", "use thermometer on water", "wait1", "wait1", "pick up cup", "0"]
    segments = [{"text": "measure(water, thermometer)", "start": 0, "end": 2}, {"text": "wait(2)", "start": 2, "end": 4},
                {"text": "pick_up(cup)", "start": 4, "end": 6}]  # fmt: skip
    assert option_segments(actions, segments) == [
        {"text": "examine(water)", "start": 0, "end": 1}, {"text": "use(thermometer, water)", "start": 1, "end": 2},
        {"text": "wait(1)", "start": 2, "end": 3}, {"text": "wait(1)", "start": 3, "end": 4},
        {"text": "pick_up(cup)", "start": 4, "end": 6},
    ]  # fmt: skip


def test_reordering_the_candidates_reorders_the_scores():
    policy = ScorerPolicy(ScorerNet(ScorerConfig(buckets=512, dim=8, hidden=8)), kind="flat")
    source = "task: find a frog | step: 0 score: 0 | observation: hi | inventory: nothing | history: none | look: a frog"
    candidates = ["focus on frog", "go to kitchen", "open door", "look around", "pick up frog"]
    scores = policy.score(source, candidates)
    order = np.random.default_rng(0).permutation(len(candidates))
    assert np.allclose(policy.score(source, [candidates[i] for i in order]), scores[order])
    best = policy.propose(source, candidates, k=2)
    assert [text for text, _ in best] == [candidates[i] for i in np.argsort(-scores, kind="stable")[:2]]
    with pytest.raises(ScorerError, match="at least one candidate"):
        policy.score(source, [])


def test_match_features_read_the_context_fields():
    source = ("task: find a frog | step: 2 score: 0 | current: pick_up(frog) | observation: hi | inventory: nothing | "
              "completed: none | history: look around -> room ; pick up frog -> done | look: a frog and a cup")  # fmt: skip
    rows = candidate_features(source, ["pick up frog", "open cupboard", END_SG])
    column = {name: i for i, name in enumerate(FEATURES)}
    assert rows[0, column["in_current"]] == 1.0 and rows[1, column["in_current"]] == 0.0
    assert rows[0, column["sent_last"]] == 1.0 and rows[2, column["is_end"]] == 1.0
    # "pick up frog" was the current sub-goal's action: END_SG is told so, the other candidates are not
    assert rows[2, column["end_after_its_action"]] == 1.0 and rows[:2, column["end_after_its_action"]].sum() == 0
    # version 1 (checkpoints saved before versions) is the prefix of the newest set
    assert np.array_equal(candidate_features(source, ["pick up frog"], version=1), rows[:1, : len(FEATURE_SETS[1])])
    with pytest.raises(ValueError, match="unknown features version 7"):
        candidate_features(source, ["pick up frog"], version=7)


def test_planner_features_see_the_step_before_and_repeats():
    source = ("task: find a frog | step: 5 score: 50 | observation: hi | inventory: nothing | completed: (2 earlier) "
              "navigate_to(outside); focus_on(frog) | history: focus on frog -> ok | look: a frog and a cup")  # fmt: skip
    candidates = ["pick_up(frog)", "navigate_to(outside)", "pick_up(cup)", "look_around()"]
    rows = candidate_features(source, candidates)
    column = {name: i for i, name in enumerate(FEATURES)}
    assert list(rows[:, column["repeat_completed"]]) == [0, pytest.approx(1 / 3), 0, 0]
    assert list(rows[:, column["in_last_step"]]) == [1, 0, 0, 0]  # frog: the last completed sub-goal's object
    pairs = verb_pairs(source, candidates)
    width = len(PAIR_VERBS)
    assert {PAIR_VERBS[i // width] for i in pairs} == {"focus_on"}
    assert [PAIR_VERBS[i % width] for i in pairs] == ["pick_up", "navigate_to", "pick_up", "look_around"]
    # the executor's and the flat policy's step before is the last action sent
    flat = "task: t | step: 1 score: 0 | observation: o | inventory: i | history: focus on frog -> ok | look: l"
    assert PAIR_VERBS[verb_pairs(flat, ["pick up frog"])[0] // width] == "focus_on"


def test_a_version_1_checkpoint_loads_and_scores_as_saved(tmp_path):
    torch.manual_seed(0)
    config = ScorerConfig(buckets=512, dim=8, hidden=8, features=1, pooling="joint")
    policy = ScorerPolicy(ScorerNet(config), kind="planner")
    policy.save(tmp_path / "v1")
    settings_file = tmp_path / "v1" / "sgd_policy.json"
    settings = json.loads(settings_file.read_text())
    del settings["scorer"]["features"], settings["scorer"]["pooling"]  # as saved before either setting existed
    settings_file.write_text(json.dumps(settings))
    loaded = load_policy(tmp_path / "v1")
    source = "task: t | step: 0 score: 0 | observation: o | inventory: i | completed: none | history: none | look: l"
    assert loaded.config.features == 1 and loaded.net.pair is None and loaded.config.pooling == "joint"
    assert np.allclose(loaded.score(source, ["look_around()", "focus_on(frog)"]),
                       policy.score(source, ["look_around()", "focus_on(frog)"]))  # fmt: skip
    with pytest.raises(ValueError, match="unknown features version 9"):
        ScorerConfig(features=9).check()


def test_fields_pooling_gives_the_task_its_own_input():
    """``fields`` pooling encodes each context field on its own: another task changes the task's slice of the state
    encoding wholly and nothing else, where the joint mean over a long room barely moves."""
    torch.manual_seed(0)
    room = " ".join(f"object{i}" for i in range(100))
    sources = [f"task: {task} | step: 0 score: 0 | observation: {room} | inventory: i | completed: none | "
               f"history: none | look: {room}" for task in ("boil water", "find a plant")]  # fmt: skip

    def encoded(pooling: str) -> torch.Tensor:
        policy = ScorerPolicy(ScorerNet(ScorerConfig(buckets=1 << 12, dim=8, hidden=8, pooling=pooling)), "planner")
        return policy.net.encode_contexts(policy.batch(sources, [["look_around()"]] * 2).context)

    joint, fields = encoded("joint"), encoded("fields")
    assert joint.shape == (2, 8) and fields.shape == (2, 8 * len(CONTEXT_FIELDS))
    assert float((joint[0] - joint[1]).norm() / joint[0].norm()) < 0.25
    task = CONTEXT_FIELDS.index("task")
    by_field = fields.reshape(2, len(CONTEXT_FIELDS), 8)
    assert float((by_field[0, task] - by_field[1, task]).norm() / by_field[0, task].norm()) > 0.5
    others = [i for i in range(len(CONTEXT_FIELDS)) if i != task]
    assert torch.equal(by_field[0, others], by_field[1, others])
    assert not by_field[0, CONTEXT_FIELDS.index("current")].any()  # a planner context has no current sub-goal
    with pytest.raises(ValueError, match="unknown pooling 'sum'"):
        ScorerConfig(pooling="sum").check()


def test_the_cross_term_ties_task_words_to_candidate_words():
    source = ("task: Your task is to determine the genetics of a plant | step: 0 score: 0 | observation: o | "
              "inventory: i | completed: none | history: none | look: l")  # fmt: skip
    candidates = ["navigate_to(greenhouse)", "pick_up(pot)", "navigate_to(kitchen)"]
    ids, lengths = cross_ids(source, candidates)
    task_words = 5  # your, task, determine, genetics, plant: stopwords (is, to, the, of, a) left out
    assert lengths.tolist() == [3 * task_words] * 3 and len(ids) == lengths.sum()  # navigate to X, pick up pot
    assert ids.min() >= 0 and ids.max() < CROSS_BUCKETS
    rows = np.split(ids, np.cumsum(lengths)[:-1])
    # navigate and to pair with the task's words alike in both rooms; only the room's own pairs differ
    assert len(set(rows[0]) & set(rows[2])) == 2 * task_words
    assert np.array_equal(cross_ids(source, candidates[::-1])[0], np.concatenate(rows[::-1]))
    torch.manual_seed(0)
    policy = ScorerPolicy(ScorerNet(ScorerConfig(buckets=512, dim=8, hidden=8, features=3)), kind="planner")
    before = policy.score(source, candidates)
    with torch.no_grad():  # one learned weight per (task word, "greenhouse") pair
        policy.net.cross.weight[np.setdiff1d(rows[0], rows[2])] = 1.0
    moved = policy.score(source, candidates) - before
    assert moved[0] == pytest.approx(task_words) and moved[1:] == pytest.approx([0, 0])
    net = ScorerNet(ScorerConfig(buckets=512, dim=8, hidden=8, features=2))
    assert net.cross is None and len(FEATURE_SETS[3]) == len(FEATURE_SETS[2])


MELTING = ("task: Your task is to measure the melting point of chocolate, which is located around the kitchen. First, "
           "focus on the thermometer. Next, focus on the chocolate. If the melting point of chocolate is above 10.0 "
           "degrees, focus on the blue box. | step: 6 score: 12 | observation: o | inventory: a thermometer | "
           "completed: navigate_to(kitchen); pick_up(thermometer); focus_on(thermometer) | history: none | look: l")


def test_relation_tokens_say_how_a_candidate_stands_to_the_context():
    tokens = {c: relation_tokens(MELTING, c) for c in ("focus_on(chocolate)", "focus_on(blue box)", "focus_on(kitchen)",
                                                        "focus_on(thermometer)", "use(thermometer, chocolate)")}
    # the object the goal names, the answer box of a later sentence, a room: three different first tokens
    assert tokens["focus_on(chocolate)"][0] == "focus_on|0|room=False|goal=all|rest=all"
    assert tokens["focus_on(blue box)"][0] == "focus_on|0|room=False|goal=none|rest=all"
    assert tokens["focus_on(kitchen)"][0] == "focus_on|0|room=True|goal=all|rest=none"
    assert "focus_on|0|prior=True" in tokens["focus_on(kitchen)"]  # navigate_to(kitchen) came before
    # one focus done; the box's timing token differs from the chocolate's
    assert "focus_on|focuses=1|goal=none" in tokens["focus_on(blue box)"]
    assert "focus_on|focuses=1|goal=all" in tokens["focus_on(chocolate)"]
    assert "focus_on|done=1" in tokens["focus_on(thermometer)"] and "focus_on|0|inv=True" in tokens["focus_on(thermometer)"]
    assert {f"use|after={v}" for v in ("navigate_to", "pick_up", "focus_on")} <= set(tokens["use(thermometer, chocolate)"])
    assert "use|1|room=False|goal=all|rest=all" in tokens["use(thermometer, chocolate)"]  # the second argument
    # an action reads the same way (match_action), against the history's actions for the flat policy
    flat = MELTING.split(" | completed:")[0] + " | history: focus on thermometer -> You focus on the thermometer. | look: l"
    assert "focus_on|focuses=1|goal=all" in relation_tokens(flat, "focus on chocolate")
    assert relation_tokens(flat, END_SG)[0] == f"{END_SG}|focuses=1"


def test_version_5_adds_joint_tokens_and_leaves_version_4_unchanged():
    find = ("task: Your task is to find a(n) animal. First, focus on the thing. Then, move it to the red box in the "
            "living room. | step: 4 score: 25 | observation: o | inventory: an egg turtle | completed: navigate_to("
            "outside); look_around(); focus_on(egg turtle); pick_up(egg turtle) | history: none | look: l")  # fmt: skip
    turtle = relation_tokens(find, "put(egg turtle, red box)", version=5)
    chair = relation_tokens(find, "put(chair, red box)", version=5)
    assert "put|0|focused=True" in turtle and "put|0|focused=False" in chair  # the focused object goes in the box
    assert "put|0|inv=True|prior=True" in turtle and "put|0|inv=False|prior=False" in chair
    assert "put|1|rest=all|focuses=1" in turtle  # the box the description names, after the focus
    before = find.replace("; focus_on(egg turtle); pick_up(egg turtle)", "")
    assert "navigate_to|0|rest=all|focuses=0" in relation_tokens(before, "navigate_to(living room)", version=5)
    for candidate in ("put(egg turtle, red box)", "navigate_to(living room)", "focus on chocolate", END_SG):
        old = relation_tokens(find, candidate)  # version 4, the shipped checkpoints': unchanged
        assert old == [t for t in relation_tokens(find, candidate, version=5) if t in old] and len(old) > 0
        assert not any("focused=" in t or ("rest=" in t and "focuses=" in t) for t in old)
    chair_put = ["put(chair, red box)"]
    assert len(cross_ids(find, chair_put, version=5)[0]) > len(cross_ids(find, chair_put, version=4)[0])
    assert ScorerConfig().features == DEFAULT_FEATURES == 4  # dev kept version 4; version 5 is asked for by name
    policy = ScorerPolicy(ScorerNet(ScorerConfig(buckets=512, dim=8, hidden=8, features=5)), kind="planner")
    candidates = ["put(egg turtle, red box)", "put(chair, red box)", "navigate_to(living room)"]
    scores = policy.score(find, candidates)
    assert scores.shape == (3,) and np.allclose(policy.score(find, candidates[::-1]), scores[::-1])


def test_version_4_adds_relation_ids_to_each_candidate_after_its_word_pairs():
    candidates = ["focus_on(chocolate)", "focus_on(blue box)", "focus_on(kitchen)"]
    assert _Relations.read(MELTING).goal_head == ("your", "task", "measure")  # the keys relation tokens pair with
    words, word_lengths = cross_ids(MELTING, candidates, version=3)
    ids, lengths = cross_ids(MELTING, candidates, version=4)
    assert len(ids) == lengths.sum() and ids.min() >= 0 and ids.max() < CROSS_BUCKETS
    rows, word_rows = np.split(ids, np.cumsum(lengths)[:-1]), np.split(words, np.cumsum(word_lengths)[:-1])
    for row, word_row, candidate in zip(rows, word_rows, candidates):
        keys = 1 + 3  # the global word and the goal's first three words (your, task, measure)
        assert np.array_equal(row[: len(word_row)], word_row)
        assert len(row) - len(word_row) == keys * len(relation_tokens(MELTING, candidate))
    assert np.array_equal(cross_ids(MELTING, candidates[::-1], version=4)[0], np.concatenate(rows[::-1]))
    # the two foci that differ only in their relations share no relation ids that tell them apart
    assert set(rows[0][len(word_rows[0]):]) != set(rows[1][len(word_rows[1]):])


def test_trained_scorers_save_load_and_both_agents_act(scorers, decision_data):
    for kind in ("planner", "executor", "flat"):
        policy = load_policy(scorers / kind)
        assert isinstance(policy, ScorerPolicy) and policy.kind == kind
        card = (scorers / kind / "README.md").read_text()
        assert "scorer" in card and "dev" in card
    summary = json.loads((scorers / "flat" / "train_summary.json").read_text())
    assert summary["decisions"]["train"] > 0 and summary["dev"]["accuracy"] >= 0
    flat = FlatBCAgent(load_policy(scorers / "flat"), num_beams=2)
    executor = LearnedExecutor(load_policy(scorers / "executor"), num_beams=2)
    hierarchical = HierarchicalAgent(load_policy(scorers / "planner"), executor, num_beams=2, max_option_steps=3)
    for agent in (flat, hierarchical):
        env = gym.make("sgd_gym/ScienceWorld-v1", split="test", valid_actions=True, listing="accepted", max_episode_steps=6)
        try:
            obs, info = env.reset(seed=0, options={"task": "find-living-thing", "variation": 0})
            agent.reset(obs["task"])
            for _ in range(4):  # every action is one of the accepted ones: a scorer picks from the list
                action = agent.act(obs, info)
                assert action in info["valid_actions"] or action == "look around"
                obs, _, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            record = run_episode(agent, env, EpisodeSpec("find-living-thing", "test", 1, seed=1), max_steps=6)
        finally:
            env.close()
        assert record["error"] is None and record["steps"] >= 1


def test_executor_scorer_never_ends_a_subgoal_before_its_first_action(scorers):
    class EndFirst(ScorerPolicy):  # a scorer whose best candidate is always END_SG
        def score(self, source, candidates):
            return np.asarray([1.0 if text == END_SG else 0.0 for text in candidates])

    policy = load_policy(scorers / "executor")
    executor = LearnedExecutor(EndFirst(policy.net, kind="executor"), num_beams=2)
    executor.reset("find a frog")
    obs = {"observation": "hi", "look": "This room is called the kitchen.", "inventory": "", "task": "find a frog"}
    info = {"valid_actions": ["go to hallway", "look around"], "score": 0}
    action = executor.act(obs, info, "navigate_to(hallway)")
    assert action in info["valid_actions"]
    assert executor.act(obs, info, "navigate_to(hallway)") == END_SG


def test_wrong_kind_or_family_is_a_clear_error(scorers, tmp_path):
    with pytest.raises(ValueError, match="holds a 'flat' checkpoint"):
        AgentConfig(agent="hierarchical", planner=str(scorers / "flat"), executor=str(scorers / "executor")).check()
    broken = tmp_path / "broken"
    broken.mkdir()
    settings = json.loads((scorers / "flat" / "sgd_policy.json").read_text())
    (broken / "sgd_policy.json").write_text(json.dumps({**settings, "scorer": {**settings["scorer"], "dim": 3}}))
    (broken / "model.safetensors").write_bytes((scorers / "flat" / "model.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="not a loadable scorer"):
        load_policy(broken)
    (broken / "sgd_policy.json").write_text(json.dumps({**settings, "family": "seq2seq"}))
    with pytest.raises(CheckpointError, match="missing config.json"):  # a seq2seq folder needs its model files
        load_policy(broken)
    with pytest.raises(CheckpointError, match="not a complete policy"):
        ScorerPolicy.load(broken)


def test_a_candidate_file_is_gzipped_json_with_texts_once(decision_data):
    path = candidates_path(decision_data, ("find-living-thing", "train", 0))
    with gzip.open(path, "rt") as handle:
        record = json.load(handle)
    assert len(record["texts"]) == len(set(record["texts"]))
    assert all(max(state) < len(record["texts"]) for state in record["states"])


def test_sgd_train_family_scorer_trains_and_refuses_generative_flags(decision_data, tmp_path, capsys):
    from benchmarks.cli import main

    out = tmp_path / "flat"
    args = ["train", "flat", "--family", "scorer", "--data", str(decision_data), "--out", str(out), "--train-steps", "4",
            "--eval-steps", "2", "--batch-size", "4", "--hidden", "8", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["family"], summary["steps"], summary["kind"]) == ("scorer", 4, "flat")
    assert isinstance(load_policy(out), ScorerPolicy)
    assert main([*args, "--preset", "small"]) == 2
    assert "--preset does not apply to --family scorer" in capsys.readouterr().err
    assert main([*args, "--head", "dot"]) == 2  # the folder holds a run of other settings: refused, not mixed
    assert "head" in capsys.readouterr().err
    assert main([*args, "--sampling", "task"]) == 2  # sampling is a setting of the run too
    assert "sampling" in capsys.readouterr().err
    assert main([*args, "--sampling", "task", "--out", str(tmp_path / "by-task")]) == 0
    assert json.loads((tmp_path / "by-task" / "train_summary.json").read_text())["dev"]["task_accuracy"] >= 0


def test_task_sampling_gives_each_task_the_same_chance():
    rows = [Decision("planner", "long", "s", ["a"], 0)] * 30 + [Decision("planner", "short", "s", ["a"], 0)] * 3
    assert sampling_weights(rows, "decision") is None  # every decision once per pass, as before
    task = sampling_weights(rows, "task")
    assert task.sum() == pytest.approx(1.0)
    assert task[:30].sum() == pytest.approx(0.5) and task[30:].sum() == pytest.approx(0.5)
    root = sampling_weights(rows, "sqrt-task")
    assert root[:30].sum() / root[30:].sum() == pytest.approx(np.sqrt(10))  # between 1 (task) and 10 (decision)
    with pytest.raises(ValueError, match="unknown sampling 'tasks'.*'sqrt-task'"):
        ScorerTrainSettings(kind="planner", sampling="tasks").check()


def test_task_sampling_trains_resumes_identically_and_keeps_the_best_mean_task_accuracy(decision_data, tmp_path):
    settings = ScorerTrainSettings(kind="planner", sampling="task", **{**TINY, "steps": 8, "eval_steps": 4})
    whole = train_scorer(settings, decision_data, tmp_path / "whole", progress=False)
    train_scorer(ScorerTrainSettings(**{**settings.__dict__, "steps": 4}), decision_data, tmp_path / "half",
                 progress=False)  # fmt: skip
    resumed = train_scorer(settings, decision_data, tmp_path / "half", progress=False)  # the same draws after the stop
    assert resumed["dev"] == whole["dev"] and resumed["best_step"] == whole["best_step"]
    assert set(whole["dev"]) == {"loss", "accuracy", "task_accuracy"}
    dev, _ = decisions(decision_data, "dev", kinds=("planner",))
    metrics = evaluate(load_policy(tmp_path / "whole"), dev["planner"])
    assert metrics["task_accuracy"] == pytest.approx(metrics["accuracy"])  # one task: the mean of one share
