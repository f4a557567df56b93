"""Training end to end on tiny data with micro models of both families: summary, TensorBoard logs, resuming, budgets,
LoRA, bad input."""

from __future__ import annotations

import json
import os
import stat

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from transformers import EvalPrediction, T5ForConditionalGeneration

from agents.policies import CausalLMPolicy, Seq2SeqPolicy, load_policy
from agents.policies.checkpoint import policy_parameter_counts, read_policy_settings
from agents.policies.seq2seq import PRESETS
from agents.train import (
    TrainSettings,
    causal_next_token_predictions,
    exact_match_accuracy,
    main,
    next_token_predictions,
    train,
    training_folder,
)
from benchmarks.registry import read_checkpoint
from sgd_gym.folders import ConfigMismatch
from sgd_gym.io import DataFileError, write_jsonl
from tests.agents.tiny_llama import save_tiny_llama

MICRO = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)
FAST = dict(batch_size=8, learning_rate=1e-2, eval_steps=10, progress=False, config_overrides=MICRO)
FAST_INIT = {key: value for key, value in FAST.items() if key != "config_overrides"}  # an init model has its own config


def fit(kind: str, data, out, resume: bool = True, progress: bool = False, **settings):
    """``agents.train.train`` with its settings as keywords."""
    return train(TrainSettings(kind, **settings), data, out, resume=resume, progress=progress)


TARGETS = ["pick up thermometer", "navigate_to(kitchen)", "heat(metal pot, stove)", "END_SG", "open door to kitchen"]
OBSERVATIONS = ["you move to the kitchen", "the door is now open", "you pick up the thermometer", "the stove is now on", "done"]


def examples(count: int) -> list[dict[str, str]]:
    """Sources whose observation determines the target."""
    return [
        {"source": f"task: boil water | step {i % 7} | obs: {OBSERVATIONS[i % 5]}", "target": TARGETS[i % 5]}
        for i in range(count)
    ]


def make_data(folder, train_count: int = 60, dev_count: int = 15):
    write_jsonl(folder / "examples" / "executor.train.jsonl", examples(train_count))
    write_jsonl(folder / "examples" / "executor.dev.jsonl", examples(dev_count))
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("executor")
    return out, fit("executor", data, out, max_steps=30, **FAST)


def test_train_writes_policy_summary_and_logs(trained):
    out, summary = trained
    assert json.loads((out / "train_summary.json").read_text()) == summary
    assert summary["steps"] == 30 and summary["resumed_from_step"] == 0
    assert (summary["kind"], summary["examples_train"], summary["examples_dev"]) == ("executor", 60, 15)
    assert summary["best_eval_loss"] is not None and 0 <= summary["dev_accuracy"] <= 1
    assert summary["train_examples_per_s"] > 0
    policy = Seq2SeqPolicy.load(out)
    assert policy.kind == "executor" and policy.metadata["steps"] == 30
    assert len(policy.generate(["task: boil water | step 1 | obs: done"])) == 1
    events = EventAccumulator(str(training_folder(out) / "runs"))
    events.Reload()
    assert {"train/loss", "eval/loss", "eval/accuracy"} <= set(events.Tags()["scalars"])
    eval_losses = [event.value for event in events.Scalars("eval/loss")]
    assert eval_losses[-1] < eval_losses[0]


def test_the_model_folder_is_a_whole_hugging_face_model(trained):
    """Only the model in the folder (the Trainer's checkpoints and logs beside it), the real token budget, a model card
    whose documented input, run through plain transformers, gives what the policy gives."""
    import re

    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    out, summary = trained
    assert not (out / "checkpoints").exists() and not (out / "runs").exists() and not (out / "tokenizer").exists()
    assert (training_folder(out) / "checkpoints").is_dir() and (training_folder(out) / "runs").is_dir()
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((out / "model.safetensors").stat().st_mode) == 0o666 & ~umask  # not safetensors' 0600
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\nlicense: apache-2.0\n")
    assert f"| dev_accuracy | {summary['dev_accuracy']:.4g} |" in card and f"| parameters | {summary['parameters']} |" in card
    source, target = re.findall(r"```text\n(.*?)\n```", card, re.DOTALL)
    assert {"source": source, "target": target} in examples(60)  # a real training example
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert tokenizer.model_max_length == read_policy_settings(out)["max_source_tokens"]  # not transformers' 1e30
    inputs = tokenizer(source, return_tensors="pt", truncation=True)  # as the card's "Use" shows
    plain = tokenizer.decode(model.generate(**inputs, max_new_tokens=32, num_beams=1)[0], skip_special_tokens=True)
    assert plain.strip() and plain == Seq2SeqPolicy.load(out).generate([source], num_beams=1)[0][0][0]


def test_rerun_resumes_instead_of_starting_over(data, tmp_path):
    first = fit("executor", data, tmp_path, max_steps=10, **FAST)
    again = fit("executor", data, tmp_path, max_steps=10, **FAST)
    assert (again["steps"], again["resumed_from_step"]) == (10, 10)
    assert again["best_eval_loss"] == first["best_eval_loss"]
    assert fit("executor", data, tmp_path / "twin", max_steps=10, **FAST)["best_eval_loss"] == first["best_eval_loss"]  # seeded
    longer = fit("executor", data, tmp_path, max_steps=20, **FAST)
    assert (longer["steps"], longer["resumed_from_step"]) == (20, 10)
    assert Seq2SeqPolicy.load(tmp_path).metadata["steps"] == 20


def test_a_rerun_with_other_settings_or_data_is_refused_and_an_interrupted_save_is_skipped(tmp_path, capsys):
    data = make_data(tmp_path / "data")
    out = tmp_path / "out"
    fit("executor", data, out, max_steps=10, **FAST)
    with pytest.raises(ConfigMismatch, match=r"settings\.learning_rate: recorded 0\.01, now 0\.5"):
        fit("executor", data, out, max_steps=10, **{**FAST, "learning_rate": 0.5})
    write_jsonl(data / "examples" / "executor.train.jsonl", examples(61))  # the data changed
    with pytest.raises(ConfigMismatch, match=r"data\.train: recorded '[0-9a-f]{64}', now '[0-9a-f]{64}'"):
        fit("executor", data, out, max_steps=10, **FAST)
    write_jsonl(data / "examples" / "executor.train.jsonl", examples(60))
    partial = training_folder(out) / "checkpoints" / "checkpoint-20"  # what Ctrl-C in the middle of a save leaves
    partial.mkdir()
    (partial / "config.json").write_text("{}")
    longer = fit("executor", data, out, max_steps=20, **FAST)
    assert (longer["steps"], longer["resumed_from_step"]) == (20, 10)
    assert "checkpoint-20: an incomplete checkpoint (interrupted while saved), deleted" in capsys.readouterr().err
    again = fit("executor", data, out, max_steps=20, **{**FAST, "learning_rate": 0.5}, resume=False)  # --overwrite
    assert again["resumed_from_step"] == 0


def test_the_saved_policy_is_the_checkpoint_with_the_lowest_dev_loss(tmp_path):
    # Dev targets unlike any train target: the more the model learns, the worse its dev loss, so the best checkpoint
    # is the first and not the last. Checkpoints store the tied embeddings once (transformers warns of
    # "missing keys" when it loads the best one back); the policy must still be that checkpoint's model, head and all.
    data = make_data(tmp_path / "data", dev_count=0)
    write_jsonl(data / "examples" / "executor.dev.jsonl", [{**e, "target": "quiz vex jumbo fjord"} for e in examples(15)])
    summary = fit("executor", data, tmp_path / "out", max_steps=30, **FAST)
    state = json.loads((training_folder(tmp_path / "out") / "checkpoints" / "checkpoint-30" / "trainer_state.json").read_text())
    assert state["best_global_step"] == 10 and summary["best_eval_loss"] == state["best_metric"]
    policy = Seq2SeqPolicy.load(tmp_path / "out")
    assert policy.model.lm_head.weight is policy.model.shared.weight
    saved = training_folder(tmp_path / "out") / "checkpoints"
    best, last = (T5ForConditionalGeneration.from_pretrained(saved / f"checkpoint-{step}") for step in (10, 30))
    batch = policy.tokenizer(["task: boil water | step 1 | obs: done"], return_tensors="pt")
    logits = [
        model(**batch, decoder_input_ids=torch.zeros((1, 1), dtype=torch.long)).logits for model in (policy.model, best, last)
    ]
    assert torch.equal(logits[0], logits[1]) and not torch.equal(logits[0], logits[2])


def test_max_minutes_stops_early_and_counts_across_runs(data, tmp_path):
    summary = fit("executor", data, tmp_path, max_steps=1000, max_minutes=0.001, **FAST)
    assert 1 <= summary["steps"] < 10
    assert Seq2SeqPolicy.load(tmp_path).kind == "executor"
    again = fit("executor", data, tmp_path, max_steps=1000, max_minutes=0.001, **FAST)
    assert again["steps"] == summary["steps"]


def test_init_fine_tunes_a_local_pretrained_model(trained, data, tmp_path):
    pretrained, _ = trained
    summary = fit("executor", data, tmp_path, init=str(pretrained), max_steps=2, **FAST_INIT)
    policy = Seq2SeqPolicy.load(tmp_path)
    assert policy.preset is None and policy.metadata["init"] == str(pretrained)
    assert summary["parameters"] == Seq2SeqPolicy.load(pretrained).model.num_parameters()
    assert not (tmp_path / "tokenizer").exists()  # the pretrained model's own tokenizer


def test_empty_dev_set_trains_without_evaluation(tmp_path):
    data = make_data(tmp_path / "data", dev_count=0)
    summary = fit("executor", data, tmp_path / "out", max_steps=3, **FAST)
    assert (summary["examples_dev"], summary["best_eval_loss"], summary["dev_accuracy"]) == (0, None, None)
    assert Seq2SeqPolicy.load(tmp_path / "out").metadata["steps"] == 3


def test_bad_arguments_are_rejected_before_reading_data(tmp_path):
    for arguments, message in [
        ({"kind": "teacher"}, "unknown kind"),
        ({"preset": "huge"}, "unknown preset"),
        ({"max_steps": -1}, "max_steps must be positive"),
        ({"max_minutes": 0}, "max_minutes must be positive"),
        ({"num_workers": -1}, "num_workers must be at least 0"),
        ({"precision": "fp8"}, r"unknown precision 'fp8', expected one of \['fp32', 'bf16'\]"),
    ]:
        with pytest.raises(ValueError, match=message):
            fit(**{"kind": "executor", "data": tmp_path / "missing", "out": tmp_path / "out", **arguments})


def test_missing_or_corrupt_data_names_the_file(data, tmp_path):
    with pytest.raises(DataFileError, match=r"planner\.train\.jsonl: no such file"):
        fit("planner", data, tmp_path / "out", max_steps=1, **FAST)
    bad = make_data(tmp_path / "bad")
    (bad / "examples" / "executor.dev.jsonl").write_text('{"source": "a", "target": "b"}\n{oops\n')
    with pytest.raises(DataFileError, match=r"executor\.dev\.jsonl:2"):
        fit("executor", bad, tmp_path / "out", max_steps=1, **FAST)
    write_jsonl(bad / "examples" / "executor.dev.jsonl", [{"source": "a"}])
    with pytest.raises(DataFileError, match=r"executor\.dev\.jsonl:1: example field 'target': Field required"):
        fit("executor", bad, tmp_path / "out", max_steps=1, **FAST)


@pytest.mark.parametrize(
    "options",
    [
        ["teacher"],
        ["planner", "--preset", "huge"],
        ["planner", "--train-steps", "-3"],
        ["planner", "--max-steps", "3"],  # the episode budget of sgd eval, not a training flag
        ["planner", "--train-minutes", "0"],
        ["planner", "--learning-rate", "fast"],
        ["planner", "--precision", "fp16"],
    ],
)
def test_cli_rejects_bad_values(options, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*options, "--data", str(tmp_path), "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_trains(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(PRESETS, "micro", MICRO)
    argv = ["executor", "--data", str(data), "--out", str(tmp_path), "--preset", "micro", "--train-steps", "2", "--no-progress"]
    assert main([*argv, "--precision", "bf16"]) == 0
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    assert summary["steps"] == 2 and json.dumps(summary, indent=2) in capsys.readouterr().out
    policy = Seq2SeqPolicy.load(tmp_path)
    assert policy.metadata["precision"] == "bf16" and policy.model.dtype == torch.float32  # fp32 master weights saved
    command = "python -m agents.train " + " ".join([*argv, "--precision", "bf16"])
    assert f"```bash\n{command}\n```" in (tmp_path / "README.md").read_text()  # the model card names the command


# Pretrained starts of either family: a tiny random Llama (causal LM) and the micro T5 above, fully or through LoRA.


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    texts = [text for example in examples(20) for text in example.values()]
    return save_tiny_llama(tmp_path_factory.mktemp("llama"), texts)


def test_causal_next_token_predictions_line_up_with_labels():
    labels = torch.tensor([[-100, -100, 5, 6, 1], [-100, 7, 1, -100, -100]])
    logits = torch.zeros(2, 5, 10)
    for row in range(2):
        for position in range(4):  # a causal LM predicts token t + 1 at position t
            if labels[row, position + 1] >= 0:
                logits[row, position, labels[row, position + 1]] = 1.0
    aligned = causal_next_token_predictions(logits, labels)
    assert exact_match_accuracy(EvalPrediction(aligned.numpy(), labels.numpy()))["accuracy"] == 1.0
    unshifted = next_token_predictions(logits, labels)  # read as a seq2seq decoder's: every target wrong
    assert exact_match_accuracy(EvalPrediction(unshifted.numpy(), labels.numpy()))["accuracy"] == 0.0


def test_a_causal_lm_trains_whole_saves_and_resumes(llama, data, tmp_path):
    summary = fit("executor", data, tmp_path, init=str(llama), max_steps=2, **FAST_INIT)
    assert (summary["family"], summary["steps"], summary["processes"]) == ("causal-lm", 2, 1)
    assert summary["parameters"] == summary["trainable_parameters"] > 0
    policy = load_policy(tmp_path)
    assert isinstance(policy, CausalLMPolicy) and policy.metadata["init"] == str(llama) and policy.adapter is None
    assert len(policy.generate(["task: boil water | step 1 | obs: done"], num_beams=2, num_return_sequences=2)[0]) == 2
    assert not (tmp_path / "tokenizer").exists()  # the init model's own tokenizer
    again = fit("executor", data, tmp_path, init=str(llama), max_steps=2, **FAST_INIT)
    assert (again["steps"], again["resumed_from_step"]) == (2, 2)


def test_lora_trains_an_adapter_of_either_family(llama, trained, data, tmp_path):
    summary = fit("executor", data, tmp_path / "llama", init=str(llama), lora_rank=4, max_steps=2, **FAST_INIT)
    assert 0 < summary["trainable_parameters"] < summary["parameters"] / 5
    folder = tmp_path / "llama"
    settings = read_policy_settings(folder)
    assert settings["adapter"]["base"] == str(llama.resolve()) and settings["adapter"]["rank"] == 4
    assert {"q_proj", "v_proj", "down_proj"} <= set(settings["adapter"]["modules"])
    assert not (folder / "model.safetensors").exists()
    counts = policy_parameter_counts(folder)
    assert (counts.total, counts.trainable) == (summary["parameters"], summary["trainable_parameters"])
    assert read_checkpoint(str(folder)) == ("executor", summary["parameters"])
    assert len(load_policy(folder).generate(["task: boil water | step 1 | obs: done"])[0]) == 1
    again = fit("executor", data, folder, init=str(llama), lora_rank=4, max_steps=2, **FAST_INIT)  # the finished run, reloaded
    assert (again["resumed_from_step"], again["trainable_parameters"]) == (2, summary["trainable_parameters"])
    pretrained, _ = trained  # the micro T5 trained above, as a pretrained seq2seq start
    t5 = fit("executor", data, tmp_path / "t5", init=str(pretrained), lora_rank=2, lora_targets="q,v", max_steps=2, **FAST_INIT)
    assert t5["family"] == "seq2seq" and 0 < t5["trainable_parameters"] < t5["parameters"]
    assert read_policy_settings(tmp_path / "t5")["adapter"]["modules"] == ["q", "v"]
    assert isinstance(load_policy(tmp_path / "t5"), Seq2SeqPolicy)


def test_gradient_checkpointing_trains_the_same_adapter(llama, data, tmp_path):
    options = dict(
        init=str(llama), lora_rank=4, max_steps=3, eval_steps=3, **{k: v for k, v in FAST_INIT.items() if k != "eval_steps"}
    )
    plain = fit("executor", data, tmp_path / "plain", **options)
    recomputed = fit("executor", data, tmp_path / "recomputed", gradient_checkpointing=True, **options)
    assert recomputed["best_eval_loss"] == pytest.approx(plain["best_eval_loss"], rel=1e-5)
    assert load_policy(tmp_path / "recomputed").metadata["gradient_checkpointing"] is True


def test_gradient_accumulation_counts_optimizer_steps(data, tmp_path):
    summary = fit("executor", data, tmp_path, max_steps=2, gradient_accumulation_steps=3, **FAST)
    assert summary["steps"] == 2 and load_policy(tmp_path).metadata["gradient_accumulation_steps"] == 3
    assert fit("executor", data, tmp_path, max_steps=2, gradient_accumulation_steps=3, **FAST)["resumed_from_step"] == 2
