"""Model inference latency (ms per generated action, batch 1 and batched) and training figures of checkpoints.

python -m benchmarks.measure.model_latency --data runs/quickstart/data --checkpoints runs/quickstart/checkpoints
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.io import read_jsonl

KINDS = ("planner", "executor", "flat")


def time_generation(policy: Any, sources: list[str], batch_size: int, num_beams: int, repeats: int = 3) -> float:
    """Median milliseconds per source when generating for ``sources`` in batches of ``batch_size``."""
    policy.generate(sources[:batch_size], num_beams=num_beams, num_return_sequences=num_beams, batch_size=batch_size)  # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        policy.generate(sources, num_beams=num_beams, num_return_sequences=num_beams, batch_size=batch_size)
        runs.append(1000 * (time.perf_counter() - start) / len(sources))
    return statistics.median(runs)


def measure(data: str | Path, checkpoints: str | Path, sources_per_kind: int = 32, num_beams: int = 3) -> dict[str, Any]:
    """Latency at batch 1 and batch ``sources_per_kind`` for each model, plus its training summary."""
    import torch

    from agents.policies import load_policy
    from agents.policies.checkpoint import policy_parameter_counts

    torch.manual_seed(0)
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "num_beams": num_beams, "models": {}}
    for kind in KINDS:
        path = Path(checkpoints) / kind
        policy = load_policy(path)
        counts = policy_parameter_counts(path)
        split = "dev" if (Path(data) / "examples" / f"{kind}.dev.jsonl").stat().st_size else "train"
        sources = [r["source"] for r in read_jsonl(Path(data) / "examples" / f"{kind}.{split}.jsonl")[:sources_per_kind]]
        summary_path = path / "train_summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        out["models"][kind] = {
            "family": policy.family,
            "parameters": counts.total,
            "trainable_parameters": counts.trainable,
            "ms_per_action_batch_1": time_generation(policy, sources, 1, num_beams),
            f"ms_per_action_batch_{len(sources)}": time_generation(policy, sources, len(sources), num_beams),
            "batch": len(sources),
            "train_examples_per_s": summary.get("train_examples_per_s"),
            "dev_accuracy": summary.get("dev_accuracy"),
            "steps": summary.get("steps"),
            "train_minutes": (summary.get("wall_time") or 0) / 60,
        }
    return out


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section."""
    lines = [
        "## Models: training and inference (`benchmarks/model_latency.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; torch threads: {result['threads']}; beam {result['num_beams']}.",
        "- Training figures come from each checkpoint's `train_summary.json` (dev accuracy = exact match of the greedy "
        "next action / sub-goal on ScienceWorld's dev split).",
        "",
        "| model | parameters | train examples/s | steps | train min | dev accuracy | ms/action, batch 1 | ms/action, batched |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in result["models"].items():
        batched = row[f"ms_per_action_batch_{row['batch']}"]
        accuracy = "-" if row["dev_accuracy"] is None else f"{100 * row['dev_accuracy']:.1f}%"
        speed = "-" if row["train_examples_per_s"] is None else f"{row['train_examples_per_s']:.1f}"
        lines.append(
            f"| {kind} | {row['parameters']:,} | {speed} | {row['steps']} | {row['train_minutes']:.1f} | {accuracy} | "
            f"{row['ms_per_action_batch_1']:.1f} | {batched:.1f} (batch {row['batch']}) |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.model_latency", __doc__)
    parser.add_argument("--data", required=True, help="data folder holding examples/")
    parser.add_argument("--checkpoints", required=True, help="folder holding planner/, executor/, flat/")
    parser.add_argument("--sources", type=int, default=32, help="sources per model (the batched batch size; default 32)")
    parser.add_argument("--num-beams", type=int, default=3, help="beam width (default 3)")
    parser.add_argument("--out", help="JSON file for the result")
    args = parser.parse_args(argv)
    result = measure(args.data, args.checkpoints, args.sources, args.num_beams)
    command = command_line("benchmarks.measure.model_latency", argv)
    publish("model_latency", result, markdown_section(result, command), args.out, args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
