"""The ``sgd`` command line: a module per command group, each adding its subcommands to one parser."""

from __future__ import annotations

import argparse
import signal
import sys

from benchmarks.cli import bench, compare, data, evaluate, recipes, train, view

GROUPS = (evaluate, data, train, compare, view, recipes, bench)  # in the order ``sgd --help`` lists them


def build_parser() -> argparse.ArgumentParser:
    """The ``sgd`` parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="sgd", description="Sub-goal distillation on ScienceWorld: envs, agents, benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout``, Slurm and ``docker stop`` send), raised where Ctrl-C would be: work stops the same
    way, finished work is saved by the same ``finally`` blocks."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgd`` console script.

    Exit status: 0 on success, 1 for a data file that is missing or malformed, 2 for a usage error (a bad flag, a
    folder that holds another configuration or that another process writes), 130 after Ctrl-C, 143 after SIGTERM.
    """
    from sgd_gym.folders import FolderError
    from sgd_gym.io import DataFileError

    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print(f"sgd {args.command}: stopped by {'SIGTERM' if terminated else 'Ctrl-C'}; finished work is saved: run the "
              "same command again to resume", file=sys.stderr)  # fmt: skip
        return 143 if terminated else 130
    except FolderError as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 2
    except DataFileError as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 1
