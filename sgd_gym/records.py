"""One schema per record type that sgd-gym writes and reads back (docs/architecture.md), checked when read.

``sgd_gym.io.read_jsonl(path, schema=Trajectory)`` names the file, the line and the field of the first problem. The
schemas are strict about types (an int is not a string) and allow extra fields, so records written by newer code
(or older records with fields since dropped) still load.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Split = Literal["train", "dev", "test"]
Score = float  # ints are accepted too


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Observation(_Record):
    """What the env returned at reset (``Trajectory.initial``)."""

    observation: str
    look: str
    inventory: str
    score: Score


class Step(Observation):
    """One gold step of a trajectory."""

    action: str
    reward: Score


class Trajectory(_Record):
    """``DATA/trajectories.jsonl``: one collected gold path (``agents.data.collect``)."""

    task: str
    split: Split
    variation: int = Field(ge=0)
    variation_id: int
    simplifications: str
    task_description: str
    initial: Observation
    steps: list[Step]


class Segment(_Record):
    """One sub-goal of an annotation: ``text`` labels steps ``start`` .. ``end - 1``."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=1)


class Annotation(_Record):
    """``DATA/annotations.METHOD.jsonl``: a trajectory cut into sub-goals (``agents.data.annotate``)."""

    task: str
    split: Split
    variation: int = Field(ge=0)
    subgoals: list[Segment] = Field(min_length=1)


class Example(_Record):
    """``DATA/examples/KIND.SPLIT.jsonl``: one model example (``agents.data.datasets``)."""

    source: str
    target: str


class StepTrace(_Record):
    """What an agent says about one of its steps (its ``trace()`` after ``act``), every key optional.

    ``subgoal``: the sub-goal the step's action serves; ``opened``: the action is its option's first; ``ended``: the
    options that ended before the action was chosen, as [sub-goal, how] (``done``, ``budget``, ``replanned``);
    ``guards``: the inference guards that changed the model's first choice (``agents.grounding.guarded_choice``).
    """

    subgoal: str | None = None
    opened: bool = False
    ended: list[list[str]] = Field(default_factory=list)
    guards: list[str] = Field(default_factory=list)


class Episode(_Record):
    """``RUN/episodes.jsonl``: one evaluated episode (``benchmarks.protocol.run_episode``).

    Runs recorded since the episode viewer (``sgd view``) also hold, one item per action: ``step_scores`` (the score
    after it, ``info["score"]``), ``step_valid`` (whether the game understood it, ``info["valid"]``) and, for agents
    with a ``trace()`` method, ``step_trace`` (``StepTrace``). Older runs lack them; observations are never stored
    (the viewer replays the actions).
    """

    task: str
    split: Split
    variation: int = Field(ge=0)
    seed: int
    variation_id: int
    actions: list[str]
    error: str | None
    score: Score
    steps: int = Field(ge=0)
    wall_time: Score
    step_scores: list[Score] | None = None
    step_valid: list[bool] | None = None
    step_trace: list[StepTrace] | None = None


class Summary(_Record):
    """``RUN/summary.json``: a run's scores (``benchmarks.report.summarize``) and settings."""

    overall: Score
    per_task: dict[str, Score]
    groups: dict[str, Score]
    episodes: int = Field(ge=0)
