"""Grounding generated candidates to valid actions, through the guards."""

from __future__ import annotations

import pytest

from agents.context import EpisodeMemory
from agents.grounding import choose_action, ground_candidates
from agents.guards import make_guards


def test_grounding_always_returns_a_valid_action():
    valid = ["open door to kitchen", "go to kitchen", "pick up thermometer"]
    assert ground_candidates([("pick up thermometer", -0.1)], valid) == "pick up thermometer"
    assert ground_candidates([("pick up thermomter", -0.1), ("go to kitchen", -0.5)], valid) == "go to kitchen"
    assert ground_candidates([("pick up the thermometr", -0.1)], valid) == "pick up thermometer"
    assert ground_candidates([("zzzz", -0.1)], valid) in valid
    assert ground_candidates([("zzzz", -0.1)], []) == "zzzz"
    with pytest.raises(ValueError, match="no candidates"):
        ground_candidates([], valid)


def test_avoided_actions_are_passed_over_but_never_for_an_unasked_focus():
    valid = ["go to hallway", "go to kitchen", "look around"]
    candidates = [("go to hallway", -0.1), ("go to garden", -0.2), ("go to kitchen", -0.3)]
    assert ground_candidates(candidates, valid, avoid={"go to hallway"}) == "go to kitchen"
    assert ground_candidates(candidates[:2], valid, avoid={"go to hallway"}) == "go to kitchen"  # the closest other one
    assert ground_candidates(candidates, ["go to hallway"], avoid={"go to hallway"}) == "go to hallway"  # nothing else
    focus = ["go to hallway", "focus on hallway", "look around"]
    assert ground_candidates([("go to hallway", -0.1)], focus, avoid={"go to hallway"}) == "look around"  # never a new focus
    asked = [("go to hallway", -0.1), ("focus on hallway", -0.2)]
    assert ground_candidates(asked, focus, avoid={"go to hallway"}) == "focus on hallway"  # unless a candidate asked
    assert ground_candidates(candidates, valid) == "go to hallway"


def test_the_fallback_lands_only_where_every_guard_allows():
    valid = ["focus on hallway", "focus on thermometer", "go to hallway", "look around"]
    misspelt = [("focus on thermometr", -0.1)]
    assert ground_candidates(misspelt, valid) == "focus on thermometer"  # the default guesses the focus target
    no_focus = ground_candidates(misspelt, valid, fallback_allows=lambda action: not action.startswith("focus on"))
    assert no_focus in valid and not no_focus.startswith("focus on")
    assert ground_candidates(misspelt, valid, fallback_allows=lambda action: False) == "focus on thermometer"  # none: all
    memory = EpisodeMemory()
    assert choose_action(misspelt, valid, memory) == "focus on thermometer"
    assert not choose_action(misspelt, valid, memory, make_guards(["safe-focus"])).startswith("focus on")


def test_guarded_choice_names_the_guards_that_changed_the_first_choice():
    from agents.grounding import guarded_choice
    from agents.guards import Guard

    class AvoidKitchen(Guard):
        name = "avoid-kitchen"

        def avoid_actions(self, memory, valid_actions):
            return {"go to kitchen"}

    valid = ["go to kitchen", "go to hallway", "focus on thermometer", "look around"]
    memory, guards = EpisodeMemory(), [AvoidKitchen(), *make_guards(["safe-focus"])]
    assert guarded_choice([("go to hallway", -0.1)], valid, memory, guards) == ("go to hallway", ())
    assert guarded_choice([("go to kitchen", -0.1), ("go to hallway", -0.2)], valid, memory, guards) == (
        "go to hallway", ("avoid-kitchen",))  # fmt: skip
    guessed = guarded_choice([("focus on thermometr", -0.1)], valid, memory, guards)  # the fallback would guess a focus
    assert not guessed.action.startswith("focus on") and guessed.changed_by == ("safe-focus",)
    assert guarded_choice([("go to kitchen", -0.1)], valid, memory) == ("go to kitchen", ())
