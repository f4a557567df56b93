"""``sgd bench``: env throughput, evaluation throughput and model latency, into RESULTS.md."""

from __future__ import annotations

import argparse
from pathlib import Path


def bench_command(args: argparse.Namespace) -> int:
    """Run the benchmarks chosen by ``--only``."""
    from benchmarks.measure import env_throughput, eval_throughput, model_latency

    common = ["--results-md", args.results_md]
    status = 0
    if args.only in ("env", "all"):
        status |= env_throughput.main([*common, "--out", args.out] + (["--no-progress"] if args.no_progress else []))
    if args.only in ("eval", "all"):
        status |= eval_throughput.main([*common, "--out", args.out] + (["--ray"] if args.ray else []))
    if args.only in ("model", "all"):
        if (Path(args.checkpoints) / "planner").is_dir():
            status |= model_latency.main([*common, "--data", args.data, "--checkpoints", args.checkpoints])
        else:
            print(f"sgd bench: no checkpoints in {args.checkpoints} (run sgd quickstart first): model latency skipped")
    return status


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``bench``."""
    p = commands.add_parser("bench", help="benchmarks: env throughput, evaluation throughput, model latency -> RESULTS.md")
    p.add_argument("--only", choices=("env", "eval", "model", "all"), default="all", help="which benchmark (default: all)")
    p.add_argument("--ray", action="store_true", help="eval: also time the Ray backend (needs the ray extra)")
    p.add_argument("--checkpoints", default="runs/quickstart/checkpoints", help="model: planner/, executor/, flat/ folder")
    p.add_argument("--data", default="runs/quickstart/data", help="model: data folder holding examples/")
    p.add_argument("--out", default="runs/bench", help="folder for the JSON results (default: runs/bench)")
    p.add_argument(
        "--results-md", default="benchmarks/RESULTS.md", help="markdown file to update (default: benchmarks/RESULTS.md)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=bench_command)
