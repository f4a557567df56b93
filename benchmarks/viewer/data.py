"""What the viewer shows, from run folders and their replays: the runs, and each episode of them side by side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.viewer.replays import ReplayCache, divergence, replay_all, replay_key
from sgd_gym.io import DataFileError
from sgd_gym.tasks import get_task

EpisodeKey = tuple[str, str, int]  # (task, split, variation)


@dataclass
class Run:
    """A run folder as the viewer reads it.

    Attributes:
        path: the folder.
        label: its name in the viewer (``benchmarks.report.run_labels``).
        episodes: its records (``episodes.jsonl``) by (task, split, variation), in the file's order.
        simplifications: the env's simplifications (``run.json``; ``easy`` for runs from before it was recorded).
        summary: its ``summary.json``.
    """

    path: Path
    label: str
    episodes: dict[EpisodeKey, dict[str, Any]]
    simplifications: str
    summary: dict[str, Any]


def load_runs(paths: Sequence[str | Path]) -> list[Run]:
    """Read run folders of ``sgd eval``.

    Raises:
        DataFileError: a folder without a valid ``episodes.jsonl`` or ``summary.json``, or given twice.
    """
    from benchmarks.replay import read_episodes
    from benchmarks.report import load_summary, run_labels

    runs = []
    for path, label in zip(paths, run_labels(list(paths))):
        path = Path(path)
        config_path = path / "run.json"
        try:
            config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        except json.JSONDecodeError as error:
            raise DataFileError(f"{config_path}: not valid JSON ({error.msg})") from None
        simplifications = config.get("protocol", {}).get("simplifications", "easy")
        runs.append(Run(path, label, read_episodes(path), simplifications, load_summary(path)))
    return runs


def episode_keys(runs: Sequence[Run]) -> list[EpisodeKey]:
    """Every episode of any run, once: the first run's order, then what the others add."""
    return list(dict.fromkeys(key for run in runs for key in run.episodes))


def replay_runs(runs: Sequence[Run], cache: ReplayCache, workers: int = 1) -> dict[str, dict[str, Any]]:
    """The replay of every episode of ``runs`` by its ``replay_key`` (cached ones read, the others played)."""
    items = [(episode, run.simplifications) for run in runs for episode in run.episodes.values()]
    return dict(replay_all(items, cache, workers, desc="replay"))


def subgoal_spans(trace: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The options of a recorded ``step_trace`` as spans of steps.

    Returns:
        ``{"text", "start", "end", "how"}`` per option with at least one action, steps numbered from 1 (``end``
        included); ``how`` it ended (``done``, ``budget``, ``replanned``), or ``running`` when the episode ended
        first.
    """
    spans: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for step, entry in enumerate(trace, start=1):
        for text, how in entry.get("ended") or ():
            if current is not None and current["text"] == text:
                current["how"], current = how, None
        subgoal = entry.get("subgoal")
        if subgoal is None:
            current = None
            continue
        if current is None or entry.get("opened") or current["text"] != subgoal:
            current = {"text": subgoal, "start": step, "end": step, "how": "running"}
            spans.append(current)
        current["end"] = step
    return spans


def run_episode_view(episode: dict[str, Any], replay: dict[str, Any]) -> dict[str, Any]:
    """One run's side of an episode: the record and what its replay adds.

    Returns:
        ``score``, ``steps``, ``failed``, ``error`` (the record's); ``initial_score`` (at reset); per step
        ``actions``, ``observations`` (the replay's; None after a replay that ended early), ``scores`` (recorded,
        else replayed), ``valid`` (recorded, else replayed), ``trace`` (the record's ``step_trace`` or None);
        ``spans`` (``subgoal_spans``);
        ``recorded_steps`` (whether scores and validity come from the record); ``diverged`` (``divergence``).
    """
    steps = len(episode["actions"])
    observations = replay["observations"] + [None] * (steps - len(replay["observations"]))
    recorded = episode.get("step_scores") is not None
    trace = episode.get("step_trace")
    return {
        "score": episode["score"], "steps": episode["steps"], "failed": episode.get("failed", False),
        "initial_score": replay["initial_score"],
        "error": episode.get("error"), "actions": list(episode["actions"]), "observations": observations,
        "scores": list(episode["step_scores"]) if recorded else replay["scores"],
        "valid": list(episode.get("step_valid") or replay["valid"]), "trace": trace,
        "spans": subgoal_spans(trace) if trace else [], "recorded_steps": recorded,
        "diverged": divergence(episode, replay),
    }  # fmt: skip


def episode_view(key: EpisodeKey, runs: Sequence[Run], replays: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An episode across ``runs`` (``replays`` from ``replay_runs``).

    Returns:
        ``id`` (``task:split:variation``), ``task``, ``split``, ``variation``, ``group`` (length group), and from
        a replay ``variation_id``, ``description``, ``gold_path``, ``initial`` (the first observation); ``runs``:
        per run its ``run_episode_view``, or None where the run lacks the episode.
    """
    task, split, variation = key
    sides: list[dict[str, Any] | None] = []
    first: dict[str, Any] | None = None
    for run in runs:
        episode = run.episodes.get(key)
        if episode is None:
            sides.append(None)
            continue
        replay = replays[replay_key(episode, run.simplifications)]
        first = first or replay
        sides.append(run_episode_view(episode, replay))
    if first is None:
        raise KeyError(f"no run holds episode {key}")
    return {
        "id": f"{task}:{split}:{variation}", "task": task, "split": split, "variation": variation,
        "group": get_task(task).length_group, "variation_id": first["variation_id"], "description": first["description"],
        "gold_path": first["gold_path"], "initial": first["initial"], "runs": sides,
    }  # fmt: skip


def find_episode(runs: Sequence[Run], spec: str) -> EpisodeKey:
    """The episode ``TASK:VARIATION`` (or ``TASK:SPLIT:VARIATION``) names among ``runs``' episodes.

    Raises:
        ValueError: a malformed spec, an unknown task, or an episode no run holds (naming what they hold).
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[-1].isdigit():
        raise ValueError(f"expected TASK:VARIATION (e.g. boil:0), got {spec!r}")
    task, variation = get_task(parts[0]).name, int(parts[-1])
    matches = [key for key in episode_keys(runs) if key[0] == task and key[2] == variation
               and (len(parts) == 2 or key[1] == parts[1])]  # fmt: skip
    if not matches:
        held = sorted({key[2] for key in episode_keys(runs) if key[0] == task})
        raise ValueError(f"no run holds {spec!r}: their variations of {task} are {held or 'none'}")
    if len({key[1] for key in matches}) > 1:
        raise ValueError(f"{spec!r} is in several splits ({sorted({key[1] for key in matches})}): use TASK:SPLIT:VARIATION")
    return matches[0]
