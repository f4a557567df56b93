"""Train a planner, executor or flat seq2seq policy on ``DATA/examples/{kind}.{train,dev}.jsonl``.

One command trains, logs to TensorBoard, checkpoints and resumes; run it again to continue::

    python -m agents.train planner --data DATA --out CKPT/planner --preset tiny --max-minutes 60
    tensorboard --logdir CKPT/planner/runs

Training goes through ``transformers``' ``Seq2SeqTrainer``, so the same command runs data-parallel on several GPUs or
machines (``--batch-size`` is per device)::

    torchrun --nproc_per_node 4 -m agents.train planner --data DATA --out CKPT/planner --preset small
    accelerate launch --num_processes 8 --num_machines 2 ... -m agents.train planner --data DATA --out CKPT/planner

Layout of ``out``: the final policy (the checkpoint with the lowest dev loss, loadable with ``Seq2SeqPolicy.load``),
``train_summary.json``, ``tokenizer/`` (the domain tokenizer, trained once), ``checkpoints/`` and ``runs/`` (TensorBoard:
``train/loss``, ``eval/loss``, ``eval/accuracy``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoTokenizer,
    DataCollatorForSeq2Seq,
    EvalPrediction,
    PreTrainedTokenizerBase,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    T5ForConditionalGeneration,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    set_seed,
)
from transformers.integrations import TensorBoardCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint

from agents.models import KINDS, PRESETS, Seq2SeqPolicy, build_model, count_parameters, load_tokenizer_for_init, train_tokenizer
from sgd_gym.io import DataFileError, atomic_write_text, iter_jsonl

SUMMARY_FILE = "train_summary.json"
PRECISIONS = ("fp32", "bf16")
CLOCK_FILE = "wall_clock.json"  # in each checkpoint: training seconds spent so far, so a time budget spans resumed runs


def read_examples(path: Path) -> list[dict[str, str]]:
    """The ``{source, target}`` records of a JSONL file; raises ``DataFileError`` naming the file and record."""
    examples = []
    for number, record in enumerate(iter_jsonl(path), 1):
        if not isinstance(record.get("source"), str) or not isinstance(record.get("target"), str):
            raise DataFileError(
                f"{path}: record {number}: expected string fields 'source' and 'target', got keys {sorted(record)}"
            )
        examples.append({"source": record["source"], "target": record["target"]})
    return examples


def encode_examples(
    tokenizer: PreTrainedTokenizerBase, examples: list[dict[str, str]], max_source_tokens: int, max_target_tokens: int
) -> list[dict[str, list[int]]]:
    """Token ids of sources (``input_ids``) and targets (``labels``), cut from the right to the token budgets."""
    if not examples:
        return []
    sources = tokenizer([example["source"] for example in examples], truncation=True, max_length=max_source_tokens)
    targets = tokenizer(text_target=[example["target"] for example in examples], truncation=True, max_length=max_target_tokens)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": labels}
        for ids, mask, labels in zip(sources["input_ids"], sources["attention_mask"], targets["input_ids"])
    ]


def next_token_predictions(logits: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor) -> torch.Tensor:
    """Keep only the argmax token of each position (the evaluation loop would otherwise gather every logit)."""
    return (logits[0] if isinstance(logits, tuple) else logits).argmax(dim=-1)


def exact_match_accuracy(prediction: EvalPrediction) -> dict[str, float]:
    """The fraction of dev targets that greedy decoding reproduces exactly.

    Greedy decoding outputs a target exactly when every next-token argmax along the target (teacher forcing) is right,
    end token included, so this needs no generation.
    """
    predictions, labels = np.asarray(prediction.predictions), np.asarray(prediction.label_ids)
    known = labels != -100
    return {"accuracy": float(((predictions == labels) | ~known).all(axis=1).mean())}


class WallClock(TrainerCallback):
    """Stops training once ``max_seconds`` of training (summed over resumed runs) are spent, and times the steps."""

    def __init__(self, max_seconds: float | None, spent_seconds: float = 0.0) -> None:
        self.max_seconds = max_seconds
        self.spent_before = spent_seconds
        self.started = time.monotonic()
        self.step_started = 0.0
        self.step_seconds = 0.0  # optimizer steps only: no evaluation or checkpointing
        self.first_step: int | None = None

    def spent(self) -> float:
        """Training seconds spent, this run and the runs it resumes."""
        return self.spent_before + time.monotonic() - self.started

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        self.started = time.monotonic()
        self.first_step = state.global_step

    def on_step_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        self.step_started = time.monotonic()

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> TrainerControl:
        self.step_seconds += time.monotonic() - self.step_started
        if self.max_seconds is not None and self.spent() >= self.max_seconds:
            control.should_training_stop = True
            control.should_save = True
            control.should_evaluate = args.eval_strategy != "no"
        return control

    def on_save(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
            atomic_write_text(folder / CLOCK_FILE, json.dumps({"spent_seconds": self.spent()}) + "\n")


def prepare_tokenizer(
    folder: Path, examples: list[dict[str, str]], vocab_size: int, init: str | None = None
) -> PreTrainedTokenizerBase:
    """The pretrained model's tokenizer, else the one saved in ``folder``, else a new one trained on ``examples`` and saved."""
    if init is not None:
        return load_tokenizer_for_init(init)
    if (folder / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(folder)
    tokenizer = train_tokenizer([text for example in examples for text in (example["source"], example["target"])], vocab_size)
    partial = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    tokenizer.save_pretrained(partial)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(partial, folder)
    return tokenizer


def finished(checkpoint: str, examples: int, args: Seq2SeqTrainingArguments, clock: WallClock) -> bool:
    """Whether the run that wrote ``checkpoint`` already spent the step or time budget of ``args`` and ``clock``."""
    steps = json.loads((Path(checkpoint) / TRAINER_STATE_NAME).read_text(encoding="utf-8"))["global_step"]
    steps_per_epoch = math.ceil(examples / (args.per_device_train_batch_size * args.world_size))
    planned = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
    return steps >= planned or (clock.max_seconds is not None and clock.spent_before >= clock.max_seconds)


def check_arguments(kind: str, preset: str, init: str | None, precision: str = "fp32", **numbers: float | None) -> None:
    """Raise ``ValueError`` for an unknown kind, preset or precision or a number out of range, before any work."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}, expected one of {list(PRECISIONS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}, expected one of {list(KINDS)}")
    if init is None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}, expected one of {sorted(PRESETS)} (or an init model)")
    lowest = {"num_workers": 0, "vocab_size": 259}  # the other numbers must be positive
    for name, value in numbers.items():
        if value is None:
            continue
        if name in lowest and not value >= lowest[name]:
            raise ValueError(f"{name} must be at least {lowest[name]}, got {value!r}")
        if name not in lowest and not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


def train(
    kind: str,
    data: str | Path,
    out: str | Path,
    preset: str = "tiny",
    init: str | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    epochs: float = 10,
    learning_rate: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
    eval_steps: int = 200,
    max_source_tokens: int = 512,
    max_target_tokens: int = 32,
    vocab_size: int = 4000,
    num_workers: int = 0,
    precision: str = "fp32",
    resume: bool = True,
    progress: bool = True,
    config_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train one policy and save the checkpoint with the lowest dev loss as ``Seq2SeqPolicy`` in ``out``.

    Args:
        kind: ``planner``, ``executor`` or ``flat``; reads ``data/examples/{kind}.train.jsonl`` and ``.dev.jsonl``.
        data: the data folder.
        out: the output folder (see the module docstring for its layout).
        preset: a key of ``PRESETS``, trained from scratch with a domain tokenizer.
        init: a local folder or hub name of a pretrained T5/FLAN-T5 to fine-tune instead (with its own tokenizer).
        max_steps: stop after this many optimizer steps (overrides ``epochs``).
        max_minutes: stop once this much wall-clock training time is spent (summed over resumed runs).
        epochs: passes over the training set when ``max_steps`` is not given.
        learning_rate: peak AdamW learning rate (linear warm-up over 5% of the steps, then linear decay).
        batch_size: examples per optimizer step and device.
        seed: seeds model initialisation and data order.
        eval_steps: evaluate on dev and checkpoint every this many steps.
        max_source_tokens: sources are cut to this many tokens.
        max_target_tokens: targets are cut to this many tokens; also the generation length of the saved policy.
        vocab_size: the domain tokenizer's vocabulary size.
        num_workers: data loader worker processes.
        precision: ``fp32``, or ``bf16`` for bfloat16 mixed precision (fp32 master weights; faster on GPUs that have it).
        resume: continue from the last checkpoint in ``out/checkpoints``; ``False`` deletes them and starts over.
        progress: show progress bars.
        config_overrides: ``T5Config`` fields replacing the preset's.

    Returns:
        The summary also written to ``out/train_summary.json``: kind, examples_train, examples_dev, parameters, steps,
        wall_time (seconds of this run), train_examples_per_s, best_eval_loss, dev_accuracy (greedy exact match of the
        saved policy on dev), out.
    """
    check_arguments(
        kind,
        preset,
        init,
        precision,
        max_steps=max_steps,
        max_minutes=max_minutes,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        eval_steps=eval_steps,
        max_source_tokens=max_source_tokens,
        max_target_tokens=max_target_tokens,
        vocab_size=vocab_size,
        num_workers=num_workers,
    )
    started = time.monotonic()
    data, out = Path(data), Path(out)
    train_examples = read_examples(data / "examples" / f"{kind}.train.jsonl")
    dev_examples = read_examples(data / "examples" / f"{kind}.dev.jsonl")
    if not train_examples:
        raise DataFileError(f"{data / 'examples' / f'{kind}.train.jsonl'}: no examples")
    has_dev = bool(dev_examples)
    checkpoints = out / "checkpoints"
    args = Seq2SeqTrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=2 * batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0.05,
        num_train_epochs=epochs,
        max_steps=max_steps or -1,
        eval_strategy="steps" if has_dev else "no",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=2,
        load_best_model_at_end=has_dev,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=min(eval_steps, 50),
        report_to=["tensorboard"],
        disable_tqdm=not progress,
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=num_workers,
        bf16=precision == "bf16",
    )

    with args.main_process_first(local=False, desc="tokenizer"):  # one process trains the tokenizer, the others load it
        if not resume:
            shutil.rmtree(checkpoints, ignore_errors=True)
            shutil.rmtree(out / "tokenizer", ignore_errors=True)
        tokenizer = prepare_tokenizer(out / "tokenizer", train_examples, vocab_size, init)

    set_seed(seed)
    train_dataset = encode_examples(tokenizer, train_examples, max_source_tokens, max_target_tokens)
    last_checkpoint = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    spent = 0.0
    if last_checkpoint is not None and (Path(last_checkpoint) / CLOCK_FILE).is_file():
        spent = float(json.loads((Path(last_checkpoint) / CLOCK_FILE).read_text(encoding="utf-8"))["spent_seconds"])
    clock = WallClock(max_minutes * 60 if max_minutes is not None else None, spent)
    if last_checkpoint is not None and finished(last_checkpoint, len(train_dataset), args, clock):
        # Resuming would still take one step; the last run ended where this one would, so keep its result.
        state = TrainerState.load_from_json(str(Path(last_checkpoint) / TRAINER_STATE_NAME))
        best_checkpoint = (
            state.best_model_checkpoint if state.best_model_checkpoint and Path(state.best_model_checkpoint).is_dir() else None
        )
        model = T5ForConditionalGeneration.from_pretrained(best_checkpoint or last_checkpoint)
        clock.first_step = state.global_step
    else:
        model = build_model(preset, tokenizer, init=init, config_overrides=config_overrides)
        trainer = Seq2SeqTrainer(
            model=model,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=encode_examples(tokenizer, dev_examples, max_source_tokens, max_target_tokens) if has_dev else None,
            data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
            processing_class=tokenizer,
            compute_metrics=exact_match_accuracy if has_dev else None,
            preprocess_logits_for_metrics=next_token_predictions if has_dev else None,
            callbacks=[clock],
        )
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, TensorBoardCallback):
                callback.logging_dir = str(out / "runs")
        trainer.train(resume_from_checkpoint=last_checkpoint)
        state, model = trainer.state, trainer.model

    best = next((log for log in state.log_history if "eval_loss" in log and log.get("step") == state.best_global_step), {})
    steps_this_run = state.global_step - (clock.first_step or 0)
    summary = {
        "kind": kind,
        "examples_train": len(train_examples),
        "examples_dev": len(dev_examples),
        "parameters": count_parameters(model),
        "steps": state.global_step,
        "resumed_from_step": clock.first_step or 0,
        "wall_time": round(time.monotonic() - started, 3),
        "train_examples_per_s": round(steps_this_run * batch_size * args.world_size / clock.step_seconds, 2)
        if clock.step_seconds
        else None,
        "best_eval_loss": state.best_metric,
        "dev_accuracy": best.get("eval_accuracy"),
        "out": str(out),
    }
    if args.process_index == 0:
        metadata = {**summary, "preset": None if init else preset, "init": init, "data": str(data), "seed": seed}
        metadata |= {
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "precision": precision,
            "training_seconds": round(clock.spent(), 3),
        }
        Seq2SeqPolicy(
            model,
            tokenizer,
            kind=kind,
            preset=None if init else preset,
            max_source_tokens=max_source_tokens,
            max_target_tokens=max_target_tokens,
            metadata=metadata,
        ).save(out)
        atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def _number(kind: type, minimum: float, strict: bool) -> Any:
    """An argparse type: ``kind`` values above (``strict``) or at least ``minimum``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if value < minimum or (strict and value == minimum) or math.isnan(value):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {minimum}, got {text!r}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m agents.train KIND --data DATA --out OUT [options]`` (``--help`` lists them)."""
    positive_int, positive_float = _number(int, 0, True), _number(float, 0, True)
    parser = argparse.ArgumentParser(
        prog="python -m agents.train", description="Train a planner, executor or flat seq2seq policy."
    )
    parser.add_argument("kind", choices=KINDS, help="which policy: reads DATA/examples/KIND.train.jsonl and KIND.dev.jsonl")
    parser.add_argument("--data", required=True, help="the data folder (with examples/)")
    parser.add_argument("--out", required=True, help="output folder: final policy, checkpoints/, runs/, train_summary.json")
    parser.add_argument(
        "--preset", default="tiny", choices=sorted(PRESETS), help="model size, trained from scratch (default: tiny)"
    )
    parser.add_argument("--init", default=None, help="local folder or hub name of a pretrained T5/FLAN-T5 to fine-tune instead")
    parser.add_argument(
        "--max-steps", type=positive_int, default=None, help="stop after this many optimizer steps (overrides --epochs)"
    )
    parser.add_argument("--max-minutes", type=positive_float, default=None, help="stop after this much training wall-clock time")
    parser.add_argument("--epochs", type=positive_float, default=10, help="passes over the training set (default: 10)")
    parser.add_argument("--learning-rate", type=positive_float, default=1e-3, help="peak learning rate (default: 1e-3)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="examples per step and device (default: 16)")
    parser.add_argument("--seed", type=_number(int, 0, False), default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--eval-steps", type=positive_int, default=200, help="evaluate on dev and checkpoint every N steps (default: 200)"
    )
    parser.add_argument("--max-source-tokens", type=positive_int, default=512, help="source token budget (default: 512)")
    parser.add_argument("--max-target-tokens", type=positive_int, default=32, help="target token budget (default: 32)")
    parser.add_argument(
        "--vocab-size", type=_number(int, 259, False), default=4000, help="domain tokenizer vocabulary (default: 4000)"
    )
    parser.add_argument("--num-workers", type=_number(int, 0, False), default=0, help="data loader processes (default: 0)")
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="fp32, or bf16 mixed precision on a GPU (default: fp32)"
    )
    parser.add_argument("--no-resume", dest="resume", action="store_false", help="delete old checkpoints in OUT and start over")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    options = vars(parser.parse_args(argv))
    summary = train(options.pop("kind"), **options)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
