"""Named focus: in the tasks whose gold paths only focus on what the task description names, a focus on
anything else is passed over (a wrong ``focus on`` ends the episode).

Which tasks those are is learned from the train split's gold paths and shipped as ``named_focus.json``:
    python -m agents.focus --data data/full
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

FOCUS = "focus on "
NAMED_FOCUS_FILE = Path(__file__).with_name("named_focus.json")
DEFAULT_THRESHOLD = 0.95
_LOCATION = re.compile(r" (?:in|on) ")


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
    """Per task of ``split``: how many gold ``focus on`` actions its trajectories send, and how many of them
    target something the trajectory's task description names."""
    counts: dict[str, dict[str, int]] = {}
    for trajectory in trajectories:
        if trajectory.get("split") != split:
            continue
        for step in trajectory["steps"]:
            if step["action"].startswith(FOCUS):
                row = counts.setdefault(trajectory["task"], {"focus": 0, "named": 0})
                row["focus"] += 1
                row["named"] += names_target(trajectory["task_description"], step["action"][len(FOCUS) :])
    return dict(sorted(counts.items()))


def learn_named_focus(
    trajectories: Iterable[dict[str, Any]], split: str = "train", threshold: float = DEFAULT_THRESHOLD
) -> dict[str, Any]:
    """The named-focus table: each task's ``focus_statistics``, ``enforced`` where at least ``threshold`` of its
    gold foci target a named object."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    tasks = {
        task: {**row, "enforced": row["named"] >= threshold * row["focus"]}
        for task, row in focus_statistics(trajectories, split).items()
    }
    if not tasks:
        raise ValueError(f"no gold 'focus on' action in the {split!r} split: nothing to learn from")
    return {"split": split, "threshold": threshold, "tasks": tasks}


@functools.lru_cache(maxsize=4)
def named_focus_tasks(path: str | Path = NAMED_FOCUS_FILE) -> frozenset[str]:
    """The tasks of a named-focus table (``learn_named_focus``) where the rule is enforced."""
    path = Path(path)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        return frozenset(task for task, row in table["tasks"].items() if row["enforced"])
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


def main(argv: list[str] | None = None) -> int:
    """Learn the named-focus table from a data folder's trajectories and write it (atomically)."""
    from agents.data.collect import load_trajectories

    parser = argparse.ArgumentParser(prog="python -m agents.focus", description=main.__doc__)
    parser.add_argument("--data", required=True, help="data folder with trajectories.jsonl (sgd collect)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--out", default=str(NAMED_FOCUS_FILE))
    args = parser.parse_args(argv)
    try:
        table = learn_named_focus(load_trajectories(args.data).values(), args.split, args.threshold)
    except ValueError as error:  # DataFileError is a ValueError too
        print(f"python -m agents.focus: {error}", file=sys.stderr)
        return 2
    atomic_write_text(args.out, json.dumps(table, indent=1) + "\n")
    enforced = [task for task, row in table["tasks"].items() if row["enforced"]]
    print(f"{args.out}: enforced in {len(enforced)} of {len(table['tasks'])} tasks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
