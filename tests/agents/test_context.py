"""The episode memory and the one context builder that training examples and inference share."""

from __future__ import annotations

import pytest

from agents.context import EpisodeMemory, build_context, count_tokens


def memory_at(task: str, look: str, inventory: str, observation: str, score: int, step: int, **fields) -> EpisodeMemory:
    """A memory as an agent has it after ``step`` steps."""
    return EpisodeMemory(task=task, look=look, inventory=inventory, observation=observation, score=score, step=step,
                         started=True, **fields)  # fmt: skip


def test_context_keeps_newest_history_within_budget():
    memory = memory_at("Your task is to boil water.", "This room is called the kitchen. " + "a thing, " * 200, "an orange",
                       "You move.", 25, 12, completed=["navigate_to(kitchen)"])  # fmt: skip
    memory.history = [(f"action {i}", f"observation number {i} " + "word " * 20) for i in range(12)]
    full = build_context(memory, "flat", max_tokens=2000)
    assert "action 2 ->" in full and "action 1 ->" not in full  # at most the last 10 pairs
    assert "completed:" not in full and "current:" not in full  # the flat policy sees no sub-goals
    memory.current = "pick_up(thermometer)"
    short = build_context(memory, "executor", max_tokens=150)
    assert count_tokens(short) <= 150
    assert "action 11 ->" in short and "action 5 ->" not in short
    assert short.startswith(
        "task: Your task is to boil water. | step: 12 score: 25 | current: pick_up(thermometer) | observation: You move. | "
        "inventory: an orange | completed: navigate_to(kitchen) | history:"
    )
    assert "| look: This room is called the kitchen. a thing," in short and short.endswith("...")
    planner = build_context(memory, "planner", max_tokens=2000)
    assert "current:" not in planner and "completed: navigate_to(kitchen) |" in planner  # the planner: completed only
    memory.completed = []
    assert "completed: none" in build_context(memory, "planner")


def test_context_never_loses_the_observation_to_a_long_plan_or_room():
    memory = memory_at("Your task is to " + "boil water and more " * 10, "This room is called the kitchen. " + "a thing, " * 300,
                       "an orange", "The stove is now activated.", 0, 40, current="heat(water, stove)",
                       completed=[f"pick_up(thing {i})" for i in range(30)])  # fmt: skip
    for budget in (96, 256):
        source = build_context(memory, "executor", max_tokens=budget)
        assert count_tokens(source) <= budget
        assert "observation: The stove is now activated." in source and "current: heat(water, stove)" in source
    source = build_context(memory, "planner", max_tokens=512)
    assert "completed: (24 earlier) pick_up(thing 24); " in source and "pick_up(thing 29) |" in source


def test_bad_context_kinds_are_refused():
    with pytest.raises(ValueError, match=r"unknown context kind 'critic': expected one of \['planner', 'executor', 'flat'\]"):
        build_context(EpisodeMemory(), "critic")
    with pytest.raises(ValueError, match="an executor context needs a current sub-goal"):
        build_context(EpisodeMemory(), "executor")


def obs(text: str, room: str = "kitchen") -> dict[str, str]:
    return {"observation": text, "look": f"This room is called the {room}.", "inventory": "nothing", "task": ""}


def test_memory_records_what_the_agent_sent_with_what_came_back():
    memory = EpisodeMemory(task="Your task is to boil water.")
    memory.observe(obs("You are in the kitchen."), {"score": 0, "task_name": "boil"})
    assert memory.started and memory.task == "Your task is to boil water." and memory.task_name == "boil"  # empty obs task kept
    memory.observe(obs("You are in the kitchen."), {"score": 0})  # nothing sent: nothing recorded
    assert memory.step == 0 and memory.history == []
    memory.sent("open door to hallway")
    memory.observe(obs("The door is now open."), {"score": 3})
    memory.observe(obs("The door is now open."), {"score": 3})  # a second look at the same step records nothing
    assert (memory.step, memory.score, memory.history) == (1, 3, [("open door to hallway", "The door is now open.")])
    memory.record("go to hallway", obs("You move to the hallway.", "hallway"), {"score": 5})
    assert memory.step == 2 and memory.look == "This room is called the hallway." and memory.observation.startswith("You move")


def test_options_begin_end_and_count_their_steps():
    memory = EpisodeMemory()
    memory.sent("look around")
    assert memory.option_steps == 0  # no option running
    memory.begin("navigate_to(hallway)")
    memory.sent("open door to hallway")
    memory.begin("navigate_to(hallway)")  # the running option goes on
    memory.sent("go to hallway")
    assert (memory.current, memory.option_steps, memory.completed) == ("navigate_to(hallway)", 2, [])
    memory.begin("pick_up(thermometer)")  # another sub-goal: the running option ends first
    assert (memory.current, memory.option_steps, memory.completed) == ("pick_up(thermometer)", 0, ["navigate_to(hallway)"])
    memory.end()
    memory.end()  # nothing running: nothing more to end
    memory.begin("pick_up(thermometer)")  # the same text after its option ended is a new option
    assert memory.completed == ["navigate_to(hallway)", "pick_up(thermometer)"] and memory.current == "pick_up(thermometer)"
