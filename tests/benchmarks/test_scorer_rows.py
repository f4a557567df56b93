"""The committed scorer-cpu rows come from the shipped checkpoints: re-run from them, a sample of episodes repeats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.protocol import plan_episodes, run_evaluation
from benchmarks.registry import AgentConfig
from benchmarks.replay import check_replay

ROOT = Path(__file__).parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "scorer-cpu"
CHECKPOINTS = ROOT / "checkpoints" / "scorer-cpu"
ROWS = sorted(path.name for path in RESULTS.iterdir() if (path / "summary.json").is_file()) if RESULTS.is_dir() else []


def test_the_shipped_checkpoints_are_complete_scorers():
    from agents.policies import ScorerPolicy, load_policy

    for kind in ("planner", "executor", "flat"):
        policy = load_policy(CHECKPOINTS / kind)
        assert isinstance(policy, ScorerPolicy) and policy.kind == kind
        assert sum(p.numel() for p in policy.net.parameters()) < 10_000_000  # the design's CPU budget: < 10M


@pytest.mark.parametrize("row", ROWS)
def test_a_committed_row_repeats_from_the_shipped_checkpoints(row, tmp_path):
    summary = json.loads((RESULTS / row / "summary.json").read_text())
    settings = dict(summary["agent_settings"])
    for name in ("checkpoint", "planner", "executor"):  # recorded relative to the repository root
        if settings.get(name) not in (None, "scripted"):
            settings[name] = str(ROOT / settings[name])
    config = AgentConfig.from_settings(settings)
    config.check()
    episodes = [spec for spec in plan_episodes(["find-animal"], "test", 2)]
    run_evaluation(config.build, episodes, tmp_path, row, summary["max_steps"], summary["patience"])
    result = check_replay(RESULTS / row, tmp_path)
    assert result["compared"] == len(episodes) and result["identical"] == len(episodes), result["differences"]
