"""The viewer's data: replays of recorded episodes, the cache, divergences, sub-goal spans, the terminal trace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.viewer import replays as replays_module
from benchmarks.viewer.data import episode_view, find_episode, load_runs, replay_runs, subgoal_spans
from benchmarks.viewer.page import build_page
from benchmarks.viewer.replays import ReplayCache, divergence
from sgd_gym.io import read_jsonl, write_jsonl

STEP_FIELDS = ("step_scores", "step_valid", "step_trace")


def copy_run(run, to, change):
    """A copy of run folder ``run`` at ``to`` whose records went through ``change`` (record -> record)."""
    shutil.copytree(run, to)
    write_jsonl(to / "episodes.jsonl", [change(dict(record)) for record in read_jsonl(to / "episodes.jsonl")])
    return to


def test_records_carry_each_step_and_the_hierarchical_agent_its_options(micro_runs):
    random_run, hierarchical_run = micro_runs
    for record in read_jsonl(random_run / "episodes.jsonl") + read_jsonl(hierarchical_run / "episodes.jsonl"):
        assert len(record["step_scores"]) == len(record["step_valid"]) == len(record["actions"]) == record["steps"] > 0
        assert record["step_scores"][-1] == record["score"]
    assert all("step_trace" not in record for record in read_jsonl(random_run / "episodes.jsonl"))
    for record in read_jsonl(hierarchical_run / "episodes.jsonl"):
        trace = record["step_trace"]
        assert len(trace) == record["steps"] and trace[0]["subgoal"] == "navigate_to(hallway)" and trace[0]["opened"]
        spans = subgoal_spans(trace)
        assert spans[0]["start"] == 1 and all(span["end"] - span["start"] < 3 for span in spans)  # max_option_steps 3
        assert [span["text"] for span in spans][:2] == ["navigate_to(hallway)", "look_around()"]


def test_replays_repeat_the_records_and_a_second_build_replays_nothing(micro_runs, tmp_path, monkeypatch):
    runs = load_runs(micro_runs)
    replays = replay_runs(runs, ReplayCache(tmp_path / "cache"), workers=2)
    assert len(replays) == sum(len(run.episodes) for run in runs) == 8
    for run in runs:
        for key in run.episodes:
            side = episode_view(key, runs, replays)["runs"][runs.index(run)]
            assert side["diverged"] is None and side["recorded_steps"]
            assert side["scores"] == run.episodes[key]["step_scores"] and None not in side["observations"]

    def no_replaying(*args, **kwargs):
        raise AssertionError("a cached replay was played again")

    monkeypatch.setattr("sgd_gym.parallel.run_in_workers", no_replaying)
    assert replay_runs(runs, ReplayCache(tmp_path / "cache")) == replays


def test_old_records_without_steps_are_shown_from_the_replay(micro_runs, tmp_path):
    old = copy_run(micro_runs[1], tmp_path / "old", lambda r: {k: v for k, v in r.items() if k not in STEP_FIELDS})
    runs = load_runs([micro_runs[1], old])
    replays = replay_runs(runs, ReplayCache(tmp_path / "cache"))
    for key, record in runs[0].episodes.items():
        new_side, old_side = episode_view(key, runs, replays)["runs"]
        assert not old_side["recorded_steps"] and old_side["trace"] is None and old_side["spans"] == []
        assert old_side["scores"] == record["step_scores"] and old_side["valid"] == record["step_valid"]
        assert old_side["observations"] == new_side["observations"] and old_side["diverged"] is None


def test_a_replay_that_parts_from_its_record_is_reported(micro_runs, tmp_path):
    def tamper(record):
        if (record["task"], record["variation"]) == ("power-component", 1):
            record["step_scores"] = record["step_scores"][:2] + [record["step_scores"][2] + 5] + record["step_scores"][3:]
        return record

    tampered = copy_run(micro_runs[0], tmp_path / "tampered", tamper)
    result = build_page([tampered], tmp_path / "page.html", cache=tmp_path / "cache")
    assert result["diverged"] == 1 and result["episodes"] == 4
    replays = replay_runs(load_runs([tampered]), ReplayCache(tmp_path / "cache"))
    side = episode_view(("power-component", "test", 1), load_runs([tampered]), replays)["runs"][0]
    assert side["diverged"]["step"] == 3 and "score after the action: recorded" in side["diverged"]["what"]


def test_divergence_names_the_first_difference():
    episode = {"variation_id": 4, "steps": 3, "score": 10.0, "step_scores": [0, 10, 10], "step_valid": [True, True, False]}
    replay = {"variation_id": 4, "scores": [0, 10, 10], "valid": [True, True, False], "ended_at": None, "initial_score": 0}
    assert divergence(episode, replay) is None
    assert divergence(episode, {**replay, "valid": [True, False, False]}) == {
        "step": 2, "what": "valid after the action: recorded True, replayed False"}  # fmt: skip
    assert divergence(episode, {**replay, "variation_id": 5})["step"] == 0
    assert divergence(episode, {**replay, "scores": [0, 100], "ended_at": 2})["step"] == 2
    old = {k: v for k, v in episode.items() if k not in STEP_FIELDS}
    assert divergence({**old, "score": 20.0}, replay) == {"step": None, "what": "final score: recorded 20.0, replayed 10"}


def test_subgoal_spans_follow_openings_and_endings():
    trace = [
        {"subgoal": "navigate_to(hallway)", "opened": True},
        {"subgoal": "navigate_to(hallway)"},
        {"subgoal": "navigate_to(hallway)", "opened": True, "ended": [["navigate_to(hallway)", "budget"]]},
        {},
        {"subgoal": "focus_on(egg)", "opened": True},
        {"subgoal": "look_around()", "opened": True, "ended": [["focus_on(egg)", "done"], ["mix(cup)", "done"]]},
    ]
    assert subgoal_spans(trace) == [
        {"text": "navigate_to(hallway)", "start": 1, "end": 2, "how": "budget"},
        {"text": "navigate_to(hallway)", "start": 3, "end": 3, "how": "running"},
        {"text": "focus_on(egg)", "start": 5, "end": 5, "how": "done"},
        {"text": "look_around()", "start": 6, "end": 6, "how": "running"},
    ]


def test_find_episode_names_what_the_runs_hold(micro_runs):
    runs = load_runs(micro_runs)
    assert find_episode(runs, "power-component:1") == ("power-component", "test", 1)
    assert find_episode(runs, "3-1:test:0") == ("power-component", "test", 0)
    with pytest.raises(ValueError, match=r"their variations of power-component are \[0, 1\]"):
        find_episode(runs, "power-component:7")
    with pytest.raises(ValueError, match="expected TASK:VARIATION"):
        find_episode(runs, "power-component")


def test_sgd_view_prints_one_episode_and_refuses_bad_usage(micro_runs, tmp_path, capsys):
    cache = str(tmp_path / "cache")
    assert main(["view", *map(str, micro_runs), "--episode", "find-living-thing:1", "--cache", cache]) == 0
    text = capsys.readouterr().out
    records = read_jsonl(micro_runs[1] / "episodes.jsonl")
    record = next(r for r in records if (r["task"], r["variation"]) == ("find-living-thing", 1))
    assert "find-living-thing, test variation 1" in text and "gold path (" in text
    assert "== random: score" in text and "== hierarchical: score" in text and "the replay repeats the record" in text
    assert f"   1  {record['actions'][0]}  -> score" in text and "[opens navigate_to(hallway)]" in text
    assert main(["view", str(micro_runs[0])]) == 2
    assert main(["view", str(micro_runs[0]), "--episode", "boil:0", "--cache", cache]) == 2
    assert "no run holds 'boil:0'" in capsys.readouterr().err


def test_the_cache_ignores_files_of_another_format(tmp_path):
    cache = ReplayCache(tmp_path)
    cache.put("abc", {"scores": [1]})
    assert cache.get("abc") == {"scores": [1]} and cache.get("other") is None
    (tmp_path / "abc.json").write_text(json.dumps({"format": replays_module.REPLAY_FORMAT + 1, "replay": {}}))
    assert cache.get("abc") is None and ReplayCache(None).get("abc") is None


def test_ci_installs_the_browser_that_the_page_test_needs():
    root = Path(__file__).parents[3]
    assert "bash scripts/setup.sh --browser" in (root / ".ci" / "run").read_text(encoding="utf-8")
    setup = (root / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert "apt_install chromium chromium-driver" in setup  # Debian's names; find_browser looks for both commands
