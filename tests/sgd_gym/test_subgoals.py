"""The sub-goal language: parsing, formatting, patterns and the house map."""

from __future__ import annotations

import re

import pytest

from sgd_gym.backend import ScienceWorldBackend
from sgd_gym.subgoals import (
    DOORS,
    ROOMS,
    VERBS,
    Subgoal,
    SubgoalError,
    current_room,
    expand,
    format_subgoal,
    match_action,
    parse_subgoal,
    route,
)


@pytest.mark.parametrize(
    "text",
    ["navigate_to(kitchen)", "pick_up(thermometer)", "heat(metal pot, stove)", "wait(5)", "watch(inclined plane b, 3)",
     "look_around()", "act(pour cup containing blue paint in art studio in cup containing nothing)"],
)  # fmt: skip
def test_round_trip(text):
    subgoal = parse_subgoal(text)
    assert format_subgoal(subgoal) == text and parse_subgoal(str(subgoal)) == subgoal


def test_lenient_spacing_is_normalised():
    assert str(parse_subgoal("  heat( metal pot ,stove ) ")) == "heat(metal pot, stove)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("navigate_to kitchen", "malformed sub-goal"),
        ("fly(kitchen)", "unknown verb 'fly'"),
        ("navigate_to(mars)", "unknown room 'mars'"),
        ("heat(pot)", "heat takes 2 argument"),
        ("wait(0)", "count in 1..1000"),
        ("watch(plane, x)", "count in 1..1000"),
        ("heat(, x)", "bad argument ''"),
        (None, "must be a str"),
    ],
)
def test_malformed_sub_goals_are_rejected_clearly(text, message):
    with pytest.raises(SubgoalError, match=re.escape(message)):
        parse_subgoal(text)


def test_expansions_and_matching_are_inverse():
    actions = ["pick up thermometer", "move metal pot to stove", "pour jug into flower pot 3", "focus on red light bulb",
               "connect battery anode to black wire terminal 1", "use thermometer in inventory on water", "mix jug"]  # fmt: skip
    for action in actions:
        subgoal = match_action(action)
        assert subgoal is not None and expand(subgoal) == [action]
    assert match_action("go to kitchen") is None
    assert expand(Subgoal("wait", ("3",))) == ["wait1"] * 3
    assert expand(parse_subgoal("measure(water, thermometer)")) == ["examine water", "use thermometer on water"]
    assert set(VERBS) >= {"navigate_to", "pick_up", "put", "focus_on", "heat", "cool", "wait", "mix", "connect", "measure"}


def test_route_is_a_shortest_door_path():
    assert route("kitchen", "kitchen") == []
    assert len(route("bedroom", "foundry")) == 4 and route("bedroom", "foundry")[0] == "hallway"
    for a in ROOMS:
        for b in ROOMS:
            path = [a] + route(a, b)
            assert all(tuple(sorted(pair)) in DOORS for pair in zip(path, path[1:]))


def test_house_map_matches_the_game():
    with ScienceWorldBackend() as backend:
        for task, variation in (("boil", 5), ("find-animal", 100)):
            backend.load(task, variation, "easy")
            backend.step("look around")
            assert sorted(a[len("teleport to ") :] for a in backend.valid_actions() if a.startswith("teleport to ")) == list(
                ROOMS
            )
            edges = set()
            for room in ROOMS:
                backend.step(f"teleport to {room}")
                look = backend.look()
                assert current_room(look) == room
                edges |= {tuple(sorted((room, other))) for other in re.findall(r"A door to the ([a-z ]+?) \(", look)}
            assert edges == set(DOORS)


def test_names_with_parentheses_and_commas_round_trip_through_escaping():
    from agents.data.annotate import rules_segments
    from sgd_gym.subgoals import escape_name, expand, match_action, unescape_name

    action = "pick up book (the foundations of the origin of species)"
    subgoal = match_action(action)
    assert str(subgoal) == "pick_up(book [the foundations of the origin of species])"
    assert parse_subgoal(str(subgoal)) == subgoal and expand(subgoal) == [action]
    assert unescape_name(escape_name("a (b, c)")) == "a (b, c)"
    segments = rules_segments(["focus on x (y, z)", "look at x (y)", "look at x (y)", "frobnicate (it)"], 10)
    assert [s["text"] for s in segments] == ["focus_on(x [y; z])", "watch(x [y], 2)", "act(frobnicate [it])"]
    assert [a for s in segments for a in expand(parse_subgoal(s["text"]))] == [
        "focus on x (y, z)", "look at x (y)", "look at x (y)", "frobnicate (it)",
    ]  # fmt: skip
