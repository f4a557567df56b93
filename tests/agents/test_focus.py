"""Named and seen focus: the tables learned from real gold paths, and the guards on the real boil task."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from agents.data.collect import TRAJECTORIES
from agents.executor import LearnedExecutor
from agents.focus import (
    destination_rooms,
    first_focus_rooms,
    focus_names,
    focus_order,
    goal_words,
    learn_named_focus,
    learn_seen_focus,
    main,
    named_focus_tasks,
    names_target,
    placed_rooms,
    seen_focus_words,
    shares_goal_word,
    target_substances,
    unnamed_focus,
    unnamed_substance_focus,
    unseen_focus,
)
from agents.guards import make_guards
from agents.hierarchical import HierarchicalAgent
from baselines.flat_bc import FlatBCAgent
from sgd_gym.io import DataFileError, read_jsonl
from sgd_gym.subgoals import END_SG, ROOMS, parse_subgoal
from tests.agents.test_agents import FixedPlanner


def test_focus_targets_are_named_by_their_object_or_contents():
    assert focus_names("thermometer in inventory") == ["thermometer"]
    assert focus_names("glass jar containing sodium chloride") == ["glass jar", "sodium chloride"]
    assert focus_names("paint in cup containing red-orange paint") == ["paint", "red-orange paint"]
    description = "Your task is to boil water. First, focus on the substance. Then, use the Red Light Bulb."
    assert names_target(description, "water") and names_target(description, "substance in metal pot")
    assert names_target(description, "red light bulb")  # any case
    assert not names_target(description, "metal pot") and not names_target(description, "salt water")
    assert not names_target("Your task is to make red-orange paint.", "orange paint")  # nor part of a hyphenated word


def test_the_table_learned_from_gold_paths_agrees_with_the_shipped_one(gold_data, tmp_path):
    trajectories = read_jsonl(gold_data / TRAJECTORIES)
    table = learn_named_focus(trajectories)
    assert table["split"] == "train" and table["threshold"] == 0.95
    enforced = {task for task, row in table["tasks"].items() if row["enforced"]}
    assert {"melt", "use-thermometer", "chemistry-mix"} <= enforced
    assert "inclined-plane-determine-angle" not in enforced  # its gold path focuses on an unnamed plane
    assert table["tasks"]["melt"]["focus"] >= 1 and table["tasks"]["melt"]["named"] == table["tasks"]["melt"]["focus"]
    goal = {task for task, row in table["tasks"].items() if row["goal_enforced"]}
    assert "inclined-plane-determine-angle" in goal  # its planes are unnamed, but "inclined plane" is the goal's
    assert named_focus_tasks(rule="goal_enforced") >= goal - {"melt", "use-thermometer"}  # the shipped table agrees
    with pytest.raises(ValueError, match=r"unknown named-focus rule 'named': expected one of \['enforced', 'goal_"):
        named_focus_tasks(rule="named")
    shipped = named_focus_tasks()
    for task in ("melt", "use-thermometer", "chemistry-mix", "inclined-plane-determine-angle"):
        assert (task in enforced) == (task in shipped), task
    with pytest.raises(ValueError, match="no gold 'focus on' action in the 'dev' split"):
        learn_named_focus(trajectories, split="dev")
    with pytest.raises(ValueError, match="threshold must be in"):
        learn_named_focus(trajectories, threshold=1.5)

    out = tmp_path / "named_focus.json"
    assert main(["--data", str(gold_data), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == table and named_focus_tasks(out) == frozenset(enforced)
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "other.json")]) == 2
    assert not (tmp_path / "other.json").exists()
    old = tmp_path / "old.json"  # a table learned before goal-word-focus: refused for that rule, not read as empty
    old.write_text(json.dumps({"tasks": {"melt": {"focus": 1, "named": 1, "enforced": True}}}))
    assert named_focus_tasks(old) == {"melt"}
    with pytest.raises(DataFileError, match="old.json: learned before the 'goal_enforced' rule"):
        named_focus_tasks(old, rule="goal_enforced")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"tasks": [1, 2]}')
    with pytest.raises(DataFileError, match="corrupt.json: not a named-focus table"):
        named_focus_tasks(corrupt)
    with pytest.raises(DataFileError, match="missing.json: no such file"):
        named_focus_tasks(tmp_path / "missing.json")


@pytest.fixture(scope="module")
def boil_start():
    """The first observation of the real boil task (train variation 0), valid actions included."""
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True)
    try:
        yield env.reset(seed=0, options={"task": "boil", "variation": 0})
    finally:
        env.close()


def test_named_focus_passes_over_unnamed_targets_on_the_real_boil_task(boil_start):
    obs, info = boil_start
    assert "boil" in named_focus_tasks() and info["task_name"] == "boil"
    foci = [action for action in info["valid_actions"] if action.startswith("focus on ")]
    blocked = unnamed_focus(info["valid_actions"], "boil", obs["task"])
    assert "focus on orange" in foci and blocked == set(foci)  # boil water: nothing in this room is named
    assert unnamed_focus(info["valid_actions"], "find-animal", obs["task"]) == set()  # a task where it is not enforced
    named = ["focus on water", "look around"]
    assert unnamed_focus(named, "boil", obs["task"]) == set()

    wrong = FixedPlanner(["focus on orange", "look around"])  # an exact, valid, wrong focus
    for guards, expected in [(["safe-focus"], "focus on orange"), (["safe-focus", "named-focus"], "look around")]:
        flat = FlatBCAgent(wrong, num_beams=2, guards=make_guards(guards))
        flat.reset(obs["task"])
        assert flat.act(obs, info) == expected
        executor = LearnedExecutor(wrong, num_beams=2, guards=make_guards(guards))
        executor.reset(obs["task"])
        assert executor.act(obs, info, "focus_on(orange)") == expected

    beams = ["focus_on(orange)", "navigate_to(kitchen)"]
    for guards, expected in [([], "focus_on(orange)"), (["named-focus"], "navigate_to(kitchen)")]:
        agent = HierarchicalAgent(FixedPlanner(beams), LearnedExecutor(wrong), num_beams=2, guards=make_guards(guards))
        agent.reset(obs["task"])
        assert agent.plan(obs, info) == expected
    named = make_guards(["named-focus"])
    agent = HierarchicalAgent(FixedPlanner(["focus_on(water)", "navigate_to(kitchen)"]), LearnedExecutor(wrong), num_beams=2,
                              guards=named)  # fmt: skip
    agent.reset(obs["task"])
    assert agent.plan(obs, info) == "focus_on(water)"  # named: kept
    other = HierarchicalAgent(FixedPlanner(beams), LearnedExecutor(wrong), num_beams=2, guards=named)
    other.reset(obs["task"])
    assert other.plan(obs, {**info, "task_name": "find-animal"}) == "focus_on(orange)"  # not enforced in that task


def test_seen_focus_learns_words_on_train_and_is_enforced_where_dev_is_covered(gold_data, tmp_path):
    train = read_jsonl(gold_data / TRAJECTORIES)
    dev = [{**trajectory, "split": "dev"} for trajectory in train]
    melt = next(i for i, trajectory in enumerate(dev) if trajectory["task"] == "melt")
    steps = [dict(step) for step in dev[melt]["steps"]]
    for step in steps:  # a dev gold path that focuses on a target the train paths never name a word of
        if step["action"].startswith("focus on "):
            step["action"] = "focus on zebra"
    dev[melt] = {**dev[melt], "steps": steps}
    table = learn_seen_focus(train + dev)
    assert table["learn"] == "train" and table["check"] == "dev"
    rows = table["tasks"]
    assert not rows["melt"]["enforced"] and rows["melt"]["covered"] < rows["melt"]["checked"]
    use = rows["use-thermometer"]
    assert use["enforced"] and use["covered"] == use["checked"] >= 1 and "thermometer" in use["words"]
    assert use["strict"] and use["covered_by_words"] == use["checked"]  # the same paths: every target seen by words
    assert not rows["melt"]["strict"]
    assert not learn_seen_focus(train)["tasks"]["use-thermometer"]["enforced"]  # no dev paths: nothing decides
    with pytest.raises(ValueError, match="no gold 'focus on' action in the 'dev' split"):
        learn_seen_focus(train, learn="dev")

    out = tmp_path / "seen_focus.json"
    both = tmp_path / "both"
    both.mkdir()
    (both / TRAJECTORIES).write_text("".join(json.dumps(t) + "\n" for t in train + dev))
    assert main(["--seen", "--data", str(both), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == table and "melt" not in seen_focus_words(out)
    assert seen_focus_words(out)["use-thermometer"] == frozenset(use["words"])
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"tasks": [1, 2]}')
    with pytest.raises(DataFileError, match="corrupt.json: not a seen-focus table"):
        seen_focus_words(corrupt)


def test_seen_focus_passes_over_targets_of_other_tasks(boil_start):
    """The shipped table: in inclined-plane-determine-angle (where named-focus is not enforced) a focus on a
    painting, a find-non-living-thing target, is passed over, one on an inclined plane kept."""
    obs, info = boil_start
    description = "Your task is to determine which of the two inclined planes (unknown material C, B) is steeper."
    task = "inclined-plane-determine-angle"
    assert task in seen_focus_words() and task not in named_focus_tasks()
    actions = ["focus on painting", "focus on inclined plane b", "look around"]
    assert unseen_focus(actions, task, description) == {"focus on painting"}
    assert unseen_focus(actions, "find-animal", description) == set()  # a task where it is not enforced
    inclined = {**info, "task_name": task}
    guards = make_guards(["seen-focus"])
    planner = FixedPlanner(["focus_on(orange)", "focus_on(inclined plane b)"])  # an orange: not a plane either
    for chosen, expected in [(guards, "focus_on(inclined plane b)"), ([], "focus_on(orange)")]:
        agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=2, guards=chosen)
        agent.reset(description)
        assert agent.plan(obs, inclined) == expected
    assert "focus on orange" in info["valid_actions"]
    for chosen, expected in [(guards, "look around"), ([], "focus on orange")]:
        flat = FlatBCAgent(FixedPlanner(["focus on orange", "look around"]), num_beams=2, guards=chosen)
        flat.reset(description)
        assert flat.act(obs, inclined) == expected


def test_strict_seen_focus_passes_over_named_targets_the_gold_paths_never_focus(boil_start):
    """find-plant is strict in the shipped table: its description names the bedroom (where the plant goes), and
    seen-focus lets a focus on it through; strict-seen-focus does not. A plant stays allowed by both."""
    obs, info = boil_start
    description = "Your task is to find a(n) plant. First, focus on the thing. Then, move it to the purple box in the bedroom."
    task = "find-plant"
    assert task in seen_focus_words(strict=True) and "test-conductivity" not in seen_focus_words(strict=True)
    actions = ["focus on bedroom", "focus on adult apple tree", "look around"]
    assert unseen_focus(actions, task, description) == set()
    assert unseen_focus(actions, task, description, strict=True) == {"focus on bedroom"}
    planner = FixedPlanner(["focus_on(bedroom)", "focus_on(adult apple tree)"])
    for names, expected in [(["seen-focus"], "focus_on(bedroom)"), (["strict-seen-focus"], "focus_on(adult apple tree)")]:
        agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=2, guards=make_guards(names))
        agent.reset(description)
        assert agent.plan({**obs, "task": description}, {**info, "task_name": task}) == expected


def test_no_room_focus_passes_over_a_focus_on_a_room(boil_start, gold_data):
    """No gold path focuses on a room (checked here on the collected ones); a description that names the room to go
    to lets named-focus and seen-focus pass such a focus, and no-room-focus does not, for the planner and the flat
    agent alike; a focus on an object stays allowed."""
    gold = [step["action"] for t in read_jsonl(gold_data / TRAJECTORIES) for step in t["steps"]]
    assert any(a.startswith("focus on ") for a in gold) and not any(a[len("focus on ") :] in ROOMS for a in gold)
    obs, info = boil_start
    room = next(r for r in ROOMS if f"focus on {r}" in info["valid_actions"])
    description = f"Your task is to find a(n) animal. First, focus on the thing. Then, move it to the red box in the {room}."
    task = {**info, "task_name": "find-animal"}
    planner = FixedPlanner([f"focus_on({room})", "focus_on(thermometer)"])
    for names, expected in [(["named-focus", "seen-focus"], f"focus_on({room})"),
                            (["no-room-focus"], "focus_on(thermometer)")]:  # fmt: skip
        agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=2, guards=make_guards(names))
        agent.reset(description)
        assert agent.plan({**obs, "task": description}, task) == expected
    for names, expected in [([], f"focus on {room}"), (["no-room-focus"], "look around")]:
        flat = FlatBCAgent(FixedPlanner([f"focus on {room}", "look around"]), num_beams=2, guards=make_guards(names))
        flat.reset(description)
        assert flat.act({**obs, "task": description}, task) == expected


def test_option_end_guards_keep_a_learned_executor_on_its_sub_goal_on_the_real_env():
    """An executor policy that always ranks ``END_SG`` first ends each option after one action; ``reach-room`` keeps
    a ``navigate_to`` option going until the room is reached (or the option's budget is spent), and lets it end there."""
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True)
    try:
        for guards, expected_opened in (([], 3), (["reach-room"], 1)):
            obs, info = env.reset(seed=0, options={"task": "boil", "variation": 0})
            ending = FixedPlanner([END_SG, "look around"])  # ends at once, else looks around: it never walks
            executor = LearnedExecutor(ending, num_beams=2, guards=make_guards(guards))
            agent = HierarchicalAgent(FixedPlanner(["navigate_to(workshop)"]), executor, num_beams=1, max_option_steps=3)
            agent.reset(obs["task"])
            traces = []
            for _ in range(3):
                obs, *_, info = env.step(agent.act(obs, info))
                traces.append(agent.trace())
            assert sum(bool(trace.get("opened")) for trace in traces) == expected_opened, traces
            assert all(trace["subgoal"] == "navigate_to(workshop)" for trace in traces)
            if guards:
                assert [trace.get("guards") for trace in traces] == [None, ["reach-room"], ["reach-room"]]
        walking = FixedPlanner([END_SG, "open door to kitchen", "go to kitchen"])
        obs, info = env.reset(seed=0, options={"task": "boil", "variation": 0})
        agent = HierarchicalAgent(FixedPlanner(["navigate_to(kitchen)"]), LearnedExecutor(walking, num_beams=3,
                                  guards=make_guards(["reach-room", "avoid-cycles"])), num_beams=1)  # fmt: skip
        agent.reset(obs["task"])
        sent = []
        while "go to kitchen" not in sent:
            sent.append(agent.act(obs, info))
            obs, *_, info = env.step(sent[-1])
            assert len(sent) < 5, sent
        assert "This room is called the kitchen" in obs["look"]
        agent.act(obs, info)
        assert agent.trace()["ended"] == [["navigate_to(kitchen)", "done"]]  # in the room: the end is allowed
    finally:
        env.close()


KITCHEN = (
    "This room is called the kitchen. In it, you see: \n\tthe agent\n\ta substance called air\n\ta ceramic cup "
    "(containing a substance called tin)\n\ta glass jar (containing a substance called sodium chloride)\n\ta "
    "substance called soap\n\ta table. On the table is: a paper cup (containing a substance called lead), a glass "
    "cup (containing nothing).\n"
)


def test_a_focus_target_denotes_the_substance_the_look_names():
    inventory = "In your inventory, you see:\n\ta metal pot (containing a substance called water)\n\tan orange\n"
    assert target_substances("soap in table", KITCHEN, inventory) == {"soap"}
    assert target_substances("substance in metal pot", KITCHEN, inventory) == {"water"}
    assert target_substances("substance in ceramic cup", KITCHEN, inventory) == {"tin"}
    assert target_substances("substance in cup", KITCHEN, inventory) == {"tin", "lead"}  # every cup in view
    assert target_substances("orange", KITCHEN, inventory) == frozenset()  # no substance: nothing to say
    assert target_substances("substance in bowl", KITCHEN, inventory) == frozenset()  # unknown container: none
    held = "In your inventory, you see:\n\ta substance called tin\n"
    assert target_substances("substance in inventory", KITCHEN, held) == {"tin"}
    foci = ["focus on substance in metal pot", "focus on soap in table", "focus on substance in cup", "focus on orange"]
    boil_soap = "Your task is to boil soap. First, focus on the substance. Then, take actions that change its state."
    assert unnamed_substance_focus(foci, "boil", boil_soap, KITCHEN, inventory) == {"focus on substance in metal pot",
                                                                                   "focus on substance in cup"}  # fmt: skip
    boil_lead = boil_soap.replace("soap", "lead")
    assert unnamed_substance_focus(foci, "boil", boil_lead, KITCHEN, inventory) == {"focus on substance in metal pot",
                                                                                   "focus on soap in table"}  # fmt: skip
    assert unnamed_substance_focus(foci, "find-non-living-thing", boil_lead, KITCHEN, inventory) == set()  # not there
    bathroom = ("This room is called the bathroom.\n\ta toilet. In the toilet is: A drain, which is closed, a substance "
                "called water.")
    assert target_substances("substance in toilet", bathroom, "") == {"water"}  # a fixture's listing, not "(containing"
    assert unnamed_substance_focus(["focus on substance in toilet"], "boil", boil_lead, bathroom, "") == {
        "focus on substance in toilet"}  # fmt: skip


def test_named_substance_passes_over_the_pots_water_in_a_task_to_boil_soap_on_the_real_env(gold_data):
    """Every gold focus of the collected paths passes; in the real kitchen, with the task to boil soap, the planner's
    focus on the water it drew is refused where named-focus lets it through, and a focus on the soap stays allowed."""
    from agents.context import EpisodeMemory
    from agents.guards import NamedSubstance

    guard = NamedSubstance()
    for trajectory in read_jsonl(gold_data / TRAJECTORIES):
        states = [trajectory["initial"], *trajectory["steps"]]
        for state, step in zip(states, trajectory["steps"]):
            memory = EpisodeMemory(task=trajectory["task_description"], task_name=trajectory["task"], look=state["look"],
                                   inventory=state["inventory"])  # fmt: skip
            assert not guard.blocked_foci([step["action"]], memory), (trajectory["task"], step["action"])
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True)
    try:
        obs, info = env.reset(seed=0, options={"task": "boil", "variation": 0})
        for action in ("teleport to kitchen", "open cupboard", "pick up metal pot", "move metal pot to sink", "activate sink",
                       "deactivate sink", "pick up metal pot", "look around"):  # fmt: skip
            assert action in info["valid_actions"], action
            obs, _, _, _, info = env.step(action)
        assert "substance called water" in obs["inventory"] and "substance called soap" in obs["look"]
    finally:
        env.close()
    description = obs["task"].replace("boil water", "boil soap")
    valid = info["valid_actions"]
    water = next(a for a in valid if a.startswith("focus on substance in") and "metal pot" in a)
    soap = next(a for a in valid if a.startswith("focus on soap"))
    planner = FixedPlanner([f"focus_on({water[len('focus on '):]})", f"focus_on({soap[len('focus on '):]})"])
    for names, expected in [(["named-focus"], water), (["named-focus", "named-substance"], soap)]:
        agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=2, guards=make_guards(names))
        agent.reset(description)
        assert agent.plan({**obs, "task": description}, info) == f"focus_on({expected[len('focus on '):]})"
    assert water not in unnamed_substance_focus(valid, "boil", obs["task"], obs["look"], obs["inventory"])  # water named


def test_a_description_says_which_foci_come_first_and_what_its_goal_words_are():
    melting = ("Your task is to measure the melting point of mercury, which is located around the kitchen. First, focus "
               "on the thermometer. Next, focus on the mercury. If the melting point of mercury is above 10.0 degrees "
               "celsius, focus on the yellow box. If the melting point of mercury is below 10.0 degrees celsius, focus on "
               "the purple box. The boxes are located around the kitchen.")  # fmt: skip
    assert focus_order(melting) == (2, ("yellow box", "purple box"))  # the decimal point ends no sentence
    conductivity = ("Your task is to determine if paper clip is electrically conductive. First, focus on the paper clip. "
                    "If it is electrically conductive, place it in the red box.")  # fmt: skip
    assert focus_order(conductivity) == (0, ())  # its answer is a place, not a focus
    stages = "Your task is to focus on the 4 life stages of the turtle, starting from earliest to latest."
    assert {"life", "stages", "turtle"} <= goal_words(stages) and not {"your", "task", "focus", "the"} & goal_words(stages)
    assert shares_goal_word(stages, "egg turtle in outside") and not shares_goal_word(stages, "dove")
    assert not shares_goal_word(stages, "parrot in turtle pond")  # the location is not the target's name
    assert not shares_goal_word(stages, "egg parrot in outside")


@pytest.fixture(scope="module")
def guarded_gold(tmp_path_factory):
    """Gold paths (train variations 0 and 1, rules annotations) of the tasks the description guards act on: the two
    whose descriptions ask for foci before an answer, two of goal-word-focus's, and find-animal and
    find-non-living-thing (focus-first acts in the one, not in the other)."""
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect

    data = tmp_path_factory.mktemp("guarded")
    tasks = ["measure-melting-point-known-substance", "measure-melting-point-unknown-substance", "identify-life-stages-1",
             "identify-life-stages-2", "find-animal", "find-non-living-thing"]  # fmt: skip
    collect(tasks, "train", 2, data, workers=2)
    annotate_rules(data)
    return data


def test_goal_word_answer_last_and_navigation_only_pass_every_gold_step(gold_data, guarded_gold):
    """No gold action of the collected paths is refused by goal-word-focus or answer-last, nor, within its
    ``navigate_to`` option of the rules annotation, by navigation-only; where they act, each would refuse something
    (the box before the substance's focus, a target without a goal word, a wait while navigating)."""
    from agents.context import EpisodeMemory
    from agents.data.annotate import annotation_path

    guards = make_guards(["goal-word-focus", "answer-last", "navigation-only"])
    acted = {guard.name: 0 for guard in guards}
    for data in (gold_data, guarded_gold):
        segments = {(row["task"], row["variation"]): row["subgoals"] for row in read_jsonl(annotation_path(data, "rules"))}
        for trajectory in read_jsonl(data / TRAJECTORIES):
            states, history = [trajectory["initial"], *trajectory["steps"]], []
            key = trajectory["task"], trajectory["variation"]
            option = {i: s["text"] for s in segments[key] for i in range(s["start"], s["end"])}
            for i, (state, step) in enumerate(zip(states, trajectory["steps"])):
                memory = EpisodeMemory(task=trajectory["task_description"], task_name=trajectory["task"],
                                       look=state["look"], inventory=state["inventory"], history=list(history),
                                       current=option[i])  # fmt: skip
                others = ["focus on yellow box", "focus on purple box", "focus on blue box", "focus on orange box",
                          "focus on dove", "wait1"]  # fmt: skip
                for guard in guards:
                    assert not guard.avoid_actions(memory, [step["action"]]), (guard.name, key, i, step["action"])
                    acted[guard.name] += bool(guard.avoid_actions(memory, others))
                history.append((step["action"], step["observation"]))
    assert all(acted.values()), acted


def test_answer_last_holds_the_planners_box_back_on_the_real_melting_point_task():
    env = gym.make("sgd_gym/ScienceWorld-v1", split="train", valid_actions=True)
    try:
        obs, info = env.reset(seed=0, options={"task": "measure-melting-point-known-substance", "variation": 0})
        if "teleport to kitchen" in info["valid_actions"]:
            obs, _, _, _, info = env.step("teleport to kitchen")
    finally:
        env.close()
    box = next(a for a in info["valid_actions"] if a.startswith("focus on") and a.endswith(" box"))
    planner = FixedPlanner([f"focus_on({box[len('focus on ') :]})", "look_around()"])
    focus_box = f"focus_on({box[len('focus on '):]})"
    for names, expected in [(["named-focus"], focus_box), (["named-focus", "answer-last"], "look_around()")]:
        agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=2, guards=make_guards(names))
        agent.reset(obs["task"])
        assert agent.plan(obs, info) == expected


def test_focus_first_keeps_the_planner_from_the_box_room_where_gold_paths_focus_first(guarded_gold):
    """The box's room is a destination; the table learned from the gold paths enforces focus-first in find-animal
    (its gold paths focus outside), not in find-non-living-thing (on what the box's room holds); no gold sub-goal of
    the rules annotation is refused, and before the focus the box's room is."""
    from agents.context import EpisodeMemory
    from agents.data.annotate import annotation_path

    find = "Your task is to find a(n) living thing. First, focus on the thing. Then, move it to the red box in the living room."
    assert destination_rooms(find) == {"living room"}
    lifespan = ("Your task is to find the animal with the longest life span, then the shortest life span. First, focus on "
                "the animal with the longest life span.  Then, focus on the animal with the shortest life span. The "
                "animals are in the 'outside' location.")  # fmt: skip
    assert destination_rooms(lifespan) == frozenset()
    table = learn_named_focus(read_jsonl(guarded_gold / TRAJECTORIES))["tasks"]
    assert table["find-animal"]["destination_enforced"] and not table["find-non-living-thing"]["destination_enforced"]
    assert {"find-animal", "find-living-thing", "find-plant"} == named_focus_tasks(rule="destination_enforced")
    guard = make_guards(["focus-first"])[0]
    segments = {(r["task"], r["variation"]): r["subgoals"] for r in read_jsonl(annotation_path(guarded_gold, "rules"))}
    refused = 0
    for trajectory in read_jsonl(guarded_gold / TRAJECTORIES):
        starts = {s["start"]: s["text"] for s in segments[trajectory["task"], trajectory["variation"]]}
        memory = EpisodeMemory(task=trajectory["task_description"], task_name=trajectory["task"])
        memory.start(trajectory["initial"], {"score": 0})
        for i, step in enumerate(trajectory["steps"]):
            if i in starts:
                assert guard.allows_subgoal(parse_subgoal(starts[i]), memory, ()), (trajectory["task"], i, starts[i])
            for room in destination_rooms(memory.task):
                refused += not guard.allows_subgoal(parse_subgoal(f"navigate_to({room})"), memory, ())
            memory.record(step["action"], step, {"score": step["score"]})
    assert refused


def test_focus_room_holds_the_first_focus_for_the_room_the_gold_paths_focus_in(guarded_gold, tmp_path):
    """find-animal's gold paths all focus first outside, find-non-living-thing's in the box's room, which varies over
    the 20 train variations: the shipped table has a first room for the one, none for the other; the guard passes
    over a first focus elsewhere (the kitchen's glass jar), not one outside, nor a second focus; no gold focus of the
    collected paths is refused."""
    from agents.context import EpisodeMemory

    table = learn_named_focus(read_jsonl(guarded_gold / TRAJECTORIES))["tasks"]
    assert table["find-animal"]["first_room"] == "outside" and table["find-animal"]["first_rooms"] == {"outside": 2}
    assert table["find-non-living-thing"]["first_room"] == "kitchen"  # both boxes of train 0-1 are in the kitchen
    assert table["identify-life-stages-1"]["first_room"] == "outside"
    shipped = first_focus_rooms()
    assert shipped["find-animal"] == "outside" and "find-non-living-thing" not in shipped and "boil" not in shipped
    guard = make_guards(["focus-room"])[0]
    kitchen = EpisodeMemory(task="Your task is to find a(n) animal.", task_name="find-animal",
                            look="This room is called the kitchen. In it, you see: a glass jar")  # fmt: skip
    foci = ["focus on glass jar", "look around"]
    assert guard.avoid_actions(kitchen, foci) == {"focus on glass jar"}
    assert not guard.allows_subgoal(parse_subgoal("focus_on(glass jar)"), kitchen, ())
    assert guard.allows_subgoal(parse_subgoal("navigate_to(outside)"), kitchen, ())
    outside = EpisodeMemory(task=kitchen.task, task_name="find-animal", look="This outside location is called the outside.")
    assert not guard.avoid_actions(outside, foci)
    kitchen.history.append(("focus on dove", "You focus on the dove."))
    assert not guard.avoid_actions(kitchen, foci)  # the first focus was sent
    grow = "Your task is to grow a cherry plant from seed. Seeds can be found in the living room. First, focus on a seed."
    assert placed_rooms(grow) == {"living room"} and shipped["grow-plant"] == "greenhouse"
    seeds = ["focus on cherry seed", "look around"]
    for room, refused in [("living room", set()), ("bedroom", {"focus on cherry seed"})]:  # where the seeds are placed
        memory = EpisodeMemory(task=grow, task_name="grow-plant", look=f"This room is called the {room}.")
        assert guard.avoid_actions(memory, seeds) == refused, room
    for trajectory in read_jsonl(guarded_gold / TRAJECTORIES):
        memory = EpisodeMemory(task=trajectory["task_description"], task_name=trajectory["task"])
        memory.start(trajectory["initial"], {"score": 0})
        for step in trajectory["steps"]:
            assert step["action"] not in guard.avoid_actions(memory, [step["action"]]), (trajectory["task"], step)
            memory.record(step["action"], step, {"score": step["score"]})
    old = tmp_path / "old.json"  # learned before first_room: refused, not read as no rule
    old.write_text(json.dumps({"tasks": {"melt": {"focus": 1, "named": 1, "enforced": True}}}))
    with pytest.raises(DataFileError, match="old.json: learned before the 'first_room' rule"):
        first_focus_rooms(old)
