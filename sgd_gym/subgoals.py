"""The sub-goal language: function-style sub-goals, parsing, formatting, and their action patterns.

A sub-goal is ``verb(arg1[, arg2])``, lowercase, arguments being game object or room names or a
count: ``navigate_to(kitchen)``, ``pick_up(thermometer)``, ``heat(metal pot, stove)``, ``wait(5)``.
``END_SG`` is the executor's end-of-sub-goal token.

``PATTERNS`` is the one table that ties each verb to the primitive actions that carry it out; the
rules annotator reads gold trajectories with it and the scripted executor expands sub-goals with
it, so the two always agree. ``navigate_to`` (door-graph search), ``wait`` and ``watch`` (counts)
are handled specially.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

END_SG = "END_SG"

# The house every ScienceWorld task uses (checked against the game in tests/sgd_gym/test_subgoals.py).
ROOMS: tuple[str, ...] = (
    "art studio",
    "bathroom",
    "bedroom",
    "foundry",
    "greenhouse",
    "hallway",
    "kitchen",
    "living room",
    "outside",
    "workshop",
)
DOORS: tuple[tuple[str, str], ...] = (
    ("art studio", "hallway"),
    ("bathroom", "kitchen"),
    ("bedroom", "hallway"),
    ("foundry", "outside"),
    ("greenhouse", "hallway"),
    ("greenhouse", "outside"),
    ("hallway", "kitchen"),
    ("hallway", "living room"),
    ("hallway", "workshop"),
    ("kitchen", "outside"),
)

HEATING_DEVICES = ("stove", "oven", "blast furnace", "hot plate", "lighter")
COOLING_DEVICES = ("freezer", "fridge", "ultra low temperature freezer")

# verb -> primitive action templates ({0}, {1} are the arguments), in the order they are carried out.
PATTERNS: dict[str, tuple[str, ...]] = {
    "measure": ("examine {0}", "use {1} on {0}"),
    "heat": ("move {0} to {1}", "activate {1}"),
    "cool": ("move {0} to {1}",),
    "pick_up": ("pick up {0}",),
    "put": ("move {0} to {1}",),
    "pour": ("pour {0} into {1}",),
    "focus_on": ("focus on {0}",),
    "open": ("open {0}",),
    "close": ("close {0}",),
    "activate": ("activate {0}",),
    "deactivate": ("deactivate {0}",),
    "use": ("use {0} on {1}",),
    "connect": ("connect {0} to {1}",),
    "mix": ("mix {0}",),
    "read": ("read {0}",),
    "examine": ("examine {0}",),
    "look_at": ("look at {0}",),
    "drop": ("drop {0}",),
    "eat": ("eat {0}",),
    "look_around": ("look around",),
    "check_inventory": ("inventory",),
    "act": ("{0}",),
}
SPECIAL_VERBS: dict[str, int] = {"navigate_to": 1, "wait": 1, "watch": 2}
VERBS: dict[str, int] = {  # verb -> number of arguments
    **{verb: len(set(re.findall(r"\{(\d)\}", " ".join(templates)))) for verb, templates in PATTERNS.items()},
    **SPECIAL_VERBS,
}

_SUBGOAL = re.compile(r"^\s*([a-z_]+)\s*\((.*)\)\s*$", re.DOTALL)


def _template_regex(template: str) -> re.Pattern:
    """``move {0} to {1}`` -> a regex with groups a0 (shortest) and a1."""
    escaped = re.escape(template).replace(r"\{0\}", "(?P<a0>.+?)").replace(r"\{1\}", "(?P<a1>.+)")
    return re.compile(f"^{escaped}$")


_TEMPLATE_REGEX = {verb: tuple(_template_regex(t) for t in templates) for verb, templates in PATTERNS.items()}
WAIT_ACTION = "wait1"  # one tick; the game's bare "wait" (10 iterations) is not the same as ten of these


class SubgoalError(ValueError):
    """A sub-goal text that is not ``verb(args)`` with a known verb and the right arguments."""


@dataclass(frozen=True)
class Subgoal:
    """One parsed sub-goal."""

    verb: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return format_subgoal(self)

    @property
    def count(self) -> int:
        """The repeat count of ``wait(n)`` and ``watch(obj, n)``."""
        return int(self.args[-1])


# Game object names may hold the characters that delimit sub-goals ("book (the origin of species)"):
# in a sub-goal they are written with brackets and semicolons, and expand() writes them back.
_ESCAPE = str.maketrans("(),", "[];")
_UNESCAPE = str.maketrans("[];", "(),")


def escape_name(name: str) -> str:
    """A game name as a sub-goal argument: ``(``, ``)``, ``,`` become ``[``, ``]``, ``;``."""
    return name.translate(_ESCAPE)


def unescape_name(text: str) -> str:
    """The game's text of an escaped name or action (the inverse of ``escape_name``)."""
    return text.translate(_UNESCAPE)


def escape(subgoal: Subgoal) -> Subgoal:
    """``subgoal`` with every argument escaped (see ``escape_name``)."""
    return Subgoal(subgoal.verb, tuple(escape_name(arg) for arg in subgoal.args))


def _check(verb: str, args: tuple[str, ...], text: str) -> None:
    if verb not in VERBS:
        raise SubgoalError(f"unknown verb {verb!r} in sub-goal {text!r}: expected one of {sorted(VERBS)}")
    if len(args) != VERBS[verb]:
        raise SubgoalError(f"{verb} takes {VERBS[verb]} argument(s), got {len(args)} in sub-goal {text!r}")
    for arg in args:
        if not arg or any(c in arg for c in ",()\n") or arg != arg.strip():
            raise SubgoalError(f"bad argument {arg!r} in sub-goal {text!r}: names are non-empty, without ',', '(', ')'")
    if verb == "navigate_to" and args[0] not in ROOMS:
        raise SubgoalError(f"unknown room {args[0]!r} in sub-goal {text!r}: expected one of {list(ROOMS)}")
    if verb in ("wait", "watch") and not (args[-1].isdigit() and 0 < int(args[-1]) <= 1000):
        raise SubgoalError(f"{verb} needs a count in 1..1000 as its last argument, got {args[-1]!r} in {text!r}")


def parse_subgoal(text: str) -> Subgoal:
    """Parse ``verb(arg1, arg2)``; raises ``SubgoalError`` naming what is wrong."""
    if not isinstance(text, str):
        raise SubgoalError(f"a sub-goal must be a str, got {type(text).__name__}: {text!r}")
    match = _SUBGOAL.match(text)
    if not match:
        raise SubgoalError(f"malformed sub-goal {text!r}: expected verb(arg1[, arg2]), e.g. 'navigate_to(kitchen)'")
    verb, inner = match.group(1), match.group(2).strip()
    args = tuple(part.strip() for part in inner.split(",")) if inner else ()
    _check(verb, args, text)
    return Subgoal(verb, args)


def format_subgoal(subgoal: Subgoal) -> str:
    """The canonical text of a sub-goal (``parse_subgoal(format_subgoal(s)) == s``)."""
    text = f"{subgoal.verb}({', '.join(subgoal.args)})"
    _check(subgoal.verb, subgoal.args, text)
    return text


def expand(subgoal: Subgoal) -> list[str]:
    """The primitive actions of a pattern verb (not ``navigate_to``); ``wait``/``watch`` repeat theirs."""
    if subgoal.verb == "wait":
        return [WAIT_ACTION] * subgoal.count
    if subgoal.verb == "watch":
        return [f"look at {unescape_name(subgoal.args[0])}"] * subgoal.count
    if subgoal.verb == "navigate_to":
        raise ValueError("navigate_to depends on the current room: use sgd_gym.subgoals.route()")
    return [unescape_name(template.format(*subgoal.args)) for template in PATTERNS[subgoal.verb]]


def match_action(action: str, verbs: tuple[str, ...] | None = None) -> Subgoal | None:
    """The single-action sub-goal an action expresses (``pick up x`` -> ``pick_up(x)``), or None."""
    for verb, regexes in _TEMPLATE_REGEX.items():
        if len(regexes) != 1 or verb in ("act", "cool") or (verbs is not None and verb not in verbs and verb != "put"):
            continue  # cool is put into a cooling device, decided below
        found = regexes[0].match(action)
        if found:
            found_args = (found.groupdict().get("a0"), found.groupdict().get("a1"))
            args = tuple(escape_name(v) for v in found_args if v is not None)
            if verb == "put" and any(args[1].endswith(device) for device in COOLING_DEVICES):
                verb = "cool"
            if verbs is not None and verb not in verbs:
                return None
            try:
                _check(verb, args, action)
            except SubgoalError:
                return None
            return Subgoal(verb, args)
    return None


_NAVIGATION = ("go to ", "teleport to ", "open door to ")


@functools.lru_cache(maxsize=1 << 17)
def action_verb(action: str) -> str:
    """The sub-goal verb an action expresses (``move x to y`` -> ``put``; going, teleporting or opening a door to a
    room -> ``navigate_to``; ``wait1`` -> ``wait``), or '' when it expresses none (``match_action``)."""
    if action.startswith(_NAVIGATION):
        return "navigate_to"
    if action == WAIT_ACTION:
        return "wait"
    found = match_action(action)
    return found.verb if found is not None else ""


def route(start: str, goal: str) -> list[str]:
    """Rooms on a shortest door path from ``start`` to ``goal`` (excluding ``start``); breadth-first, stable."""
    if start not in ROOMS or goal not in ROOMS:
        raise ValueError(f"unknown room {start if start not in ROOMS else goal!r}: expected one of {list(ROOMS)}")
    neighbours = {room: sorted({b for a, b in DOORS if a == room} | {a for a, b in DOORS if b == room}) for room in ROOMS}
    previous = {start: None}
    frontier = [start]
    while frontier and goal not in previous:
        nxt = []
        for room in frontier:
            for other in neighbours[room]:
                if other not in previous:
                    previous[other] = room
                    nxt.append(other)
        frontier = nxt
    path = []
    while goal != start:
        path.append(goal)
        goal = previous[goal]
    return path[::-1]


_ROOM_LINE = re.compile(r"This (?:room|outside location) is called the ([a-z ]+?)\.")


def current_room(look: str) -> str | None:
    """The room named by a ``look around`` text, or None."""
    found = _ROOM_LINE.search(look)
    return found.group(1) if found else None
