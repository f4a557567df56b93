"""The ``sgd`` command line: a module per command group, each adding its subcommands to one parser."""

from __future__ import annotations

import argparse
import sys

from benchmarks.cli import bench, compare, data, evaluate, recipes, train

GROUPS = (evaluate, data, train, compare, recipes, bench)  # in the order ``sgd --help`` lists them


def build_parser() -> argparse.ArgumentParser:
    """The ``sgd`` parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="sgd", description="Sub-goal distillation on ScienceWorld: envs, agents, benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgd`` console script."""
    from sgd_gym.io import DataFileError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataFileError as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 1
