"""Episodes of run folders side by side: reading them, pairing two runs, and whether a re-run repeats a run."""

from __future__ import annotations

import json
from pathlib import Path

from sgd_gym.io import DataFileError, atomic_write_text, read_jsonl

REPLAY_FIELDS = ("seed", "variation_id", "score", "steps", "failed", "error")


def read_episodes(run: str | Path) -> dict[tuple, dict]:
    """The episodes of a run folder by (task, split, variation), each checked against ``sgd_gym.records.Episode``;
    ``DataFileError`` naming the file, line and field at fault."""
    from sgd_gym.records import Episode

    path = Path(run) / "episodes.jsonl"
    if not path.is_file():
        raise DataFileError(f"{path}: no such file; is {run} a run folder of 'sgd eval'?")
    return {(record["task"], record["split"], record["variation"]): record for record in read_jsonl(path, Episode)}


def paired_episodes(first: str | Path, second: str | Path) -> tuple[dict[tuple, dict], dict[tuple, dict], list[tuple]]:
    """Both runs' episodes (``read_episodes``) and the (task, split, variation) keys they share, in ``second``'s
    order; ``DataFileError`` when they share none."""
    old, new = read_episodes(first), read_episodes(second)
    common = [key for key in new if key in old]
    if not common:
        raise DataFileError(f"{second} and {first} have no episode (task, split, variation) in common")
    return old, new, common


def check_replay(reference: str | Path, replay: str | Path, out: str | Path | None = None) -> dict:
    """``sgd check``: whether the episodes of ``replay`` repeat those of ``reference`` exactly.

    Episodes are matched on (task, split, variation); for each one found in both, the seed, the
    variation id, the score, the steps, the outcome and every action must be equal. Episodes of only
    one run are counted, not compared. The result (also ``replay_check.json`` in ``out``) lists every
    difference with the first action where the two episodes part.
    """
    old, new, common = paired_episodes(reference, replay)
    differences = []
    for key in common:
        a, b = old[key], new[key]
        fields = [field for field in REPLAY_FIELDS if a.get(field) != b.get(field)]
        actions_a, actions_b = a.get("actions", []), b.get("actions", [])
        if actions_a != actions_b:
            fields.append("actions")
        if fields:
            parts = next((i for i, (x, y) in enumerate(zip(actions_a, actions_b)) if x != y), None)
            if parts is None and len(actions_a) != len(actions_b):
                parts = min(len(actions_a), len(actions_b))
            differences.append(
                {
                    "task": key[0], "split": key[1], "variation": key[2], "fields": fields,
                    "reference_score": a.get("score"), "replay_score": b.get("score"), "first_action_difference": parts,
                }
            )  # fmt: skip
    result = {
        "reference": str(reference),
        "replay": str(replay),
        "compared": len(common),
        "identical": len(common) - len(differences),
        "only_in_reference": len(old) - len(common),
        "only_in_replay": len(new) - len(common),
        "differences": differences,
    }
    if out is not None:
        atomic_write_text(Path(out) / "replay_check.json", json.dumps(result, indent=1) + "\n")
    return result


def replay_check_text(result: dict) -> str:
    """A short report of ``check_replay``'s result."""
    lines = [
        f"{result['identical']}/{result['compared']} episodes identical (seed, variation, score, steps, outcome, "
        f"every action); {result['only_in_reference']} only in {result['reference']}, "
        f"{result['only_in_replay']} only in {result['replay']}"
    ]
    for diff in result["differences"]:
        lines.append(
            f"  {diff['task']} {diff['split']} variation {diff['variation']}: {', '.join(diff['fields'])} differ "
            f"(score {diff['reference_score']} -> {diff['replay_score']}; actions part at step {diff['first_action_difference']})"
        )
    return "\n".join(lines)
