"""Pretrained SmolLM2-135M against the tiny T5 from scratch on this machine's CPU: load time, parameters (full and
LoRA), train step time, ms per action, and dev exact match of the next action at equal optimizer steps and examples.

python -m benchmarks.measure.pretrained --data DATA --work /tmp/sgd-pretrained --steps 40 --batch-size 8

DATA holds ``examples/{flat,executor}.{train,dev}.jsonl`` (``sgd collect``, ``sgd annotate --method rules``,
``sgd build-data``). Each model trains with ``agents.train`` into WORK (resumable: a re-run reloads finished runs);
the tiny T5 with its recipes' learning rate, SmolLM2 through a LoRA adapter. The first load converts the packaged
GGUF into WORK/cache (not the user's cache), so it is a first load whatever was converted before.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure.model_latency import time_generation
from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.io import read_jsonl

KINDS = ("flat", "executor")
SCRATCH, PRETRAINED = "tiny T5 (scratch)", "SmolLM2-135M + LoRA"


def starts(lora_rank: int) -> dict[str, dict[str, Any]]:
    """The compared starts as ``TrainSettings`` fields besides the shared budget."""
    return {
        SCRATCH: {"preset": "tiny", "learning_rate": 1e-3},  # the CPU and GPU recipes' rate
        PRETRAINED: {"init": "smollm2-135m", "lora_rank": lora_rank, "learning_rate": 5e-4},  # a usual LoRA rate
    }


def train_all(
    data: Path, work: Path, steps: int, batch_size: int, lora_rank: int, kinds: Sequence[str] = KINDS
) -> dict[str, dict[str, Any]]:
    """Train every (start, kind) pair with equal budgets; their training summaries by ``"start/kind"``."""
    from agents.train import TrainSettings, train

    summaries = {}
    for name, options in starts(lora_rank).items():
        for kind in kinds:
            settings = TrainSettings(kind, max_steps=steps, batch_size=batch_size, eval_steps=steps, max_source_tokens=256,
                                     max_target_tokens=32, seed=0, **options)  # fmt: skip
            summaries[f"{name}/{kind}"] = train(settings, data, work / folder_name(name, kind), progress=False)
    return summaries


def folder_name(name: str, kind: str) -> str:
    """The training folder of a start and kind."""
    return f"{'smollm2-lora' if name == PRETRAINED else 't5'}-{kind}"


def full_fine_tune_step(data: Path, work: Path, batch_size: int, steps: int = 3) -> dict[str, Any]:
    """A few optimizer steps of SmolLM2 fine-tuned whole (no evaluation): its parameters and seconds per step."""
    from agents.train import TrainSettings, train

    settings = TrainSettings("flat", init="smollm2-135m", max_steps=steps, batch_size=batch_size, eval_steps=10 * steps,
                             max_source_tokens=256, max_target_tokens=32, learning_rate=5e-5, seed=0)  # fmt: skip
    return train(settings, data, work / "smollm2-full-flat", progress=False)


def load_times(work: Path, lora_ranks: Sequence[int]) -> dict[str, Any]:
    """SmolLM2: first load (GGUF conversion into ``work/cache``) and cached load, trainable parameters per LoRA rank;
    the tiny T5 policy's load time."""
    from agents.policies import load_policy
    from agents.policies.base import count_parameters
    from agents.policies.tokenizer import load_tokenizer_for_init
    from agents.pretrained import CAUSAL_LM, SMOLLM2, LoraSettings, apply_lora, convert_packaged, load_pretrained_model

    cache = work / "cache" / SMOLLM2
    shutil.rmtree(cache, ignore_errors=True)

    def load() -> Any:  # the model and its tokenizer, as training and the policies load them
        load_tokenizer_for_init(str(cache))
        return load_pretrained_model(str(cache), CAUSAL_LM)

    started = time.perf_counter()
    convert_packaged(SMOLLM2, cache)
    load()
    first = time.perf_counter() - started
    started = time.perf_counter()
    model = load()
    cached = time.perf_counter() - started
    result = {"smollm2_first_load_s": first, "smollm2_cached_load_s": cached, "smollm2_parameters": count_parameters(model),
              "lora_trainable": {}}  # fmt: skip
    for rank in lora_ranks:
        adapted = apply_lora(load(), CAUSAL_LM, LoraSettings(rank), str(cache))
        result["lora_trainable"][rank] = sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    started = time.perf_counter()
    t5 = load_policy(work / folder_name(SCRATCH, "flat"))
    result |= {"t5_load_s": time.perf_counter() - started, "t5_parameters": count_parameters(t5.model)}
    return result


LATENCY_SETTINGS = ((1, 1), (1, "all"), (3, 1))  # (beams, batch): greedy alone and batched, the agents' beam 3 alone


def latencies(data: Path, work: Path, sources: int = 8, repeats: int = 2) -> dict[str, dict[str, float]]:
    """ms per action of the trained flat models (median of ``repeats`` passes over ``sources`` dev contexts): greedy
    at batch 1 and batch ``sources``, and beam 3 at batch 1."""
    from agents.policies import load_policy

    texts = [record["source"] for record in read_jsonl(data / "examples" / "flat.dev.jsonl")[:sources]]
    result: dict[str, dict[str, float]] = {}
    for name in (SCRATCH, PRETRAINED):
        policy = load_policy(work / folder_name(name, "flat"))
        result[name] = {}
        for beams, batch in LATENCY_SETTINGS:
            size = len(texts) if batch == "all" else int(batch)
            label = f"{'greedy' if beams == 1 else f'beam {beams}'}, batch {size}"
            result[name][label] = time_generation(policy, texts, size, beams, repeats=repeats)
    return result


def measure(
    data: str | Path,
    work: str | Path,
    steps: int,
    batch_size: int,
    lora_rank: int = 16,
    kinds: Sequence[str] = KINDS,
    sources: int = 8,
    repeats: int = 2,
    full_steps: int = 3,
) -> dict[str, Any]:
    """Everything the two RESULTS.md sections show (see the module docstring)."""
    import torch

    data, work = Path(data), Path(work)
    torch.manual_seed(0)
    result: dict[str, Any] = {
        "threads": torch.get_num_threads(),
        "steps": steps,
        "batch_size": batch_size,
        "lora_rank": lora_rank,
        "full_steps": full_steps,
    }
    result["training"] = train_all(data, work, steps, batch_size, lora_rank, kinds)
    result["full_fine_tune"] = full_fine_tune_step(data, work, batch_size, full_steps)
    result["load"] = load_times(work, (8, lora_rank))
    result["latency"] = latencies(data, work, sources, repeats)
    return result


def _seconds_per_step(summary: dict[str, Any], batch_size: int) -> str:
    speed = summary.get("train_examples_per_s")
    return f"{batch_size / speed:.1f}" if speed else "-"


def costs_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section of load times, parameters, step times and latency."""
    load, training, full = result["load"], result["training"], result["full_fine_tune"]
    batch, rank = result["batch_size"], result["lora_rank"]
    lines = [
        "## Pretrained SmolLM2-135M on CPU: load, parameters, speed (`benchmarks/measure/pretrained.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; torch threads: {result['threads']}.",
        f"- SmolLM2 load: first {load['smollm2_first_load_s']:.1f} s (de-quantizing the packaged Q4_1 GGUF into a "
        f"safetensors folder, then loading it), cached {load['smollm2_cached_load_s']:.1f} s; the tiny T5 policy loads "
        f"in {load['t5_load_s']:.2f} s.",
        "- Train step: seconds per optimizer step of "
        f"{batch} examples (contexts of at most 256 tokens), from the runs' own timing of their steps (no evaluation).",
        "",
        "| model | parameters | trainable | train s/step |",
        "| --- | ---: | ---: | ---: |",
        f"| tiny T5 (scratch) | {load['t5_parameters']:,} | {load['t5_parameters']:,} | "
        f"{_seconds_per_step(training[f'{SCRATCH}/flat'], batch)} |",
        f"| SmolLM2-135M, full fine-tune | {load['smollm2_parameters']:,} | {full['trainable_parameters']:,} | "
        f"{_seconds_per_step(full, batch)} |",
    ]
    for lora, trainable in sorted(load["lora_trainable"].items()):
        step = _seconds_per_step(training[f"{PRETRAINED}/flat"], batch) if int(lora) == rank else "-"
        lines.append(f"| SmolLM2-135M + LoRA rank {lora} (all linear layers) | {load['smollm2_parameters'] + trainable:,} | "
                     f"{trainable:,} | {step} |")  # fmt: skip
    settings = list(next(iter(result["latency"].values())))
    lines += ["", "ms per action (the trained flat models, dev contexts, at most 32 new tokens):", ""]
    lines += ["| model | " + " | ".join(settings) + " |", "| --- |" + " ---: |" * len(settings)]
    for name, row in result["latency"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[setting]:.0f}" for setting in settings) + " |")
    return "\n".join(lines)


def comparison_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section of dev exact match at equal steps."""
    training, steps, batch = result["training"], result["steps"], result["batch_size"]
    lines = [
        "## Pretrained vs scratch at equal steps on CPU (`benchmarks/measure/pretrained.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}.",
        f"- Each model: {steps} optimizer steps of {batch} examples ({steps * batch} examples) on the same train examples, "
        "then dev exact match of the next target (greedy decoding reproduces the whole target: the next action, or "
        "END_SG for the executor), on ScienceWorld's dev split. The tiny T5 learns at 1e-3 with the domain tokenizer, "
        f"SmolLM2-135M-Instruct at 5e-4 through a LoRA adapter of rank {result['lora_rank']}.",
        "",
        "| model | trainable | flat dev exact match | executor dev exact match | train minutes (wall, its runs) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in (SCRATCH, PRETRAINED):
        runs = [training.get(f"{name}/{kind}") for kind in KINDS]
        cells = [f"{100 * (run['dev_accuracy'] or 0):.1f}% of {run['examples_dev']}" if run else "not run" for run in runs]
        minutes = sum(run["wall_time"] for run in runs if run) / 60
        lines.append(f"| {name} | {runs[0]['trainable_parameters']:,} | {' | '.join(cells)} | {minutes:.1f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.pretrained", __doc__)
    parser.add_argument("--data", required=True, help="data folder holding examples/")
    parser.add_argument("--work", required=True, help="folder for the trained models and the conversion (resumable)")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per model (default 40)")
    parser.add_argument("--batch-size", type=int, default=8, help="examples per step (default 8)")
    parser.add_argument("--lora-rank", type=int, default=16, help="SmolLM2's LoRA rank (default 16)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="models to compare (default: flat,executor)")
    parser.add_argument("--sources", type=int, default=8, help="dev contexts timed per latency setting (default 8)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per latency setting (default 2)")
    parser.add_argument("--full-steps", type=int, default=3, help="steps of the full fine-tune timing (default 3)")
    parser.add_argument("--out", help="JSON file for the result")
    args = parser.parse_args(argv)
    kinds = args.kinds.split(",")
    if "flat" not in kinds or not set(kinds) <= set(KINDS):
        parser.error(f"--kinds must include flat (latency is timed on it) and be some of {list(KINDS)}, got {args.kinds!r}")
    result = measure(args.data, args.work, args.steps, args.batch_size, args.lora_rank, kinds, args.sources, args.repeats,
                     args.full_steps)  # fmt: skip
    command = command_line("benchmarks.measure.pretrained", argv)
    publish("pretrained_costs", result, costs_section(result, command), args.out, args.results_md)
    publish("pretrained_vs_scratch", result, comparison_section(result, command), None, args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
