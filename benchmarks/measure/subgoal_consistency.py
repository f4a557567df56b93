"""Sub-goal consistency: rules-annotated gold paths replayed through the options env and the scripted executor.

For each sampled variation: collect the gold trajectory, annotate it with the rules, feed its
sub-goals one by one to ``ScienceWorldOptions-v0`` with the scripted executor, and compare the final
score with the gold trajectory's. Writes ``consistency.json`` and a section of ``benchmarks/RESULTS.md``.

    python -m benchmarks.measure.subgoal_consistency --tasks all --splits train,test --variations 3 --workers 2
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.data.annotate import rules_segments
from agents.data.collect import CollectItem, collect_episode, plan_collection
from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.envs.options import ScienceWorldOptionsEnv
from sgd_gym.parallel import run_in_workers
from sgd_gym.tasks import SPLITS, resolve_tasks


def _setup() -> dict[str, ScienceWorldOptionsEnv]:
    return {}  # one options env per split, made on first use (one JVM each)


def check_variation(envs: dict[str, ScienceWorldOptionsEnv], item: CollectItem, max_option_steps: int = 10) -> dict:
    """Gold trajectory -> rules sub-goals -> options env; the record of one variation."""
    if item.split not in envs:
        envs[item.split] = ScienceWorldOptionsEnv(split=item.split, max_option_steps=max_option_steps, max_primitive_steps=10_000)
    env = envs[item.split]
    trajectory = collect_episode(env.flat, item)
    actions = [step["action"] for step in trajectory["steps"]]
    segments = rules_segments(actions, max_option_steps)
    obs, info = env.reset(options={"task": item.task, "variation": item.variation})
    failures, steps = [], 0
    for segment in segments:
        obs, _, terminated, _, info = env.step(segment["text"])
        steps += info["option_steps"]
        if not info["subgoal_done"] and not terminated:  # the option the task's completion cut short is not a failure
            failures.append(
                {"subgoal": segment["text"], "error": info["subgoal_error"], "gold": actions[segment["start"] : segment["end"]]}
            )
        if terminated:
            break
    return {
        "task": item.task,
        "split": item.split,
        "variation": item.variation,
        "gold_score": trajectory["final_score"],
        "gold_steps": len(actions),
        "score": info["score"],
        "steps": steps,
        "subgoals": len(segments),
        "consistent": info["score"] == trajectory["final_score"],
        "failed_subgoals": failures,
    }


def _check(envs: dict, item: CollectItem) -> dict:
    return check_variation(envs, item)


def run_consistency(tasks: Sequence[str], splits: Sequence[str], variations: int, workers: int = 2) -> dict[str, Any]:
    """Check the first ``variations`` variations of each task and split; returns records and per-task figures."""
    items = [item for split in splits for item in plan_collection(list(tasks), split, variations)]
    start = time.perf_counter()
    records = list(run_in_workers(_setup, (), _check, items, workers=workers, desc="consistency"))
    per_task: dict[str, dict[str, Any]] = {}
    for record in records:
        row = per_task.setdefault(record["task"], {"variations": 0, "consistent": 0, "subgoals": 0, "failed_subgoals": 0})
        row["variations"] += 1
        row["consistent"] += record["consistent"]
        row["subgoals"] += record["subgoals"]
        row["failed_subgoals"] += len(record["failed_subgoals"])
    consistent = sum(r["consistent"] for r in records)
    return {
        "records": records,
        "per_task": per_task,
        "variations": len(records),
        "consistent": consistent,
        "rate": consistent / len(records) if records else 0.0,
        "wall_time": time.perf_counter() - start,
        "splits": list(splits),
        "variations_per_task_split": variations,
    }


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: overall rate, the command, a per-task table and the mismatches."""
    lines = [
        "## Sub-goal consistency (`benchmarks/subgoal_consistency.py`)",
        "",
        f"- Command: `{command}` ({result['wall_time'] / 60:.1f} min)",
        f"- Machine: {machine_summary()}",
        f"- Rules annotation of each gold path, fed sub-goal by sub-goal to `ScienceWorldOptions-v0` with the scripted "
        f"executor (`max_option_steps=10`): final score equal to the gold path's on **{result['consistent']}/"
        f"{result['variations']} = {100 * result['rate']:.1f}%** of variations (target >= 90%); splits "
        f"{', '.join(result['splits'])}, first {result['variations_per_task_split']} variations of each.",
        "",
        "| task | variations | consistent | sub-goals | sub-goals not done |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for task, row in result["per_task"].items():
        lines.append(f"| {task} | {row['variations']} | {row['consistent']} | {row['subgoals']} | {row['failed_subgoals']} |")
    mismatches = [r for r in result["records"] if not r["consistent"]]
    if mismatches:
        lines += ["", "Mismatches (first sub-goal not done, and why):", ""]
        for r in mismatches:
            first = r["failed_subgoals"][0] if r["failed_subgoals"] else {"subgoal": "-", "error": "all sub-goals done"}
            lines.append(
                f"- {r['task']} {r['split']} {r['variation']}: score {r['score']} vs gold {r['gold_score']}; "
                f"`{first['subgoal']}`: {first['error']}"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the check, write JSON and the RESULTS.md section."""
    parser = measure_parser("benchmarks.measure.subgoal_consistency", __doc__)
    parser.add_argument("--tasks", default="all", help="comma-separated task names or ids, or 'all' (default: all)")
    parser.add_argument("--splits", default="train,test", help="comma-separated splits (default: train,test)")
    parser.add_argument("--variations", type=int, default=3, help="first N variations per task and split (default: 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    parser.add_argument("--out", default="runs/consistency", help="folder for consistency.json (default: runs/consistency)")
    args = parser.parse_args(argv)
    try:
        tasks = resolve_tasks(args.tasks)
    except ValueError as error:
        parser.error(str(error))
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    bad = [s for s in splits if s not in SPLITS]
    if bad or not splits:
        parser.error(f"unknown split(s) {bad}: expected a comma-separated subset of {list(SPLITS)}")
    if args.variations < 1 or args.workers < 1:
        parser.error(f"--variations and --workers must be >= 1, got {args.variations}, {args.workers}")
    result = run_consistency(tasks, splits, args.variations, args.workers)
    command = command_line("benchmarks.measure.subgoal_consistency", argv)
    section = markdown_section(result, command)
    publish("subgoal_consistency", result, section, Path(args.out) / "consistency.json", args.results_md)
    print(f"consistent: {result['consistent']}/{result['variations']} ({100 * result['rate']:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
