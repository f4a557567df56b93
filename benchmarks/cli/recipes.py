"""``sgd quickstart`` (the main job) and ``sgd reproduce`` (a whole recipe from a YAML config)."""

from __future__ import annotations

import argparse
import sys

from benchmarks.cli.common import positive


def recipe_command(args: argparse.Namespace) -> int:
    """Every stage of a recipe, ending in a score table."""
    from benchmarks.recipes import RecipeConfig, run_recipe

    try:
        config = RecipeConfig.load(args.config, out=args.out, workers=args.workers)
    except (OSError, ValueError) as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 2
    run_recipe(config)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``quickstart`` and ``reproduce``."""
    p = commands.add_parser("quickstart", help="the main job: collect, annotate, train scorers, evaluate, print the table")
    p.add_argument("--config", help="YAML file overriding the defaults of benchmarks.recipes.RecipeConfig")
    p.add_argument("--out", help="output folder (default: runs/quickstart)")
    p.add_argument("--workers", type=positive, help="worker processes (default: 2)")
    p.set_defaults(func=recipe_command)

    p = commands.add_parser("reproduce", help="the full recipe from a config: configs/cpu-tiny.yaml or configs/paper.yaml")
    p.add_argument("--config", required=True, help="YAML recipe (keys of benchmarks.recipes.RecipeConfig)")
    p.add_argument("--out", help="output folder (default: the config's out)")
    p.add_argument("--workers", type=positive, help="worker processes (default: the config's workers)")
    p.set_defaults(func=recipe_command)
