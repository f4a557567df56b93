"""Seeking the substance a task names but does not place (the ``seek-substance`` guard, ``agents.guards``).

The state-change tasks (boil, melt, freeze, change-the-state-of-matter-of) ask to "focus on the substance" their
goal names and say nothing of where it is. In the first 20 train variations it is water (from the kitchen's or the
bathroom's sink) or a food in the kitchen (chocolate, marshmallow, apple or orange juice, ice); in dev, ice cream
(the freezer), soap (the kitchen) or rubber, in the workshop; in test, a metal (lead, tin, mercury, gallium,
caesium) in a cup on the workshop's table. The gold paths that do not find it in the kitchen search for it: they
open the kitchen's containers, then walk room by room and look around until it is in view, and the focus on it is
worth 34 of the task's 100 points (67 for mercury). A planner or policy that imitates the kitchen paths fills a pot at the sink
instead. ``unfocused`` says when the substance's focus is still to come and ``seek_allows`` what an episode may do
until then: look around, open, pick up, focus, and, while the substance is not in view (``seeking``), move only
toward ``search_rooms`` (where it was seen and left, else the rooms not yet visited). Water runs from a tap and is
never sought. No gold step of the first 20 train and 5 dev variations of the 30 tasks is refused
(tests/agents/test_seek.py replays boil's dev paths; the rubber one searches the house).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from agents.context import EpisodeMemory
from agents.focus import FOCUS, goal_sentence, names_target
from sgd_gym.subgoals import ROOMS, current_room, route

_FOCUS_SUBSTANCE = re.compile(r"\bfocus on the substance\b", re.IGNORECASE)
# "which is located around the kitchen", "Seeds can be found in the bathroom", "might be found near the kitchen"
_PLACED = re.compile(r"\b(?:located|found)\b", re.IGNORECASE)
# substances that run from a tap (sink, bathtub, toilet) rather than lie in a room: the train split's boil-water
# gold paths fill a pot at the sink before any text names water
TAP_SUBSTANCES = ("water",)
_SOUGHT = re.compile(r"your task is to (?:.* of |[a-z]+ )(.+?)\.?$")
SEEK_VERBS = frozenset({"look_around", "open", "pick_up", "focus_on"})  # and navigate_to, as seek_allows says


@functools.lru_cache(maxsize=256)
def seeks_substance(description: str) -> bool:
    """Whether ``description`` asks to focus on "the substance" its goal names (``sought_name``), says nothing of
    where anything is (no "located" or "found"), and its goal (``goal_sentence``) names no tap substance
    (``TAP_SUBSTANCES``): ``Your task is to boil lead. ... First, focus on the substance.``, not ``... boil water
    ...`` nor ``measure the melting point of tin, which is located around the kitchen``."""
    if not _FOCUS_SUBSTANCE.search(description) or _PLACED.search(description) or not sought_name(description):
        return False
    return not any(names_target(goal_sentence(description), name) for name in TAP_SUBSTANCES)


@functools.lru_cache(maxsize=256)
def sought_name(description: str) -> str:
    """The substance a goal names, the words after its verb (``your task is to boil ice cream.`` -> ``ice cream``;
    ``... change the state of matter of tin.`` -> ``tin``); '' for a goal of another form."""
    found = _SOUGHT.match(goal_sentence(description))
    return found.group(1).strip() if found else ""


# the substance as a whole item of a listing: after the start of a line, ": ", ", " or "containing", with an
# article, "substance called" and a state, and nothing of another name after it ("a tin cup" is no tin)
_ITEM = (r"(?:^|[:,(]|containing)\s*(?:(?:an?|the)\s+)?(?:substance called\s+)?(?:(?:liquid|solid|gaseous)\s+)?"
         r"{name}\s*(?:[(),.]|$)")


@functools.lru_cache(maxsize=1 << 12)
def names_sought(description: str, text: str) -> bool:
    """Whether ``text`` (a look, inventory or observation) lists the substance of ``description`` (``sought_name``)
    as an item of its own: ``a paper cup (containing a substance called lead)``, ``In the fridge is: chocolate``,
    ``a metal pot (containing liquid ice cream)``; not ``a tin cup`` in a task on tin, nor ``ice cream`` in one on
    ice."""
    name = sought_name(description)
    return bool(name) and re.search(_ITEM.format(name=re.escape(name)), text.lower(), re.MULTILINE) is not None


def unfocused(memory: EpisodeMemory) -> bool:
    """Whether the task seeks a substance (``seeks_substance``) and no ``focus on`` has been sent yet (the first
    focus these tasks ask for is the substance's; after it, the look may call what was named ``ice cream`` only
    ``liquid ice cream``)."""
    return seeks_substance(memory.task) and not any(action.startswith(FOCUS) for action, _ in memory.history)


def in_view(memory: EpisodeMemory) -> bool:
    """Whether the room's look, the inventory or the latest observation names the sought substance."""
    return any(names_sought(memory.task, text) for text in (memory.look, memory.inventory, memory.observation))


def seeking(memory: EpisodeMemory) -> bool:
    """Whether the sought substance is still to be found: ``unfocused`` and not ``in_view``."""
    return unfocused(memory) and not in_view(memory)


def search_rooms(memory: EpisodeMemory) -> list[str]:
    """Where a search goes: the rooms whose latest look (``memory.rooms``) named the sought substance (seen there and
    left without it), else those the episode has not been in, else every room of ``ROOMS``."""
    seen = [room for room, look in memory.rooms.items() if names_sought(memory.task, look)]
    return seen or [room for room in ROOMS if room not in memory.rooms] or list(ROOMS)


def seek_allows(verb: str, room: str | None, memory: EpisodeMemory) -> bool:
    """Whether an ``unfocused`` episode may take a step of sub-goal verb ``verb`` (``sgd_gym.subgoals.action_verb``
    for an action) to ``room`` (a ``navigate_to``'s destination; None otherwise): a ``SEEK_VERBS`` step (a
    ``focus_on`` among them: the focus guards say on what); a move anywhere once the substance is in view (to bring it to the
    stove), else toward one of the ``search_rooms`` (``toward``). Filling a pot, heating, measuring wait for the
    focus, as in every gold path."""
    if verb != "navigate_to":
        return verb in SEEK_VERBS
    return in_view(memory) or toward(room, search_rooms(memory), current_room(memory.look))


def toward(room: str | None, goals: Collection[str], here: str | None) -> bool:
    """Whether going to ``room`` from ``here`` goes toward one of ``goals``: ``room`` is one, or a door from ``here``
    leads to it on a shortest door path to one (the gold paths walk back through the kitchen or the hallway to the
    rooms beyond them)."""
    if room in goals:
        return True
    if here not in ROOMS or room not in ROOMS or len(route(here, room)) != 1:  # not through one door
        return False
    return any(_distance(room, goal) == _distance(here, goal) - 1 for goal in goals)


@functools.cache
def _distance(start: str, goal: str) -> int:
    """Doors on a shortest path from ``start`` to ``goal`` (``sgd_gym.subgoals.route``)."""
    return len(route(start, goal))

