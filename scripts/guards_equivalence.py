"""Old flag-based grounding (commit 7b3a438) vs the guards of ``agents/guards.py``: the same action in generated
situations, for every combination of safe-focus, avoid-cycles and named-focus.

    git worktree add /tmp/old 7b3a438
    python scripts/guards_equivalence.py /tmp/old       # prints the number of situations and of differences
"""

from __future__ import annotations

import importlib
import random
import sys
from pathlib import Path

OBJECTS = ["water", "orange", "thermometer", "metal pot", "stove", "hallway", "kitchen", "substance in metal pot", "red wire"]
VERBS = ["focus on", "go to", "pick up", "look at", "open", "move"]
TASKS = [
    ("boil", "Your task is to boil water. First, focus on the substance."),
    ("find-animal", "Your task is to find an animal."),
    ("use-thermometer", "Your task is to measure the temperature of water with the thermometer."),
    (None, ""),
]


def load(root: str, *modules: str) -> list:
    """Import ``modules`` of the ``agents`` package found at ``root`` (forgetting any ``agents`` imported before)."""
    for name in [name for name in sys.modules if name == "agents" or name.startswith("agents.")]:
        del sys.modules[name]
    sys.path.insert(0, root)
    try:
        return [importlib.import_module(module) for module in modules]
    finally:
        sys.path.remove(root)


def situation(rng: random.Random) -> tuple:
    """Candidates, valid actions, history, task and the three switches."""

    def action() -> str:
        return "look around" if rng.random() < 0.1 else f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}"

    valid = list(dict.fromkeys(action() for _ in range(rng.randint(0, 12))))
    candidates = [(rng.choice(valid) if valid and rng.random() < 0.5 else action() + ("x" if rng.random() < 0.3 else ""), -i)
                  for i in range(rng.randint(1, 3))]  # fmt: skip
    replies = ["You move.", "Nothing happens.", *(f"You focus on the {name}." for name in OBJECTS)]
    history = [
        (rng.choice(valid) if valid and rng.random() < 0.7 else action(), rng.choice(replies)) for _ in range(rng.randint(0, 8))
    ]
    if rng.random() < 0.3 and len(history) >= 2:
        history += history[-2:]  # a cycle
    return candidates, valid, history, rng.choice(TASKS), [rng.random() < 0.5 for _ in range(3)]


def main(old_root: str, cases: int = 20_000) -> int:
    old_grounding, old_focus = load(old_root, "agents.grounding", "agents.focus")
    new_root = str(Path(__file__).resolve().parents[1])
    grounding, guards, context = load(new_root, "agents.grounding", "agents.guards", "agents.context")
    rng, differ = random.Random(0), 0
    for _ in range(cases):
        candidates, valid, history, (task, description), (cycles, safe, named) = situation(rng)
        blocked = old_focus.unnamed_focus(valid, task, description) if named else set()
        old = old_grounding.choose_action(candidates, valid, history, cycles, safe, None, blocked)
        names = [name for name, on in (("safe-focus", safe), ("avoid-cycles", cycles), ("named-focus", named)) if on]
        memory = context.EpisodeMemory(task=description, task_name=task, history=list(history), started=True)
        differ += old != grounding.choose_action(candidates, valid, memory, guards.make_guards(names))
    print(f"{cases} situations, {differ} where the old and the new grounding choose differently")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
