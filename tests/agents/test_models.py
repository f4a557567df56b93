"""The domain tokenizer, the T5 presets, and the policies of both families (generation, save and load, adapters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agents.policies import POLICY_CLASSES, CausalLMPolicy, Policy, Seq2SeqPolicy, load_policy
from agents.policies.base import count_parameters
from agents.policies.checkpoint import (
    CheckpointError,
    ParameterCounts,
    policy_parameter_counts,
    policy_parameters,
    read_policy_settings,
)
from agents.policies.seq2seq import PRESETS, build_model
from agents.policies.tokenizer import (
    CAUSAL_SEPARATOR,
    encode_causal_prompt,
    encode_causal_target,
    normalize_whitespace,
    prepare_causal_tokenizer,
    train_tokenizer,
)
from agents.pretrained import LoraSettings, apply_lora
from tests.agents.tiny_llama import save_tiny_llama

MICRO = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)
ACTIONS = [
    "open door to kitchen",
    "navigate_to(living room)",
    "heat(metal pot, stove)",
    "END_SG",
    "use thermometer in inventory on substance in metal pot",
    "wait(5)",
    "focus on red light bulb",
    "pick_up(thermometer)",
    "navigate_to(kitchen)",
]
SOURCES = [f"task: boil water | step {step} | obs: you move to the kitchen. it is {20 + step} degrees" for step in range(12)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer((SOURCES + ACTIONS) * 3)


@pytest.fixture(scope="module")
def policy(tokenizer):
    """A micro model fitted for a few steps so that it generates more than one distinct target."""
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer, config_overrides=MICRO)
    batch = tokenizer(SOURCES[:4], padding=True, return_tensors="pt")
    labels = tokenizer(ACTIONS[:4], padding=True, return_tensors="pt").input_ids
    labels[labels == tokenizer.pad_token_id] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(20):
        model(**batch, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return Seq2SeqPolicy(model, tokenizer, kind="executor", preset="tiny", max_target_tokens=16, metadata={"seed": 0})


class FixedVocabulary:
    """Just what ``build_model`` reads from a tokenizer: the vocabulary size and the special ids."""

    pad_token_id, eos_token_id = 0, 1

    def __len__(self) -> int:
        return 4000


@pytest.mark.parametrize("text", ACTIONS + SOURCES[:2] + ["  open   door to\tkitchen ", "zebra wörd!! (unseen) 123.5"])
def test_tokenizer_round_trips(tokenizer, text):
    assert tokenizer.decode(tokenizer(text).input_ids, skip_special_tokens=True) == normalize_whitespace(text)


def test_tokenizer_keeps_words_whole(tokenizer):
    for word in ["navigate_to", "pick_up", "END_SG", "thermometer", "kitchen"]:
        alone, inside = tokenizer(word).input_ids, tokenizer(f"focus on {word}").input_ids
        assert len(alone) == 2, tokenizer.convert_ids_to_tokens(alone)  # the word and </s>
        assert inside[2] == alone[0]  # the same token at the start and inside a sentence


def test_tokenizer_special_tokens_follow_t5(tokenizer):
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    assert tokenizer("wait(5)").input_ids[-1] == tokenizer.eos_token_id
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(ACTIONS, vocab_size=100)


def test_preset_parameter_counts():
    assert count_parameters(build_model("tiny", FixedVocabulary())) <= 10_500_000
    assert 30_000_000 <= count_parameters(build_model("small", FixedVocabulary())) <= 60_000_000
    with pytest.raises(ValueError, match="tiny"):
        build_model("huge", FixedVocabulary())


def test_micro_model_learns_a_fixed_batch(tokenizer):
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer, config_overrides=MICRO)
    batch = tokenizer(SOURCES[:4], padding=True, return_tensors="pt")
    labels = tokenizer(ACTIONS[:4], padding=True, return_tensors="pt").input_ids
    labels[labels == tokenizer.pad_token_id] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_generate_shapes_scores_and_batching(policy):
    greedy = policy.generate(SOURCES, batch_size=5)
    assert len(greedy) == len(SOURCES) and all(len(candidates) == 1 for candidates in greedy)
    assert all(score <= 0 for [(_, score)] in greedy)
    assert [c[0][0] for c in greedy] == [c[0][0] for c in policy.generate(SOURCES, batch_size=32)]
    beams = policy.generate(SOURCES[:3], num_beams=4, num_return_sequences=3)
    assert all(len(candidates) == 3 for candidates in beams)
    assert all(text == normalize_whitespace(text) for candidates in beams for text, _ in candidates)
    with pytest.raises(ValueError):
        policy.generate(SOURCES, num_beams=2, num_return_sequences=3)


def test_source_tokens_counts_the_end_token(policy):
    assert policy.source_tokens("END_SG") == 2


def test_save_then_load_generates_the_same(policy, tmp_path):
    policy.save(tmp_path / "policy")
    loaded = Seq2SeqPolicy.load(tmp_path / "policy")
    assert (loaded.kind, loaded.preset, loaded.max_target_tokens, loaded.metadata) == ("executor", "tiny", 16, {"seed": 0})
    for options in [{}, {"num_beams": 3, "num_return_sequences": 2}]:
        before, after = policy.generate(SOURCES[:4], **options), loaded.generate(SOURCES[:4], **options)
        assert [[text for text, _ in c] for c in before] == [[text for text, _ in c] for c in after]
        assert [s for c in before for _, s in c] == pytest.approx([s for c in after for _, s in c], abs=1e-5)


def test_kind_and_parameters_are_read_without_loading_weights(policy, tmp_path):
    folder = policy.save(tmp_path / "policy")
    assert read_policy_settings(folder)["kind"] == "executor"
    # No count in the metadata: the safetensors headers give it, tied embeddings once, as count_parameters does.
    assert policy_parameters(folder) == count_parameters(policy.model) > 0
    settings = json.loads((folder / "sgd_policy.json").read_text())
    settings["metadata"]["parameters"] = 123  # what training records
    (folder / "sgd_policy.json").write_text(json.dumps(settings))
    assert policy_parameters(folder) == 123
    (folder / "model.safetensors").write_text("garbage")  # found from the header, without loading the model
    with pytest.raises(CheckpointError, match="unreadable weights"):
        policy_parameters(folder)


def test_load_reports_what_is_missing_or_corrupt(policy, tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint folder"):
        Seq2SeqPolicy.load(tmp_path / "nowhere")
    folder = policy.save(tmp_path / "policy")

    def broken(name: str, content: str | None) -> Path:
        copy = tmp_path / f"broken-{len(list(tmp_path.iterdir()))}"
        copy.mkdir()
        for file in folder.iterdir():
            (copy / file.name).write_bytes(file.read_bytes())
        if content is None:
            (copy / name).unlink()
        else:
            (copy / name).write_text(content)
        return copy

    with pytest.raises(CheckpointError, match=r"missing model\.safetensors"):
        Seq2SeqPolicy.load(broken("model.safetensors", None))
    with pytest.raises(CheckpointError, match=r"missing sgd_policy\.json"):
        Seq2SeqPolicy.load(broken("sgd_policy.json", None))
    with pytest.raises(CheckpointError, match=r"sgd_policy\.json: corrupt"):
        Seq2SeqPolicy.load(broken("sgd_policy.json", "{not json"))
    with pytest.raises(CheckpointError, match=r"sgd_policy\.json: corrupt"):
        Seq2SeqPolicy.load(broken("sgd_policy.json", json.dumps({"kind": "teacher"})))
    with pytest.raises(CheckpointError, match=r"corrupt model .*model\.safetensors"):
        Seq2SeqPolicy.load(broken("model.safetensors", "garbage"))
    with pytest.raises(CheckpointError, match="corrupt tokenizer"):
        Seq2SeqPolicy.load(broken("tokenizer.json", "{"))


def test_presets_are_t5_configs():
    assert {"tiny", "small"} <= set(PRESETS)


def test_a_family_is_one_entry_of_the_registry(monkeypatch, tmp_path):
    """A family the registry does not hold is refused; registered (one entry), its checkpoints validate and load."""

    class EchoFamily:
        family = "echo"

        @classmethod
        def checkpoint_files(cls, path, settings):
            return ("echo.txt",)

        @classmethod
        def load(cls, path, device=None):
            return (path / "echo.txt").read_text()

    (tmp_path / "sgd_policy.json").write_text(json.dumps({"kind": "flat", "family": "echo"}))
    with pytest.raises(CheckpointError, match=r"family 'echo', expected one of \['seq2seq', 'causal-lm', 'scorer'\]"):
        read_policy_settings(tmp_path)
    monkeypatch.setitem(POLICY_CLASSES, "echo", EchoFamily)
    with pytest.raises(CheckpointError, match=r"missing echo\.txt"):  # the family's own files
        read_policy_settings(tmp_path)
    (tmp_path / "echo.txt").write_text("hello")
    assert read_policy_settings(tmp_path)["family"] == "echo"
    assert load_policy(tmp_path) == Policy.load(tmp_path) == "hello"


def test_agents_models_still_exports_every_name_it_had():
    import agents.models
    import agents.policies.checkpoint

    had = {"ADAPTER_CONFIG", "ADAPTER_WEIGHTS", "CAUSAL_SEPARATOR", "KINDS", "MODEL_CARD", "POLICY_CLASSES", "POLICY_FILE",
           "PRESETS", "SPECIAL_TOKENS", "CausalLMPolicy", "CheckpointError", "ParameterCounts", "Policy", "Seq2SeqPolicy",
           "build_model", "count_parameters", "default_device", "encode_causal_prompt", "encode_causal_target",
           "load_policy", "load_tokenizer_for_init", "model_card", "normalize_whitespace", "policy_parameter_counts",
           "policy_parameters", "prepare_causal_tokenizer", "read_policy_settings", "train_tokenizer"}  # fmt: skip
    assert had <= set(agents.models.__all__)
    assert all(hasattr(agents.models, name) for name in agents.models.__all__)
    assert agents.models.load_policy is load_policy and agents.models.Seq2SeqPolicy is Seq2SeqPolicy
    assert agents.models.POLICY_CLASSES is POLICY_CLASSES is agents.policies.checkpoint.POLICY_CLASSES


# The causal LM family: a tiny random Llama with the domain tokenizer (tests/agents/tiny_llama.py).


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("llama"), (SOURCES + ACTIONS) * 3)


@pytest.fixture(scope="module")
def causal_policy(llama_folder):
    """The tiny Llama fitted for a few steps on (source, action) pairs, so that it generates distinct targets."""
    tokenizer = prepare_causal_tokenizer(AutoTokenizer.from_pretrained(llama_folder))
    model = AutoModelForCausalLM.from_pretrained(llama_folder)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(20):
        for source, action in zip(SOURCES[:4], ACTIONS[:4]):
            prompt, target = encode_causal_prompt(tokenizer, source, 64), encode_causal_target(tokenizer, action, 16)
            labels = torch.tensor([[-100] * len(prompt) + target])
            model(input_ids=torch.tensor([prompt + target]), labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return CausalLMPolicy(model, tokenizer, kind="flat", max_source_tokens=64, max_target_tokens=16, metadata={"seed": 0})


def test_causal_prompt_is_source_then_separator_and_target_ends(causal_policy):
    tokenizer = causal_policy.tokenizer
    source = tokenizer("open door", add_special_tokens=False).input_ids
    separator = tokenizer(CAUSAL_SEPARATOR, add_special_tokens=False).input_ids
    assert tokenizer.eos_token_id not in source + separator  # the domain tokenizer's T5 end token stays out of prompts
    assert encode_causal_prompt(tokenizer, "open door", 64) == source + separator
    assert encode_causal_prompt(tokenizer, SOURCES[0], 5)[:5] == tokenizer(SOURCES[0], add_special_tokens=False).input_ids[:5]
    assert len(encode_causal_prompt(tokenizer, SOURCES[0], 5)) == 5 + len(separator)
    target = encode_causal_target(tokenizer, "wait(5) " * 20, 8)
    assert len(target) == 8 and target[-1] == tokenizer.eos_token_id
    assert causal_policy.source_tokens("open door") == len(source + separator)


def test_causal_generation_batches_like_one_by_one_and_scores_its_tokens(causal_policy):
    sources = SOURCES[:3] + ["short", "task: boil water"]  # prompts of different lengths: left padding at work
    batched = causal_policy.generate(sources, batch_size=5)
    alone = [causal_policy.generate([source])[0] for source in sources]
    assert [c[0][0] for c in batched] == [c[0][0] for c in alone]
    assert [c[0][1] for c in batched] == pytest.approx([c[0][1] for c in alone], abs=1e-4)
    assert len({c[0][0] for c in batched}) > 1
    # The greedy score is the log-probability of the generated tokens (up to the end token) under a plain forward pass.
    tokenizer, model = causal_policy.tokenizer, causal_policy.model
    prompt = encode_causal_prompt(tokenizer, sources[0], 64)
    target = encode_causal_target(tokenizer, batched[0][0][0], 16)
    with torch.no_grad():
        log_probs = torch.log_softmax(model(input_ids=torch.tensor([prompt + target])).logits[0], dim=-1)
    expected = sum(log_probs[len(prompt) - 1 + i, token].item() for i, token in enumerate(target))
    assert batched[0][0][1] == pytest.approx(expected, abs=1e-3)
    beams = causal_policy.generate(sources, num_beams=4, num_return_sequences=3, batch_size=2)
    assert all(len(c) == 3 and all(score <= 0 for _, score in c) for c in beams)
    assert [c[0][0] for c in beams][:1] == [c[0][0] for c in causal_policy.generate(sources[:1], num_beams=4)]


def test_causal_save_then_load_by_family(causal_policy, tmp_path):
    folder = causal_policy.save(tmp_path / "policy")
    settings = read_policy_settings(folder)
    assert (settings["family"], settings["separator"], settings["kind"]) == ("causal-lm", CAUSAL_SEPARATOR, "flat")
    assert "library_name: transformers" in (folder / "README.md").read_text()
    loaded = load_policy(folder)
    assert isinstance(loaded, CausalLMPolicy) and loaded.metadata == {"seed": 0}
    before, after = causal_policy.generate(SOURCES[:4], num_beams=2), loaded.generate(SOURCES[:4], num_beams=2)
    assert [c[0][0] for c in before] == [c[0][0] for c in after]
    assert [c[0][1] for c in before] == pytest.approx([c[0][1] for c in after], abs=1e-5)
    with pytest.raises(CheckpointError, match="holds a causal-lm policy, not a seq2seq one"):
        Seq2SeqPolicy.load(folder)
    everything = count_parameters(causal_policy.model)
    assert policy_parameter_counts(folder) == ParameterCounts(everything, everything)


def test_a_t5_saved_before_families_loads_as_seq2seq(policy, tmp_path):
    folder = policy.save(tmp_path / "old")
    settings = json.loads((folder / "sgd_policy.json").read_text())
    del settings["family"]
    (folder / "sgd_policy.json").write_text(json.dumps(settings))
    assert isinstance(load_policy(folder), Seq2SeqPolicy)
    with pytest.raises(CheckpointError, match="holds a seq2seq policy, not a causal-lm one"):
        CausalLMPolicy.load(folder)


def test_lora_adapter_saves_only_itself_and_loads_over_its_base(llama_folder, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(llama_folder)
    adapted = apply_lora(model, "causal-lm", LoraSettings(rank=4), str(llama_folder))
    torch.manual_seed(1)
    with torch.no_grad():  # LoRA's B starts at zero (no change): make the adapter matter
        for name, parameter in adapted.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    tokenizer = AutoTokenizer.from_pretrained(llama_folder)
    adapter = {**LoraSettings(rank=4).as_dict(), "base": str(llama_folder)}
    policy = CausalLMPolicy(adapted, tokenizer, kind="executor", max_source_tokens=64, adapter=adapter)
    folder = policy.save(tmp_path / "adapter")
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in folder.iterdir()}
    assert not (folder / "model.safetensors").exists() and not (folder / "config.json").exists()
    trainable = sum(p.numel() for p in adapted.parameters() if p.requires_grad)
    base = count_parameters(AutoModelForCausalLM.from_pretrained(llama_folder))
    assert policy_parameter_counts(folder) == ParameterCounts(base + trainable, trainable)  # no counts in the metadata
    loaded = load_policy(folder)  # merged into its base
    assert loaded.adapter["base"] == str(llama_folder) and not hasattr(loaded.model, "peft_config")
    before, after = policy.generate(SOURCES[:3], num_beams=2), loaded.generate(SOURCES[:3], num_beams=2)
    assert [[t for t, _ in c] for c in before] == [[t for t, _ in c] for c in after]
    plain = CausalLMPolicy(AutoModelForCausalLM.from_pretrained(llama_folder), tokenizer, max_source_tokens=64)
    assert [c[0][1] for c in plain.generate(SOURCES[:3])] != pytest.approx([c[0][1] for c in after])

    moved = tmp_path / "moved-base"
    llama_folder.rename(moved)
    try:
        with pytest.raises(CheckpointError, match=r"the adapter's base '.*llama.*' is not a folder on this machine"):
            load_policy(folder)
        with pytest.raises(CheckpointError, match=r"the adapter's base .* is not on this machine"):
            policy_parameter_counts(folder)
    finally:
        moved.rename(llama_folder)
    (folder / "adapter_model.safetensors").write_text("garbage")
    with pytest.raises(CheckpointError, match=r"corrupt adapter_config\.json or adapter_model\.safetensors"):
        load_policy(folder)
    with pytest.raises(CheckpointError, match="unreadable weights"):
        policy_parameter_counts(folder)
    settings = json.loads((folder / "sgd_policy.json").read_text())
    (folder / "sgd_policy.json").write_text(json.dumps({**settings, "adapter": {"type": "lora"}}))
    with pytest.raises(CheckpointError, match="an adapter must name its base"):
        load_policy(folder)
    (folder / "adapter_config.json").unlink()
    (folder / "sgd_policy.json").write_text(json.dumps(settings))
    with pytest.raises(CheckpointError, match=r"missing adapter_config\.json"):
        read_policy_settings(folder)
