"""A policy checkpoint folder without its weights loaded: the files that make it complete, its settings
(``sgd_policy.json``: kind, family, token budgets, adapter, training metadata), its parameter counts from the
safetensors headers, and its model card.

The families a checkpoint may record are the keys of ``POLICY_CLASSES``, which ``agents.policies`` fills (its
``__init__`` lists the families): a new family is registered there, and only there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.policies.tokenizer import CAUSAL_SEPARATOR
from agents.pretrained import CAUSAL_LM, PACKAGED, SEQ2SEQ, local_base

KINDS = ("planner", "executor", "flat")
POLICY_FILE = "sgd_policy.json"
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"  # peft's names
MODEL_CARD = "README.md"
# family name (what sgd_policy.json's "family" records) -> the class that saves and loads it. Filled by agents.policies,
# which every import of this module runs first; kept here, the lowest module, so that loading and validation read it.
POLICY_CLASSES: dict[str, type] = {}


class CheckpointError(ValueError):
    """A policy checkpoint folder that is missing, incomplete or corrupt."""


def weights_file(path: Path) -> str:
    """The name of a full model's weights in ``path``: a sharded index when there is one, else ``model.safetensors``."""
    return "model.safetensors.index.json" if (path / "model.safetensors.index.json").is_file() else "model.safetensors"


def generative_files(path: Path, adapter: bool) -> tuple[str, ...]:
    """The files besides ``sgd_policy.json`` of a complete generative policy (either family): a full model's
    ``config.json`` and weights, or a LoRA adapter's config and weights; and the tokenizer.

    Args:
        path: the policy folder.
        adapter: whether it holds a LoRA adapter.

    Returns:
        The file names, in the order a missing one is reported.
    """
    model_files = (ADAPTER_CONFIG, ADAPTER_WEIGHTS) if adapter else ("config.json", weights_file(path))
    return (*model_files, "tokenizer.json")


def check_settings(path: Path, settings: Any) -> dict[str, Any]:
    """Validate the parsed ``sgd_policy.json`` of ``path``: a ``kind`` of ``KINDS``, a registered ``family`` (a policy
    saved without one is a ``seq2seq`` one, filled in), an adapter that names its base.

    Args:
        path: the policy folder (for messages).
        settings: what its ``sgd_policy.json`` holds.

    Returns:
        The settings, ``family`` filled in.

    Raises:
        CheckpointError: naming the file and what is wrong.
    """
    if not isinstance(settings, dict) or settings.get("kind") not in KINDS:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt (expected an object with a kind in {list(KINDS)})")
    settings.setdefault("family", SEQ2SEQ)  # written before causal LMs were supported: a T5
    if settings["family"] not in POLICY_CLASSES:
        raise CheckpointError(
            f"{path / POLICY_FILE}: corrupt (family {settings['family']!r}, expected one of {list(POLICY_CLASSES)})"
        )
    adapter = settings.get("adapter")
    if adapter is not None and not (isinstance(adapter, dict) and isinstance(adapter.get("base"), str)):
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt (an adapter must name its base, got {adapter!r})")
    return settings


def _load_settings(path: Path) -> dict[str, Any]:
    """The validated ``sgd_policy.json`` of ``path`` (``check_settings``)."""
    try:
        settings = json.loads((path / POLICY_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt ({error})") from None
    return check_settings(path, settings)


def read_policy_settings(path: str | Path) -> dict[str, Any]:
    """The ``sgd_policy.json`` of a policy folder (kind, family, token budgets, adapter, training metadata), without
    loading weights. The files a complete policy holds are its family's ``checkpoint_files``: for a generative one
    (``generative_files``), a full model needs ``config.json``, its safetensors weights and ``tokenizer.json``; a LoRA
    adapter ``adapter_config.json``, ``adapter_model.safetensors`` and ``tokenizer.json`` (its ``adapter`` names the
    base). A policy saved without ``family`` is a ``seq2seq`` one.

    Raises:
        CheckpointError: the folder is missing, lacks a file of a complete policy, or its settings are corrupt.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    settings = _load_settings(path) if (path / POLICY_FILE).is_file() else None
    if settings is None:  # the family is unknown: list what a generative policy would lack
        files = generative_files(path, (path / ADAPTER_CONFIG).is_file())
    else:
        files = POLICY_CLASSES[settings["family"]].checkpoint_files(path, settings)
    missing = [name for name in (POLICY_FILE, *files) if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: not a complete policy checkpoint, missing {', '.join(missing)}")
    assert settings is not None
    return settings


def _header_parameters(folder: Path, weights: str) -> int:
    """The summed tensor sizes in the safetensors headers of ``folder/weights`` (a file or a sharded index)."""
    from safetensors import SafetensorError, safe_open

    total = 0
    try:
        if weights.endswith(".index.json"):
            files = sorted(set(json.loads((folder / weights).read_text(encoding="utf-8"))["weight_map"].values()))
        else:
            files = [weights]
        for name in files:
            with safe_open(str(folder / name), framework="pt") as handle:
                for key in handle.keys():
                    total += math.prod(handle.get_slice(key).get_shape())
    except (OSError, ValueError, KeyError, SafetensorError) as error:
        raise CheckpointError(f"{folder}: unreadable weights ({error})") from None
    return total


@dataclass(frozen=True)
class ParameterCounts:
    """A policy's parameters: all that run at inference (``total``; a base model and its adapter together) and those
    training changed (``trainable``: the adapter's for LoRA, all of them for a full fine-tune or a preset)."""

    total: int
    trainable: int


def policy_parameter_counts(path: str | Path) -> ParameterCounts:
    """The parameter counts of a policy folder without loading its weights: the training metadata's counts, else the
    tensor sizes in the safetensors headers (``save_pretrained`` writes tied weights once, as ``count_parameters``
    counts them); for an adapter without counts in its metadata, its base's headers plus the adapter's. The policy's
    own headers are read either way, so a corrupt weights file is found here.

    Raises:
        CheckpointError: as ``read_policy_settings``, an unreadable weights header, or (adapter without counts) a base
            that is not on this machine.
    """
    path = Path(path)
    settings = read_policy_settings(path)
    metadata = settings.get("metadata") or {}
    own = _header_parameters(path, ADAPTER_WEIGHTS if settings.get("adapter") else weights_file(path))
    total, trainable = metadata.get("parameters"), metadata.get("trainable_parameters")
    if settings.get("adapter"):
        trainable = trainable if isinstance(trainable, int) else own
        if not isinstance(total, int):
            base = local_base(settings["adapter"]["base"])
            if base is None:
                raise CheckpointError(f"{path}: the adapter's base {settings['adapter']['base']!r} is not on this machine")
            total = _header_parameters(base, weights_file(base)) + own
        return ParameterCounts(total, trainable)
    total = total if isinstance(total, int) else own
    return ParameterCounts(total, trainable if isinstance(trainable, int) else total)


def policy_parameters(path: str | Path) -> int:
    """The parameter count of a policy folder (``policy_parameter_counts(path).total``), without loading weights."""
    return policy_parameter_counts(path).total


def _fact(value: Any) -> str:
    """A model card's value: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def model_card(settings: dict[str, Any]) -> str:
    """The ``README.md`` of a saved policy, as a model card: what it is and was trained from (the base and its
    license), the input format with one training example, how to run it with plain ``transformers`` (or
    ``load_policy``), the training facts (dev metrics, parameters, steps, data) and the command that made it."""
    metadata = settings.get("metadata") or {}
    adapter = settings.get("adapter")
    base = adapter["base"] if adapter else metadata.get("init")
    causal = settings.get("family") == CAUSAL_LM
    if base:
        start = f"fine-tuned from `{base}`"
        license_ = PACKAGED[base].license if base in PACKAGED else None  # a local folder: see its own card
    else:
        start = f"trained from scratch (`{settings.get('preset')}` preset, domain tokenizer)"
        license_ = "apache-2.0"  # sgd-gym's own license; no base weights
    if adapter:
        start += f" as a LoRA adapter (rank {adapter['rank']}, alpha {adapter['alpha']}, modules {adapter.get('modules')})"
    lines = ["---", f"library_name: {'peft' if adapter else 'transformers'}"]
    lines += [f"license: {license_}"] if license_ else []
    lines += [f"tags: [sgd-gym, scienceworld, {settings['kind']}]"]
    lines += [f"base_model: {base}"] if base else []
    lines += ["---", "", f"# sgd-gym {settings['kind']} policy ({settings['family']})", ""]
    lines += [f"The {settings['kind']} of a sub-goal distillation agent on ScienceWorld, {start}.", ""]
    separator = json.dumps(CAUSAL_SEPARATOR)
    lines += ["## Input format", ""]
    lines += [
        f"The source is the context `agents.context.build_context` writes for the {settings['kind']} (task, step, the "
        f"current observation, history); it is cut to {settings['max_source_tokens']} tokens. "
        + (f"A causal LM reads the source, then {separator}, and continues with the target." if causal
           else "The model generates the target from it.")
        + f" Targets are at most {settings['max_target_tokens']} tokens.",
        "",
    ]  # fmt: skip
    example = metadata.get("example")
    if example:
        lines += ["Example (from the training data):", "", "```text", example["source"], "```", "", "Target:", ""]
        lines += ["```text", example["target"], "```", ""]
    automodel = "AutoModelForCausalLM" if causal else "AutoModelForSeq2SeqLM"
    prompt = f"source + {separator}" if causal else "source"
    lines += ["## Use", "", "```python", f"from transformers import AutoTokenizer, {automodel}", ""]
    lines += ["tokenizer = AutoTokenizer.from_pretrained(PATH)"]
    if adapter:  # PeftModel from peft
        lines += [f"model = PeftModel.from_pretrained({automodel}.from_pretrained(BASE), PATH)"]
    else:
        lines += [f"model = {automodel}.from_pretrained(PATH)"]
    lines += [f"inputs = tokenizer({prompt}, return_tensors='pt', truncation=True)"]
    lines += [f"output = model.generate(**inputs, max_new_tokens={settings['max_target_tokens']}, num_beams=1)"]
    new_tokens = "output[0, inputs['input_ids'].shape[1]:]" if causal else "output[0]"
    lines += [f"print(tokenizer.decode({new_tokens}, skip_special_tokens=True))", "```", ""]
    lines += ["or, with beams and scores, `agents.policies.load_policy(PATH).generate([source])`.", ""]
    keys = ("dev_accuracy", "best_eval_loss", "steps", "examples_train", "examples_dev", "parameters",
            "trainable_parameters", "batch_size", "learning_rate", "precision", "seed", "data", "training_seconds")  # fmt: skip
    facts = [f"| {key} | {_fact(metadata[key])} |" for key in keys if metadata.get(key) is not None]
    if facts:
        lines += ["## Training", "", "| | |", "|---|---|", *facts, ""]
        lines += ["dev_accuracy: exact match of the whole target on the dev split, at the checkpoint kept (lowest dev loss).", ""]
    if metadata.get("command"):
        lines += ["Made by:", "", "```bash", metadata["command"], "```", ""]
    return "\n".join(lines)
