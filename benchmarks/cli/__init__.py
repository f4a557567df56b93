"""The ``sgd`` command line: a module per command group, each adding its subcommands to one parser."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from benchmarks.cli import bench, compare, data, demo, evaluate, recipes, train, view

GROUPS = (demo, evaluate, data, train, compare, view, recipes, bench)  # in the order ``sgd --help`` lists them


def version() -> str:
    """The installed sgd-gym version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("sgd-gym")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``sgd`` parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="sgd", description="Sub-goal distillation on ScienceWorld: envs, agents, benchmarks.")
    parser.add_argument("--version", action="version", version=f"sgd-gym {version()}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only warnings and errors on stderr")
    loudness.add_argument("-v", "--verbose", action="store_true", help="debug messages, transformers' own included")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (what ``timeout``, Slurm and ``docker stop`` send), raised where Ctrl-C would be: work stops the same
    way, finished work is saved by the same ``finally`` blocks."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def configure_output(quiet: bool = False, verbose: bool = False) -> None:
    """Status messages through ``logging`` on stderr (results go to stdout), progress bars labelled and one per stage.

    transformers' own loading and saving bars and its advisory warnings are off unless ``verbose``; ``quiet`` hides
    every bar (``sgd_gym.progress``; worker processes inherit the switch through the environment).
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    if not verbose:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # read when transformers is imported
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        if "transformers" in sys.modules:  # imported already (by a recipe's imports): the variables came too late
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
    if quiet:
        from sgd_gym.progress import PROGRESS_ENV

        os.environ[PROGRESS_ENV] = "0"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgd`` console script.

    Exit status: 0 on success, 1 for a data file that is missing or malformed, 2 for a usage error (a bad flag, a
    folder that holds another configuration or that another process writes), 130 after Ctrl-C, 143 after SIGTERM.
    """
    from sgd_gym.folders import FolderError
    from sgd_gym.io import DataFileError

    args = build_parser().parse_args(argv)
    configure_output(args.quiet, args.verbose)
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
