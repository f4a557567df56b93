"""The domain tokenizer, the T5 presets and Seq2SeqPolicy (generation, save and load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agents.models import (
    PRESETS,
    CheckpointError,
    Seq2SeqPolicy,
    build_model,
    count_parameters,
    normalize_whitespace,
    policy_parameters,
    read_policy_settings,
    train_tokenizer,
)

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
