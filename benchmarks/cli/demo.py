"""``sgd demo``: one test episode of the shipped hierarchical agent, step by step; ``sgd demo --table``: oracle and
random agents on a few tasks, a score table (what ``sgd demo`` printed before)."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from benchmarks.cli.common import DEMO_TASKS, add_protocol_arguments, add_tasks, guard_list, non_negative, task_name
from benchmarks.demo import DEMO_GUARDS, DEMO_TASK, DEMO_VARIATION, SHIPPED
from benchmarks.registry import AgentConfig, flag
from sgd_gym.tasks import resolve_tasks

# Flags of one mode each, parsed with the default UNSET so that the command sees which were given (then filled in here)
UNSET = object()
TABLE_DEFAULTS = {"tasks": resolve_tasks(DEMO_TASKS), "split": "test", "variations": 2, "workers": 1}
EPISODE_DEFAULTS = {"task": DEMO_TASK, "variation": DEMO_VARIATION, "planner": None, "executor": None, "guards": DEMO_GUARDS}


def episode_command(args: argparse.Namespace) -> int:
    """Play one test episode of the hierarchical agent and print its transcript; 2 for a bad task, variation or
    checkpoint (before any model loads)."""
    from benchmarks.demo import demo_config, describe_episode, format_transcript, play_demo
    from benchmarks.protocol import episode_spec

    config = demo_config(args.planner, args.executor, args.guards)
    try:
        episode_spec(args.task, "test", args.variation)
        config.check()
    except ValueError as error:
        hint = ""
        if not SHIPPED.is_dir() and None in (args.planner, args.executor):
            hint = f" (the shipped checkpoints, {SHIPPED}, come with the source tree: give --planner and --executor)"
        print(f"sgd demo: {error}{hint}", file=sys.stderr)
        return 2
    logging.getLogger("sgd.demo").info(f"sgd demo: loading the agent, then one episode of at most {args.max_steps} steps")
    record = play_demo(config, args.task, args.variation, args.max_steps)
    print("\n".join(describe_episode(record, config) + [""] + format_transcript(record, args.max_steps)))
    return 0


def table_command(args: argparse.Namespace) -> int:
    """Oracle and random agents on a few tasks through gym.make, then a score table."""
    from benchmarks.protocol import evaluate, plan_episodes
    from benchmarks.report import markdown_table, summarize

    specs = plan_episodes(args.tasks, args.split, args.variations)
    print(
        f"sgd demo: {len(args.tasks)} tasks x {args.variations} {args.split} variations, {args.max_steps} steps, "
        f"{args.workers} worker(s)"
    )
    summaries = {}
    for name in ("oracle", "random"):
        start = time.perf_counter()
        records = evaluate(AgentConfig(name).build, specs, max_steps=args.max_steps, workers=args.workers, desc=name)
        summaries[name] = summarize(records)
        print(f"  {name}: {len(records)} episodes in {time.perf_counter() - start:.1f} s")
    print()
    print(markdown_table(summaries))
    return 0


def _given(args: argparse.Namespace, defaults: dict) -> list[str]:
    """The flags of ``defaults`` given on the command line; fills in the others."""
    given = [flag(name) for name in defaults if getattr(args, name) is not UNSET]
    for name, default in defaults.items():
        if getattr(args, name) is UNSET:
            setattr(args, name, default)
    return given


def demo_command(args: argparse.Namespace) -> int:
    """The episode, or the table (``--table``, or a table flag of the old ``sgd demo``, with a deprecation warning)."""
    table, episode = _given(args, TABLE_DEFAULTS), _given(args, EPISODE_DEFAULTS)
    if not (args.table or table):
        return episode_command(args)
    if episode:
        mode = "--table" if args.table else table[0]
        print(f"sgd demo: {episode[0]} is a flag of the episode demo, not of the score table ({mode}): give one or the "
              f"other (episode: {', '.join(map(flag, EPISODE_DEFAULTS))}; table: --table, "
              f"{', '.join(map(flag, TABLE_DEFAULTS))})", file=sys.stderr)  # fmt: skip
        return 2
    if not args.table:
        print(f"sgd demo: DeprecationWarning: {', '.join(table)} without --table: the oracle and random score table "
              "moved to `sgd demo --table` (plain `sgd demo` plays one episode of the hierarchical agent); running "
              "the table", file=sys.stderr)  # fmt: skip
    return table_command(args)


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``demo``."""
    p = commands.add_parser(
        "demo", help="one test episode of the shipped hierarchical agent, step by step (--table: oracle + random scores)"
    )
    shipped = "the shipped checkpoints/scorer-cpu"
    p.add_argument("--task", type=task_name, help=f"the task, a name or id (default: {DEMO_TASK})")
    p.add_argument("--variation", type=non_negative, help=f"index in the test split (default: {DEMO_VARIATION})")
    p.add_argument("--planner", help=f"planner checkpoint folder (default: {shipped}/planner)")
    p.add_argument("--executor", help=f"executor checkpoint folder, or 'scripted' (default: {shipped}/executor)")
    p.add_argument(
        "--guards", type=guard_list,
        help=f"comma-separated inference guards (agents.guards), '' for none (default: {','.join(DEMO_GUARDS)}, those "
        "of the committed scorer-cpu hierarchical row)",
    )  # fmt: skip
    table = p.add_argument_group("--table", "oracle and random agents on a few tasks, a score table (--max-steps: both)")
    table.add_argument("--table", action="store_true", help="print the score table instead of an episode")
    add_tasks(table)
    add_protocol_arguments(table, 2, "worker processes, one JVM each")
    p.set_defaults(func=demo_command, **{name: UNSET for name in (*TABLE_DEFAULTS, *EPISODE_DEFAULTS)})
