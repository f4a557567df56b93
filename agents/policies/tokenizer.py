"""Tokenizers of the policies: the domain tokenizer trained for the T5 presets, a pretrained model's own, and how a
causal LM's prompt and target are encoded (the one encoding that training and generation share)."""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

CAUSAL_SEPARATOR = "\nnext:\n"  # between a causal LM's source and its target; saved with each policy
SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2 as in T5; <pad> is also the decoder start token


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


def prepare_causal_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """``tokenizer`` made ready for a causal LM policy: padding on the right (training; generation pads prompts on the
    left itself), and the end-of-sequence token as padding when it has none (the attention mask tells them apart).

    Raises:
        ValueError: the tokenizer has no end-of-sequence token (a target could not end).
    """
    if tokenizer.eos_token_id is None:
        raise ValueError(f"{type(tokenizer).__name__} has no end-of-sequence token: a causal LM policy needs one to end targets")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def _leading_bos(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """``[bos]`` when the tokenizer itself starts every text with its begin-of-sequence token (Llama 2/3), else ``[]``."""
    bos = tokenizer.bos_token_id
    return [bos] if bos is not None and tokenizer("a").input_ids[:1] == [bos] else []


def encode_causal_prompt(
    tokenizer: PreTrainedTokenizerBase, source: str, max_source_tokens: int, separator: str = CAUSAL_SEPARATOR
) -> list[int]:
    """A causal LM's prompt: the model's own begin token if it uses one, ``source`` cut to its first
    ``max_source_tokens`` tokens, then ``separator``. Training and generation build prompts with this one function."""
    ids = tokenizer(source, add_special_tokens=False).input_ids[:max_source_tokens]
    return _leading_bos(tokenizer) + ids + tokenizer(separator, add_special_tokens=False).input_ids


def encode_causal_target(tokenizer: PreTrainedTokenizerBase, target: str, max_target_tokens: int) -> list[int]:
    """A causal LM's target: ``target`` cut to ``max_target_tokens - 1`` tokens, then the end-of-sequence token (the
    budget counts it, as a T5 target's ``</s>``)."""
    return tokenizer(target, add_special_tokens=False).input_ids[: max_target_tokens - 1] + [tokenizer.eos_token_id]
