"""Replaying recorded episodes in the env to get back what runs do not store: observations, scores, the gold path.

Episodes are seeded and the env is deterministic, so sending a record's actions again after the same reset gives the
same observations. A replay is cached (one JSON file per replay, named by a digest of everything that decides it:
task, split, variation, seed, simplifications, the actions and the ScienceWorld version), so a second page build
replays nothing. ``divergence`` compares a replay with its record and says where they part.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sgd_gym.io import atomic_write_text

REPLAY_FORMAT = 2  # bump when a replay's content changes: older cache files are not read (2: v1's info["valid"])
DEFAULT_CACHE = Path.home() / ".cache" / "sgd-gym" / "replays"


def scienceworld_version() -> str:
    """The installed ScienceWorld's version (part of every replay's key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scienceworld")
    except PackageNotFoundError:
        return "unknown"


def replay_key(episode: dict[str, Any], simplifications: str) -> str:
    """The digest (hex) naming the replay of ``episode`` (a record of ``episodes.jsonl``) in the cache."""
    decides = [REPLAY_FORMAT, scienceworld_version(), episode["task"], episode["split"], episode["variation"],
               episode["seed"], simplifications, episode["actions"]]  # fmt: skip
    return hashlib.sha256(json.dumps(decides).encode()).hexdigest()[:32]


def replay_episode(env: Any, episode: dict[str, Any]) -> dict[str, Any]:
    """Reset ``env`` as the episode was reset and send its recorded actions again.

    Args:
        env: a ``ScienceWorldEnv`` of the episode's split and simplifications, with no step limit below the
            episode's length.
        episode: a record of ``episodes.jsonl`` (task, variation, seed, actions).

    Returns:
        ``variation_id``, ``description`` (the task description), ``gold_path`` (the variation's gold actions),
        ``initial`` and ``initial_score`` (reset's observation and score), and per action sent: ``observations``
        (the game's reply), ``scores`` (the score after it) and ``valid`` (whether the game understood it);
        ``ended_at``: the step at which the replayed episode ended (completed or failed) while the record went on,
        after which no action is sent, or None.
    """
    obs, info = env.reset(seed=episode["seed"], options={"task": episode["task"], "variation": episode["variation"],
                                                          "gold_path": True})  # fmt: skip
    replay: dict[str, Any] = {"variation_id": info["variation_id"], "description": obs["task"],
                              "gold_path": list(info["gold_path"]), "initial": obs["observation"],
                              "initial_score": info["score"], "observations": [], "scores": [], "valid": [],
                              "ended_at": None}  # fmt: skip
    actions = episode["actions"]
    for step, action in enumerate(actions, start=1):
        obs, _, terminated, _, info = env.step(action)
        replay["observations"].append(obs["observation"])
        replay["scores"].append(info["score"])
        replay["valid"].append(bool(info["valid"]))
        if terminated and step < len(actions):
            replay["ended_at"] = step
            break
    return replay


def divergence(episode: dict[str, Any], replay: dict[str, Any]) -> dict[str, Any] | None:
    """Where ``replay`` parts from its record ``episode``, or None when it repeats it.

    Compared: the variation id; per step, the recorded score and validity where the record has them
    (``step_scores``, ``step_valid``); whether the replay ended before the record's last action; the final score.

    Returns:
        ``{"step": int | None, "what": str}``: the first step that differs (None: only the end), and how.
    """
    if replay["variation_id"] != episode["variation_id"]:
        return {"step": 0, "what": f"variation id: recorded {episode['variation_id']}, replayed {replay['variation_id']}"}
    for name, recorded_values in (("score", episode.get("step_scores")), ("valid", episode.get("step_valid"))):
        replayed_values = replay["scores" if name == "score" else "valid"]
        for step, (recorded, replayed) in enumerate(zip(recorded_values or (), replayed_values), start=1):
            if recorded != replayed:
                return {"step": step, "what": f"{name} after the action: recorded {recorded}, replayed {replayed}"}
    if replay["ended_at"] is not None:
        what = f"the replayed episode ended here (score {replay['scores'][-1]}); the record goes on to step {episode['steps']}"
        return {"step": replay["ended_at"], "what": what}
    final = replay["scores"][-1] if replay["scores"] else replay["initial_score"]
    if float(final) != float(episode["score"]):
        return {"step": None, "what": f"final score: recorded {episode['score']}, replayed {final}"}
    return None


class ReplayCache:
    """Replays on disk, one JSON file per replay key (``replay_key``) under ``folder``; ``folder=None`` keeps none."""

    def __init__(self, folder: str | Path | None = DEFAULT_CACHE) -> None:
        self.folder = None if folder is None else Path(folder)

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached replay of ``key``, or None (absent, unreadable or of another format)."""
        if self.folder is None:
            return None
        try:
            stored = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return stored.get("replay") if isinstance(stored, dict) and stored.get("format") == REPLAY_FORMAT else None

    def put(self, key: str, replay: dict[str, Any]) -> None:
        """Store ``replay`` under ``key`` (atomically)."""
        if self.folder is not None:
            atomic_write_text(self.folder / f"{key}.json", json.dumps({"format": REPLAY_FORMAT, "replay": replay}))


class _ReplayWorker:
    """What a replay worker holds: one env (one JVM) of a split and simplifications, without a step limit."""

    def __init__(self, split: str, simplifications: str) -> None:
        from sgd_gym.envs.scienceworld import ScienceWorldEnv

        self.env = ScienceWorldEnv(split=split, simplifications=simplifications)

    def close(self) -> None:
        self.env.close()


def _replay_setup(split: str, simplifications: str) -> _ReplayWorker:
    return _ReplayWorker(split, simplifications)


def _replay_item(worker: _ReplayWorker, item: tuple[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    key, episode = item
    return key, replay_episode(worker.env, episode)


def replay_all(
    episodes: Iterable[tuple[dict[str, Any], str]],
    cache: ReplayCache,
    workers: int = 1,
    desc: str = "replay",
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(replay_key, replay)`` for each (episode record, simplifications), each key once, in any order.

    Cached replays come first; the others are played in ``workers`` processes (``sgd_gym.parallel.run_in_workers``,
    one env per worker and per split) and cached as they finish.
    """
    from sgd_gym.parallel import run_in_workers

    todo: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    seen: set[str] = set()
    for episode, simplifications in episodes:
        key = replay_key(episode, simplifications)
        if key in seen:
            continue
        seen.add(key)
        cached = cache.get(key)
        if cached is not None:
            yield key, cached
        else:
            todo.setdefault((episode["split"], simplifications), {})[key] = episode
    for (split, simplifications), group in todo.items():
        longest_first = sorted(group.items(), key=lambda item: -len(item[1]["actions"]))  # no long one left for last
        slim = [(key, {name: episode[name] for name in ("task", "variation", "seed", "actions")})
                for key, episode in longest_first]  # fmt: skip
        for key, replay in run_in_workers(_replay_setup, (split, simplifications), _replay_item, slim, workers=workers,
                                          desc=desc, ordered=False):  # fmt: skip
            cache.put(key, replay)
            yield key, replay
