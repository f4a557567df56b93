"""The inference guards: what each passes over, by name, and the registry that a new guard joins."""

from __future__ import annotations

import pytest

from agents.context import EpisodeMemory
from agents.grounding import choose_action, guarded_choice
from agents.guards import (
    ACTIONS,
    GUARDS,
    OPTIONS,
    SUBGOALS,
    AnswerLast,
    AvoidCycles,
    AvoidSubgoalCycles,
    EndPattern,
    FinishPattern,
    GoalWordFocus,
    Guard,
    NamedFocus,
    NavigationOnly,
    ReachRoom,
    SafeFocus,
    check_guard_names,
    cycle_action,
    make_guards,
    register_guard,
    sent_focus,
)
from sgd_gym.subgoals import parse_subgoal

HALL, SHOP = ("go to hallway", "You move to the hallway."), ("go to workshop", "You move to the workshop.")


def memory_with(history, task: str = "Your task is to boil water.", task_name: str | None = "boil") -> EpisodeMemory:
    return EpisodeMemory(task=task, task_name=task_name, history=list(history), step=len(history), started=True)


def test_cycles_are_found():
    assert cycle_action([HALL, SHOP, HALL, SHOP]) == "go to hallway"  # period 2: next would be hallway again
    assert cycle_action([SHOP, ("look around", "A room."), ("look around", "A room.")]) == "look around"  # period 1
    heating = [("examine water", "a substance called water (20 C)"), ("examine water", "a substance called water (30 C)")]
    assert cycle_action(heating) is None  # same action, new text: no cycle
    assert cycle_action([HALL, SHOP, HALL]) is None and cycle_action([]) is None


def test_avoid_cycles_passes_over_the_next_turn_of_a_cycle():
    valid = ["go to hallway", "go to workshop", "look around"]
    looping = memory_with([HALL, SHOP, HALL, SHOP])
    assert AvoidCycles().avoid_actions(looping, valid) == {"go to hallway"}
    assert AvoidCycles().avoid_actions(memory_with([HALL, SHOP]), valid) == set()
    candidates = [("go to hallway", -0.1), ("look around", -0.2)]
    assert choose_action(candidates, valid, looping) == "go to hallway"
    assert choose_action(candidates, valid, looping, [AvoidCycles()]) == "look around"


def test_safe_focus_sends_only_a_named_focus_and_never_twice():
    valid = ["focus on hallway", "focus on thermometer", "go to hallway", "look around"]
    fresh = memory_with([])
    assert choose_action([("focus on thermometer", -0.1)], valid, fresh, [SafeFocus()]) == "focus on thermometer"  # named
    assert not choose_action([("focus on thermometr", -0.1)], valid, fresh, [SafeFocus()]).startswith("focus on")
    focused = memory_with([("pick up thermometer", "You move the thermometer to the inventory."),
                           ("focus on thermometer", "You focus on the thermometer.")])  # fmt: skip
    assert sent_focus(focused.history) == {"focus on thermometer"}
    again = [("focus on thermometer", -0.1), ("look around", -0.2)]
    assert choose_action(again, valid, focused) == "focus on thermometer"
    assert choose_action(again, valid, focused, [SafeFocus()]) == "look around"
    only = [("focus on thermometer", -0.1)]
    assert not choose_action(only, valid, focused, [SafeFocus()]).startswith("focus on")  # nor a new guessed one


def test_named_focus_filters_actions_and_subgoals_in_enforced_tasks_only():
    valid = ["focus on orange", "focus on water", "look around"]
    boil = memory_with([])
    assert NamedFocus().avoid_actions(boil, valid) == {"focus on orange"}  # boil water: the orange is not named
    assert NamedFocus().avoid_actions(memory_with([], task_name="find-animal"), valid) == set()  # not enforced there
    assert not NamedFocus().allows_subgoal(parse_subgoal("focus_on(orange)"), boil, valid)
    assert NamedFocus().allows_subgoal(parse_subgoal("focus_on(water)"), boil, valid)
    assert NamedFocus().allows_subgoal(parse_subgoal("pick_up(orange)"), boil, valid)
    assert NamedFocus.filters == {ACTIONS, SUBGOALS} and SafeFocus.filters == {ACTIONS}


MELTING = (
    "Your task is to measure the melting point of mercury, which is located around the kitchen. First, focus on the "
    "thermometer. Next, focus on the mercury. If the melting point of mercury is above 10.0 degrees celsius, focus on "
    "the yellow box. If the melting point of mercury is below 10.0 degrees celsius, focus on the purple box."
)


def test_answer_last_holds_the_box_back_until_the_ordered_foci_are_sent():
    valid = ["focus on yellow box", "focus on purple box", "focus on mercury", "look around"]
    boxes = {"focus on yellow box", "focus on purple box"}
    task = "measure-melting-point-known-substance"
    assert AnswerLast().avoid_actions(memory_with([], MELTING, task), valid) == boxes
    one = [("focus on thermometer in inventory", "You focus on the thermometer.")]
    assert AnswerLast().avoid_actions(memory_with(one, MELTING, task), valid) == boxes  # the mercury is still to come
    assert not AnswerLast().allows_subgoal(parse_subgoal("focus_on(purple box)"), memory_with(one, MELTING, task), valid)
    assert AnswerLast().allows_subgoal(parse_subgoal("focus_on(mercury)"), memory_with(one, MELTING, task), valid)
    two = [*one, ("focus on mercury", "You focus on the mercury.")]
    assert AnswerLast().avoid_actions(memory_with(two, MELTING, task), valid) == set()  # now the answer may come
    mendelian = ("Your task is to determine whether tall plant height is a dominant or recessive trait in the pea "
                 "plant. If the trait is dominant, focus on the red box. If the trait is recessive, focus on the green "
                 "box.")  # fmt: skip
    assert AnswerLast().avoid_actions(memory_with([], mendelian), ["focus on red box"]) == set()  # nothing asked first


def test_goal_word_focus_passes_over_targets_without_a_word_of_the_goal_where_enforced():
    task = "Your task is to focus on the 4 life stages of the parrot, starting from earliest to latest."
    valid = ["focus on egg parrot", "focus on dove", "focus on adult parrot in outside", "look around"]
    stages = memory_with([], task, "identify-life-stages-1")
    assert GoalWordFocus().avoid_actions(stages, valid) == {"focus on dove"}
    assert not GoalWordFocus().allows_subgoal(parse_subgoal("focus_on(dove)"), stages, valid)
    assert GoalWordFocus().avoid_actions(memory_with([], task, "find-animal"), valid) == set()  # not enforced there


def test_guards_are_chosen_by_name_in_registration_order():
    assert list(GUARDS)[:4] == ["safe-focus", "avoid-cycles", "no-room-focus", "named-focus"]
    assert check_guard_names(["named-focus", "safe-focus"]) == ("safe-focus", "named-focus")
    assert [type(g) for g in make_guards(["named-focus", "avoid-cycles"])] == [AvoidCycles, NamedFocus]
    assert [type(g) for g in make_guards(["safe-focus", "named-focus"], filters=SUBGOALS)] == [NamedFocus]
    with pytest.raises(ValueError, match=r"unknown guard 'careful': expected some of \['safe-focus', 'avoid-cycles'"):
        check_guard_names(["careful"])
    with pytest.raises(ValueError, match=r"unknown guard 'reach-rooms': .* \(did you mean 'reach-room'\?\)"):
        check_guard_names(["reach-rooms"])
    with pytest.raises(ValueError, match="guard 'safe-focus' is given twice"):
        check_guard_names(["safe-focus", "safe-focus"])


def test_register_guard_refuses_bad_or_taken_names():
    class Nameless(Guard):
        pass

    class Taken(Guard):
        name = "safe-focus"

    class Nowhere(Guard):
        name = "nowhere"
        filters = frozenset({"rooms"})

    for cls, message in ((Nameless, "needs a lowercase name"), (Taken, "is taken by SafeFocus"), (Nowhere, "filters must be")):
        with pytest.raises(ValueError, match=message):
            register_guard(cls)
    assert "nowhere" not in GUARDS


def option_memory(subgoal: str, look: str, sent: list[tuple[str, str]] = ()) -> EpisodeMemory:
    """A memory midway through the option ``subgoal``: ``sent`` its actions so far, ``look`` the room's text."""
    memory = memory_with([("look around", "A room."), *sent])
    memory.look, memory.current, memory.option_steps = look, subgoal, len(sent)
    return memory


def test_reach_room_ends_a_navigation_option_only_in_its_room():
    hallway, workshop = "This room is called the hallway. In it, you see:", "This room is called the workshop."
    assert not ReachRoom().allows_end(option_memory("navigate_to(workshop)", hallway, [HALL]))
    assert ReachRoom().allows_end(option_memory("navigate_to(workshop)", workshop, [HALL, SHOP]))
    assert ReachRoom().allows_end(option_memory("navigate_to(outside)", "This outside location is called the outside."))
    assert ReachRoom().allows_end(option_memory("pick_up(thermometer)", hallway, [HALL]))  # not a navigation
    assert ReachRoom().allows_end(option_memory("navigate_to(workshop)", "You are somewhere."))  # room unknown: no opinion
    assert ReachRoom.filters == {OPTIONS} and ReachRoom().avoid_actions(option_memory("x", hallway), ["go to x"]) == set()


def test_navigation_only_sends_moves_for_a_navigate_to_option_and_the_executor_obeys():
    valid = ["go to hallway", "teleport to outside", "open door to greenhouse", "go to bedroom door", "focus on orange",
             "pick up egg turtle", "wait1", "look around"]  # fmt: skip
    hallway = "This room is called the hallway. In it, you see:"
    navigating = option_memory("navigate_to(outside)", hallway, [HALL])
    assert NavigationOnly().avoid_actions(navigating, valid) == {"focus on orange", "pick up egg turtle", "wait1",
                                                                  "look around"}  # fmt: skip
    assert NavigationOnly().avoid_actions(option_memory("pick_up(orange)", hallway), valid) == set()  # another option
    assert NavigationOnly().avoid_actions(memory_with([HALL]), valid) == set()  # between options
    assert NavigationOnly.filters == {OPTIONS}
    candidates = [("focus on orange", -0.1), ("wait1", -0.2), ("go to hallway", -0.3)]  # the model's, best first
    action, changed_by = guarded_choice(candidates, valid, navigating, [NavigationOnly()])
    assert action == "go to hallway" and changed_by == ("navigation-only",)


def test_finish_pattern_ends_an_option_only_after_its_last_steps_verb():
    room = "This room is called the kitchen."
    put_down = [("put down thermometer", "You move the thermometer to the kitchen.")]
    focused = [("focus on thermometer in inventory", "You focus on the thermometer.")]
    assert not FinishPattern().allows_end(option_memory("focus_on(thermometer)", room, put_down))
    assert FinishPattern().allows_end(option_memory("focus_on(thermometer)", room, put_down + focused))
    # heat(x, y) is "move x to y" then "activate y": moving alone does not finish it
    moved = [("move metal pot to stove", "You move the metal pot to the stove.")]
    assert not FinishPattern().allows_end(option_memory("heat(metal pot, stove)", room, moved))
    assert FinishPattern().allows_end(option_memory("heat(metal pot, stove)", room, moved + [("activate stove", "On.")]))
    # wait(1) is "wait1": the game's "wait" (ten ticks) is another action
    assert not FinishPattern().allows_end(option_memory("wait(1)", room, [("wait", "You decide to wait for 10 iterations.")]))
    assert FinishPattern().allows_end(option_memory("wait(1)", room, [("wait1", "You decide to wait for 1 iterations.")]))
    # only this option's actions count, and navigation is reach-room's
    before = option_memory("focus_on(thermometer)", room, put_down)
    before.history.insert(0, focused[0])
    assert not FinishPattern().allows_end(before)
    assert FinishPattern().allows_end(option_memory("navigate_to(workshop)", room, [HALL]))
    assert FinishPattern().allows_end(option_memory("not a sub-goal", room))


def test_avoid_subgoal_cycles_passes_over_a_sub_goal_that_repeats_with_the_same_outcome():
    refused = "You can't move the steel table."
    memory = memory_with([])
    for _ in range(2):
        memory.begin("put(steel table, orange box)")
        memory.observation = refused
        memory.end()
    assert memory.outcomes == [refused, refused]
    put, look = parse_subgoal("put(steel table, orange box)"), parse_subgoal("look_around()")
    assert not AvoidSubgoalCycles().allows_subgoal(put, memory, [])
    assert AvoidSubgoalCycles().allows_subgoal(look, memory, [])
    memory.outcomes[-1] = "You move the steel table to the orange box."  # it did something: no cycle
    assert AvoidSubgoalCycles().allows_subgoal(put, memory, [])
    alternating = memory_with([])
    for subgoal in ("look_at(ice)", "use(thermometer, ice)") * 2:
        alternating.begin(subgoal)
        alternating.observation = f"{subgoal} said the same"
        alternating.end()
    assert not AvoidSubgoalCycles().allows_subgoal(parse_subgoal("look_at(ice)"), alternating, [])
    assert AvoidSubgoalCycles().allows_subgoal(parse_subgoal("use(thermometer, ice)"), alternating, [])
    assert AvoidSubgoalCycles.filters == {SUBGOALS}


def test_end_pattern_ends_an_option_once_its_pattern_is_sent_and_the_executor_obeys():
    room = "This room is called the kitchen."
    moved = [("move metal pot to stove", "You move the metal pot to the stove.")]
    assert not EndPattern().requires_end(option_memory("heat(metal pot, stove)", room, moved))
    heated = option_memory("heat(metal pot, stove)", room, moved + [("activate stove", "The stove is now activated.")])
    heated.observation = "The stove is now activated."
    assert EndPattern().requires_end(heated)
    asked = option_memory("put(paint, jug)", room, [("move paint to jug", "Ambiguous request: ...")])
    asked.observation = "Ambiguous request: Please enter the number for the action you intended"
    assert not EndPattern().requires_end(asked)  # the answer "0" is still to come
    assert not EndPattern().requires_end(option_memory("navigate_to(kitchen)", room, [HALL]))  # reach-room's
    assert not EndPattern().requires_end(option_memory("look_around()", room))  # no action yet

    from agents.executor import LearnedExecutor
    from sgd_gym.subgoals import END_SG
    from tests.agents.test_agents import FixedPlanner

    obs = {"observation": "", "look": room, "inventory": "", "task": "Your task is to boil water."}
    info = {"score": 0, "valid_actions": ["look around", "wait1"]}
    for guards, second in (([], "look around"), ([EndPattern()], END_SG)):
        executor = LearnedExecutor(FixedPlanner(["look around", END_SG]), num_beams=2, guards=guards)
        executor.reset(obs["task"])
        assert executor.act(obs, info, "look_around()") == "look around"
        assert executor.act({**obs, "observation": "This room is called the kitchen."}, info, "look_around()") == second
    assert executor.changed_by == ("end-pattern",)  # the end the guard required is traced
