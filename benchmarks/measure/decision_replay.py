"""Can the candidates express the expert? The expert's matched choices replayed through the env, per task.

python -m benchmarks.measure.decision_replay --data DATA --variations 2 --workers 2 --out benchmarks/results/decision-replay

A candidate scorer picks from what a state lists, so its ceiling is the score of the expert's own choices *as
candidates*. For every annotated gold path of the split (``agents.data.decisions``: exact, same meaning, grounded;
missing ones left out), two replays:

- *primitive*: the flat decisions' chosen candidates sent one by one to ``ScienceWorld-v1`` (what a flat or executor
  scorer can do at best);
- *options*: the planner decisions' chosen sub-goal candidates sent to ``ScienceWorldOptions-v1`` with the scripted
  executor (what a planner scorer can do at best over the rule-based option layer).

Each replay's final score is compared with the gold path's; the table gives per task the share of variations that
reach it and the mean score, and the missing choices by kind. Results: ``replay.json`` in ``--out`` and the
``decision-replay`` section of RESULTS.md.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.data.collect import load_trajectories
from agents.data.decisions import decisions
from benchmarks.cli.common import positive
from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.parallel import run_in_workers

SECTION = "decision-replay"
MODES = ("primitive", "options")


def _envs() -> dict[tuple[str, str], Any]:
    return {}  # (mode, split) -> env, made on first use (one JVM each)


def _env(envs: dict[tuple[str, str], Any], mode: str, split: str) -> Any:
    import gymnasium as gym

    import sgd_gym  # noqa: F401  (registers the ids)

    if (mode, split) not in envs:
        envs[(mode, split)] = (
            gym.make("sgd_gym/ScienceWorld-v1", split=split, max_episode_steps=1000, disable_env_checker=True)
            if mode == "primitive"
            else gym.make("sgd_gym/ScienceWorldOptions-v1", split=split, executor="scripted", max_primitive_steps=1000,
                          disable_env_checker=True)  # fmt: skip
        )
    return envs[(mode, split)]


def _replay(envs: dict[tuple[str, str], Any], item: tuple[str, tuple, list[str]]) -> tuple[str, tuple, float]:
    """The final score of ``choices`` sent in order (``item``: mode, key, choices)."""
    mode, (task, split, variation), choices = item
    env = _env(envs, mode, split)
    _, info = env.reset(seed=0, options={"task": task, "variation": variation})
    for choice in choices:
        _, _, terminated, truncated, info = env.step(choice)
        if terminated or truncated:
            break
    return mode, (task, split, variation), float(info["score"])


def measure(data: str | Path, split: str, workers: int, variations: int | None = None) -> dict[str, Any]:
    """Replay the matched choices of the annotated gold paths of ``split`` (the first ``variations`` of each task
    in the data, all when None); per-task results (module docstring)."""
    found, counts = decisions(data, split, kinds=("planner", "flat"))
    trajectories = load_trajectories(data)
    choices: dict[tuple[str, tuple], list[tuple[int, str]]] = defaultdict(list)
    for mode, kind in (("primitive", "flat"), ("options", "planner")):
        for row in found[kind]:
            choices[(mode, row.key)].append((row.state, row.candidates[row.target]))
    keys = sorted({key for key in trajectories if key[1] == split and any((m, key) in choices for m in MODES)})
    if variations is not None:
        keys = [key for key in keys if key[2] in sorted(k[2] for k in keys if k[0] == key[0])[:variations]]
    items = [(mode, key, [text for _, text in sorted(choices[(mode, key)])]) for mode in MODES for key in keys]
    scores = {(mode, key): score for mode, key, score in run_in_workers(_envs, (), _replay, items, workers, "replay")}
    per_task: dict[str, dict[str, Any]] = {}
    for task in sorted({key[0] for key in keys}):
        mine = [key for key in keys if key[0] == task]
        row: dict[str, Any] = {"variations": len(mine), "gold": statistics.mean(trajectories[k]["final_score"] for k in mine)}
        for mode in MODES:
            reached = [scores[(mode, k)] >= trajectories[k]["final_score"] for k in mine]
            row[mode] = {"reached": sum(reached) / len(mine), "mean_score": statistics.mean(scores[(mode, k)] for k in mine)}
        row["choices"] = counts.table().get(task, {})
        per_task[task] = row
    return {"split": split, "data": str(data), "per_task": per_task,
            "overall": {mode: {"reached": statistics.mean(r[mode]["reached"] for r in per_task.values()),
                               "mean_score": statistics.mean(r[mode]["mean_score"] for r in per_task.values()),
                               "tasks_at_95": sum(r[mode]["reached"] >= 0.95 for r in per_task.values())}
                        for mode in MODES}}  # fmt: skip


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: per task, the share of variations whose replay reaches the gold score, and misses."""
    lines = ["## Can the candidates express the expert? (decision replay)", "", f"`{command}`", "",
             "Share of variations whose replayed expert choices reach the gold path's score (mean replay score); "
             "missing: expert choices that no candidate stands for (planner / flat), over all variations of the split in "
             "the data.", "",
             "| task | variations | primitive | options | missing (planner / flat) |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for task, row in result["per_task"].items():
        missing = " / ".join(str(row["choices"].get(kind, {}).get("missing", 0)) for kind in ("planner", "flat"))
        cells = [f"{100 * row[m]['reached']:.0f}% ({row[m]['mean_score']:.1f})" for m in MODES]
        lines.append(f"| {task} | {row['variations']} | {cells[0]} | {cells[1]} | {missing} |")
    overall = result["overall"]
    cells = [f"{100 * overall[m]['reached']:.0f}% ({overall[m]['mean_score']:.1f}), {overall[m]['tasks_at_95']} tasks >= 95%"
             for m in MODES]  # fmt: skip
    lines.append(f"| **all** | | {cells[0]} | {cells[1]} | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit status 0 on success, 2 for a bad argument."""
    parser = measure_parser("benchmarks.measure.decision_replay", __doc__)
    parser.add_argument("--data", required=True, help="data folder with trajectories, annotations and candidates/")
    parser.add_argument("--split", choices=("train", "dev"), default="train", help="split replayed (default: train)")
    parser.add_argument("--workers", type=positive, default=2, help="worker processes, one JVM each (default: 2)")
    parser.add_argument("--variations", type=positive, default=None, help="first N variations per task (default: all)")
    parser.add_argument("--out", required=True, help="folder for replay.json")
    args = parser.parse_args(argv)
    result = measure(args.data, args.split, args.workers, args.variations)
    command = command_line("benchmarks.measure.decision_replay", argv)
    result["command"], result["machine"] = command, machine_summary()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    publish(SECTION, result, markdown_section(result, command), Path(args.out) / "replay.json", args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
