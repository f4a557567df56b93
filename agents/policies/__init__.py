"""The agent's policies, one module per family, behind one loader.

``Policy`` (``base``) maps text sources to text targets (save, load, generate). ``Seq2SeqPolicy`` (``seq2seq``) wraps a
T5/FLAN-T5; ``CausalLMPolicy`` (``causal_lm``) a decoder-only causal LM, which reads the source and a fixed separator
(``CAUSAL_SEPARATOR``) and continues with the target. ``load_policy(path)`` returns the class that ``POLICY_CLASSES``
registers for the family saved in ``sgd_policy.json``; a policy may be a LoRA adapter over a base model
(``agents.pretrained``), which records its base. ``checkpoint`` reads a folder's settings and parameter counts without
loading weights; ``tokenizer`` holds the domain tokenizer and the causal LM encoding.

A new family is a module with its class and one line in ``POLICY_CLASSES``; checkpoints may then record it. A
family's class has a ``family`` name (what ``sgd_policy.json`` records), a classmethod ``load(path, device)`` and a
classmethod ``checkpoint_files(path, settings)`` (the files of a complete checkpoint; ``Policy`` has both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from agents.policies.base import Policy
from agents.policies.causal_lm import CausalLMPolicy
from agents.policies.checkpoint import POLICY_CLASSES, read_policy_settings
from agents.policies.scorer import SCORER, ScorerPolicy
from agents.policies.seq2seq import Seq2SeqPolicy
from agents.pretrained import CAUSAL_LM, SEQ2SEQ

# The families: name (sgd_policy.json's "family") -> the class that saves and loads it (see the module docstring).
# The dict is agents.policies.checkpoint's, which validates a checkpoint's family against its keys.
POLICY_CLASSES.update(
    {
        SEQ2SEQ: Seq2SeqPolicy,
        CAUSAL_LM: CausalLMPolicy,
        SCORER: ScorerPolicy,
    }
)


def load_policy(path: str | Path, device: torch.device | str | None = None) -> Any:
    """Load any saved policy as the class ``POLICY_CLASSES`` registers for its family.

    Args:
        path: the policy folder (``sgd train ... --out PATH``).
        device: where the model runs; the first GPU when there is one, else the CPU.

    Returns:
        The policy: a ``Seq2SeqPolicy``, a ``CausalLMPolicy`` or a ``ScorerPolicy`` (a candidate scorer, on the CPU).

    Raises:
        CheckpointError: the folder is missing, incomplete or corrupt, or records an unknown family.
    """
    return POLICY_CLASSES[read_policy_settings(path)["family"]].load(path, device)


__all__ = ["POLICY_CLASSES", "CausalLMPolicy", "Policy", "ScorerPolicy", "Seq2SeqPolicy", "load_policy"]
