"""Evaluation throughput: protocol episodes per minute with 1 and 2 workers (and Ray actors when installed).

python -m benchmarks.measure.eval_throughput [--agent random] [--tasks ...] [--variations 3] [--workers 1,2] [--ray]
python -m benchmarks.measure.eval_throughput --agent flat --checkpoint CKPT   (model agents: their checkpoints as in sgd eval)

Every configuration plays the same episode list (seeded), so their records must agree; the table
says whether they did. Times include starting the workers (one JVM each) and loading the agent, as a
user's ``sgd eval`` pays them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure.results import add_results_argument, machine_summary, publish
from benchmarks.protocol import evaluate, plan_episodes
from benchmarks.registry import AGENTS, AgentConfig
from sgd_gym.tasks import resolve_tasks

DEFAULT_TASKS = "find-living-thing,power-component,use-thermometer,chemistry-mix,boil,melt"


def _comparable(records: list[dict]) -> list[tuple]:
    return [(r["task"], r["variation"], r["score"], tuple(r["actions"])) for r in records]


AGENT_CHOICES = tuple(name for name in AGENTS if name != "llm")  # a remote endpoint's speed is not ours to measure


def measure(config: AgentConfig, tasks: list[str], variations: int, workers: list[int], ray: bool, max_steps: int = 100) -> dict:
    """Episodes per minute of the agent of ``config`` for each worker count (and Ray), with the records' agreement."""
    specs = plan_episodes(tasks, "test", variations)
    factory = config.build
    configs = [("processes", count) for count in workers] + ([("ray", max(workers))] if ray else [])
    rows, reference = [], None
    for backend, count in configs:
        start = time.perf_counter()
        records = evaluate(factory, specs, max_steps=max_steps, workers=count, backend=backend, desc=f"{backend}x{count}")
        seconds = time.perf_counter() - start
        reference = reference or _comparable(records)
        rows.append({"backend": backend, "workers": count, "episodes": len(records), "seconds": seconds,
                     "episodes_per_min": 60 * len(records) / seconds, "steps": sum(r["steps"] for r in records),
                     "same_records": _comparable(records) == reference})  # fmt: skip
    base = rows[0]["episodes_per_min"]
    for row in rows:
        row["speedup"] = row["episodes_per_min"] / base
    return {"agent": config.agent, "tasks": tasks, "variations": variations, "max_steps": max_steps, "rows": rows}


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section."""
    first = result["rows"][0]
    lines = [
        f"## Evaluation throughput, `{result['agent']}` agent (`benchmarks/eval_throughput.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}",
        f"- Test variations 0..{result['variations'] - 1} of {', '.join(result['tasks'])}; {result['max_steps']} steps "
        f"({first['steps'] / max(first['episodes'], 1):.0f} per episode on average); times include starting the "
        "workers (one JVM each), which weighs most when episodes are short.",
        "",
        "| backend | workers | episodes | steps | seconds | episodes/min | vs 1 worker | same records |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['backend']} | {row['workers']} | {row['episodes']} | {row['steps']} | {row['seconds']:.1f} | "
            f"{row['episodes_per_min']:.1f} | {row['speedup']:.2f}x | {'yes' if row['same_records'] else '**no**'} |"
        )
    return "\n".join(lines)


def _workers(value: str) -> list[int]:
    try:
        counts = [int(part) for part in value.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive worker counts, got {value!r}")
    return counts


def _tasks(value: str) -> list[str]:
    try:
        return resolve_tasks(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's flags."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure.eval_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--agent", choices=AGENT_CHOICES, default="random", help="agent (default: random)")
    parser.add_argument("--checkpoint", help="model folder of flat, ppo, ppo-options")
    parser.add_argument("--planner", help="planner model folder of hierarchical")
    parser.add_argument("--executor", help="executor model folder of hierarchical (or 'scripted')")
    parser.add_argument("--tasks", type=_tasks, default=resolve_tasks(DEFAULT_TASKS), help=f"tasks (default: {DEFAULT_TASKS})")
    parser.add_argument("--variations", type=int, default=3, help="test variations per task (default: 3)")
    parser.add_argument("--workers", type=_workers, default=[1, 2], help="worker counts to compare (default: 1,2)")
    parser.add_argument("--ray", action="store_true", help="also run on Ray actors (needs the ray extra)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for eval_throughput[_AGENT].json")
    add_results_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.variations < 1:
        parser.error(f"argument --variations: expected a positive integer, got {args.variations!r}")
    config = AgentConfig(args.agent, checkpoint=args.checkpoint, planner=args.planner, executor=args.executor)
    try:
        config.check()
    except ValueError as error:  # CheckpointError and CheckpointMissing are ValueErrors too
        parser.error(str(error))
    result = measure(config, args.tasks, args.variations, args.workers, args.ray)
    command = " ".join(["python -m benchmarks.measure.eval_throughput", *argv]).strip()
    name = "eval_throughput" if args.agent == "random" else f"eval_throughput_{args.agent}"
    publish(name, result, markdown_section(result, command), args.out / f"{name}.json", args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
