"""``sgd annotate``: segment gold trajectories into sub-goals (``rules``, ``import``; ``llm`` in annotate_llm).

An annotation record is ``{task, split, variation, subgoals: [{text, start, end}]}``: step indices,
``end`` exclusive, segments contiguous and covering every step, each text a valid sub-goal.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from agents.data.collect import TRAJECTORIES, load_trajectories, record_key
from sgd_gym.folders import file_digest, writer
from sgd_gym.io import DataFileError, atomic_write_text, read_jsonl, write_jsonl
from sgd_gym.records import Annotation
from sgd_gym.subgoals import (
    HEATING_DEVICES,
    WAIT_ACTION,
    Subgoal,
    SubgoalError,
    escape,
    format_subgoal,
    match_action,
    parse_subgoal,
)

METHODS = ("rules", "llm", "import")
_HOP = re.compile(r"^(?:go to|teleport to) (.+)$")
_OPEN_DOOR = re.compile(r"^open door to (.+)$")
_USE = re.compile(r"^use (.+?) on (.+)$")
_MOVE = re.compile(r"^move (.+?) to (.+)$")


def annotation_path(data: str | Path, method: str) -> Path:
    """``DATA/annotations.<method>.jsonl``."""
    if method not in METHODS:
        raise ValueError(f"unknown annotation method {method!r}: expected one of {list(METHODS)}")
    return Path(data) / f"annotations.{method}.jsonl"


def write_annotations(data: str | Path, method: str, records: list[dict[str, Any]], left_out: list[str] = ()) -> Path:
    """Write ``annotations.<method>.jsonl`` and beside it ``annotations.<method>.json``: the fingerprint of the
    ``trajectories.jsonl`` annotated and the trajectories deliberately ``left_out`` (ids ``task.split.variation``,
    e.g. those the LLM annotator could not segment), so that ``check_annotations`` can tell annotations of an older
    collection and trajectories annotated by nobody."""
    path = write_jsonl(annotation_path(data, method), records)
    provenance = {
        "trajectories_sha256": file_digest(Path(data) / TRAJECTORIES),
        "records": len(records),
        "left_out": sorted(left_out),
    }
    atomic_write_text(path.with_suffix(".json"), json.dumps(provenance, indent=1) + "\n")
    return path


def annotated_trajectories(data: str | Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The trajectories to annotate; ``DataFileError`` when there are none."""
    trajectories = load_trajectories(data)
    if not trajectories:
        raise DataFileError(f"{Path(data) / TRAJECTORIES}: no trajectories to annotate; run 'sgd collect --out {data}'")
    return trajectories


def check_annotations(
    data: str | Path, method: str, trajectories: dict[tuple, dict[str, Any]], labels: dict[tuple, dict[str, Any]]
) -> None:
    """Refuse annotations that do not belong to these trajectories: made from another ``trajectories.jsonl``,
    missing for some trajectory, or with segments that do not cover their trajectory exactly.

    Raises:
        DataFileError: naming the file, what is wrong and the command that fixes it.
    """
    path, redo = annotation_path(data, method), f"run 'sgd annotate --method {method} --data {data}'"
    provenance, left_out = path.with_suffix(".json"), set()
    if provenance.is_file():
        recorded = json.loads(provenance.read_text(encoding="utf-8"))
        if recorded.get("trajectories_sha256") != file_digest(Path(data) / TRAJECTORIES):
            raise DataFileError(f"{path}: made from another {TRAJECTORIES} (collected again since); {redo}")
        left_out = set(recorded.get("left_out") or ())
    missing = [key for key in trajectories if key not in labels and ".".join(map(str, key)) not in left_out]
    if missing:
        raise DataFileError(f"{path}: {len(missing)} of {len(trajectories)} trajectories have no annotation "
                            f"(e.g. {missing[0]}); {redo}")  # fmt: skip
    for key, label in labels.items():
        if key not in trajectories:
            raise DataFileError(f"{path}: annotation of {key} has no trajectory in {data}; {redo}")
        validate_segments(label["subgoals"], len(trajectories[key]["steps"]), f"{path}: {key}")


# ------------------------------------------------------------------ rules
def _navigation(actions: list[str], i: int) -> tuple[str, int] | None:
    """A run of ``open door to X`` / ``go to X`` / ``teleport to X`` from i: (final room, end)."""
    room, j = None, i
    while j < len(actions):
        door = _OPEN_DOOR.match(actions[j])
        if door and j + 1 < len(actions) and actions[j + 1] == f"go to {door.group(1)}":
            room, j = door.group(1), j + 2
            continue
        hop = _HOP.match(actions[j])
        if hop:
            room, j = hop.group(1), j + 1
            continue
        break
    return (room, j) if room is not None else None


def _run_end(actions: list[str], i: int) -> int:
    """End of the run of actions equal to ``actions[i]``."""
    j = i
    while j < len(actions) and actions[j] == actions[i]:
        j += 1
    return j


def rules_segments(actions: list[str], max_steps: int = 10) -> list[dict[str, Any]]:
    """Deterministic segmentation of a gold action list into sub-goals ``[{text, start, end}]``.

    Runs of navigation become ``navigate_to(room)``; runs of ``wait1`` ``wait(n)`` and runs of one
    ``look at X`` ``watch(X, n)`` (cut into pieces of at most ``max_steps`` steps); ``examine X`` +
    ``use T on X`` becomes ``measure(X, T)``; ``move X to D`` + ``activate D`` with D a heating device
    ``heat(X, D)``; any other action its single-action verb (``pick up X`` -> ``pick_up(X)``), or
    ``act(...)``. A bare number (the answer to the game's "ambiguous request" prompt) joins the
    segment before it.
    """
    segments: list[dict[str, Any]] = []

    def add(subgoal: Subgoal, start: int, end: int) -> None:
        segments.append({"text": format_subgoal(escape(subgoal)), "start": start, "end": end})

    i = 0
    while i < len(actions):
        action = actions[i]
        if action.strip().isdigit() and segments:
            segments[-1]["end"] = i + 1
            i += 1
            continue
        navigation = _navigation(actions, i)
        if navigation:
            room, end = navigation
            try:
                add(Subgoal("navigate_to", (room,)), i, end)
                i = end
                continue
            except SubgoalError:
                pass  # not a room of the house: fall through to single actions
        if action == WAIT_ACTION:
            end = min(_run_end(actions, i), i + max_steps)
            add(Subgoal("wait", (str(end - i),)), i, end)
            i = end
            continue
        if action.startswith("look at ") and i + 1 < len(actions) and actions[i + 1] == action:
            end = min(_run_end(actions, i), i + max_steps)
            add(Subgoal("watch", (action[len("look at ") :], str(end - i))), i, end)
            i = end
            continue
        nxt = actions[i + 1] if i + 1 < len(actions) else ""
        use = _USE.match(nxt)
        if action.startswith("examine ") and use and use.group(2) == action[len("examine ") :]:
            add(Subgoal("measure", (use.group(2), use.group(1))), i, i + 2)
            i += 2
            continue
        move = _MOVE.match(action)
        if move and nxt == f"activate {move.group(2)}" and move.group(2).endswith(HEATING_DEVICES):
            add(Subgoal("heat", (move.group(1), move.group(2))), i, i + 2)
            i += 2
            continue
        subgoal = match_action(action)
        add(subgoal if subgoal is not None else Subgoal("act", (action,)), i, i + 1)
        i += 1
    return segments


# ------------------------------------------------------------------ validation
def validate_segments(subgoals: Any, n_steps: int, where: str) -> None:
    """Check that segments are contiguous, cover ``n_steps`` steps and carry valid sub-goals."""
    if not isinstance(subgoals, list) or not subgoals:
        raise DataFileError(f"{where}: 'subgoals' must be a non-empty list")
    position = 0
    for k, segment in enumerate(subgoals):
        if not isinstance(segment, dict) or not {"text", "start", "end"} <= set(segment):
            raise DataFileError(f"{where}: segment {k} must be an object with text, start, end")
        start, end = segment["start"], segment["end"]
        if not (isinstance(start, int) and isinstance(end, int)):
            raise DataFileError(f"{where}: segment {k} has non-integer start/end {start!r}/{end!r}")
        if start != position:
            raise DataFileError(f"{where}: segment {k} starts at step {start}, expected {position} (segments must be contiguous)")
        if end <= start:
            raise DataFileError(f"{where}: segment {k} is empty ({start}..{end})")
        try:
            parse_subgoal(segment["text"])
        except SubgoalError as error:
            raise DataFileError(f"{where}: segment {k}: {error}") from None
        position = end
    if position != n_steps:
        raise DataFileError(f"{where}: segments cover steps 0..{position}, the trajectory has {n_steps} steps")


def import_annotations(data: str | Path, source: str | Path) -> Path:
    """Validate annotations made elsewhere against the trajectories and copy them to ``annotations.import.jsonl``.

    Nothing is written unless every record is valid; errors name the file, line and problem.
    """
    trajectories = load_trajectories(data)
    records = []
    for number, record in enumerate(read_jsonl(source), 1):
        where = f"{source}:{number}"
        missing = {"task", "split", "variation", "subgoals"} - set(record)
        if missing:
            raise DataFileError(f"{where}: missing field(s) {sorted(missing)}")
        key = record_key(record)
        if key not in trajectories:
            raise DataFileError(f"{where}: no trajectory for task={key[0]!r} split={key[1]!r} variation={key[2]} in {data}")
        validate_segments(record["subgoals"], len(trajectories[key]["steps"]), where)
        records.append({"task": key[0], "split": key[1], "variation": key[2], "subgoals": record["subgoals"]})
    if not records:
        raise DataFileError(f"{source}: no annotation records")
    with writer(data):
        return write_annotations(data, "import", records)


def annotate_rules(data: str | Path, max_steps: int = 10) -> Path:
    """Annotate every trajectory of ``data`` with the rules; writes ``annotations.rules.jsonl``."""
    with writer(data):
        records = []
        for key, trajectory in annotated_trajectories(data).items():
            actions = [step["action"] for step in trajectory["steps"]]
            subgoals = rules_segments(actions, max_steps)
            validate_segments(subgoals, len(actions), f"{key}")
            records.append({"task": key[0], "split": key[1], "variation": key[2], "subgoals": subgoals})
        return write_annotations(data, "rules", records)


def load_annotations(data: str | Path, method: str) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Annotations of ``data`` by ``method``, keyed like the trajectories."""
    path = annotation_path(data, method)
    if not path.exists():
        raise DataFileError(f"{path}: no such file; run 'sgd annotate --method {method} --data {data}' first")
    return {record_key(record): record for record in read_jsonl(path, Annotation)}


def annotation_stats(data: str | Path, method: str = "rules") -> dict[str, Any]:
    """Sub-goals per trajectory, steps per sub-goal and verb counts, overall and per task."""
    per_task: dict[str, dict[str, Any]] = {}
    for (task, _, _), record in load_annotations(data, method).items():
        stats = per_task.setdefault(task, {"trajectories": 0, "subgoals": 0, "steps": 0, "verbs": Counter()})
        stats["trajectories"] += 1
        stats["subgoals"] += len(record["subgoals"])
        stats["steps"] += sum(s["end"] - s["start"] for s in record["subgoals"])
        stats["verbs"].update(parse_subgoal(s["text"]).verb for s in record["subgoals"])
    total = {"trajectories": 0, "subgoals": 0, "steps": 0, "verbs": Counter()}
    for stats in per_task.values():
        for field in ("trajectories", "subgoals", "steps"):
            total[field] += stats[field]
        total["verbs"].update(stats["verbs"])

    def finish(stats: dict[str, Any]) -> dict[str, Any]:
        return {
            "trajectories": stats["trajectories"],
            "subgoals_per_trajectory": stats["subgoals"] / max(stats["trajectories"], 1),
            "steps_per_subgoal": stats["steps"] / max(stats["subgoals"], 1),
            "verbs": dict(stats["verbs"].most_common()),
        }

    return {"method": method, "overall": finish(total), "per_task": {task: finish(s) for task, s in per_task.items()}}


def stats_table(stats: dict[str, Any], top_verbs: int = 3) -> str:
    """``annotation_stats`` as a markdown table: one row per task, then the overall row (2 decimals, verbs by count)."""
    lines = [
        "| task | trajectories | sub-goals per trajectory | steps per sub-goal | commonest verbs |",
        "|---|---:|---:|---:|---|",
    ]

    def row(name: str, values: dict[str, Any]) -> str:
        verbs = ", ".join(f"{verb} {count}" for verb, count in list(values["verbs"].items())[:top_verbs])
        return (f"| {name} | {values['trajectories']} | {values['subgoals_per_trajectory']:.2f} | "
                f"{values['steps_per_subgoal']:.2f} | {verbs} |")  # fmt: skip

    lines += [row(task, values) for task, values in stats["per_task"].items()]
    lines.append(row("**overall**", stats["overall"]))
    return "\n".join(lines)
