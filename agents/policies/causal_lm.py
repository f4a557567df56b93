"""The causal LM family: decoder-only policies (Llama/SmolLM2, Qwen2, GPT-2) that read the source and a fixed
separator and continue with the target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from transformers import AutoModelForCausalLM

from agents.policies.base import Policy
from agents.policies.tokenizer import CAUSAL_SEPARATOR, encode_causal_prompt, prepare_causal_tokenizer
from agents.pretrained import CAUSAL_LM


@dataclass
class CausalLMPolicy(Policy):
    """A decoder-only causal LM policy (``Policy``): the prompt is the source and ``separator``
    (``encode_causal_prompt``), the target follows it and ends with the end-of-sequence token; training's loss covers
    the target only. Batches are padded on the left for generation.

    Args:
        separator: the text between source and target (``CAUSAL_SEPARATOR``; saved with the policy).
    """

    family: ClassVar[str] = CAUSAL_LM
    auto_model_class: ClassVar[Any] = AutoModelForCausalLM
    separator: str = CAUSAL_SEPARATOR

    def __post_init__(self) -> None:
        prepare_causal_tokenizer(self.tokenizer)
        super().__post_init__()

    def settings(self) -> dict[str, Any]:
        """``Policy.settings`` and the separator."""
        settings = super().settings()
        return {**{key: value for key, value in settings.items() if key != "metadata"}, "separator": self.separator,
                "metadata": settings["metadata"]}  # fmt: skip

    @classmethod
    def options_from_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The separator recorded with the policy."""
        return {"separator": settings.get("separator", CAUSAL_SEPARATOR)}

    def source_tokens(self, text: str) -> int:
        """The number of tokens of ``text``'s prompt (begin token, source and separator)."""
        return len(encode_causal_prompt(self.tokenizer, text, self.max_source_tokens, self.separator))

    def encode_sources(self, sources: list[str]) -> dict[str, torch.Tensor]:
        """The prompts of ``sources``, padded on the left so that every row's next token is generated at the end."""
        prompts = [encode_causal_prompt(self.tokenizer, source, self.max_source_tokens, self.separator) for source in sources]
        width = max(len(prompt) for prompt in prompts)
        pad = self.tokenizer.pad_token_id
        input_ids = [[pad] * (width - len(prompt)) + prompt for prompt in prompts]
        mask = [[0] * (width - len(prompt)) + [1] * len(prompt) for prompt in prompts]
        device = self.device
        return {"input_ids": torch.tensor(input_ids, device=device), "attention_mask": torch.tensor(mask, device=device)}

    def generation_options(self) -> dict[str, Any]:
        """The tokenizer's end and padding tokens (the model's generation config may name others, e.g. a chat turn's end)."""
        return {"eos_token_id": self.tokenizer.eos_token_id, "pad_token_id": self.tokenizer.pad_token_id}

    def new_tokens(self, sequences: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The tokens after the prompt."""
        return sequences[:, inputs["input_ids"].shape[1] :]
