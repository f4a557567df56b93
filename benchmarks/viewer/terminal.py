"""The viewer's trace of one episode as text, for a terminal (``sgd view --episode TASK:VARIATION RUN ...``)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

WIDTH = 110


def _wrapped(text: str, indent: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()] or ["(nothing)"]
    return "\n".join(textwrap.fill(line, WIDTH, initial_indent=indent, subsequent_indent=indent) for line in lines)


def _step_notes(entry: dict[str, Any] | None, valid: bool) -> str:
    """The bracketed notes of one step: options ended and opened, guards, an action the game did not understand."""
    notes = [f"ended {text} ({how})" for text, how in (entry or {}).get("ended", ())]
    if entry and entry.get("subgoal") is not None:
        notes.append(f"{'opens' if entry.get('opened') else 'in'} {entry['subgoal']}")
    if entry and entry.get("guards"):
        notes.append("changed by " + ", ".join(entry["guards"]))
    if not valid:
        notes.append("not understood")
    return f"  [{'; '.join(notes)}]" if notes else ""


def run_text(label: str, side: dict[str, Any] | None) -> str:
    """One run's steps: action, score after it (and its change), notes, and the replayed observation."""
    if side is None:
        return f"== {label}: does not hold this episode"
    outcome = "failed" if side["failed"] else ("error: " + side["error"] if side["error"] else "")
    replay = "the replay repeats the record" if side["diverged"] is None else (
        f"THE REPLAY DIVERGES at step {side['diverged']['step']}: {side['diverged']['what']}")  # fmt: skip
    source = "recorded" if side["recorded_steps"] else "replayed"
    lines = [f"== {label}: score {side['score']:g}, {side['steps']} steps{', ' + outcome if outcome else ''}; {replay}; "
             f"scores per step {source}"]  # fmt: skip
    previous = None
    for step, action in enumerate(side["actions"], start=1):
        score = side["scores"][step - 1]
        change = f" ({score - previous:+g})" if previous is not None and score != previous else ""
        entry = side["trace"][step - 1] if side["trace"] else None
        lines.append(f"{step:4d}  {action}  -> score {score:g}{change}{_step_notes(entry, side['valid'][step - 1])}")
        observation = side["observations"][step - 1]
        lines.append(_wrapped("(not replayed)" if observation is None else observation, " " * 6))
        previous = score
    return "\n".join(lines)


def episode_text(view: dict[str, Any], labels: Sequence[str]) -> str:
    """An episode across runs (``benchmarks.viewer.data.episode_view``), as text: the task, the gold path, then each
    run's steps (``run_text``)."""
    gold = view["gold_path"]
    head = [
        f"{view['task']}, {view['split']} variation {view['variation']} (variation id {view['variation_id']}, "
        f"{view['group']} task)",
        _wrapped(view["description"], "task: "),
        textwrap.fill(
            f"gold path ({len(gold)} actions): " + "; ".join(f"{i}. {a}" for i, a in enumerate(gold, start=1)),
            WIDTH,
            subsequent_indent=" " * 6,
        ),
        "start:",
        _wrapped(view["initial"], " " * 6),
    ]
    return "\n".join(head + [run_text(label, side) for label, side in zip(labels, view["runs"])]) + "\n"
