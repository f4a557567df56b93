"""Compatibility names: the policies moved to ``agents.policies``, one module per job.

Every public name this module had is still importable from here (``from agents.models import load_policy`` keeps
working); new code imports from ``agents.policies`` (``load_policy``, ``POLICY_CLASSES``, ``Policy``) and its modules:
``tokenizer`` (domain tokenizer, causal LM encoding), ``checkpoint`` (settings, parameter counts, model card without
loading weights), ``base`` (``Policy``), ``seq2seq`` (``Seq2SeqPolicy``, T5 presets, ``build_model``) and ``causal_lm``
(``CausalLMPolicy``).
"""

from __future__ import annotations

from agents.policies import POLICY_CLASSES, load_policy
from agents.policies.base import Policy, count_parameters, default_device
from agents.policies.causal_lm import CausalLMPolicy
from agents.policies.checkpoint import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    KINDS,
    MODEL_CARD,
    POLICY_FILE,
    CheckpointError,
    ParameterCounts,
    model_card,
    policy_parameter_counts,
    policy_parameters,
    read_policy_settings,
)
from agents.policies.seq2seq import PRESETS, Seq2SeqPolicy, build_model
from agents.policies.tokenizer import (
    CAUSAL_SEPARATOR,
    SPECIAL_TOKENS,
    encode_causal_prompt,
    encode_causal_target,
    load_tokenizer_for_init,
    normalize_whitespace,
    prepare_causal_tokenizer,
    train_tokenizer,
)
from agents.pretrained import (  # names this module imported from agents.pretrained, once importable from here too
    CAUSAL_LM,
    FAMILIES,
    PACKAGED,
    SEQ2SEQ,
    PretrainedError,
    is_adapter,
    load_pretrained_model,
    local_base,
    model_family,
    peft_quiet,
    require,
    resolve_init,
)

__all__ = [
    "ADAPTER_CONFIG",
    "ADAPTER_WEIGHTS",
    "CAUSAL_LM",
    "CAUSAL_SEPARATOR",
    "FAMILIES",
    "KINDS",
    "MODEL_CARD",
    "PACKAGED",
    "POLICY_CLASSES",
    "POLICY_FILE",
    "PRESETS",
    "SEQ2SEQ",
    "SPECIAL_TOKENS",
    "CausalLMPolicy",
    "CheckpointError",
    "ParameterCounts",
    "Policy",
    "PretrainedError",
    "Seq2SeqPolicy",
    "build_model",
    "count_parameters",
    "default_device",
    "encode_causal_prompt",
    "encode_causal_target",
    "is_adapter",
    "load_policy",
    "load_pretrained_model",
    "load_tokenizer_for_init",
    "local_base",
    "model_card",
    "model_family",
    "normalize_whitespace",
    "peft_quiet",
    "policy_parameter_counts",
    "policy_parameters",
    "prepare_causal_tokenizer",
    "read_policy_settings",
    "require",
    "resolve_init",
    "train_tokenizer",
]
