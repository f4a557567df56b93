"""Argument types and flags shared by the ``sgd`` commands."""

from __future__ import annotations

import argparse

from sgd_gym.tasks import resolve_tasks

DEMO_TASKS = "find-living-thing,power-component,chemistry-mix,boil"


def tasks(value: str) -> list[str]:
    """``--tasks``: comma-separated names or ids, or ``all``."""
    try:
        return resolve_tasks(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def positive(value: str, least: int = 1) -> int:
    """A positive integer (at least ``least``)."""
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {value!r}")
    return number


def non_negative(value: str) -> int:
    """An integer >= 0."""
    return positive(value, least=0)


def fraction(value: str) -> float:
    """A number strictly between 0 and 1."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value!r}")
    return number


def variations(value: str) -> int | None:
    """``--variations``: a positive integer, or ``all`` (None)."""
    return None if value == "all" else positive(value)


def add_tasks(parser: argparse.ArgumentParser, default: str = DEMO_TASKS) -> None:
    """``--tasks`` with its default."""
    help_text = f"comma-separated task names or ids, or 'all' (default: {default})"
    parser.add_argument("--tasks", type=tasks, default=resolve_tasks(default), help=help_text)
