"""The agent contract (``agents.agent.Agent``): declared defaults, what the protocol's env gives each listing, and that
runs made before agents declared a listing still replay with the one they were given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.agent import Agent
from baselines.flat_bc import FlatBCAgent
from benchmarks.protocol import EpisodeSpec, make_eval_env, plan_episodes, run_episode, run_evaluation
from benchmarks.registry import AGENTS, AgentConfig, default_listings
from benchmarks.replay import check_replay

RESULTS = Path(__file__).parents[2] / "benchmarks" / "results"


class Recorder(Agent):
    """Looks around, keeping every ``info`` it was given."""

    needs_valid_actions = True

    def __init__(self, listing: str) -> None:
        self.listing, self.infos = listing, []

    def reset(self, task_description: str) -> None:
        self.infos = []

    def act(self, obs, info):
        self.infos.append(info)
        return "look around"


def test_every_registered_agent_subclasses_agent_and_states_its_listing():
    for spec in AGENTS.values():
        cls = spec.agent_class()
        assert issubclass(cls, Agent), spec.name
        assert "listing" in vars(cls) and cls.listing in ("accepted", "raw"), spec.name  # stated, not inherited
    # The model agents take the accepted list; the others keep what they were given before the contract.
    assert default_listings() == {"random": "raw", "flat": "accepted", "hierarchical": "accepted", "llm": "raw"}
    assert AGENTS["oracle"].agent_class().listing == "raw" and not AGENTS["oracle"].agent_class().needs_valid_actions


def test_the_base_declares_defaults_and_refuses_an_agent_without_act():
    class Silent(Agent):
        def reset(self, task_description: str) -> None:
            pass

    agent = Silent()
    assert (agent.listing, agent.needs_valid_actions, agent.needs_gold_path) == ("accepted", False, False)
    assert agent.seed(3) is None and agent.trace() == {} and agent.usage() == {}
    assert not Silent.records_trace() and FlatBCAgent.records_trace()
    with pytest.raises(NotImplementedError, match="Silent must implement act"):
        agent.act({}, {})
    with pytest.raises(NotImplementedError, match="must implement reset"):
        Agent().reset("task")


def test_the_protocol_refuses_what_is_not_an_agent():
    class DuckTyped:
        def reset(self, task_description):
            pass

        def act(self, obs, info):
            return "look around"

    with pytest.raises(TypeError, match="must subclass agents.agent.Agent"):
        make_eval_env(DuckTyped(), "test", 5)


@pytest.mark.parametrize("listing", ["accepted", "raw"])
def test_the_protocol_env_gives_the_list_the_agent_names(listing):
    agent = Recorder(listing)
    env = make_eval_env(agent, "test", 2)
    try:
        run_episode(agent, env, EpisodeSpec("chemistry-mix", "test", 0, seed=0), max_steps=2)
        first = agent.infos[0]
        env.reset(seed=0, options={"task": "chemistry-mix", "variation": 0})
        raw, accepted = env.unwrapped.valid_actions(), env.unwrapped.accepted_actions()
    finally:
        env.close()
    assert first["listing"] == listing and len(agent.infos) == 2
    assert first["valid_actions"] == (accepted if listing == "accepted" else raw)
    assert set(accepted) < set(raw)  # the two lists differ here, so the check above tells them apart


def test_configs_build_agents_on_their_listing():
    assert AgentConfig("random").build().listing == "raw"
    assert AgentConfig("random", listing="accepted").build().listing == "accepted"
    assert AgentConfig("flat", checkpoint="c").listing == "accepted"
    assert FlatBCAgent(policy=None, listing="raw").listing == "raw"
    assert AgentConfig("oracle").listing is None and "listing" not in AgentConfig("oracle").settings()
    with pytest.raises(ValueError, match="--listing applies to --agent random or flat or hierarchical or llm, not to --agent"):
        AgentConfig("ppo", checkpoint="c", listing="raw").check(checkpoints=False)
    with pytest.raises(ValueError, match="unknown listing 'clean'"):
        FlatBCAgent(policy=None, listing="clean")


def test_recorded_settings_without_a_listing_rebuild_on_the_raw_list():
    new = AgentConfig("hierarchical", planner="p", executor="scripted", guards=("named-focus",))
    assert new.settings()["listing"] == "accepted" and AgentConfig.from_settings(new.settings()) == new
    recorded = {key: value for key, value in new.settings().items() if key != "listing"}  # before the contract
    assert AgentConfig.from_settings(recorded) == new.replace(listing="raw")
    assert AgentConfig.from_settings({"agent": "oracle"}).listing is None  # reads no list
    before_registry = {"name": "flat", "checkpoint": "c", "planner": None, "executor": None, "seed": 0, "num_beams": 5,
                       "replan": "boundary", "cache_dir": "x", "safe_focus": True, "avoid_cycles": True,
                       "copy_actions": False}  # fmt: skip
    assert AgentConfig.from_settings(before_registry) == AgentConfig(
        "flat", checkpoint="c", num_beams=5, guards=("safe-focus", "avoid-cycles"), listing="raw"
    )
    with pytest.raises(ValueError, match=r"recorded settings \['constrained'\] are no longer agent settings"):
        AgentConfig.from_settings({**before_registry, "constrained": True})


def test_every_committed_summary_rebuilds_on_the_list_it_was_run_with():
    summaries = [json.loads(path.read_text()) for path in sorted(RESULTS.rglob("summary.json"))]
    rebuilt = 0
    for summary in summaries:
        settings = summary.get("agent_settings")
        if not settings:
            continue
        try:
            config = AgentConfig.from_settings(settings)
        except ValueError as error:  # a switch this code no longer has
            assert "no longer agent settings" in str(error)
            continue
        config.check(checkpoints=False)
        if "listing" in config.spec.reads:  # recorded since the contract, else raw
            assert config.listing == settings.get("listing", "raw"), settings
        else:  # an agent without the setting (the oracle) records none and gets none
            assert config.listing is None and "listing" not in settings, settings
        rebuilt += 1
    assert rebuilt >= 10


def test_a_run_folder_recorded_before_the_listing_resumes_on_the_raw_list(tmp_path):
    from sgd_gym.folders import ConfigMismatch

    specs = plan_episodes(["boil"], "test", 1)
    config = AgentConfig("random")
    run_evaluation(config.build, specs, tmp_path, "random", max_steps=3, identity=config.identity())
    recorded = json.loads((tmp_path / "run.json").read_text())
    del recorded["agent"]["settings"]["listing"]  # as the code before the contract wrote it
    (tmp_path / "run.json").write_text(json.dumps(recorded))
    run_evaluation(config.build, specs, tmp_path, "random", max_steps=3, identity=config.identity())  # resumes
    accepted = config.replace(listing="accepted")
    with pytest.raises(ConfigMismatch, match="agent.settings.listing: recorded 'raw', now 'accepted'"):
        run_evaluation(accepted.build, specs, tmp_path, "random", max_steps=3, identity=accepted.identity())


@pytest.mark.parametrize(("row", "tasks"), [("random", ["boil", "melt"]), ("oracle", ["power-component"])])
def test_committed_rows_without_recorded_settings_replay_unchanged(row, tasks, tmp_path):
    """The committed random and oracle rows (their checkpoints-free agents), replayed from their summary."""
    summary = json.loads((RESULTS / row / "summary.json").read_text())
    config = AgentConfig.from_settings(summary.get("agent_settings") or {"agent": summary["agent"]})
    assert config.listing == ("raw" if row == "random" else None)
    run_evaluation(config.build, plan_episodes(tasks, "test", 1), tmp_path, row, summary["max_steps"], summary["patience"])
    result = check_replay(RESULTS / row, tmp_path)
    assert result["compared"] == len(tasks) and result["identical"] == len(tasks), result["differences"]
