"""The seq2seq family: T5/FLAN-T5 policies, and the T5 presets trained from scratch with the domain tokenizer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from transformers import AutoModelForSeq2SeqLM, PreTrainedTokenizerBase, T5Config, T5ForConditionalGeneration

from agents.policies.base import Policy
from agents.pretrained import SEQ2SEQ, load_pretrained_model, model_family, resolve_init

# T5 v1.1 / FLAN-T5 style (gated-GELU feed-forward, shared input/output embeddings); sizes with a 4,000-token vocabulary.
PRESETS: dict[str, dict[str, Any]] = {
    # 8.9M parameters: trains on a CPU.
    "tiny": dict(d_model=256, d_ff=768, num_layers=4, num_decoder_layers=4, num_heads=4, d_kv=64, feed_forward_proj="gated-gelu"),
    # 49M parameters.
    "small": dict(
        d_model=512, d_ff=1536, num_layers=6, num_decoder_layers=6, num_heads=8, d_kv=64, feed_forward_proj="gated-gelu"
    ),
}


def build_model(
    preset: str | None,
    tokenizer: PreTrainedTokenizerBase,
    init: str | None = None,
    config_overrides: dict[str, Any] | None = None,
) -> Any:
    """A T5 preset initialised from scratch, or the pretrained model at ``init`` (either family).

    Args:
        preset: a key of ``PRESETS``; ignored when ``init`` is given.
        tokenizer: sets the vocabulary size and the special token ids of a preset model.
        init: a local folder or hub name of a pretrained seq2seq or causal LM (a hub name downloads), or a packaged
            model (``smollm2-135m``, converted once); use its own tokenizer (``load_tokenizer_for_init``).
        config_overrides: ``T5Config`` fields that replace the preset's (e.g. a smaller model for tests).

    Returns:
        The model.
    """
    if init is not None:
        folder = resolve_init(init)
        return load_pretrained_model(folder, model_family(folder))
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


@dataclass
class Seq2SeqPolicy(Policy):
    """A T5/FLAN-T5 policy (``Policy``): the encoder reads the source, the decoder writes the target."""

    family: ClassVar[str] = SEQ2SEQ
    auto_model_class: ClassVar[Any] = AutoModelForSeq2SeqLM

    def source_tokens(self, text: str) -> int:
        """The number of tokens ``text`` takes as a source (with the end-of-sequence token), to budget a context."""
        return len(self.tokenizer(text).input_ids)

    def encode_sources(self, sources: list[str]) -> dict[str, torch.Tensor]:
        """The sources tokenized as T5 inputs, cut to ``max_source_tokens``, padded on the right."""
        return self.tokenizer(sources, truncation=True, max_length=self.max_source_tokens, padding=True, return_tensors="pt").to(
            self.device
        )

    def new_tokens(self, sequences: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The decoder's tokens after its start token."""
        return sequences[:, 1:]
