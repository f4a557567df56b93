"""``sgd collect``: ScienceWorld gold paths replayed through our env, one JSONL record per episode.

Record: ``{task, split, variation, variation_id, simplifications, task_description, initial,
steps: [{action, observation, look, inventory, score, reward}], final_score, completed}``, where
``initial`` holds the reset observation, look, inventory and score. Episodes run in worker
processes (one JVM each); each finished episode is written atomically to
``DATA/trajectories.parts/`` and the parts are merged atomically into ``DATA/trajectories.jsonl``,
so an interrupted run resumes where it stopped and no half-written file is ever left.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgd_gym.envs.scienceworld import ScienceWorldEnv
from sgd_gym.folders import ConfigMismatch, writer
from sgd_gym.io import DataFileError, atomic_write_text, read_jsonl, write_jsonl
from sgd_gym.parallel import run_in_workers
from sgd_gym.records import Trajectory
from sgd_gym.tasks import check_split, get_task

TRAJECTORIES = "trajectories.jsonl"
PARTS = "trajectories.parts"


@dataclass(frozen=True)
class CollectItem:
    """One episode to collect."""

    task: str
    split: str
    variation: int

    @property
    def key(self) -> str:
        return f"{self.task}.{self.split}.{self.variation}"


def record_key(record: dict[str, Any]) -> tuple[str, str, int]:
    """``(task, split, variation)``: how trajectories and annotations are aligned."""
    return record["task"], record["split"], int(record["variation"])


def load_trajectories(data: str | Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    """The trajectories of ``DATA/trajectories.jsonl`` keyed by ``(task, split, variation)``."""
    path = Path(data) / TRAJECTORIES
    if not path.exists():
        raise DataFileError(f"{path}: no such file; run 'sgd collect --out {data}' first")
    return {record_key(record): record for record in read_jsonl(path, Trajectory)}


def plan_collection(tasks: list[str], split: str, variations: int | None) -> list[CollectItem]:
    """The first ``variations`` variations (all when None) of ``split`` for each task."""
    check_split(split)
    items = []
    for task in tasks:
        info = get_task(task)
        count = info.split_size(split) if variations is None else min(int(variations), info.split_size(split))
        items.extend(CollectItem(info.name, split, variation) for variation in range(count))
    return items


def _env_for(split: str, simplifications: str) -> ScienceWorldEnv:
    return ScienceWorldEnv(split=split, simplifications=simplifications)


def collect_episode(env: ScienceWorldEnv, item: CollectItem) -> dict[str, Any]:
    """Replay the gold path of one variation and record every step (stops when the task completes)."""
    obs, info = env.reset(options={"task": item.task, "variation": item.variation, "gold_path": True})
    record: dict[str, Any] = {
        "task": item.task,
        "split": env.split,
        "variation": item.variation,
        "variation_id": info["variation_id"],
        "simplifications": env.simplifications,
        "task_description": obs["task"],
        "initial": {
            "observation": obs["observation"],
            "look": obs["look"],
            "inventory": obs["inventory"],
            "score": info["score"],
        },
        "steps": [],
    }
    terminated = False
    for action in info["gold_path"]:
        obs, reward, terminated, _, step_info = env.step(action)
        record["steps"].append(
            {
                "action": action,
                "observation": obs["observation"],
                "look": obs["look"],
                "inventory": obs["inventory"],
                "score": step_info["score"],
                "reward": reward,
            }
        )
        if terminated:
            break
    record["final_score"] = record["steps"][-1]["score"] if record["steps"] else info["score"]
    record["completed"] = bool(terminated) and record["final_score"] == 100
    return record


def _collect_and_store(state: tuple[ScienceWorldEnv, Path], item: CollectItem) -> str:
    env, parts = state
    atomic_write_text(parts / f"{item.key}.json", json.dumps(collect_episode(env, item), ensure_ascii=False))
    return item.key


def _setup(split: str, simplifications: str, parts: str) -> tuple[ScienceWorldEnv, Path]:
    return _env_for(split, simplifications), Path(parts)


def _check_simplifications(records: list[dict[str, Any]], simplifications: str, out: Path, overwrite: bool) -> None:
    """Refuse to add trajectories of other simplifications to a data folder (one folder, one game setting)."""
    other = sorted({record["simplifications"] for record in records} - {simplifications})
    if other and not overwrite:
        raise ConfigMismatch(
            f"{out} holds trajectories collected with simplifications {other[0]!r}, not {simplifications!r}: use another "
            "--out, or --overwrite to discard them"
        )


def collect(
    tasks: list[str],
    split: str = "train",
    variations: int | None = 5,
    out: str | Path = "data",
    workers: int = 2,
    simplifications: str = "easy",
    overwrite: bool = False,
) -> Path:
    """Collect gold trajectories into ``out/trajectories.jsonl``; re-running skips what is on disk.

    One process writes a data folder at a time (``sgd_gym.folders.writer``); every trajectory of a folder has the
    same simplifications (``ConfigMismatch`` otherwise, unless ``overwrite`` discards the old ones).

    Returns:
        The path of the trajectories file.
    """
    out = Path(out)
    with writer(out):
        return _collect(tasks, split, variations, out, workers, simplifications, overwrite)


def _collect(
    tasks: list[str], split: str, variations: int | None, out: Path, workers: int, simplifications: str, overwrite: bool
) -> Path:
    target, parts = out / TRAJECTORIES, out / PARTS
    if overwrite:
        target.unlink(missing_ok=True)
        shutil.rmtree(parts, ignore_errors=True)
    existing = read_jsonl(target, Trajectory) if target.exists() else []
    parts.mkdir(parents=True, exist_ok=True)
    stored = {}
    for path in sorted(parts.glob("*.json")):
        try:
            stored[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataFileError(f"{path}: not valid JSON ({error.msg}); delete it and re-run") from None
    _check_simplifications(existing + list(stored.values()), simplifications, out, overwrite)
    have = {record_key(record) for record in existing}
    todo = [item for item in plan_collection(tasks, split, variations) if (item.task, item.split, item.variation) not in have]
    todo = [item for item in todo if item.key not in stored]
    setup = (split, simplifications, str(parts))
    for _ in run_in_workers(_setup, setup, _collect_and_store, todo, workers, f"collect {split}", False):
        pass
    merged = {record_key(record): record for record in existing}
    for path in sorted(parts.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        merged[record_key(record)] = record
    order = {get_task(name).name: i for i, name in enumerate(tasks)}
    records = sorted(merged.values(), key=lambda r: (order.get(r["task"], len(order)), r["task"], r["split"], r["variation"]))
    write_jsonl(target, records)
    shutil.rmtree(parts)
    return target
