"""``sgd eval``: an agent under the protocol, into a run folder."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from benchmarks.cli.common import add_protocol_arguments, add_tasks, guard_list, positive
from benchmarks.protocol import BACKENDS
from benchmarks.registry import AGENTS, AgentConfig, default_listings, flag
from sgd_gym.tasks import resolve_tasks


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


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``eval``."""
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
