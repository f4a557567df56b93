"""A really tiny random Llama causal LM saved as a pretrained folder, the causal counterpart of the micro T5."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from agents.policies.tokenizer import train_tokenizer

TINY_LLAMA = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)


def save_tiny_llama(folder: Path, texts: Iterable[str], vocab_size: int = 400, seed: int = 0) -> Path:
    """Save a random 2-layer Llama (about 30k parameters) and a domain tokenizer trained on ``texts`` into ``folder``,
    as a pretrained model folder for ``--init``."""
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
        **TINY_LLAMA,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
