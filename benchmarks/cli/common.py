"""Argument types and flags shared by the ``sgd`` commands."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

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


def arg(default: object, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A field of a command line's arguments dataclass (``dataclass_parser``): its default, what ``--help`` says of
    it and, for a choice, the values allowed."""
    return dataclasses.field(default=default, metadata={"help": help, **({"choices": choices} if choices else {})})


def dataclass_parser(cls: type, description: str) -> argparse.ArgumentParser:
    """A parser with one ``--flag`` per field of the dataclass ``cls`` (``max_choices`` -> ``--max-choices``).

    Each flag takes the type of its field's default (a bool becomes ``--flag`` / ``--no-flag``), its help is the
    field's ``metadata["help"]`` followed by the default, and ``metadata["choices"]`` restricts its values.
    ``cls(**vars(parser.parse_args()))`` is then the parsed dataclass.

    Raises:
        TypeError: a field without ``metadata["help"]`` (every flag must say what it does).
    """
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for field in dataclasses.fields(cls):
        if "help" not in field.metadata:
            raise TypeError(f"{cls.__name__}.{field.name} has no metadata['help']: every flag must explain itself")
        options: dict = {"default": field.default, "help": field.metadata["help"], "choices": field.metadata.get("choices")}
        if isinstance(field.default, bool):
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = type(field.default)
        parser.add_argument(f"--{field.name.replace('_', '-')}", **options)
    return parser
