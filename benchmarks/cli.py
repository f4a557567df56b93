"""The ``sgd`` command line."""

from __future__ import annotations

import argparse
import functools
import sys
import time

from sgd_gym.tasks import SPLITS, resolve_tasks

DEMO_TASKS = "find-living-thing,power-component,chemistry-mix,boil"


def _tasks(value: str) -> list[str]:
    try:
        return resolve_tasks(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def demo(args: argparse.Namespace) -> int:
    """Oracle and random agents on a few tasks through gym.make, then a score table."""
    from baselines import OracleAgent, RandomAgent
    from benchmarks.evaluate import evaluate, markdown_table, plan_episodes, summarize

    specs = plan_episodes(args.tasks, args.split, args.variations)
    print(
        f"sgd demo: {len(args.tasks)} tasks x {args.variations} {args.split} variations, {args.max_steps} steps, "
        f"{args.workers} worker(s)"
    )
    summaries = {}
    for name, factory in (("oracle", OracleAgent), ("random", functools.partial(RandomAgent, seed=args.seed))):
        start = time.perf_counter()
        records = evaluate(factory, specs, max_steps=args.max_steps, workers=args.workers, desc=name)
        summaries[name] = summarize(records)
        print(f"  {name}: {len(records)} episodes in {time.perf_counter() - start:.1f} s")
    print()
    print(markdown_table(summaries))
    return 0


def bench(args: argparse.Namespace) -> int:
    """Environment throughput benchmark (stock ScienceWorld vs ours)."""
    from benchmarks.env_throughput import main as throughput_main

    return throughput_main(args.bench_args)


def build_parser() -> argparse.ArgumentParser:
    """The ``sgd`` parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="sgd", description="Sub-goal distillation on ScienceWorld: envs, agents, benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("demo", help="oracle + random agents on a few tasks; prints a score table")
    p.add_argument(
        "--tasks",
        type=_tasks,
        default=resolve_tasks(DEMO_TASKS),
        help=f"comma-separated task names or ids, or 'all' (default: {DEMO_TASKS})",
    )
    p.add_argument("--split", choices=SPLITS, default="test", help="variation split (default: test)")
    p.add_argument("--variations", type=_positive, default=2, help="first N variations of the split per task (default: 2)")
    p.add_argument("--max-steps", type=_positive, default=100, help="primitive step budget per episode (default: 100)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes, one JVM each (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random agent (default: 0)")
    p.set_defaults(func=demo)

    p = commands.add_parser(
        "bench", help="environment throughput: stock ScienceWorld vs sgd_gym (see --help of it)", add_help=False
    )
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments of python -m benchmarks.env_throughput")
    p.set_defaults(func=bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgd`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
