"""The agent registry: one config per agent, checked from checkpoint metadata, built in workers; a new guard needs no
edit outside its own class (the throwaway one below lives in this file alone)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
import torch

from agents.guards import GUARDS, Guard, register_guard
from agents.policies.base import count_parameters
from agents.policies.seq2seq import Seq2SeqPolicy, build_model
from agents.policies.tokenizer import train_tokenizer
from baselines.flat_bc import FlatBCAgent
from benchmarks.protocol import plan_episodes, run_evaluation
from benchmarks.registry import AGENTS, AgentConfig, read_checkpoint

MICRO = dict(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Untrained micro policies saved as each kind, as ``sgd train`` leaves them (parameters in the metadata)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    tokenizer = train_tokenizer(["look around", "open door to kitchen", "navigate_to(kitchen)", "END_SG"] * 3)
    torch.manual_seed(0)
    model = build_model("tiny", tokenizer, config_overrides=MICRO)
    for kind in ("planner", "executor", "flat"):
        metadata = {"parameters": count_parameters(model), "steps": 0}
        Seq2SeqPolicy(model, tokenizer, kind=kind, max_source_tokens=128, metadata=metadata).save(folder / kind)
    return folder


def test_every_agent_has_a_spec_reading_only_config_fields():
    fields = set(AgentConfig.__dataclass_fields__)
    for spec in AGENTS.values():
        assert set(spec.reads) <= fields - {"agent"}, spec.name
    ppo = {"ppo", "ppo-options", "rllib-ppo", "rllib-ppo-options"}
    assert set(AGENTS) == {"random", "oracle", "flat", "hierarchical", "llm", *ppo}


def test_checkpoints_are_checked_from_their_metadata(checkpoints):
    parameters = count_parameters(Seq2SeqPolicy.load(checkpoints / "flat").model)
    assert read_checkpoint(str(checkpoints / "planner")) == ("planner", parameters)
    flat = AgentConfig("flat", checkpoint=str(checkpoints / "flat"))
    flat.check()
    assert flat.parameters() == read_checkpoint(str(checkpoints / "flat"))[1]
    hierarchical = AgentConfig("hierarchical", planner=str(checkpoints / "planner"), executor=str(checkpoints / "executor"))
    hierarchical.check()
    assert hierarchical.parameters() == 2 * flat.parameters()
    assert hierarchical.replace(executor="scripted").parameters() == flat.parameters()  # the planner only
    wrong = AgentConfig("flat", checkpoint=str(checkpoints / "planner"))
    with pytest.raises(ValueError, match=r"--checkpoint .*planner holds a 'planner' checkpoint; --agent flat needs a 'flat' one"):
        wrong.check()
    swapped = hierarchical.replace(planner=str(checkpoints / "executor"))
    with pytest.raises(ValueError, match="--planner .* holds a 'executor' checkpoint; --agent hierarchical needs a 'planner'"):
        swapped.check()
    with pytest.raises(ValueError, match="--agent hierarchical needs --executor CKPT"):
        AgentConfig("hierarchical", planner=str(checkpoints / "planner")).check()
    with pytest.raises(ValueError, match="no such checkpoint folder"):
        AgentConfig("ppo", checkpoint=str(checkpoints / "missing")).check()
    with pytest.raises(ValueError, match=r"unknown agent 'genius': expected one of \['random'"):
        AgentConfig("genius").check()


def test_settings_an_agent_would_ignore_are_refused():
    with pytest.raises(ValueError, match="--num-beams applies to --agent flat or hierarchical, not to --agent oracle"):
        AgentConfig("oracle", num_beams=5).check()
    with pytest.raises(ValueError, match="--llm-cache applies to --agent llm, not to --agent random"):
        AgentConfig("random", llm_cache="x").check()
    with pytest.raises(ValueError, match="unknown replan mode 'sometimes'"):
        AgentConfig("hierarchical", planner="p", executor="scripted", replan="sometimes").check(checkpoints=False)
    scripted = AgentConfig("hierarchical", planner="p", executor="scripted", guards=("named-focus",))
    scripted.check(checkpoints=False)  # named focus filters the planner's sub-goals too
    with pytest.raises(ValueError, match="guard 'safe-focus' filters actions, which --agent hierarchical --executor scripted"):
        scripted.replace(guards=("safe-focus",)).check(checkpoints=False)
    with pytest.raises(ValueError, match="guard 'reach-room' filters options, which --agent hierarchical --executor scr"):
        scripted.replace(guards=("reach-room",)).check(checkpoints=False)
    with pytest.raises(ValueError, match="filters options, which --agent flat does not choose by model; option guards act"):
        AgentConfig("flat", checkpoint="f", guards=("finish-pattern",)).check(checkpoints=False)
    AgentConfig("hierarchical", planner="p", executor="e", guards=("reach-room",)).check(checkpoints=False)


def test_the_config_is_the_picklable_factory_and_the_summary_settings(checkpoints):
    config = AgentConfig("flat", checkpoint=str(checkpoints / "flat"), guards=("safe-focus", "avoid-cycles"), num_beams=2)
    build = pickle.loads(pickle.dumps(config.build))  # what worker processes receive
    agent = build()
    assert isinstance(agent, FlatBCAgent) and agent.num_beams == 2
    assert [guard.name for guard in agent.guards] == ["safe-focus", "avoid-cycles"]
    settings = config.settings()
    assert settings["guards"] == ["safe-focus", "avoid-cycles"] and AgentConfig(**settings) == config  # round trip
    hierarchical = AgentConfig("hierarchical", planner=str(checkpoints / "planner"), executor=str(checkpoints / "executor"),
                               guards=("safe-focus", "named-focus"), num_beams=2).build()  # fmt: skip
    assert [g.name for g in hierarchical.guards] == ["named-focus"]  # the planner: sub-goal guards
    assert [g.name for g in hierarchical.executor.guards] == ["safe-focus", "named-focus"]  # the executor: action guards
    ends = AgentConfig("hierarchical", planner=str(checkpoints / "planner"), executor=str(checkpoints / "executor"),
                       guards=("named-focus", "reach-room")).build()  # fmt: skip
    assert [g.name for g in ends.guards] == ["named-focus"]  # option guards go to the executor only
    assert [g.name for g in ends.executor.guards] == ["named-focus", "reach-room"]
    assert hierarchical.executor.num_beams == hierarchical.num_beams == 2


@register_guard
class LookOnly(Guard):
    """A throwaway guard, defined here and nowhere else: only actions that start with 'look'."""

    name = "look-only"
    help = "only look"

    def avoid_actions(self, memory, valid_actions):
        return {action for action in valid_actions if not action.startswith("look")}


def test_a_new_guard_runs_through_the_evaluation_without_any_other_edit(checkpoints, tmp_path):
    assert GUARDS["look-only"] is LookOnly
    specs = plan_episodes(["find-living-thing"], "test", 1)
    plain = AgentConfig("flat", checkpoint=str(checkpoints / "flat"))
    guarded = plain.replace(guards=("look-only",))
    guarded.check()
    runs = {}
    for name, config in (("plain", plain), ("guarded", guarded)):
        extra = {"parameters": config.parameters(), "agent_settings": config.settings()}
        runs[name] = run_evaluation(config.build, specs, tmp_path / name, name, max_steps=6, extra_summary=extra)
    episodes = {name: json.loads((tmp_path / name / "episodes.jsonl").read_text()) for name in runs}
    assert not all(action.startswith("look") for action in episodes["plain"]["actions"])  # the guard has work to do
    assert episodes["guarded"]["actions"] and all(action.startswith("look") for action in episodes["guarded"]["actions"])
    assert runs["guarded"]["agent_settings"]["guards"] == ["look-only"]


def test_eval_refuses_a_checkpoint_of_the_wrong_kind_before_any_episode(checkpoints, tmp_path):
    command = [sys.executable, "-m", "benchmarks.cli", "eval", "--agent", "flat", "--checkpoint", str(checkpoints / "planner"),
               "--tasks", "find-living-thing", "--variations", "1", "--out", str(tmp_path / "run")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "holds a 'planner' checkpoint; --agent flat needs a 'flat' one" in done.stderr
    assert not (tmp_path / "run").exists()
