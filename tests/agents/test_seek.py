"""seek-substance: what a description seeks, when a search is on, and the guard on real gold paths and the real env."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agents.context import EpisodeMemory
from agents.data.collect import TRAJECTORIES
from agents.executor import LearnedExecutor
from agents.guards import make_guards
from agents.hierarchical import HierarchicalAgent
from agents.seek import (
    names_sought,
    search_rooms,
    seek_allows,
    seeking,
    seeks_substance,
    sought_name,
    toward,
    unfocused,
)
from sgd_gym.io import read_jsonl
from sgd_gym.subgoals import ROOMS, parse_subgoal
from tests.agents.test_agents import FixedPlanner

BOIL_LEAD = (
    "Your task is to boil lead. For compounds without a boiling point, combusting the substance is also acceptable. "
    "First, focus on the substance. Then, take actions that will cause it to change its state of matter."
)
MATTER_OF_TIN = (
    "Your task is to change the state of matter of tin. First, focus on the substance. Then, take actions that will "
    "cause it to change its state of matter."
)


def test_a_description_seeks_a_substance_it_names_but_does_not_place():
    assert seeks_substance(BOIL_LEAD) and seeks_substance(MATTER_OF_TIN)
    assert sought_name(BOIL_LEAD) == "lead" and sought_name(MATTER_OF_TIN) == "tin"
    assert sought_name("Your task is to melt ice cream. First, focus on the substance.") == "ice cream"
    assert not seeks_substance(BOIL_LEAD.replace("lead", "water"))  # water runs from the sink
    placed = ("Your task is to measure the melting point of tin, which is located around the kitchen. First, focus on "
              "the thermometer. Next, focus on the tin.")  # fmt: skip
    assert not seeks_substance(placed)
    assert not seeks_substance("Your task is to find a(n) animal. First, focus on the thing.")


def test_a_text_names_the_sought_substance_loose_in_a_container_or_changed():
    assert names_sought(BOIL_LEAD, "a table. On the table is: a paper cup (containing a substance called lead).")
    assert names_sought(BOIL_LEAD.replace("lead", "chocolate"), "In the fridge is: chocolate, a wood cup.")
    assert names_sought(BOIL_LEAD.replace("lead", "ice cream"), "a metal pot (containing liquid ice cream)")
    assert not names_sought(BOIL_LEAD, "a substance called soap\n\ta glass jar (containing sodium chloride)")
    assert not names_sought(BOIL_LEAD, "a leader")  # whole words only
    tin = BOIL_LEAD.replace("lead", "tin")
    assert not names_sought(tin, "In the cupboard is: a ceramic cup (containing nothing), a tin cup (containing nothing).")
    assert names_sought(tin, "On the table is: a battery, a paper cup (containing a substance called tin), a switch.")
    ice = BOIL_LEAD.replace("lead", "ice")
    assert not names_sought(ice, "a metal pot (containing ice cream)") and names_sought(ice, "is: a substance called ice.")


def _memory(rooms, here, task=BOIL_LEAD, looks=None):
    memory = EpisodeMemory(task=task, look=f"This room is called the {here}. In it, you see: \n\tthe agent\n")
    memory.rooms = {room: (looks or {}).get(room, f"This room is called the {room}.") for room in rooms}
    return memory


def test_a_search_goes_toward_rooms_not_yet_visited_then_back_to_where_it_saw_the_substance():
    memory = _memory(["kitchen", "bathroom"], "bathroom")
    assert seeking(memory) and search_rooms(memory) == [r for r in ROOMS if r not in ("kitchen", "bathroom")]
    assert seek_allows("navigate_to", "workshop", memory)  # not visited
    assert seek_allows("navigate_to", "kitchen", memory)  # the bathroom's only door leads on through the kitchen
    assert not seek_allows("navigate_to", "bathroom", _memory(["kitchen", "bathroom"], "kitchen"))  # a dead end
    assert seek_allows("open", None, memory) and seek_allows("pick_up", None, memory)
    assert not seek_allows("put", None, memory) and not seek_allows("activate", None, memory)
    assert search_rooms(_memory(ROOMS, "kitchen")) == list(ROOMS)  # every room visited: anywhere
    lead = "This room is called the workshop. a paper cup (containing a substance called lead)"
    left = _memory(["kitchen", "workshop", "hallway"], "hallway", looks={"workshop": lead})
    assert seeking(left) and search_rooms(left) == ["workshop"]  # seen there, left without it: back
    assert not seek_allows("navigate_to", "bedroom", left) and seek_allows("navigate_to", "workshop", left)
    assert toward("hallway", ["workshop"], "kitchen") and not toward("bathroom", ["workshop"], "kitchen")
    memory.history.append(("focus on substance in metal pot", "You focus on the water."))
    assert not seeking(memory)  # a focus ends the search
    assert not seeking(_memory(["kitchen"], "kitchen", task=BOIL_LEAD.replace("lead", "water")))
    found = _memory(["kitchen", "workshop"], "workshop", looks={"workshop": lead})
    found.look = lead
    assert not seeking(found) and unfocused(found)  # in the room's look: found, its focus still to come
    assert seek_allows("navigate_to", "kitchen", found) and seek_allows("focus_on", None, found)  # take it to the stove
    assert not seek_allows("activate", None, found) and not seek_allows("put", None, found)  # heating waits for the focus


@pytest.fixture(scope="module")
def seek_gold(tmp_path_factory):
    """Gold paths of boil's 5 dev variations (ice cream, soap and rubber; the rubber lies in the workshop and the
    gold path searches the house room by room), with the rules annotation."""
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect

    data = tmp_path_factory.mktemp("seek")
    collect(["boil"], "dev", 5, data, workers=2)
    annotate_rules(data)
    return data


def test_seek_substance_refuses_no_gold_step_and_acts_while_the_substance_is_unseen(seek_gold):
    """Replayed through the memory an agent keeps, no gold action and no gold sub-goal of the rules annotation is
    refused; before the focus, the guard refuses a stray step (an activation), and the search enters the workshop
    where the gold path finds the rubber."""
    from agents.data.annotate import annotation_path

    guard = make_guards(["seek-substance"])[0]
    segments = {row["variation"]: row["subgoals"] for row in read_jsonl(annotation_path(seek_gold, "rules"))}
    acted, searched = 0, 0
    for trajectory in read_jsonl(seek_gold / TRAJECTORIES):
        starts = {segment["start"]: segment["text"] for segment in segments[trajectory["variation"]]}
        memory = EpisodeMemory(task=trajectory["task_description"], task_name=trajectory["task"])
        memory.start(trajectory["initial"], {"score": 0})
        for i, step in enumerate(trajectory["steps"]):
            assert step["action"] not in guard.avoid_actions(memory, [step["action"], "activate sink"]), (i, step)
            if i in starts:
                assert guard.allows_subgoal(parse_subgoal(starts[i]), memory, ()), (i, starts[i])
            acted += guard.avoid_actions(memory, ["look around", "activate sink"]) == {"activate sink"}
            memory.record(step["action"], step, {"score": step["score"]})
        searched += "workshop" in memory.rooms
    assert acted and searched, (acted, searched)


def test_seek_substance_sends_the_planner_out_of_the_kitchen_on_the_real_env():
    """Dev variation 4 of boil: rubber, in the workshop. In the kitchen, the planner's filling of a pot at the sink
    and its move to the kitchen are passed over for the search; in the workshop, with the rubber in view, the move is
    not, and the pot still waits for the focus."""
    planner = FixedPlanner(["put(metal pot, sink)", "activate(sink)", "navigate_to(kitchen)", "navigate_to(workshop)"])
    agent = HierarchicalAgent(planner, LearnedExecutor(planner), num_beams=4, guards=make_guards(["seek-substance"]))
    plans = {}
    env = gym.make("sgd_gym/ScienceWorld-v1", split="dev", valid_actions=True)
    try:
        obs, info = env.reset(seed=0, options={"task": "boil", "variation": 4})
        agent.reset(obs["task"])
        agent.memory.observe(obs, info)
        for action in ["teleport to kitchen", "look around", "teleport to workshop", "look around"]:
            obs, _, _, _, info = env.step(action)
            agent.memory.sent(action)
            agent.memory.observe(obs, info)
            plans[action, len(agent.memory.rooms)] = agent.plan(obs, info), seeking(agent.memory)
    finally:
        env.close()
    assert sought_name(obs["task"]) == "rubber"
    assert plans["look around", 2] == ("navigate_to(workshop)", True)  # in the kitchen, the rubber unseen
    assert plans["look around", 3] == ("navigate_to(kitchen)", False)  # in the workshop, in view: no pot filled yet
