"""``sgd collect``, ``sgd annotate``, ``sgd build-data``: the data pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from benchmarks.cli.common import add_tasks, positive, variations
from sgd_gym.tasks import SPLITS


def collect_command(args: argparse.Namespace) -> int:
    """Collect gold trajectories."""
    from agents.data.collect import collect
    from sgd_gym.io import read_jsonl

    path = collect(args.tasks, args.split, args.variations, args.out, args.workers, args.simplifications, args.overwrite)
    records = read_jsonl(path)
    steps = sum(len(r["steps"]) for r in records)
    print(f"{path}: {len(records)} trajectories, {steps} steps")
    return 0


def annotate_command(args: argparse.Namespace) -> int:
    """Annotate trajectories with sub-goals, or print annotation statistics."""
    from agents.data import annotate

    if args.stats:
        stats = annotate.annotation_stats(args.data, args.method)
        print(
            json.dumps(stats, indent=2)
            if args.json
            else f"{args.method} annotations of {args.data}\n" + annotate.stats_table(stats)
        )
        return 0
    if args.method == "rules":
        path = annotate.annotate_rules(args.data, args.max_steps)
    elif args.method == "import":
        if not args.source:
            print("sgd annotate: --method import needs --from FILE", file=sys.stderr)
            return 2
        path = annotate.import_annotations(args.data, args.source)
    else:
        from agents.data.annotate_llm import annotate_llm

        stats = annotate_llm(
            args.data, base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, max_steps=args.max_steps
        )
        logging.getLogger("sgd.annotate").info(
            ", ".join(f"{k} {round(v, 3) if isinstance(v, float) else v}" for k, v in stats.items() if k != "records")
        )
        path = annotate.annotation_path(args.data, "llm")
    print(f"{path}: written")
    return 0


def build_data_command(args: argparse.Namespace) -> int:
    """Build planner/executor/flat examples."""
    from agents.data.datasets import build_data

    counts = build_data(args.data, args.annotations, args.max_tokens, args.max_history)
    for name, count in counts.items():
        print(f"{args.data}/examples/{name}.jsonl: {count} examples")
    return 0


def build_decisions_command(args: argparse.Namespace) -> int:
    """Replay the gold paths with their candidates (decision data for scorers) and print how the choices matched."""
    from agents.data.decisions import collect_candidates, coverage_table, decisions

    done = collect_candidates(args.data, args.workers)
    print(f"{args.data}/candidates: {done['replayed']} gold paths replayed, {done['reused']} reused")
    _, counts = decisions(args.data, args.split, args.annotations)
    print(coverage_table(counts))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``collect``, ``annotate``, ``build-data`` and ``build-decisions``."""
    p = commands.add_parser("collect", help="collect ScienceWorld gold trajectories into DATA/trajectories.jsonl")
    add_tasks(p)
    p.add_argument("--split", choices=SPLITS, default="train", help="variation split (default: train)")
    p.add_argument("--variations", type=variations, default=5, help="first N variations per task, or 'all' (default: 5)")
    p.add_argument("--workers", type=positive, default=2, help="worker processes, one JVM each (default: 2)")
    p.add_argument("--simplifications", default="easy", help="ScienceWorld simplifications (default: easy)")
    p.add_argument("--out", default="data", help="data folder (default: data)")
    p.add_argument("--overwrite", action="store_true", help="discard the folder's trajectories of other simplifications")
    p.set_defaults(func=collect_command)

    p = commands.add_parser("annotate", help="segment trajectories into sub-goals -> DATA/annotations.<method>.jsonl")
    p.add_argument("--method", choices=("rules", "llm", "import"), default="rules", help="annotator (default: rules)")
    p.add_argument("--data", default="data", help="data folder holding trajectories.jsonl (default: data)")
    p.add_argument("--from", dest="source", help="with --method import: the JSONL file of annotations to import")
    p.add_argument("--stats", action="store_true", help="print statistics of existing annotations instead (a table)")
    p.add_argument("--json", action="store_true", help="with --stats: the statistics as JSON")
    p.add_argument("--max-segment-steps", dest="max_steps", type=positive, default=10,
                   help="rules, llm: the longest segment of one repeated action (default: 10)")  # fmt: skip
    p.add_argument("--base-url", help="llm: OpenAI-compatible base URL (default: $SGD_LLM_BASE_URL)")
    p.add_argument("--model", help="llm: model name (default: $SGD_LLM_MODEL)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="llm: env var holding the API key (default: OPENAI_API_KEY)")
    p.set_defaults(func=annotate_command)

    p = commands.add_parser("build-data", help="planner/executor/flat examples -> DATA/examples/{kind}.{train,dev}.jsonl")
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.add_argument(
        "--annotations", choices=("rules", "llm", "import"), default="rules", help="which annotations (default: rules)"
    )
    p.add_argument("--max-tokens", type=positive, default=512, help="source token budget (default: 512)")
    p.add_argument("--max-history", type=positive, default=10, help="most (action, observation) pairs kept (default: 10)")
    p.set_defaults(func=build_data_command)

    p = commands.add_parser("build-decisions", help="candidate scorers' decision data: gold paths replayed with every "
                            "state's accepted actions -> DATA/candidates/, and how the expert's choices match them")  # fmt: skip
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.add_argument("--workers", type=positive, default=2, help="worker processes, one JVM each (default: 2)")
    p.add_argument(
        "--annotations", choices=("rules", "llm", "import"), default="rules", help="which annotations (default: rules)"
    )
    p.add_argument("--split", choices=("train", "dev"), default="train", help="split of the match table (default: train)")
    p.set_defaults(func=build_decisions_command)
