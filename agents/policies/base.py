"""The ``Policy`` base: a sequence model and its tokenizer that map text sources to text targets, saved as a complete
Hugging Face folder (``save``), loaded back (``load``) and queried in batches (``generate``). Each family subclasses it
in its own module (``agents.policies.seq2seq``, ``agents.policies.causal_lm``) and is registered in
``agents.policies.POLICY_CLASSES``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from agents.policies.checkpoint import (
    ADAPTER_CONFIG,
    ADAPTER_WEIGHTS,
    KINDS,
    MODEL_CARD,
    POLICY_CLASSES,
    POLICY_FILE,
    CheckpointError,
    generative_files,
    model_card,
    read_policy_settings,
    weights_file,
)
from agents.policies.tokenizer import normalize_whitespace
from agents.pretrained import PACKAGED, PretrainedError, is_adapter, load_pretrained_model, peft_quiet, require, resolve_init
from sgd_gym.io import atomic_write_text, with_umask


def count_parameters(model: torch.nn.Module) -> int:
    """The number of distinct parameters of ``model`` (shared embeddings counted once)."""
    return sum(parameter.numel() for parameter in model.parameters())


def default_device() -> torch.device:
    """The first CUDA device when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
    scores_candidates: ClassVar[bool] = False  # generative: writes its target (a scorer ranks the candidates given)
    auto_model_class: ClassVar[Any] = None  # the transformers Auto class that loads a saved model of the family
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
        if cls is Policy:
            return POLICY_CLASSES[settings["family"]].load(path, device)
        if settings["family"] != cls.family:
            raise CheckpointError(f"{path}: holds a {settings['family']} policy, not a {cls.family} one (use load_policy)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (tokenizers and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt tokenizer ({error})") from error
        model = _load_model(path, settings, cls.auto_model_class)
        return cls(
            model=model,
            tokenizer=tokenizer,
            kind=settings["kind"],
            preset=settings.get("preset"),
            max_source_tokens=int(settings.get("max_source_tokens", 512)),
            max_target_tokens=int(settings.get("max_target_tokens", 32)),
            metadata=dict(settings.get("metadata") or {}),
            device=device,
            adapter=settings.get("adapter") or settings.get("merged_adapter"),
            **cls.options_from_settings(settings),
        )

    @classmethod
    def checkpoint_files(cls, path: Path, settings: dict[str, Any]) -> tuple[str, ...]:
        """The files besides ``sgd_policy.json`` that a complete checkpoint of the family holds (``read_policy_settings``
        checks them without loading weights).

        Args:
            path: the policy folder.
            settings: its validated ``sgd_policy.json``.

        Returns:
            The file names.
        """
        return generative_files(path, bool(settings.get("adapter")))

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


def _load_model(path: Path, settings: dict[str, Any], loader: Any) -> Any:
    """The model of a policy folder (with ``loader``, its family's Auto class; an adapter merged into its base);
    ``CheckpointError`` naming what is wrong."""
    adapter = settings.get("adapter")
    if adapter is None:
        try:
            return loader.from_pretrained(path)
        except Exception as error:  # noqa: BLE001  (safetensors, json and transformers raise many types)
            raise CheckpointError(f"{path}: corrupt model config.json or {weights_file(path)} ({error})") from error
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
