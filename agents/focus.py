"""Named focus: in the tasks whose gold paths only focus on what the task description names, a focus on
anything else is passed over (a wrong ``focus on`` ends the episode); likewise for targets with a word of the task's
goal (``goal-word-focus``), and the order a description asks its foci in (``answer-last``).

Which tasks those are is learned from the train split's gold paths and shipped as ``named_focus.json``:
    python -m agents.focus --data DATA
The shipped table was learned from the data the scorer-cpu checkpoints were trained on (the first 20 train
variations of each task, ``checkpoints/scorer-cpu/README.md``); an earlier one, from every train variation, enforced
named focus in the same 16 tasks.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from sgd_gym.io import DataFileError, atomic_write_text
from sgd_gym.subgoals import ROOMS, current_room

FOCUS = "focus on "
NAMED_FOCUS_FILE = Path(__file__).with_name("named_focus.json")
SEEN_FOCUS_FILE = Path(__file__).with_name("seen_focus.json")
_WORD = re.compile(r"[a-z0-9]+")
# words that say nothing of what a focus target is (locations and containers' glue words)
_GLUE = frozenset("a an the in on of at into with containing".split())
DEFAULT_THRESHOLD = 0.95
NAMED_FOCUS_RULES = ("enforced", "goal_enforced", "destination_enforced")
_LOCATION = re.compile(r" (?:in|on) ")
_OPENING = frozenset("your task is to focus".split())


def focus_names(target: str) -> list[str]:
    """The names a ``focus on`` target goes by: the object before any location (``thermometer in inventory`` ->
    ``thermometer``) and, for a container, what it contains (``glass jar containing salt`` -> ``glass jar``, ``salt``)."""
    head, _, contents = target.partition(" containing ")
    return [_LOCATION.split(part, maxsplit=1)[0].strip() for part in (head, contents) if part.strip()]


def names_target(description: str, target: str) -> bool:
    """Whether ``description`` names the focus target ``target`` (one of its ``focus_names``, whole words, any case)."""
    text = description.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", text) for name in focus_names(target) if name)


def focus_statistics(trajectories: Iterable[dict[str, Any]], split: str = "train") -> dict[str, dict[str, int]]:
    """Per task of ``split``: how many gold ``focus on`` actions its trajectories send, how many of them target
    something the trajectory's task description names (``named``), how many a target with a word of its goal
    (``goal``: ``shares_goal_word``); and how many trajectories have a description that names destination rooms
    (``destined``: ``destination_rooms``), of which how many send their first focus elsewhere (``elsewhere``); and in
    which room each trajectory sends its first focus (``first_rooms``: room -> trajectories)."""
    counts: dict[str, dict[str, int]] = {}
    for trajectory in trajectories:
        if trajectory.get("split") != split:
            continue
        description, looks = trajectory["task_description"], [trajectory["initial"]["look"]]
        destinations, first = destination_rooms(description), True
        for step in trajectory["steps"]:
            if step["action"].startswith(FOCUS):
                row = counts.setdefault(trajectory["task"], {"focus": 0, "named": 0, "goal": 0, "destined": 0,
                                                             "elsewhere": 0, "first_rooms": {}})  # fmt: skip
                target = step["action"][len(FOCUS) :]
                row["focus"] += 1
                row["named"] += names_target(description, target)
                row["goal"] += shares_goal_word(description, target)
                if first:
                    room = current_room(looks[-1]) or "?"
                    row["first_rooms"][room] = row["first_rooms"].get(room, 0) + 1
                    row["destined"] += bool(destinations)
                    row["elsewhere"] += bool(destinations) and room not in destinations
                first = False
            looks.append(step["look"])
    return dict(sorted(counts.items()))


def learn_named_focus(
    trajectories: Iterable[dict[str, Any]], split: str = "train", threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """The named-focus table: each task's ``focus_statistics``, ``enforced`` where at least ``threshold`` of its
    gold foci target a named object, ``goal_enforced`` where at least ``threshold`` of them target an object with a
    word of the task's goal (``goal-word-focus``), ``destination_enforced`` where at least ``threshold`` of its
    trajectories with destination rooms send their first focus outside them (``focus-first``), ``first_room`` the
    room where at least ``threshold`` of its trajectories send their first focus, or None (``focus-room``)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    tasks = {
        task: {**row, "enforced": row["named"] >= threshold * row["focus"],
               "goal_enforced": row["goal"] >= threshold * row["focus"],
               "destination_enforced": 0 < row["destined"] and row["elsewhere"] >= threshold * row["destined"],
               "first_room": _majority(row["first_rooms"], threshold)}
        for task, row in focus_statistics(trajectories, split).items()
    }  # fmt: skip
    if not tasks:
        raise ValueError(f"no gold 'focus on' action in the {split!r} split: nothing to learn from")
    return {"split": split, "threshold": threshold, "tasks": tasks}


def _majority(counts: dict[str, int], threshold: float) -> str | None:
    """The key of ``counts`` with at least ``threshold`` of the total, or None."""
    best = max(counts, key=counts.__getitem__)
    return best if best != "?" and counts[best] >= threshold * sum(counts.values()) else None


@functools.lru_cache(maxsize=8)
def first_focus_rooms(path: str | Path = NAMED_FOCUS_FILE) -> dict[str, str]:
    """Task -> the room where its train gold paths send their first focus (``first_room`` of a named-focus table),
    for the tasks that have one.

    Raises:
        DataFileError: no such file, not a named-focus table, or one learned before ``first_room`` existed.
    """
    path = Path(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["tasks"]
        if any("first_room" not in row for row in rows.values()):
            raise DataFileError(f"{path}: learned before the 'first_room' rule (relearn it: python -m agents.focus "
                                f"--data DATA --out {path})")  # fmt: skip
        return {task: row["first_room"] for task, row in rows.items() if row["first_room"]}
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file (build it: python -m agents.focus --data DATA --out {path})") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DataFileError(f"{path}: not a named-focus table ({type(error).__name__}: {error})") from None


@functools.lru_cache(maxsize=8)
def named_focus_tasks(path: str | Path = NAMED_FOCUS_FILE, rule: str = "enforced") -> frozenset[str]:
    """The tasks of a named-focus table (``learn_named_focus``) where the rule is enforced: ``enforced`` (named
    targets only), ``goal_enforced`` (targets with a goal word only) or ``destination_enforced`` (the first focus
    before the destination rooms).

    Raises:
        ValueError: an unknown ``rule``.
        DataFileError: no such file, not a named-focus table, or one learned before the ``rule`` existed (relearn it:
            a missing rule would silently enforce nothing).
    """
    if rule not in NAMED_FOCUS_RULES:
        raise ValueError(f"unknown named-focus rule {rule!r}: expected one of {list(NAMED_FOCUS_RULES)}")
    path = Path(path)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        rows = table["tasks"].items()
        if any(rule not in row for _, row in rows) and rule != "enforced":
            raise DataFileError(f"{path}: learned before the {rule!r} rule (relearn it: python -m agents.focus "
                                f"--data DATA --out {path})")  # fmt: skip
        return frozenset(task for task, row in rows if row[rule])
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file (build it: python -m agents.focus --data DATA --out {path})") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DataFileError(f"{path}: not a named-focus table ({type(error).__name__}: {error})") from None


def unnamed_focus(
    valid_actions: Collection[str], task: str | None, description: str, tasks: Collection[str] | None = None
) -> set[str]:
    """The valid ``focus on`` actions whose target ``description`` does not name, in a task of ``tasks`` (default:
    ``named_focus_tasks()``); none in any other task."""
    if task not in (named_focus_tasks() if tasks is None else tasks):
        return set()
    return {a for a in valid_actions if a.startswith(FOCUS) and not names_target(description, a[len(FOCUS) :])}


_CONTAINER = re.compile(r"(?:^|[\s,(:])(?:an?|the) ([a-z0-9 '-]+?) \(containing ([^()]*)\)")
# a room's fixture that holds what it lists: "a toilet. In the toilet is: A drain, which is closed, a substance called
# water." (the listing calls the water ``substance in toilet``)
_HOLDER = re.compile(r"(?:in|on) the ([a-z0-9 '-]+?) is: ([^\n]*)")
_CALLED = re.compile(r"substance called ([a-z0-9 '-]+?)(?=\s*(?:[),.;]|$))", re.MULTILINE)
GENERIC = "substance"  # the name ScienceWorld gives a substance its listing calls by container: ``substance in cup``


def target_substances(target: str, look: str, inventory: str) -> frozenset[str]:
    """The substances a ``focus on`` target denotes, as the room's ``look`` and the ``inventory`` name them (the game
    lists one as ``a substance called soap``, or inside a container: ``a paper cup (containing a substance called
    tin)``), lower-cased; empty for a target that is no substance they name.

    ``soap in table`` denotes ``soap`` when a ``substance called soap`` is in view. ``substance in cup``, the name
    the action list gives what a cup holds, denotes the substances of every container in view whose name has all of
    ``cup``'s words (``paper cup``, ``glass cup``); ``substance in inventory`` those the inventory lists."""
    head, _, rest = target.lower().partition(" in ")
    named, containers, held = _substances_in_view(look, inventory)
    if head != GENERIC:
        return frozenset({head}) if head in named else frozenset()
    place = rest.partition(" in ")[0].strip()
    if place == "inventory":
        return held
    words = set(_WORD.findall(place))
    return frozenset(substance for container, contents in containers if words and words <= container
                     for substance in contents)  # fmt: skip


@functools.lru_cache(maxsize=256)
def _substances_in_view(look: str, inventory: str) -> tuple[frozenset[str], tuple, frozenset[str]]:
    """What ``target_substances`` reads of one state, parsed once for all its foci: every substance named in the look
    and inventory, each container's (or fixture's: ``In the toilet is: ...``) words with the substances it holds, and
    the inventory's substances."""
    text = f"{look}\n{inventory}".lower()
    containers = tuple((frozenset(_WORD.findall(container)), tuple(_CALLED.findall(contents)))
                       for container, contents in [*_CONTAINER.findall(text), *_HOLDER.findall(text)])  # fmt: skip
    return frozenset(_CALLED.findall(text)), containers, frozenset(_CALLED.findall(inventory.lower()))


def unnamed_substance_focus(
    valid_actions: Collection[str], task: str | None, description: str, look: str, inventory: str,
    tasks: Collection[str] | None = None,
) -> set[str]:
    """In a task of ``tasks`` (default: ``named_focus_tasks()``), the valid ``focus on`` actions whose target
    denotes substances (``target_substances``) of which ``description`` names none: ``focus on substance in metal
    pot`` when the pot holds water and the task is to boil lead or soap (``names_target`` passes it: the
    description says "focus on the substance"); none in any other task."""
    if task not in (named_focus_tasks() if tasks is None else tasks):
        return set()
    out = set()
    for action in valid_actions:
        if action.startswith(FOCUS):
            substances = target_substances(action[len(FOCUS) :], look, inventory)
            if substances and not any(names_target(description, name) for name in substances):
                out.add(action)
    return out


# "First, focus on the thermometer." / "Next, focus on the mercury." (a focus the task asks for, in order) and
# "If ..., focus on the blue box." (the answer): the measure-melting-point descriptions (use-thermometer's answer is
# a place, "place it in the yellow box"; mendelian's has an answer but asks for no focus before it)
_SENTENCE_END = re.compile(r"(?<=[.!])\s+")
_ORDERED_FOCUS = re.compile(r"^(?:first|next|then),? focus on ", re.IGNORECASE)
_CONDITIONAL_FOCUS = re.compile(r"^if .*?, focus on (?:the |a |an )?(.+?)\.?$", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def focus_order(description: str) -> tuple[int, tuple[str, ...]]:
    """What a task description says of the order of its foci: how many foci it asks for before its answer
    (``First, focus on the thermometer. Next, focus on the mercury.``: 2), and the answer's targets, lower-cased
    (``If the melting point of mercury is above 10.0 degrees celsius, focus on the yellow box.``: ``yellow box``);
    ``(0, ())`` for a description without conditional foci (the answer of test-conductivity is a place, not a
    focus; lifespan-longest-lived-then-shortest-lived orders two foci but has no answer to hold back)."""
    sentences = _SENTENCE_END.split(description.strip())
    answers = tuple(dict.fromkeys(found.group(1).strip().lower() for found in map(_CONDITIONAL_FOCUS.match, sentences)
                                  if found))  # fmt: skip
    return (sum(bool(_ORDERED_FOCUS.match(sentence)) for sentence in sentences), answers) if answers else (0, ())


def goal_wordless_focus(valid_actions: Collection[str], task: str | None, description: str) -> set[str]:
    """In a task where at least ``threshold`` (95%) of the train split's gold foci target an object with a word of
    the goal (``named_focus_tasks(rule="goal_enforced")``; in the shipped table, all of them: the life stages of the
    turtle are ``egg turtle`` ... ``adult turtle``), the valid ``focus on`` actions whose target has none
    (``shares_goal_word``); none in any other task."""
    if task not in named_focus_tasks(rule="goal_enforced"):
        return set()
    return {a for a in valid_actions if a.startswith(FOCUS) and not shares_goal_word(description, a[len(FOCUS) :])}


def early_answer_focus(valid_actions: Collection[str], description: str, sent: Collection[str]) -> set[str]:
    """The valid ``focus on`` actions on one of the description's answer targets (``focus_order``) while fewer
    foci have been ``sent`` than it asks for before its answer: the melting point is measured after focusing on the
    thermometer and the substance, and a box focused before ends the episode with the substance never focused."""
    before, answers = focus_order(description)
    if not answers or sum(action.startswith(FOCUS) for action in sent) >= before:
        return set()
    return {a for a in valid_actions if a.startswith(FOCUS) and any(names_target(answer, a[len(FOCUS) :])
                                                                      for answer in answers)}  # fmt: skip


def sentences(description: str) -> list[str]:
    """A task description's sentences, in order (split after each full stop or exclamation mark)."""
    return _SENTENCE_END.split(description.strip())


def goal_sentence(description: str) -> str:
    """A task description's first sentence, its goal (``your task is to boil lead.``), lower-cased."""
    return _SENTENCE_END.split(description.strip(), maxsplit=1)[0].lower()


@functools.lru_cache(maxsize=256)
def goal_words(description: str) -> frozenset[str]:
    """The words of a task description's first sentence (its goal: ``Your task is to focus on the 4 life stages of
    the turtle``), lower-cased, leaving out glue words and those every description opens with (your, task, is, to,
    focus)."""
    return frozenset(_WORD.findall(goal_sentence(description))) - _GLUE - _OPENING


def shares_goal_word(description: str, target: str) -> bool:
    """Whether the ``focus on`` target ``target`` has a word (``target_words``) of the description's goal
    (``goal_words``): ``egg turtle`` in a task on the life stages of the turtle."""
    return bool(target_words(target) & goal_words(description))


@functools.lru_cache(maxsize=1 << 14)
def target_words(target: str) -> frozenset[str]:
    """The words of a ``focus on`` target's ``focus_names`` (``adult apple tree in greenhouse`` -> adult, apple,
    tree), lower-cased, glue words left out."""
    return frozenset(w for name in focus_names(target) for w in _WORD.findall(name.lower()) if w not in _GLUE)


def _gold_targets(trajectories: Iterable[dict[str, Any]], split: str) -> dict[str, list[tuple[str, str]]]:
    """Per task of ``split``: its gold ``focus on`` targets, each with its trajectory's task description."""
    out: dict[str, list[tuple[str, str]]] = {}
    for trajectory in trajectories:
        if trajectory.get("split") == split:
            for step in trajectory["steps"]:
                if step["action"].startswith(FOCUS):
                    out.setdefault(trajectory["task"], []).append((step["action"][len(FOCUS) :], trajectory["task_description"]))
    return out


def learn_seen_focus(trajectories: Iterable[dict[str, Any]], learn: str = "train", check: str = "dev") -> dict[str, Any]:
    """The seen-focus table: per task, the words of the ``learn`` split's gold focus targets, ``enforced`` where
    every gold focus of the ``check`` split either shares a word with them or is named by its description (so the
    words cover the task's targets beyond the variations they were learned from: a task whose train paths meet
    three animals and whose dev paths meet a fourth is not enforced), and ``strict`` where every one shares a word
    with them (``strict-seen-focus`` then passes over named targets too: the box a description names as the place for
    the answer). Train learns, dev decides, test is not read.

    Raises:
        ValueError: no gold focus in ``learn``.
    """
    trajectories = list(trajectories)
    learned, checked = _gold_targets(trajectories, learn), _gold_targets(trajectories, check)
    if not learned:
        raise ValueError(f"no gold 'focus on' action in the {learn!r} split: nothing to learn from")
    tasks = {}
    for task, targets in sorted(learned.items()):
        words = frozenset().union(*(target_words(target) for target, _ in targets))
        seen = [bool(target_words(target) & words) for target, _ in checked.get(task, [])]
        held = [hit or names_target(description, target) for hit, (target, description) in zip(seen, checked.get(task, []))]
        tasks[task] = {"words": sorted(words), "checked": len(held), "covered": sum(held), "covered_by_words": sum(seen),
                       "enforced": bool(held) and all(held), "strict": bool(seen) and all(seen)}  # fmt: skip
    return {"learn": learn, "check": check, "tasks": tasks}


@functools.lru_cache(maxsize=4)
def seen_focus_words(path: str | Path = SEEN_FOCUS_FILE, strict: bool = False) -> dict[str, frozenset[str]]:
    """The enforced (``strict``: the strict) tasks of a seen-focus table (``learn_seen_focus``) and their words."""
    path = Path(path)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        return {task: frozenset(row["words"]) for task, row in table["tasks"].items() if row["strict" if strict else "enforced"]}
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file (build it: python -m agents.focus --seen --data DATA)") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise DataFileError(f"{path}: not a seen-focus table ({type(error).__name__}: {error})") from None


def unseen_focus(valid_actions: Collection[str], task: str | None, description: str, strict: bool = False) -> set[str]:
    """The valid ``focus on`` actions, in a task the seen-focus table enforces, whose target shares no word with
    the task's gold targets and is not named by ``description`` (``strict``: in a task the table marks strict, whose
    target shares no word with them, named or not); none in any other task."""
    words = seen_focus_words(strict=strict).get(task or "")
    if words is None:
        return set()
    return {a for a in valid_actions if a.startswith(FOCUS) and not target_words(a[len(FOCUS) :]) & words
            and (strict or not names_target(description, a[len(FOCUS) :]))}  # fmt: skip


_THEN = re.compile(r"^then,? ", re.IGNORECASE)


@functools.lru_cache(maxsize=256)
def destination_rooms(description: str) -> frozenset[str]:
    """The rooms a description names only as where a step after its first focus goes (a sentence that opens with
    "Then," after one that asks to focus: ``First, focus on the thing. Then, move it to the red box in the
    bedroom.`` -> ``bedroom``), and nowhere before: the find tasks' box rooms."""
    said = [sentence.lower() for sentence in sentences(description)]
    first = next((i for i, sentence in enumerate(said) if FOCUS.strip() in sentence), None)
    if first is None:
        return frozenset()
    later = " ".join(sentence for sentence in said[first + 1 :] if _THEN.match(sentence))
    return frozenset(room for room in ROOMS if _names_room(later, room)) - placed_rooms(description)


@functools.lru_cache(maxsize=256)
def placed_rooms(description: str) -> frozenset[str]:
    """The rooms a description names up to (and in) its first sentence that asks to focus, all its sentences if none
    does: where it places what to find (``Seeds can be found in the living room. First, focus on a seed.`` ->
    ``living room``; ``... which is located around the kitchen``), not where a later step goes."""
    said = [sentence.lower() for sentence in sentences(description)]
    first = next((i for i, sentence in enumerate(said) if FOCUS.strip() in sentence), len(said) - 1)
    before = " ".join(said[: first + 1])
    return frozenset(room for room in ROOMS if _names_room(before, room))


def _names_room(text: str, room: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(room)}(?![\w-])", text) is not None


def main(argv: list[str] | None = None) -> int:
    """Learn the named-focus table from a data folder's trajectories and write it (atomically)."""
    from agents.data.collect import load_trajectories

    parser = argparse.ArgumentParser(prog="python -m agents.focus", description=main.__doc__)
    parser.add_argument("--data", required=True, help="data folder with trajectories.jsonl (sgd collect)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--seen", action="store_true",
                        help="learn the seen-focus table instead (train targets' words, enforced where dev's gold "
                             "foci are covered); --out defaults to agents/seen_focus.json")  # fmt: skip
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    try:
        trajectories = load_trajectories(args.data).values()
        if args.seen:
            table = learn_seen_focus(trajectories)
        else:
            table = learn_named_focus(trajectories, args.split, args.threshold)
    except ValueError as error:  # DataFileError is a ValueError too
        print(f"python -m agents.focus: {error}", file=sys.stderr)
        return 2
    args.out = args.out or str(SEEN_FOCUS_FILE if args.seen else NAMED_FOCUS_FILE)
    atomic_write_text(args.out, json.dumps(table, indent=1) + "\n")
    enforced = [task for task, row in table["tasks"].items() if row["enforced"]]
    print(f"{args.out}: enforced in {len(enforced)} of {len(table['tasks'])} tasks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
