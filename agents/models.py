"""The agent's models: the domain tokenizer, T5 presets, and one policy interface over both model families.

``Policy`` maps text sources to text targets (save, load, generate). ``Seq2SeqPolicy`` wraps a T5/FLAN-T5;
``CausalLMPolicy`` a decoder-only causal LM (Llama/SmolLM2, Qwen2, GPT-2), which reads the source and a fixed separator
(``CAUSAL_SEPARATOR``) and continues with the target. ``load_policy(path)`` returns the right one from the family saved
in ``sgd_policy.json``; a policy may be a LoRA adapter over a base model (``agents.pretrained``), which records its
base. ``read_policy_settings`` and ``policy_parameter_counts`` read a checkpoint's metadata without loading weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from agents.pretrained import (
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
from sgd_gym.io import atomic_write_text, with_umask

KINDS = ("planner", "executor", "flat")
SCORER = "scorer"  # the candidate-scoring family (agents.policies.scorer)
POLICY_FILE = "sgd_policy.json"
ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"  # peft's names
MODEL_CARD = "README.md"
CAUSAL_SEPARATOR = "\nnext:\n"  # between a causal LM's source and its target; saved with each policy
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


def count_parameters(model: torch.nn.Module) -> int:
    """The number of distinct parameters of ``model`` (shared embeddings counted once)."""
    return sum(parameter.numel() for parameter in model.parameters())


def default_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _weights_file(path: Path) -> str:
    return "model.safetensors.index.json" if (path / "model.safetensors.index.json").is_file() else "model.safetensors"


def _load_settings(path: Path) -> dict[str, Any]:
    try:
        settings = json.loads((path / POLICY_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt ({error})") from None
    if not isinstance(settings, dict) or settings.get("kind") not in KINDS:
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt (expected an object with a kind in {list(KINDS)})")
    settings.setdefault("family", SEQ2SEQ)  # written before causal LMs were supported: a T5
    if settings["family"] not in (*FAMILIES, SCORER):
        raise CheckpointError(
            f"{path / POLICY_FILE}: corrupt (family {settings['family']!r}, expected one of {[*FAMILIES, SCORER]})"
        )
    adapter = settings.get("adapter")
    if adapter is not None and not (isinstance(adapter, dict) and isinstance(adapter.get("base"), str)):
        raise CheckpointError(f"{path / POLICY_FILE}: corrupt (an adapter must name its base, got {adapter!r})")
    return settings


def read_policy_settings(path: str | Path) -> dict[str, Any]:
    """The ``sgd_policy.json`` of a policy folder (kind, family, token budgets, adapter, training metadata), without
    loading weights. A full model needs ``config.json``, its safetensors weights and ``tokenizer.json``; a LoRA adapter
    ``adapter_config.json``, ``adapter_model.safetensors`` and ``tokenizer.json`` (its ``adapter`` names the base). A
    policy saved without ``family`` is a ``seq2seq`` one.

    Raises:
        CheckpointError: the folder is missing, lacks a file of a complete policy, or its settings are corrupt.
    """
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    settings = _load_settings(path) if (path / POLICY_FILE).is_file() else None
    adapter = bool(settings.get("adapter")) if settings is not None else (path / ADAPTER_CONFIG).is_file()
    model_files = (ADAPTER_CONFIG, ADAPTER_WEIGHTS) if adapter else ("config.json", _weights_file(path))
    if settings is not None and settings["family"] == SCORER:  # no tokenizer: a scorer hashes words
        model_files = ("model.safetensors",)
    missing = [name for name in (POLICY_FILE, *model_files) if not (path / name).is_file()]
    if not (settings is not None and settings["family"] == SCORER) and not (path / "tokenizer.json").is_file():
        missing.append("tokenizer.json")
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
    own = _header_parameters(path, ADAPTER_WEIGHTS if settings.get("adapter") else _weights_file(path))
    total, trainable = metadata.get("parameters"), metadata.get("trainable_parameters")
    if settings.get("adapter"):
        trainable = trainable if isinstance(trainable, int) else own
        if not isinstance(total, int):
            base = local_base(settings["adapter"]["base"])
            if base is None:
                raise CheckpointError(f"{path}: the adapter's base {settings['adapter']['base']!r} is not on this machine")
            total = _header_parameters(base, _weights_file(base)) + own
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
    lines += ["or, with beams and scores, `agents.models.load_policy(PATH).generate([source])`.", ""]
    keys = ("dev_accuracy", "best_eval_loss", "steps", "examples_train", "examples_dev", "parameters",
            "trainable_parameters", "batch_size", "learning_rate", "precision", "seed", "data", "training_seconds")  # fmt: skip
    facts = [f"| {key} | {_fact(metadata[key])} |" for key in keys if metadata.get(key) is not None]
    if facts:
        lines += ["## Training", "", "| | |", "|---|---|", *facts, ""]
        lines += ["dev_accuracy: exact match of the whole target on the dev split, at the checkpoint kept (lowest dev loss).", ""]
    if metadata.get("command"):
        lines += ["Made by:", "", "```bash", metadata["command"], "```", ""]
    return "\n".join(lines)


@dataclass
class Policy:
    """A sequence model with its tokenizer that maps text sources to text targets (planner, executor or flat agent).

    The one interface every model agent uses: ``generate`` (batched, greedy or beam search), ``source_tokens``,
    ``save``, and ``Policy.load``/``load_policy`` (which returns the subclass of the saved family).

    Args:
        model: the model (a LoRA-wrapped ``peft`` model while training an adapter).
        tokenizer: its tokenizer.
        kind: ``planner``, ``executor`` or ``flat``.
        preset: the preset it was built from (``None`` for a pretrained init).
        max_source_tokens: sources are cut to this many tokens (from the right: the context puts what matters first).
        max_target_tokens: the default generation length.
        metadata: free-form training information, saved with the policy.
        device: where the model runs; the first GPU when there is one, else the CPU.
        adapter: for a LoRA policy, its settings (``type``, ``base``, ``rank``, ``alpha``, ``dropout``, ``targets``).
    """

    family: ClassVar[str] = ""
    model: Any
    tokenizer: PreTrainedTokenizerBase
    kind: str = "flat"
    preset: str | None = None
    max_source_tokens: int = 512
    max_target_tokens: int = 32
    metadata: dict[str, Any] = field(default_factory=dict)
    device: torch.device | str | None = None
    adapter: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}, expected one of {list(KINDS)}")
        self.device = torch.device(self.device) if self.device is not None else default_device()
        self.model.to(self.device).eval()

    def settings(self) -> dict[str, Any]:
        """What ``sgd_policy.json`` records (everything but the weights and the tokenizer)."""
        settings = {"kind": self.kind, "family": self.family, "preset": self.preset,
                    "max_source_tokens": self.max_source_tokens, "max_target_tokens": self.max_target_tokens}  # fmt: skip
        if is_adapter(self.model):
            settings["adapter"] = self.adapter
        elif self.adapter is not None:
            settings["merged_adapter"] = self.adapter  # loaded as an adapter, merged into its base, saved whole
        return settings | {"metadata": self.metadata}

    def save(self, path: str | Path) -> Path:
        """Write the model (safetensors; only the adapter for a LoRA model), the tokenizer, a model card and
        ``sgd_policy.json`` into the folder ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if is_adapter(self.model) and self.adapter is None:
            raise ValueError("a LoRA model needs its adapter settings (Policy.adapter) to be saved: they name its base")
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        with_umask(path)  # safetensors writes its weights 0600
        settings = self.settings()
        atomic_write_text(path / MODEL_CARD, model_card(settings))
        # Written last: a folder with this file holds a complete policy.
        atomic_write_text(path / POLICY_FILE, json.dumps(settings, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str | None = None) -> Policy:
        """Load a policy written by ``save``: ``Policy.load`` returns the class of the saved family, a subclass refuses
        another family. An adapter is loaded over its base (converted first if it is a packaged model) and merged
        into it, which makes generation as fast as a full model's.

        Raises:
            CheckpointError: naming what is missing or corrupt (the folder, a file, the adapter's base).
        """
        path = Path(path)
        settings = read_policy_settings(path)
        family = POLICY_CLASSES[settings["family"]]
        if cls is not Policy and family is not cls:
            raise CheckpointError(f"{path}: holds a {settings['family']} policy, not a {cls.family} one (use load_policy)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (tokenizers and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt tokenizer ({error})") from error
        model = _load_model(path, settings)
        return family(
            model=model,
            tokenizer=tokenizer,
            kind=settings["kind"],
            preset=settings.get("preset"),
            max_source_tokens=int(settings.get("max_source_tokens", 512)),
            max_target_tokens=int(settings.get("max_target_tokens", 32)),
            metadata=dict(settings.get("metadata") or {}),
            device=device,
            adapter=settings.get("adapter") or settings.get("merged_adapter"),
            **family.options_from_settings(settings),
        )

    @classmethod
    def options_from_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The family's own constructor arguments recorded in ``sgd_policy.json``."""
        return {}

    def source_tokens(self, text: str) -> int:
        """The number of tokens ``text`` takes as a source (with what the model adds to it), to budget a context."""
        raise NotImplementedError

    def encode_sources(self, sources: list[str]) -> dict[str, torch.Tensor]:
        """The model inputs of a batch of sources, on the policy's device."""
        raise NotImplementedError

    def generation_options(self) -> dict[str, Any]:
        """Extra ``model.generate`` arguments of the family."""
        return {}

    def new_tokens(self, sequences: torch.Tensor, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The generated tokens of ``model.generate``'s ``sequences`` (what follows the decoder start or the prompt)."""
        raise NotImplementedError

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

        Raises:
            ValueError: ``num_return_sequences`` out of ``1..num_beams``, or ``batch_size`` below 1.
        """
        if num_beams < 1 or not 1 <= num_return_sequences <= num_beams:
            raise ValueError(f"need 1 <= num_return_sequences <= num_beams, got {num_return_sequences} and {num_beams}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size!r}")
        results: list[list[tuple[str, float]]] = []
        with torch.inference_mode():
            for start in range(0, len(sources), batch_size):
                batch = self.encode_sources(sources[start : start + batch_size])
                output = self.model.generate(
                    **batch,
                    do_sample=False,
                    num_beams=num_beams,
                    num_return_sequences=num_return_sequences,
                    max_new_tokens=max_new_tokens or self.max_target_tokens,
                    output_scores=True,
                    output_logits=num_beams == 1,
                    return_dict_in_generate=True,
                    **self.generation_options(),
                )
                tokens = self.new_tokens(output.sequences, batch)
                scores = self._sequence_log_probs(output, num_beams, tokens)
                texts = self.tokenizer.batch_decode(tokens, skip_special_tokens=True)
                candidates = [(normalize_whitespace(text), float(score)) for text, score in zip(texts, scores)]
                for i in range(0, len(candidates), num_return_sequences):
                    results.append(candidates[i : i + num_return_sequences])
        return results

    def _sequence_log_probs(self, output: Any, num_beams: int, tokens: torch.Tensor) -> torch.Tensor:
        """The summed token log-probabilities of each generated sequence (``tokens``), up to and including its end token."""
        if num_beams > 1:
            # Beam scores are log-softmaxed already; positions after a beam ends have index -1 and score 0.
            transition = self.model.compute_transition_scores(
                output.sequences, output.scores, output.beam_indices, normalize_logits=False
            )
            return transition.sum(dim=1)
        # The raw logits (the scores of greedy search may be processed).
        transition = self.model.compute_transition_scores(output.sequences, output.logits, normalize_logits=True)
        is_end = tokens == self.tokenizer.eos_token_id
        after_end = (is_end.cumsum(dim=1) - is_end.long()) > 0  # padding after a finished sequence
        return transition.masked_fill(after_end, 0.0).sum(dim=1)


@dataclass
class Seq2SeqPolicy(Policy):
    """A T5/FLAN-T5 policy (``Policy``): the encoder reads the source, the decoder writes the target."""

    family: ClassVar[str] = SEQ2SEQ

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


@dataclass
class CausalLMPolicy(Policy):
    """A decoder-only causal LM policy (``Policy``): the prompt is the source and ``separator``
    (``encode_causal_prompt``), the target follows it and ends with the end-of-sequence token; training's loss covers
    the target only. Batches are padded on the left for generation.

    Args:
        separator: the text between source and target (``CAUSAL_SEPARATOR``; saved with the policy).
    """

    family: ClassVar[str] = CAUSAL_LM
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


POLICY_CLASSES: dict[str, type[Policy]] = {SEQ2SEQ: Seq2SeqPolicy, CAUSAL_LM: CausalLMPolicy}


def _adapter_base(path: Path, base: str) -> str:
    """The local folder of an adapter's base: a packaged model (converted if need be) or a folder that must exist."""
    try:
        if base in PACKAGED:
            return resolve_init(base)
    except PretrainedError as error:
        raise CheckpointError(f"{path}: the adapter's base {base!r} cannot be loaded: {error}") from None
    if not Path(base).expanduser().is_dir():
        raise CheckpointError(
            f"{path}: the adapter's base {base!r} is not a folder on this machine; put the base model there (or edit "
            f"'adapter.base' in {POLICY_FILE})"
        )
    return str(Path(base).expanduser())


def _load_model(path: Path, settings: dict[str, Any]) -> Any:
    """The model of a policy folder (an adapter merged into its base); ``CheckpointError`` naming what is wrong."""
    adapter = settings.get("adapter")
    if adapter is None:
        loader = AutoModelForSeq2SeqLM if settings["family"] == SEQ2SEQ else AutoModelForCausalLM
        try:
            return loader.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (safetensors, json and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt model config.json or {_weights_file(path)} ({error})") from error
    try:
        require("peft", f"loading the LoRA adapter {path}")
    except PretrainedError as error:
        raise CheckpointError(str(error)) from None
    from peft import PeftModel

    base = load_pretrained_model(_adapter_base(path, adapter["base"]), settings["family"])
    try:
        with peft_quiet():
            return PeftModel.from_pretrained(base, path).merge_and_unload()
    except Exception as error:  # noqa: BLE001  (safetensors, json and peft raise many types)
        raise CheckpointError(f"{path}: corrupt {ADAPTER_CONFIG} or {ADAPTER_WEIGHTS} ({error})") from error


def load_policy(path: str | Path, device: torch.device | str | None = None) -> Any:
    """Load any saved policy by its saved family: a ``Seq2SeqPolicy`` or a ``CausalLMPolicy`` (``Policy.load``), or a
    candidate scorer (``agents.policies.scorer.ScorerPolicy``, on the CPU)."""
    settings = read_policy_settings(path)
    if settings["family"] == SCORER:
        from agents.policies.scorer import ScorerError, ScorerPolicy

        try:
            return ScorerPolicy.load(path, settings)
        except ScorerError as error:
            raise CheckpointError(str(error)) from None
    return Policy.load(path, device)
