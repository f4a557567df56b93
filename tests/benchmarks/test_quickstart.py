"""sgd quickstart end to end with a micro config (a few variations, a few training steps)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file

from benchmarks.replay import check_replay
from sgd_gym.io import read_jsonl

MICRO_CONFIG = {  # the quickstart's default family (scorer) at micro size
    "tasks": ["find-non-living-thing", "find-living-thing"],
    "train_variations": 2,
    "dev_variations": 1,
    "test_variations": 1,
    "max_steps_per_model": 12,  # a step budget, like the default: a re-run trains the same models
    "eval_steps": 6,
    "batch_size": 8,
    "learning_rate": 0.01,
    "eval_max_steps": 8,
    "num_beams": 1,
    "scorer": {"buckets": 4096, "dim": 16, "hidden": 16},
}
T5_MICRO_CONFIG = {  # the generative family (configs/quickstart-t5.yaml) at micro size
    **{key: value for key, value in MICRO_CONFIG.items() if key != "scorer"},
    "family": "generative",
    "minutes_per_model": None,
    "config_overrides": {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16},
}


def test_quickstart_runs_end_to_end_resumes_and_repeats(tmp_path):
    config = tmp_path / "micro.yaml"
    config.write_text(yaml.safe_dump(MICRO_CONFIG))
    out = tmp_path / "qs"
    command = [sys.executable, "-m", "benchmarks.cli", "quickstart", "--config", str(config), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| task | hierarchical | flat | random | oracle |" in done.stdout
    assert "'loss'" not in done.stdout and "eval_loss" not in done.stdout  # stdout holds results, not Trainer logs
    for noise in ("Warning", "warning", "leaked", "Traceback", "Loading weights", "Writing model shards"):
        assert noise not in done.stderr, (noise, done.stderr[-3000:])  # a clean run is quiet
    bars = [line for line in re.split(r"[\r\n]", done.stderr) if "%|" in line]
    unlabelled = [line for line in bars if not re.match(r"^\s*[a-z][\w -]*: +\d+%\|", line)]
    assert bars and not unlabelled, unlabelled[:5]  # every bar names its stage
    assert {re.match(r"^\s*([a-z][\w -]*):", line).group(1) for line in bars} == {
        "collect train", "collect dev", "candidates", "train planner scorer", "train executor scorer", "train flat scorer",
        "hierarchical", "flat", "random", "oracle"}  # one bar per stage  # fmt: skip
    for name in ("comparison.md", "comparison.png", "gap.json"):
        assert (out / name).stat().st_size > 0
    gap = json.loads((out / "gap.json").read_text())
    assert gap["episodes"] == 2 and f"overall: {gap['overall']['gap']:+.1f} points" in done.stdout
    for agent in ("hierarchical", "flat", "random", "oracle"):
        summary = json.loads((out / "runs" / agent / "summary.json").read_text())
        assert summary["episodes"] == 2 and len(read_jsonl(out / "runs" / agent / "episodes.jsonl")) == 2
    oracle = json.loads((out / "runs" / "oracle" / "summary.json").read_text())
    assert oracle["per_task"]["find-non-living-thing"] == 100.0
    planner = json.loads((out / "checkpoints" / "planner" / "sgd_policy.json").read_text())
    assert planner["family"] == "scorer" and planner["scorer"]["hidden"] == 16
    hierarchical = json.loads((out / "runs" / "hierarchical" / "summary.json").read_text())
    assert hierarchical["agent_settings"]["guards"] == ["safe-focus", "avoid-cycles", "named-focus"]  # dev's choice

    again = subprocess.run(command, capture_output=True, text=True, timeout=900)  # every stage is on disk: nothing redone
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.count("done earlier") == 6

    # Seeded: the same config in a fresh folder (on the same gold paths) trains the same models and plays the same episodes.
    config.write_text(yaml.safe_dump({**MICRO_CONFIG, "data": str(out / "data")}))
    repeat = subprocess.run(command[:-1] + [str(tmp_path / "qs2")], capture_output=True, text=True, timeout=900)
    assert repeat.returncode == 0, repeat.stderr[-3000:]
    assert repeat.stderr.count("done earlier") == 0
    for kind in ("planner", "executor", "flat"):
        first, second = (load_file(folder / "checkpoints" / kind / "model.safetensors") for folder in (out, tmp_path / "qs2"))
        assert first.keys() == second.keys() and all(torch.equal(first[key], second[key]) for key in first), kind
    for agent in ("hierarchical", "flat"):  # what `sgd check` compares: every action, score and outcome
        result = check_replay(out / "runs" / agent, tmp_path / "qs2" / "runs" / agent)
        assert (result["compared"], result["identical"]) == (2, 2), result


def test_bad_config_is_rejected_before_work(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("tasks: [boil]\nlearning_rat: 0.1\n")
    command = [sys.executable, "-m", "benchmarks.cli", "quickstart", "--config", str(config), "--out", str(tmp_path / "o")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown quickstart setting(s) ['learning_rat']" in done.stderr
    assert not (tmp_path / "o").exists()
    config.write_text("tasks: [boiling]\n")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown task 'boiling'" in done.stderr


def test_reproduce_runs_ppo_rows_ablations_and_publishes_results(tmp_path):
    config = {
        **T5_MICRO_CONFIG,
        "tasks": ["find-non-living-thing"],
        "agents": ["oracle", "hierarchical", "ppo-options"],
        "ablations": {"hierarchical-scripted-executor": {"executor": "scripted"}},
        "ppo_timesteps": 32,
        "models": {"planner": {"learning_rate": 0.02, "max_steps": 8}},
        "results": str(tmp_path / "results"),
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "rep"
    command = [sys.executable, "-m", "benchmarks.cli", "reproduce", "--config", str(path), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| task | oracle | hierarchical | ppo-options | hierarchical-scripted-executor |" in done.stdout
    assert "| LLM calls | 0 | 0 | 0 | 0 |" in done.stdout
    planner = json.loads((out / "stages" / "train-planner.json").read_text())
    executor = json.loads((out / "stages" / "train-executor.json").read_text())
    assert planner["steps"] == 8 and executor["steps"] == 12  # per-model settings override the shared ones
    for run in ("oracle", "hierarchical", "ppo-options", "hierarchical-scripted-executor"):
        for name in ("summary.json", "episodes.jsonl", "table.md"):
            assert (tmp_path / "results" / run / name).stat().st_size > 0
    ablation = json.loads((tmp_path / "results" / "hierarchical-scripted-executor" / "summary.json").read_text())
    assert ablation["agent"] == "hierarchical-scripted-executor" and 0 < ablation["parameters"] < planner["parameters"] * 2
    settings = ablation["agent_settings"]  # which models and inference settings made the row
    assert settings["agent"] == "hierarchical" and settings["executor"] == "scripted" and settings["num_beams"] == 1
    assert settings["planner"] == str(out / "checkpoints" / "planner")


def test_reproduce_needs_a_config_and_rejects_bad_values(tmp_path):
    base = [sys.executable, "-m", "benchmarks.cli", "reproduce"]
    done = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--config" in done.stderr
    for text, message in (
        ("agents: [oracle, genius]\n", "unknown agent 'genius' in agents"),
        ("ablations: [no-planner]\n", "ablations: Input should be a valid dictionary (got ['no-planner'])"),
        ("batch_size: 0\n", "batch_size: Input should be greater than 0 (got 0)"),
        ("family: generative\nlora_rank: 0\n", "lora_rank: Input should be greater than 0 (got 0)"),
        ("ablations: {smart: {wisdom: 3}}\n", "ablation 'smart': unknown setting(s) ['wisdom']"),
        ("ablations: {mine: {planner: my/planner}}\n", "ablation 'mine': unknown setting(s) ['planner']"),
        ("ablations: {careful: {guards: [careful]}}\n", "run 'careful': unknown guard 'careful'"),
        ("ablations: {odd: {agent: random, num_beams: 2}}\n", "run 'odd': --num-beams applies to --agent flat or hierarchical"),
        ("models: {planner: {lr: 0.1}}\n", "unknown setting(s) ['lr'] for models.planner"),
        ("replan: sometimes\n", "unknown replan 'sometimes'"),
        ("family: generative\nprecision: fp8\n", "unknown precision 'fp8'"),
        ("family: scorers\n", "unknown family 'scorers': expected one of ['scorer', 'generative']"),
        ("preset: tiny\n", "setting(s) ['preset'] apply to family: generative"),
        ("scorer: {width: 3}\n", "unknown setting(s) ['width'] in scorer"),
        ("scorer: {head: deep}\n", "unknown head 'deep'"),
        ("family: generative\nscorer: {head: dot}\n", "scorer settings apply to family: scorer"),
        ("max_steps_per_model: null\n", "family scorer trains to a step budget"),
        ("models: {planner: {epochs: 3}}\n", "models.planner: ['epochs'] apply to family: generative"),
        ("tasks: [boil\n", "not valid YAML"),
    ):
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        done = subprocess.run(base + ["--config", str(path), "--out", str(tmp_path / "o")], capture_output=True, text=True,
                              timeout=120)  # fmt: skip
        assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "o").exists()
    from benchmarks.recipes import RecipeConfig

    for shipped in ("cpu-tiny.yaml", "gpu-tiny.yaml", "gpu-tiny-bf16.yaml", "paper.yaml", "smollm2-gpu.yaml"):
        config = RecipeConfig.load(Path(__file__).parents[2] / "configs" / shipped)
        assert len(config.tasks) == 30 and config.train_variations is None and config.test_variations == 10
        assert config.family == "generative" and config.run_guards() == []
    old = RecipeConfig.load(Path(__file__).parents[2] / "configs" / "quickstart-t5.yaml")  # the quickstart before scorers
    assert (old.family, old.preset, old.max_steps_per_model, old.train_variations, old.test_variations) == (
        "generative", "tiny", 100, 8, 1)  # fmt: skip
    smoke = RecipeConfig.load(Path(__file__).parents[2] / "configs" / "smollm2-cpu-smoke.yaml")
    assert (smoke.init, smoke.lora_rank, smoke.train_settings("executor").lora_rank) == ("smollm2-135m", 8, 8)


def test_ablations_change_only_their_setting(tmp_path):
    from benchmarks.recipes import RecipeConfig, agent_configs

    ablations = {
        "hierarchical-every-step": {"replan": "every-step"},
        "hierarchical-scripted-executor": {"executor": "scripted"},
        "hierarchical-guarded": {"guards": ["named-focus", "safe-focus"]},
        "flat-guarded": {"agent": "flat", "guards": ["safe-focus"], "num_beams": 5},
    }
    config = RecipeConfig.load(None, agents=["hierarchical", "oracle"], ablations=ablations, num_beams=2)
    configs = agent_configs(config, tmp_path)
    base = configs["hierarchical"]
    assert (base.planner, base.executor, base.replan, base.num_beams) == (str(tmp_path / "planner"), str(tmp_path / "executor"),
                                                                         "boundary", 2)  # fmt: skip
    assert configs["oracle"].num_beams == 3  # the recipe's beam width goes only to the agents that read it
    assert configs["hierarchical-every-step"] == base.replace(replan="every-step")
    assert base.guards == ("safe-focus", "avoid-cycles", "named-focus")  # the scorer recipe's: those dev chose
    # a scripted executor chooses its actions by rule: of the recipe's guards only the sub-goal one applies
    assert configs["hierarchical-scripted-executor"] == base.replace(executor="scripted", guards=("named-focus",))
    assert configs["hierarchical-guarded"] == base.replace(guards=("safe-focus", "named-focus"))  # one order
    flat = configs["flat-guarded"]  # a flat ablation needs no flat row in agents
    assert (flat.agent, flat.checkpoint, flat.guards, flat.num_beams) == ("flat", str(tmp_path / "flat"), ("safe-focus",), 5)
    # a recipe's option guards go to the learned executor only: not to the flat agent, nor to the scripted executor
    guards = ["safe-focus", "reach-room", "avoid-subgoal-cycles"]
    scripted = {"scripted": {"executor": "scripted"}}
    options = RecipeConfig.load(None, agents=["hierarchical", "flat"], guards=guards, ablations=scripted)
    configs = agent_configs(options, tmp_path)
    assert configs["hierarchical"].guards == ("safe-focus", "reach-room", "avoid-subgoal-cycles")
    assert configs["flat"].guards == ("safe-focus",) and configs["scripted"].guards == ("avoid-subgoal-cycles",)
    for config in configs.values():
        config.check(checkpoints=False)  # each is a valid agent setting


def test_default_quickstart_trains_scorers_to_a_step_budget():
    from agents.train_scorer import ScorerTrainSettings
    from benchmarks.recipes import MODEL_KINDS, RecipeConfig

    config = RecipeConfig.load(None)  # what `sgd quickstart` runs: no wall-clock cap, so a re-run trains the same models
    for kind in MODEL_KINDS:
        settings = config.train_settings(kind)
        assert isinstance(settings, ScorerTrainSettings) and settings.steps == config.max_steps_per_model, kind
    assert config.family == "scorer" and config.test_variations >= 3  # several test variations: the gap has an interval
