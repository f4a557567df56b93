"""``sgd eval`` (an agent under the protocol, into a run folder) and ``sgd demo`` (oracle and random, no models)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from benchmarks.cli.common import add_tasks, positive, variations
from benchmarks.protocol import BACKENDS
from benchmarks.registry import AGENTS, AgentConfig, default_listings, flag
from sgd_gym.tasks import SPLITS, resolve_tasks


def guard_list(value: str) -> tuple[str, ...]:
    """``--guards``: comma-separated guard names (checked against the registry of ``agents.guards``)."""
    from agents.guards import check_guard_names

    names = tuple(name.strip() for name in value.split(",") if name.strip())
    try:
        check_guard_names(names)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return names


def add_agent_arguments(parser: argparse.ArgumentParser) -> None:
    """A flag per ``AgentConfig`` field, its help naming the agents that read it (``benchmarks.registry.AGENTS``)."""
    about = "; ".join(f"{spec.name}: {spec.about}" for spec in AGENTS.values())
    for item in dataclasses.fields(AgentConfig):
        if item.name == "agent":
            parser.add_argument("--agent", choices=list(AGENTS), required=True, help=f"which agent ({about})")
            continue
        users = [spec.name for spec in AGENTS.values() if item.name in spec.reads]
        named = ", ".join(users[:-1]) + " and " + users[-1] if len(users) > 1 else users[0]
        unset = {"llm_cache": "RUN/llm_cache", "listing": "the agent's own: " + ", ".join(
            f"{agent} {listing}" for agent, listing in default_listings().items())}.get(item.name, "none")  # fmt: skip
        shown = {(): "none", None: unset}.get(item.default, item.default)
        options: dict = {"default": item.default, "help": f"{named}: {item.metadata['help']} (default: {shown})"}
        if item.name == "guards":
            options["type"] = guard_list
        elif "choices" in item.metadata:
            options["choices"] = item.metadata["choices"]
        elif item.type == "int":
            options["type"] = positive
        parser.add_argument(flag(item.name), **options)


def agent_config(args: argparse.Namespace) -> AgentConfig:
    """The ``AgentConfig`` of parsed ``add_agent_arguments`` flags."""
    return AgentConfig(**{item.name: getattr(args, item.name) for item in dataclasses.fields(AgentConfig)})


def eval_command(args: argparse.Namespace) -> int:
    """Evaluate an agent under the protocol into a run folder."""
    from benchmarks.protocol import plan_episodes, run_evaluation
    from benchmarks.report import markdown_table

    config = agent_config(args)
    if config.agent == "llm" and config.llm_cache is None:
        config = config.replace(llm_cache=str(Path(args.out) / "llm_cache"))
    try:
        config.check()
        parameters, identity = config.parameters(), config.identity()
    except ValueError as error:  # CheckpointError and CheckpointMissing are ValueErrors too
        print(f"sgd eval: {error}", file=sys.stderr)
        return 2
    specs = plan_episodes(args.tasks, args.split, args.variations)
    extra = {"parameters": parameters, "split": args.split, "backend": args.backend, "agent_settings": config.settings()}
    name = args.name or args.agent
    summary = run_evaluation(config.build, specs, args.out, name, args.max_steps, args.patience, args.workers, extra,
                             backend=args.backend, identity=identity, overwrite=args.overwrite)  # fmt: skip
    print(markdown_table({name: summary}))
    print(f"run folder: {args.out}")
    return 0


def demo_command(args: argparse.Namespace) -> int:
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


def add_protocol_arguments(parser: argparse.ArgumentParser, variations_default: int | None, workers_help: str) -> None:
    """``--split``, ``--variations``, ``--max-steps`` and ``--workers`` of the protocol."""
    shown = "all" if variations_default is None else variations_default
    parser.add_argument("--split", choices=SPLITS, default="test", help="variation split (default: test)")
    parser.add_argument(
        "--variations",
        type=variations,
        default=variations_default,
        help=f"first N variations per task, or 'all' (default: {shown})",
    )
    parser.add_argument("--max-steps", type=positive, default=100, help="primitive step budget per episode (default: 100)")
    parser.add_argument("--workers", type=positive, default=1, help=f"{workers_help} (default: 1)")


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``demo`` and ``eval``."""
    p = commands.add_parser("demo", help="oracle + random agents on a few tasks; prints a score table")
    add_tasks(p)
    add_protocol_arguments(p, 2, "worker processes, one JVM each")
    p.set_defaults(func=demo_command)

    p = commands.add_parser("eval", help="evaluate an agent under the paper's protocol into a run folder")
    add_agent_arguments(p)
    add_tasks(p, "all")
    p.set_defaults(tasks=resolve_tasks("all"))
    add_protocol_arguments(p, 10, "worker processes or Ray actors, one JVM each")
    p.add_argument("--patience", type=positive, default=50, help="stop after N steps without a score change (default: 50)")
    p.add_argument(
        "--backend", choices=BACKENDS, default="processes",
        help="processes on this machine, or Ray actors (RAY_ADDRESS or a local instance; needs the ray extra)",
    )  # fmt: skip
    p.add_argument("--name", help="the run's name in tables and summary.json (default: the agent's), e.g. for ablations")
    p.add_argument("--out", required=True, help="run folder (resumed if it holds a run of the same settings)")
    p.add_argument("--overwrite", action="store_true", help="discard the episodes of a run folder of other settings")
    p.set_defaults(func=eval_command)
