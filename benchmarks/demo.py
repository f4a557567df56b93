"""``sgd demo``: one test episode of the hierarchical agent, told step by step.

``play_demo`` plays the episode as ``sgd eval`` would (``benchmarks.protocol``: the same env, seed and episode loop,
the agent built from its ``benchmarks.registry.AgentConfig``), so its actions and score are those a run records for
that task variation. ``format_transcript`` turns the episode record into text: each sub-goal the planner opened, the
primitive actions the executor sent under it with the score after each, and how each option ended.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym

from benchmarks.protocol import episode_spec, make_eval_env, play_episode
from benchmarks.registry import SCRIPTED, AgentConfig

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "scorer-cpu"  # in the source tree, not in the wheel
DEMO_GUARDS = ("safe-focus", "avoid-cycles", "named-focus", "seen-focus", "strict-seen-focus", "no-room-focus",
               "named-substance", "goal-word-focus", "answer-last", "seek-substance", "focus-room", "reach-room",
               "navigation-only", "finish-pattern", "avoid-subgoal-cycles", "end-pattern", "focus-first")  # the row's
DEMO_BEAMS = 50  # the committed scorer-cpu rows' --num-beams: the planner's 50 best sub-goals go through the guards
DEMO_TASK, DEMO_VARIATION = "test-conductivity-of-unknown-substances", 6  # the shipped agent scores 100 in 12 steps
SPLIT = "test"
ENDINGS = {
    "done": "ended: the executor said END_SG (its judgement; the game does not confirm sub-goals)",
    "budget": "budget (the option's step budget was spent)",
    "replanned": "replanned (the planner chose another sub-goal)",
}


def demo_config(
    planner: str | None = None, executor: str | None = None, guards: tuple[str, ...] = DEMO_GUARDS, num_beams: int = DEMO_BEAMS
) -> AgentConfig:
    """The hierarchical agent of the demo.

    Args:
        planner: a planner checkpoint folder (default: the shipped ``checkpoints/scorer-cpu/planner``).
        executor: an executor checkpoint folder or ``"scripted"`` (default: the shipped scorer executor).
        guards: inference guard names (``agents.guards``).
        num_beams: how many of the models' best choices go through the guards (``sgd eval --num-beams``).

    Returns:
        The config, as ``sgd eval --agent hierarchical`` would make it from the same flags (not checked yet).
    """
    planner = planner or str(SHIPPED / "planner")
    executor = executor or str(SHIPPED / "executor")
    return AgentConfig("hierarchical", planner=planner, executor=executor, guards=tuple(guards), num_beams=num_beams)


class _ResetScore(gym.Wrapper):
    """Keeps ``info["score"]`` at reset (episode records start after the first action)."""

    score: float | None = None

    def reset(self, **kwargs: Any) -> tuple[dict, dict]:
        obs, info = self.env.reset(**kwargs)
        self.score = info["score"]
        return obs, info


def play_demo(config: AgentConfig, task: str, variation: int, max_steps: int = 100, patience: int | None = 50) -> dict:
    """Play one test episode as ``sgd eval`` would, in this process.

    Args:
        config: the agent (its ``build`` is called here: the models load once).
        task: a task name or id.
        variation: the index inside the test split.
        max_steps: the primitive step budget.
        patience: stop after this many steps without a score change (None: never), as the protocol does.

    Returns:
        The episode's record (``sgd_gym.records.Episode``: actions, ``step_scores``, ``step_valid``, ``step_trace``,
        score, steps, failed), its ``task_description`` and ``initial_score`` (at reset).

    Raises:
        ValueError: an unknown task, or a variation out of the test split's range.
    """
    spec = episode_spec(task, SPLIT, variation)
    agent = config.build()
    env = _ResetScore(make_eval_env(agent, SPLIT, max_steps))
    try:
        record = play_episode(agent, env, spec, max_steps, patience)
        try:
            description = env.unwrapped.task_description
        except gym.error.ResetNeeded:  # the JVM failed at every attempt: the record says so
            description = ""
    finally:
        env.close()
    return {**record, "task_description": description, "initial_score": env.score}


def _last_ending(record: dict, max_steps: int) -> str:
    """How the episode's last option ended: with the episode, and why the episode ended."""
    if record["error"]:
        return f"the episode stopped: {record['error']}"
    if record["failed"]:
        return "the episode ended: the task failed"
    if record["score"] >= 100:
        return "the episode ended: task completed"
    if record["steps"] >= max_steps:
        return f"the episode ended: the {max_steps}-step budget was spent"
    scores = record["step_scores"]
    changed = next((i for i, score in enumerate(reversed(scores)) if score != scores[-1]), None)  # before the last change
    unchanged = len(scores) if changed is None else changed - 1  # the step that changed the score does not count
    return f"the episode stopped: no score change in its last {unchanged} steps (the protocol's patience)"


def format_transcript(record: dict, max_steps: int = 100) -> list[str]:
    """The lines of a readable transcript of a hierarchical agent's episode record.

    Args:
        record: from ``play_demo`` (or an ``episodes.jsonl`` record with ``step_trace``).
        max_steps: the budget the episode was played under (to say why it ended).

    Returns:
        One header line per sub-goal the planner opened, under it one line per primitive action (step, action, score
        after it, its gain over the step before, whether the game understood it, the guards that changed a model's
        choice), and how the option ended; then a last line with the score and the steps.
    """
    actions = record["actions"]
    traces = record.get("step_trace") or [{}] * len(actions)
    width = max(map(len, actions), default=0)
    lines, current, opened = [], None, 0
    previous = record.get("initial_score")  # episodes.jsonl records lack it: no gain is shown for their first step
    scores, valid = record.get("step_scores") or [], record.get("step_valid") or []  # none when the JVM failed throughout
    for step, (action, trace, score, understood) in enumerate(zip(actions, traces, scores, valid)):
        for subgoal, how in trace.get("ended", []):
            if subgoal != current:  # an option that ended before it sent any action
                opened += 1
                lines.append(f"sub-goal {opened}: {subgoal}  (no action)")
            lines.append(f"    -> {ENDINGS.get(how, how)}")
            current = None
        subgoal = trace.get("subgoal")
        if trace.get("opened") or subgoal != current or subgoal is None:
            opened += subgoal is not None
            lines.append(f"sub-goal {opened}: {subgoal}" if subgoal else "(no sub-goal: two options in a row ended at once)")
            current = subgoal
        notes = [f"+{score - previous:g}" if previous is not None and score > previous else ""]
        notes.append("not understood" if not understood else "")
        notes.append(f"guards: {', '.join(trace['guards'])}" if trace.get("guards") else "")
        shown = "  ".join(note for note in notes if note)
        lines.append(f"  {step + 1:3d}. {action:<{width}}  score {score:3g}  {shown}".rstrip())
        previous = score
    lines.append(f"    -> {_last_ending(record, max_steps)}")
    lines.append(f"score {record['score']:g} after {record['steps']} steps")
    return lines


def _shown_path(path: str | None) -> str:
    """``path`` relative to the working folder when it lies below it."""
    if path is None or path == SCRIPTED:
        return str(path)
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def describe_episode(record: dict[str, Any], config: AgentConfig) -> list[str]:
    """The lines above the transcript: the task variation, its description (wrapped) and the agent.

    Args:
        record: from ``play_demo``.
        config: the agent that played it.

    Returns:
        The lines.
    """
    where = f"task: {record['task']}, test variation {record['variation']} (ScienceWorld variation {record['variation_id']})"
    described = textwrap.wrap(record["task_description"], width=110, initial_indent="  ", subsequent_indent="  ")
    guards = ", ".join(config.guards) or "none"
    agent = f"agent: hierarchical, planner {_shown_path(config.planner)}, executor {_shown_path(config.executor)}"
    return [where, *described, f"{agent}, guards {guards}"]
