"""``sgd build-data``: ``{source, target}`` examples for the planner, the executor and the flat model.

**One** context builder (``build_context``) makes every source, at training and at inference time:
task description, step and score, completed sub-goals (planner, executor), the current sub-goal
(executor), inventory, room description and the last (action, observation) pairs, oldest dropped
first when the token budget is exceeded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.data.annotate import load_annotations
from agents.data.collect import load_trajectories
from sgd_gym.io import DataFileError, write_jsonl
from sgd_gym.subgoals import END_SG

KINDS = ("planner", "executor", "flat")
EXAMPLES = "examples"
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Approximate token count (words and punctuation marks), close to the domain tokenizer's."""
    return len(_TOKEN.findall(text))


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass
class State:
    """What an agent knows before acting: the current texts, the step, the score and the history."""

    task: str
    look: str
    inventory: str
    observation: str
    score: int = 0
    step: int = 0
    history: list[tuple[str, str]] = field(default_factory=list)  # (action, observation), oldest first

    def advance(self, action: str, obs: dict[str, str], score: int) -> None:
        """Record one step taken: the action and what the env returned."""
        self.history.append((action, obs["observation"]))
        self.look, self.inventory, self.observation = obs["look"], obs["inventory"], obs["observation"]
        self.score, self.step = score, self.step + 1


def _fit(text: str, budget: int, count: Callable[[str], int]) -> str:
    """``text`` cut to its first words so that it costs at most ``budget`` tokens ('' if none fit)."""
    if count(text) <= budget:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if count(" ".join(words[:middle])) + 1 <= budget:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low]) + " ..." if low else ""


def build_context(
    state: State,
    completed: Sequence[str] | None = None,
    current: str | None = None,
    max_tokens: int = 512,
    max_history: int = 10,
    count: Callable[[str], int] = count_tokens,
    max_completed: int = 6,
) -> str:
    """The model source for ``state``; ``completed``/``current`` sub-goals for the planner and executor.

    The whole context fits in ``max_tokens``, so no tokenizer cuts it. The short parts that decide
    the next step come first (task, step and score, current sub-goal, the last observation, inventory,
    the last ``max_completed`` completed sub-goals); then the newest of the last ``max_history``
    (action, observation) pairs, using at most half of what is left, written oldest first; then the
    room description (``look``), cut to the rest of the budget.
    """
    parts = [f"task: {_squash(state.task)}", f"step: {state.step} score: {state.score}"]
    if current is not None:
        parts.append(f"current: {current}")
    parts += [f"observation: {_squash(state.observation)}", f"inventory: {_squash(state.inventory)}"]
    if completed is not None:
        recent = list(completed)[-max_completed:] if max_completed > 0 else []
        earlier = len(completed) - len(recent)
        listed = "; ".join(recent) if recent else "none"
        parts.append(f"completed: {f'({earlier} earlier) ' if earlier else ''}{listed}")
    head = _fit(" | ".join(parts), max_tokens - 4, count)
    budget = max_tokens - count(head) - 4
    history_budget = budget // 2
    pairs: list[str] = []
    for action, observation in reversed(state.history[-max_history:]):
        pair = f"{action} -> {_squash(observation)}"
        cost = count(pair) + 1
        if cost > history_budget:
            break
        pairs.append(pair)
        history_budget -= cost
    history = "history: " + (" ; ".join(reversed(pairs)) if pairs else "none")
    look = _fit(f"look: {_squash(state.look)}", budget - count(history) - 2, count)
    return " | ".join(part for part in (head, history, look) if part)


def trajectory_states(trajectory: dict[str, Any]) -> list[State]:
    """The state before each step of a collected trajectory, plus the state after the last step."""
    initial = trajectory["initial"]
    state = State(trajectory["task_description"], initial["look"], initial["inventory"], initial["observation"], initial["score"])
    states = []
    for step in trajectory["steps"]:
        states.append(State(**{**state.__dict__, "history": list(state.history)}))
        state.advance(step["action"], step, step["score"])
    states.append(state)
    return states


def trajectory_examples(
    trajectory: dict[str, Any], subgoals: list[dict[str, Any]], max_tokens: int = 512, max_history: int = 10
) -> dict[str, list[dict[str, str]]]:
    """The planner, executor and flat examples of one annotated trajectory."""
    states = trajectory_states(trajectory)
    actions = [step["action"] for step in trajectory["steps"]]
    out: dict[str, list[dict[str, str]]] = {kind: [] for kind in KINDS}

    def context(t: int, **kwargs: Any) -> str:
        return build_context(states[t], max_tokens=max_tokens, max_history=max_history, **kwargs)

    for t, action in enumerate(actions):
        out["flat"].append({"source": context(t), "target": action})
    done: list[str] = []
    for segment in subgoals:
        text, start, end = segment["text"], segment["start"], segment["end"]
        out["planner"].append({"source": context(start, completed=done), "target": text})
        for t in range(start, end):
            out["executor"].append({"source": context(t, completed=done, current=text), "target": actions[t]})
        out["executor"].append({"source": context(end, completed=done, current=text), "target": END_SG})
        done = done + [text]
    return out


def build_data(data: str | Path, annotations: str = "rules", max_tokens: int = 512, max_history: int = 10) -> dict[str, int]:
    """Write ``DATA/examples/{planner,executor,flat}.{train,dev}.jsonl``; returns example counts.

    Trajectories of ScienceWorld's train split make the train files, those of its dev split the dev
    files (checkpoints are selected on dev; the test split is never used here).
    """
    data = Path(data)
    trajectories = load_trajectories(data)
    labels = load_annotations(data, annotations)
    buckets: dict[tuple[str, str], list[dict[str, str]]] = {(k, s): [] for k in KINDS for s in ("train", "dev")}
    for key, trajectory in trajectories.items():
        if trajectory["split"] not in ("train", "dev") or key not in labels:
            continue
        for kind, examples in trajectory_examples(trajectory, labels[key]["subgoals"], max_tokens, max_history).items():
            buckets[(kind, trajectory["split"])].extend(examples)
    if not any(buckets[(kind, "train")] for kind in KINDS):
        raise DataFileError(f"{data}: no annotated train-split trajectories to build examples from")
    counts = {}
    for (kind, split), examples in buckets.items():
        write_jsonl(data / EXAMPLES / f"{kind}.{split}.jsonl", examples)
        counts[f"{kind}.{split}"] = len(examples)
    return counts
