"""Decision data for candidate scorers: the gold paths replayed with the candidates of every state.

A scorer (``agents.policies.scorer``) can only pick what a state lists, so its training data are *decisions*: the
context, the state's candidates and the expert's choice among them. ``collect_candidates`` replays each collected
train and dev gold path (``DATA/trajectories.jsonl``) through ``ScienceWorld-v1`` in worker processes and stores
the accepted actions of every state (the list a model agent sees at evaluation) under ``DATA/candidates/``, one
gzipped JSON file per trajectory, texts stored once per file; each file records the digest of the trajectory it
was replayed from, so a re-run resumes, and a file of another collection is refused (``StaleCandidates``), never
reused. ``decisions`` then builds the planner, executor and flat decisions of one split in memory from the
trajectories, their annotations and these lists (cheap: contexts are built by ``trajectory_decisions``):

- flat and executor: the accepted actions (plus ``END_SG`` for the executor), the gold action as the choice;
- planner: the state's sub-goal candidates (``sgd_gym.wrappers.subgoals.subgoal_candidates``), the annotated
  sub-goal as the choice, where a sub-goal of a verb the candidates never offer (``heat``, ``measure``,
  ``wait(n)``, ...) is split into its actions' single-action sub-goals (``option_segments``).

An expert choice that is not a candidate is grounded onto one of the same verb (``baselines``' ``ground_choice``:
``grounded``), else left out and counted per task and kind (``missing``), never guessed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.data.annotate import load_annotations
from agents.data.collect import load_trajectories
from agents.data.datasets import trajectory_decisions
from sgd_gym.folders import FolderError, writer
from sgd_gym.io import DataFileError
from sgd_gym.parallel import run_in_workers
from sgd_gym.subgoals import END_SG, WAIT_ACTION, SubgoalError, match_action, parse_subgoal
from sgd_gym.wrappers.subgoals import CANDIDATE_VERBS, STATIC_CANDIDATES, subgoal_candidates

CANDIDATES = "candidates"
CANDIDATES_VERSION = 2  # part of every file's digest: 2 stores the same-meaning stand-ins of unlisted gold actions
SPLITS = ("train", "dev")


class StaleCandidates(FolderError):
    """A stored candidate file that was replayed from another trajectory than the one on disk now."""


def trajectory_digest(trajectory: dict[str, Any]) -> str:
    """The sha256 of a trajectory record (its canonical JSON) and ``CANDIDATES_VERSION``: what a candidate file was
    replayed from, and by which version of the replay."""
    return hashlib.sha256(f"{CANDIDATES_VERSION}:{json.dumps(trajectory, sort_keys=True)}".encode()).hexdigest()


def candidates_path(data: str | Path, key: tuple[str, str, int]) -> Path:
    """``DATA/candidates/<task>.<split>.<variation>.json.gz``."""
    task, split, variation = key
    return Path(data) / CANDIDATES / f"{task}.{split}.{variation}.json.gz"





@dataclass(frozen=True)
class ReplayItem:
    """One gold path to replay: its key, digest, actions and the observations collection recorded."""

    key: tuple[str, str, int]
    digest: str
    simplifications: str
    actions: tuple[str, ...]
    observations: tuple[str, ...]


def _replay_env(listing: str = "accepted") -> Any:
    import gymnasium as gym

    import sgd_gym  # noqa: F401  (registers the ids)

    return gym.make("sgd_gym/ScienceWorld-v1", listing=listing, disable_env_checker=True).unwrapped


def _replay(env: Any, item: ReplayItem) -> dict[str, Any]:
    """The accepted actions of every state of one gold path (``len(actions) + 1`` states), texts stored once.

    Raises:
        DataFileError: the env's observation differs from the collected one (the replay left the gold path).
    """
    task, split, variation = item.key
    if env.split != split or env.simplifications != item.simplifications:
        env.split, env.simplifications = split, item.simplifications
    env.reset(seed=0, options={"task": task, "variation": variation})
    texts: dict[str, int] = {}
    accepted = env.accepted_actions()
    states, equivalents = [[texts.setdefault(text, len(texts)) for text in accepted]], {}
    for t, (action, expected) in enumerate(zip(item.actions, item.observations)):
        if action not in accepted:
            equivalents[t] = same_meaning(env.backend, action, accepted)
        obs, *_ = env.step(action)
        if obs["observation"] != expected:
            raise DataFileError(f"{'.'.join(map(str, item.key))} step {t} ({action!r}): the replay's observation differs "
                                f"from the collected one ({obs['observation'][:80]!r} vs {expected[:80]!r})")  # fmt: skip
        accepted = env.accepted_actions()
        states.append([texts.setdefault(text, len(texts)) for text in accepted])
    return {"key": list(item.key), "digest": item.digest, "texts": list(texts), "states": states,
            "equivalents": {str(t): found for t, found in equivalents.items() if found}}  # fmt: skip


def same_meaning(backend: Any, action: str, accepted: Sequence[str]) -> list[str]:
    """The accepted actions that mean what ``action`` means to the game's parser: the same action template over a
    subset of the objects it names (``examine substance in metal pot`` and ``look at substance in metal pot``; ``use
    thermometer in inventory on steam`` and ``use thermometer on steam``), the way the action-coverage measurement
    found a listed stand-in for every needed gold step (``benchmarks.measure.action_coverage``). Empty when the parser
    rejects ``action`` (an ``open door`` of an already open door) or nothing listed has its meaning."""
    meaning = backend.parse(action)
    if meaning.action_id is None:
        return []
    allowed = set(accepted)
    return [entry.text for entry in backend.listed_actions() if entry.text in allowed
            and entry.template_id == meaning.action_id and set(entry.object_ids) <= set(meaning.object_ids)]  # fmt: skip


def _write_part(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as handle:
        json.dump(record, handle)
    tmp.replace(path)


def read_candidates(
    data: str | Path, key: tuple[str, str, int], digest: str | None = None
) -> tuple[list[list[str]], dict[int, list[str]]]:
    """The accepted actions of every state of one replayed gold path, and for each gold step whose action is not
    among them, the accepted actions of the same meaning (``same_meaning``; steps without any are absent).

    Raises:
        DataFileError: no candidate file for ``key`` (run ``collect_candidates``) or an unreadable one.
        StaleCandidates: ``digest`` given and the file was replayed from another trajectory.
    """
    path = candidates_path(data, key)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file; run 'sgd build-decisions --data {data}' first") from None
    except (OSError, ValueError) as error:
        raise DataFileError(f"{path}: unreadable candidate file ({error})") from None
    if digest is not None and record.get("digest") != digest:
        raise StaleCandidates(f"{path}: replayed from another trajectory than {Path(data) / 'trajectories.jsonl'} holds "
                              f"now (a newer collection); delete {Path(data) / CANDIDATES} to replay again")  # fmt: skip
    texts = record["texts"]
    equivalents = {int(t): found for t, found in record.get("equivalents", {}).items()}
    return [[texts[i] for i in state] for state in record["states"]], equivalents


def collect_candidates(data: str | Path, workers: int = 2, splits: Sequence[str] = SPLITS) -> dict[str, int]:
    """Replay every collected gold path of ``splits`` and store the accepted actions of each state (module docstring).

    Resumable: a trajectory whose candidate file exists with its digest is skipped.

    Returns:
        ``{"replayed": n, "reused": m}``.

    Raises:
        StaleCandidates: a stored file of another collection (nothing is replayed).
        DataFileError: no trajectories, or a replay that leaves the gold path.
    """
    data = Path(data)
    with writer(data):
        trajectories = load_trajectories(data)
        items, reused = [], 0
        for key, trajectory in sorted(trajectories.items()):
            if trajectory["split"] not in splits:
                continue
            digest = trajectory_digest(trajectory)
            if candidates_path(data, key).exists():
                read_candidates(data, key, digest)  # raises StaleCandidates
                reused += 1
                continue
            steps = trajectory["steps"]
            items.append(ReplayItem(key, digest, trajectory["simplifications"], tuple(s["action"] for s in steps),
                                    tuple(s["observation"] for s in steps)))  # fmt: skip
        (data / CANDIDATES).mkdir(exist_ok=True)
        for record in run_in_workers(_replay_env, (), _replay, items, workers, desc="candidates", ordered=False):
            _write_part(candidates_path(data, tuple(record["key"])), record)
    return {"replayed": len(items), "reused": reused}


def option_segments(actions: Sequence[str], segments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``segments`` (``{text, start, end}``) in the vocabulary of the planner's candidates.

    A segment whose sub-goal the candidates can list (a verb of ``CANDIDATE_VERBS``, or ``look_around()``,
    ``wait(1)``, ``wait(10)``) stays; any other is split into one segment per action, each labelled with its
    single-action sub-goal (``examine(x)``, ``use(t, x)``, ``wait(1)``), or with the bare action where none fits (no
    candidate then matches it: counted as missing). A bare number (the answer to an ambiguity prompt) stays with the
    action before it.
    """
    out: list[dict[str, Any]] = []
    for segment in segments:
        try:
            verb = parse_subgoal(segment["text"]).verb
        except SubgoalError:
            verb = ""
        if verb in CANDIDATE_VERBS or segment["text"] in STATIC_CANDIDATES:
            out.append(dict(segment))
            continue
        for t in range(segment["start"], segment["end"]):
            action = actions[t]
            if action.strip().isdigit() and out and out[-1]["end"] == t:
                out[-1]["end"] = t + 1
                continue
            single = match_action(action, verbs=CANDIDATE_VERBS)
            text = "wait(1)" if action == WAIT_ACTION else str(single) if single else action
            out.append({"text": text, "start": t, "end": t + 1})
    return out


@dataclass
class Decision:
    """One expert decision: the context ``source``, the state's ``candidates`` and the index of the expert's choice;
    ``key`` is its trajectory's ``(task, split, variation)`` and ``state`` the state's index in it."""

    kind: str
    task: str
    source: str
    candidates: list[str]
    target: int
    key: tuple[str, str, int] = ("", "", 0)
    state: int = 0


MATCHES = ("exact", "same_meaning", "grounded", "missing")


@dataclass
class DecisionCounts:
    """Per ``(task, kind)``: decisions whose choice is a candidate (``exact``), one only through an accepted action
    of the same meaning (``same_meaning``), grounded onto one by name, or ``missing`` (examples of the missing
    choices kept in ``examples``)."""

    exact: Counter = field(default_factory=Counter)
    same_meaning: Counter = field(default_factory=Counter)
    grounded: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def count(self, task: str, kind: str, how: str, target: str) -> None:
        """Count one decision of ``task`` and ``kind`` that matched ``how`` (one of ``MATCHES``)."""
        getattr(self, how)[(task, kind)] += 1
        if how == "missing":
            self.examples[(task, kind)].append(target)

    def table(self) -> dict[str, dict[str, dict[str, int]]]:
        """``{task: {kind: {exact, same_meaning, grounded, missing}}}``."""
        keys = sorted(set(self.exact) | set(self.same_meaning) | set(self.grounded) | set(self.missing))
        out: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        for task, kind in keys:
            out[task][kind] = {name: getattr(self, name)[(task, kind)] for name in MATCHES}
        return dict(out)


def coverage_table(counts: DecisionCounts) -> str:
    """A markdown table of ``counts``: per task and kind, the expert choices that are candidates (exact), stand for
    one of the same meaning, are grounded onto one, and are missing; a total row."""
    table, kinds = counts.table(), ("planner", "executor", "flat")
    lines = ["| task | " + " | ".join(f"{k} {' / '.join(MATCHES)}" for k in kinds) + " |",
             "|---|" + "---:|" * len(kinds)]  # fmt: skip
    totals = {kind: Counter() for kind in kinds}
    for task in sorted(table):
        cells = []
        for kind in kinds:
            row = table[task].get(kind, dict.fromkeys(MATCHES, 0))
            totals[kind].update(row)
            cells.append(" / ".join(str(row[name]) for name in MATCHES))
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(" / ".join(str(totals[k][n]) for n in MATCHES)
                                            for k in kinds) + " |")  # fmt: skip
    return "\n".join(lines)


def match_choice(target: str, candidates: Sequence[str], kind: str) -> tuple[int | None, bool]:
    """The index of the expert's ``target`` among ``candidates`` and whether it was grounded (not exact); ``None``
    when no candidate of the same verb is close (``baselines.warm_start.ground_choice``)."""
    from baselines.warm_start import ground_choice

    if target in candidates:
        return candidates.index(target), False
    if target == END_SG:
        return None, False
    choice = ground_choice(target, candidates, "options" if kind == "planner" else "primitive")
    return (candidates.index(choice), True) if choice is not None else (None, False)


def decisions(
    data: str | Path,
    split: str,
    annotations: str = "rules",
    kinds: Sequence[str] = ("planner", "executor", "flat"),
    max_tokens: int = 512,
    max_history: int = 10,
    tasks: Sequence[str] | None = None,
) -> tuple[dict[str, list[Decision]], DecisionCounts]:
    """The decisions of every annotated trajectory of ``split`` by kind, and the counts of how choices matched.

    Raises:
        DataFileError: a trajectory without its candidate file, or annotations that are missing.
        StaleCandidates: a candidate file of another collection.
    """
    trajectories = load_trajectories(data)
    labels = load_annotations(data, annotations)
    out: dict[str, list[Decision]] = {kind: [] for kind in kinds}
    counts = DecisionCounts()
    for key, trajectory in sorted(trajectories.items()):
        if trajectory["split"] != split or key not in labels or (tasks is not None and key[0] not in tasks):
            continue
        states, equivalents = read_candidates(data, key, trajectory_digest(trajectory))
        looks = [trajectory["initial"]["look"]] + [step["look"] for step in trajectory["steps"]]
        gold = [step["action"] for step in trajectory["steps"]]
        listed = [listed_form(action, states[t], equivalents.get(t, ())) for t, action in enumerate(gold)]
        segments = option_segments([text or action for (text, _), action in zip(listed, gold)], labels[key]["subgoals"])
        for kind, t, source, target in trajectory_decisions(trajectory, segments, max_tokens, max_history):
            if kind not in out:
                continue
            if kind == "planner":
                candidates = subgoal_candidates(states[t], looks[t])
                index, grounded = match_choice(target, candidates, kind)
                how = "missing" if index is None else "grounded" if grounded else "exact"
            else:
                candidates = states[t] + ([END_SG] if kind == "executor" else [])
                text, how = listed[t] if target != END_SG else (END_SG, "exact")
                index = candidates.index(text) if text is not None else None
            counts.count(key[0], kind, how, target)
            if index is not None:
                out[kind].append(Decision(kind, key[0], source, candidates, index, key, t))
    return out, counts


def listed_form(action: str, accepted: Sequence[str], same: Sequence[str]) -> tuple[str | None, str]:
    """How a gold ``action`` is expressed among the ``accepted`` actions of its state, and how it matched: itself
    (``exact``), the first accepted action of the same meaning to the parser (``same``: ``same_meaning``), the
    closest of the same verb by name (``grounded``, ``baselines.warm_start.ground_choice``), or none (``missing``)."""
    if action in accepted:
        return action, "exact"
    if same:
        return same[0], "same_meaning"
    index, grounded = match_choice(action, list(accepted), "flat")
    return (accepted[index], "grounded") if index is not None else (None, "missing")
