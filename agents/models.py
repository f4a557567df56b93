"""Seq2seq models of the agent: the domain tokenizer, T5 presets, and ``Seq2SeqPolicy`` (save, load, generate)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoTokenizer,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from sgd_gym.io import atomic_write_text

KINDS = ("planner", "executor", "flat")
POLICY_FILE = "sgd_policy.json"
SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2 as in T5; <pad> is also the decoder start token

# T5 v1.1 / FLAN-T5 style (gated-GELU feed-forward, shared input/output embeddings); sizes with a 4,000-token vocabulary.
PRESETS: dict[str, dict[str, Any]] = {
    # 8.9M parameters: trains on a CPU.
    "tiny": dict(d_model=256, d_ff=768, num_layers=4, num_decoder_layers=4, num_heads=4, d_kv=64, feed_forward_proj="gated-gelu"),
    # 49M parameters.
    "small": dict(
        d_model=512, d_ff=1536, num_layers=6, num_decoder_layers=6, num_heads=8, d_kv=64, feed_forward_proj="gated-gelu"
    ),
}


class CheckpointError(ValueError):
    """A policy checkpoint folder that is missing, incomplete or corrupt."""


def normalize_whitespace(text: str) -> str:
    """``text`` with runs of whitespace collapsed to one space and no leading or trailing space."""
    return " ".join(text.split())


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4000) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on ``texts`` that keeps frequent words whole and decodes back exactly.

    Words (``\\w+``: letters, digits, ``_``, so ``navigate_to`` and ``END_SG`` are words) carry their leading space;
    every punctuation character is its own piece. Byte-level pieces mean no text is ever unknown. Decoding returns the
    input with whitespace normalised. Special tokens follow T5: ``<pad>`` 0 (also decoder start), ``</s>`` 1 (appended to
    every sequence), ``<unk>`` 2.

    Args:
        texts: the training corpus (sources and targets).
        vocab_size: the largest vocabulary, at least 259 (256 bytes and 3 special tokens).

    Returns:
        The tokenizer, ready for ``transformers``.
    """
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size must be at least {256 + len(SPECIAL_TOKENS)}, got {vocab_size!r}")
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    # The leading space makes the first word the same token as the same word inside a sentence; the decoder drops it.
    backend.normalizer = normalizers.Sequence(
        [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip(), normalizers.Prepend(" ")]
    )
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(r" ?\w+| ?[^\s\w]"), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator((normalize_whitespace(text) for text in texts), trainer)
    backend.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", clean_up_tokenization_spaces=False
    )


def load_tokenizer_for_init(init: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a pretrained model (a local folder or a hub name; a hub name downloads)."""
    return AutoTokenizer.from_pretrained(init)


def build_model(
    preset: str | None,
    tokenizer: PreTrainedTokenizerBase,
    init: str | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> T5ForConditionalGeneration:
    """A T5 model: a preset initialised from scratch, or a pretrained T5/FLAN-T5 when ``init`` is given.

    Args:
        preset: a key of ``PRESETS``; ignored when ``init`` is given.
        tokenizer: sets the vocabulary size and the special token ids of a preset model.
        init: a local folder or hub name of a pretrained T5 (a hub name downloads); use its own tokenizer
            (``load_tokenizer_for_init``).
        config_overrides: ``T5Config`` fields that replace the preset's (e.g. a smaller model for tests).

    Returns:
        The model.
    """
    if init is not None:
        return T5ForConditionalGeneration.from_pretrained(init)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}, expected one of {sorted(PRESETS)} (or an init model)")
    config = T5Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        **{**PRESETS[preset], **(config_overrides or {})},
    )
    return T5ForConditionalGeneration(config)


def count_parameters(model: torch.nn.Module) -> int:
    """The number of distinct parameters of ``model`` (shared embeddings counted once)."""
    return sum(parameter.numel() for parameter in model.parameters())


def default_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _weights_file(path: Path) -> str:
    return "model.safetensors.index.json" if (path / "model.safetensors.index.json").is_file() else "model.safetensors"


def read_policy_settings(path: str | Path) -> dict[str, Any]:
    """The ``sgd_policy.json`` of a policy folder (kind, token budgets, training metadata), without loading weights.

    Raises:
        CheckpointError: the folder is missing, lacks a file of a complete policy, or its settings are corrupt.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    needed = (POLICY_FILE, "config.json", _weights_file(path), "tokenizer.json")
    missing = [name for name in needed if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: not a complete policy checkpoint, missing {', '.join(missing)}")
    try:
        settings = json.loads((path / POLICY_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt ({error})") from None
    if not isinstance(settings, dict) or settings.get("kind") not in KINDS:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt (expected an object with a kind in {list(KINDS)})")
    return settings


def policy_parameters(path: str | Path) -> int:
    """The parameter count of a policy folder without loading its weights: the training metadata's count, else the
    sum of the tensor sizes in the safetensors headers (``save_pretrained`` writes tied weights once, as
    ``count_parameters`` counts them). The headers are read either way, so a corrupt weights file is found here.

    Raises:
        CheckpointError: as ``read_policy_settings``, or an unreadable weights header.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    settings = read_policy_settings(path)
    weights = _weights_file(path)
    total = 0
    try:
        if weights.endswith(".index.json"):
            files = sorted(set(json.loads((path / weights).read_text(encoding="utf-8"))["weight_map"].values()))
        else:
            files = [weights]
        for name in files:
            with safe_open(str(path / name), framework="pt") as handle:
                for key in handle.keys():
                    total += math.prod(handle.get_slice(key).get_shape())
    except (OSError, ValueError, KeyError, SafetensorError) as error:
        raise CheckpointError(f"{path}: unreadable weights ({error})") from None
    parameters = (settings.get("metadata") or {}).get("parameters")
    return parameters if isinstance(parameters, int) else total


@dataclass
class Seq2SeqPolicy:
    """A seq2seq model with its tokenizer that maps text sources to text targets (planner, executor or flat agent).

    Args:
        model: the T5 model.
        tokenizer: its tokenizer.
        kind: ``planner``, ``executor`` or ``flat``.
        preset: the preset it was built from (``None`` for a pretrained init).
        max_source_tokens: sources are cut to this many tokens (from the right: the context puts what matters first).
        max_target_tokens: the default generation length.
        metadata: free-form training information, saved with the policy.
        device: where the model runs; the first GPU when there is one, else the CPU.
    """

    model: T5ForConditionalGeneration
    tokenizer: PreTrainedTokenizerBase
    kind: str = "flat"
    preset: str | None = None
    max_source_tokens: int = 512
    max_target_tokens: int = 32
    metadata: dict[str, Any] = field(default_factory=dict)
    device: torch.device | str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}, expected one of {list(KINDS)}")
        self.device = torch.device(self.device) if self.device is not None else default_device()
        self.model.to(self.device).eval()

    def save(self, path: str | Path) -> Path:
        """Write the model (safetensors), the tokenizer and ``sgd_policy.json`` into the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        settings = {
            "kind": self.kind,
            "preset": self.preset,
            "max_source_tokens": self.max_source_tokens,
            "max_target_tokens": self.max_target_tokens,
            "metadata": self.metadata,
        }
        # Written last: a folder with this file holds a complete policy.
        atomic_write_text(path / POLICY_FILE, json.dumps(settings, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str | None = None) -> Seq2SeqPolicy:
        """Load a policy written by ``save``; raises ``CheckpointError`` naming what is missing or corrupt."""
        path = Path(path)
        settings = read_policy_settings(path)
        weights = _weights_file(path)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (tokenizers and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt tokenizer ({error})") from error
        try:
            model = T5ForConditionalGeneration.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (safetensors, json and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt model config.json or {weights} ({error})") from error
        return cls(
            model=model,
            tokenizer=tokenizer,
            kind=settings["kind"],
            preset=settings.get("preset"),
            max_source_tokens=int(settings.get("max_source_tokens", 512)),
            max_target_tokens=int(settings.get("max_target_tokens", 32)),
            metadata=dict(settings.get("metadata") or {}),
            device=device,
        )

    def source_tokens(self, text: str) -> int:
        """The number of tokens ``text`` takes as a source (with the end-of-sequence token), to budget a context."""
        return len(self.tokenizer(text).input_ids)

    def generate(
        self,
        sources: list[str],
        num_beams: int = 1,
        num_return_sequences: int = 1,
        max_new_tokens: int | None = None,
        batch_size: int = 32,
    ) -> list[list[tuple[str, float]]]:
        """Generate targets for ``sources``: greedy when ``num_beams`` is 1, beam search otherwise.

        Args:
            sources: the source texts, cut to ``max_source_tokens``.
            num_beams: the beam width.
            num_return_sequences: candidates per source, at most ``num_beams``.
            max_new_tokens: the longest target; ``max_target_tokens`` by default.
            batch_size: sources per forward pass.

        Returns:
            For each source, its candidates in the order generation ranks them, each as (text with whitespace
            normalised, log-probability of its tokens under the model).
        """
        if num_beams < 1 or not 1 <= num_return_sequences <= num_beams:
            raise ValueError(f"need 1 <= num_return_sequences <= num_beams, got {num_return_sequences} and {num_beams}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size!r}")
        results: list[list[tuple[str, float]]] = []
        with torch.inference_mode():
            for start in range(0, len(sources), batch_size):
                batch = self.tokenizer(
                    sources[start : start + batch_size],
                    truncation=True,
                    max_length=self.max_source_tokens,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                output = self.model.generate(
                    **batch,
                    do_sample=False,
                    num_beams=num_beams,
                    num_return_sequences=num_return_sequences,
                    max_new_tokens=max_new_tokens or self.max_target_tokens,
                    output_scores=True,
                    output_logits=num_beams == 1,
                    return_dict_in_generate=True,
                )
                scores = self._sequence_log_probs(output, num_beams)
                texts = self.tokenizer.batch_decode(output.sequences, skip_special_tokens=True)
                candidates = [(normalize_whitespace(text), float(score)) for text, score in zip(texts, scores)]
                for i in range(0, len(candidates), num_return_sequences):
                    results.append(candidates[i : i + num_return_sequences])
        return results

    def _sequence_log_probs(self, output: Any, num_beams: int) -> torch.Tensor:
        """The summed token log-probabilities of each generated sequence, up to and including its end token."""
        if num_beams > 1:
            # Beam scores are log-softmaxed already; positions after a beam ends have index -1 and score 0.
            transition = self.model.compute_transition_scores(
                output.sequences, output.scores, output.beam_indices, normalize_logits=False
            )
            return transition.sum(dim=1)
        # The raw logits (the scores of greedy search may be processed).
        transition = self.model.compute_transition_scores(output.sequences, output.logits, normalize_logits=True)
        tokens = output.sequences[:, 1:]  # the first token is the decoder start
        is_end = tokens == self.tokenizer.eos_token_id
        after_end = (is_end.cumsum(dim=1) - is_end.long()) > 0  # padding after a finished sequence
        return transition.masked_fill(after_end, 0.0).sum(dim=1)
