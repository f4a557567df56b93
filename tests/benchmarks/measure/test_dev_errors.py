"""Error analysis of the distilled models on gold contexts: grouping, scoring, the command line."""

from __future__ import annotations

import json

import pytest

from benchmarks.measure.dev_errors import main, score_predictions, target_kind
from tests.agents.test_train import FAST, fit, make_data


def test_targets_are_grouped_by_what_they_ask_for():
    assert target_kind("executor", "END_SG") == "END_SG"
    assert target_kind("executor", "focus on red wire") == "focus_on"
    assert target_kind("flat", "move metal pot to stove") == "put"
    assert target_kind("flat", "move water to freezer") == "cool"
    assert target_kind("flat", "go to kitchen") == "go"
    assert target_kind("planner", "heat(water, stove)") == "heat"
    assert target_kind("planner", "go to kitchen") == "(not a sub-goal)"


def test_scores_count_exact_matches_groups_and_end_sg():
    targets = ["END_SG", "END_SG", "pick up cup", "pick up cup", "focus on cup", "go to kitchen"]
    predictions = ["END_SG", "pick up cup", "pick up cup", "pick up jar", "END_SG", "go to kitchen"]
    score = score_predictions("executor", targets, predictions)
    assert score["examples"] == 6 and score["exact"] == pytest.approx(3 / 6)
    assert score["end_sg_precision"] == pytest.approx(1 / 2) and score["end_sg_recall"] == pytest.approx(1 / 2)
    assert score["not_a_subgoal"] is None
    groups = score["groups"]
    assert list(groups)[:2] == ["END_SG", "pick_up"]  # largest first
    assert groups["pick_up"] == {"examples": 2, "exact": 0.5, "same_group": 1.0}
    assert groups["focus_on"] == {"examples": 1, "exact": 0.0, "same_group": 0.0}
    actions = ["look around", "pick up cup", "pick up cup", "pick up jar", "focus on cup", "go to kitchen"]
    forced = score_predictions("executor", targets, predictions, actions)["groups"]  # the best non-END_SG candidates
    assert forced["focus_on"]["action_exact"] == 1.0 and forced["pick_up"]["action_exact"] == 0.5
    assert "action_exact" not in forced["END_SG"] and "action_exact" not in groups["focus_on"]
    planner = score_predictions("planner", ["navigate_to(kitchen)"] * 2, ["navigate_to(kitchen)", "walk(kitchen"])
    assert planner["not_a_subgoal"] == 0.5 and planner["end_sg_precision"] is None
    with pytest.raises(ValueError, match="2 targets but 1 predictions"):
        score_predictions("executor", ["a", "b"], ["a"])
    with pytest.raises(ValueError, match="2 targets but 3 actions"):
        score_predictions("executor", ["a", "b"], ["a", "b"], ["a", "b", "c"])


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    data = make_data(tmp_path_factory.mktemp("data"))
    ckpt = tmp_path_factory.mktemp("checkpoints")
    fit("executor", data, ckpt / "executor", max_steps=30, **FAST)
    return data, ckpt


def test_cli_writes_json_and_results_section(checkpoints, tmp_path, capsys):
    data, ckpt = checkpoints
    results_md, out = tmp_path / "RESULTS.md", tmp_path / "errors.json"
    args = ["--data", str(data), "--checkpoints", str(ckpt), "--kinds", "executor", "--num-beams", "2"]
    assert main([*args, "--out", str(out), "--results-md", str(results_md)]) == 0
    result = json.loads(out.read_text())
    executor = result["models"]["executor"]
    assert executor["examples"] == 15 and sum(g["examples"] for g in executor["groups"].values()) == 15
    assert executor["groups"]["END_SG"]["examples"] == 3  # one target in five is END_SG
    assert 0 <= executor["exact"] <= 1
    section = results_md.read_text()
    assert "<!-- dev_errors:start -->" in section and "| executor | 15 |" in section
    assert "exact, best action candidate |" in section
    assert "| executor | 15 |" in capsys.readouterr().out


def test_cli_names_bad_input(checkpoints, tmp_path, capsys):
    data, ckpt = checkpoints
    base = ["--data", str(data), "--checkpoints", str(ckpt), "--results-md", ""]
    assert main([*base, "--kinds", "critic"]) == 2
    assert "unknown model kind 'critic'" in capsys.readouterr().err
    assert main([*base, "--kinds", "planner"]) == 2  # no planner examples in this data folder
    assert "planner.dev.jsonl: no such file" in capsys.readouterr().err
    (data / "examples" / "executor.test.jsonl").write_text("")
    assert main([*base, "--kinds", "executor", "--split", "test"]) == 2
    assert "executor.test.jsonl: no examples" in capsys.readouterr().err
    assert main(["--data", str(data), "--checkpoints", str(tmp_path), "--kinds", "executor", "--results-md", ""]) == 2
    assert str(tmp_path / "executor") in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--limit", "0"])
    assert "--limit: expected a positive integer, got '0'" in capsys.readouterr().err
    assert not (tmp_path / "errors.json").exists()
