"""``sgd build-data``: ``{source, target}`` examples for the planner, the executor and the flat model.

**One** context builder (``agents.context.build_context``) makes every source, at training and at
inference time: task description, step and score, completed sub-goals (planner, executor), the current
sub-goal (executor), inventory, room description and the last (action, observation) pairs, oldest
dropped first when the token budget is exceeded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agents.context import EpisodeMemory, build_context
from agents.data.annotate import annotation_path, check_annotations, load_annotations
from agents.data.collect import TRAJECTORIES, load_trajectories
from sgd_gym.folders import file_digest, writer
from sgd_gym.io import DataFileError, atomic_write_text, write_jsonl
from sgd_gym.subgoals import END_SG

KINDS = ("planner", "executor", "flat")
EXAMPLES = "examples"


def trajectory_memory(trajectory: dict[str, Any]) -> EpisodeMemory:
    """The episode memory at the start of a collected trajectory (before its first step)."""
    initial = trajectory["initial"]
    memory = EpisodeMemory(task=trajectory["task_description"])
    memory.start({**initial, "task": trajectory["task_description"]}, initial)
    return memory


def trajectory_decisions(
    trajectory: dict[str, Any], subgoals: list[dict[str, Any]], max_tokens: int = 512, max_history: int = 10
) -> Iterator[tuple[str, int, str, str]]:
    """Every decision of one annotated trajectory, in order, as ``(kind, state, source, target)``.

    ``state`` is the index of the state the decision is taken in (``t``: before gold step ``t``; ``len(steps)``:
    after the last). The trajectory is replayed through an ``EpisodeMemory`` exactly as an agent records its episode:
    each segment is an option (``begin`` at its first step, ``end`` after its last), so every source is the context
    the agent builds at that point (``agents.context.build_context``). Segments must be contiguous and cover every
    step (``agents.data.annotate`` checks it). The executor's target after a segment's last step is ``END_SG``.
    """
    memory = trajectory_memory(trajectory)
    starts = {segment["start"]: segment for segment in subgoals}

    def context(kind: str) -> str:
        return build_context(memory, kind, max_tokens=max_tokens, max_history=max_history)

    segment = None
    for t, step in enumerate(trajectory["steps"]):
        yield "flat", t, context("flat"), step["action"]
        if t in starts:
            segment = starts[t]
            yield "planner", t, context("planner"), segment["text"]
            memory.begin(segment["text"])
        yield "executor", t, context("executor"), step["action"]
        memory.record(step["action"], step, step)
        if segment is not None and t + 1 == segment["end"]:
            yield "executor", t + 1, context("executor"), END_SG
            memory.end()


def trajectory_examples(
    trajectory: dict[str, Any], subgoals: list[dict[str, Any]], max_tokens: int = 512, max_history: int = 10
) -> dict[str, list[dict[str, str]]]:
    """The planner, executor and flat ``{source, target}`` examples of one annotated trajectory
    (``trajectory_decisions``, by kind)."""
    out: dict[str, list[dict[str, str]]] = {kind: [] for kind in KINDS}
    for kind, _, source, target in trajectory_decisions(trajectory, subgoals, max_tokens, max_history):
        out[kind].append({"source": source, "target": target})
    return out


def build_data(data: str | Path, annotations: str = "rules", max_tokens: int = 512, max_history: int = 10) -> dict[str, int]:
    """Write ``DATA/examples/{planner,executor,flat}.{train,dev}.jsonl``; returns example counts.

    Trajectories of ScienceWorld's train split make the train files, those of its dev split the dev
    files (checkpoints are selected on dev; the test split is never used here). The annotations must be those of
    the trajectories on disk (``agents.data.annotate.check_annotations``: none missing, none of an older
    collection); ``examples/build.json`` records the fingerprints of both and the settings.

    Raises:
        DataFileError: annotations that do not match the trajectories, or no train-split examples.
    """
    data = Path(data)
    with writer(data):
        trajectories = load_trajectories(data)
        labels = load_annotations(data, annotations)
        check_annotations(data, annotations, trajectories, labels)
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
        build = {"annotations": annotations, "max_tokens": max_tokens, "max_history": max_history, "examples": counts,
                 "trajectories_sha256": file_digest(data / TRAJECTORIES),
                 "annotations_sha256": file_digest(annotation_path(data, annotations))}  # fmt: skip
        atomic_write_text(data / EXAMPLES / "build.json", json.dumps(build, indent=1) + "\n")
    return counts
