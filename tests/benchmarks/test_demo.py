"""``sgd demo``: one episode of the shipped hierarchical agent, told step by step, as ``sgd eval`` plays it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.demo import DEMO_TASK, DEMO_VARIATION, ENDINGS, format_transcript

ROOT = Path(__file__).parents[2]
COMMITTED = ROOT / "benchmarks" / "results" / "scorer-cpu" / "hierarchical" / "episodes.jsonl"
ACTION_LINE = re.compile(r"^ +\d+\. (.+?) +score +(\S+)")


def sgd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.cli", *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


def committed_episode(task: str, variation: int) -> dict:
    for line in COMMITTED.read_text().splitlines():
        record = json.loads(line)
        if (record["task"], record["variation"]) == (task, variation):
            return record
    raise AssertionError(f"no committed episode of {task} variation {variation}")


def test_the_default_episode_is_the_one_sgd_eval_recorded():
    """The shipped checkpoints and guards of the committed scorer-cpu row: the same actions, the same score."""
    done = sgd("-q", "demo")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    committed = committed_episode(DEMO_TASK, DEMO_VARIATION)
    actions = [match.group(1) for line in lines if (match := ACTION_LINE.match(line))]
    assert actions == committed["actions"]
    opened = [line.split(": ", 1)[1] for line in lines if line.startswith("sub-goal ")]
    assert opened and opened == [trace["subgoal"] for trace in committed["step_trace"] if trace.get("opened")]
    assert "    -> " + ENDINGS["done"] in lines
    assert lines[-1] == f"score {committed['score']:g} after {committed['steps']} steps"


def test_a_bad_task_or_variation_fails_naming_what_is_allowed():
    done = sgd("demo", "--task", "boiling")
    assert done.returncode == 2
    assert "unknown task 'boiling'" in done.stderr and "test-conductivity (3-3)" in done.stderr
    done = sgd("demo", "--task", "power-component", "--variation", "5")
    assert done.returncode == 2 and "variation 5 is out of range" in done.stderr and "0..4" in done.stderr
    done = sgd("demo", "--table", "--task", "boil")
    assert done.returncode == 2 and "--task is a flag of the episode demo, not of the score table" in done.stderr


def test_the_old_table_flags_still_run_the_table_with_a_warning():
    done = sgd("-q", "demo", "--tasks", "find-non-living-thing", "--variations", "1", "--max-steps", "5")
    assert done.returncode == 0, done.stderr
    assert "| task | oracle | random |" in done.stdout
    assert "DeprecationWarning" in done.stderr and "sgd demo --table" in done.stderr


def test_the_transcript_groups_actions_under_their_sub_goals():
    """Every way an option ends: done, budget, at once (no action), and the no-op step after two such."""
    record = {
        "actions": ["go to hallway", "go to kitchen", "look around", "open fridge", "look around"],
        "step_scores": [0, 5, 5, 5, 5],
        "step_valid": [True, True, True, False, True],
        "step_trace": [
            {"subgoal": "navigate_to(kitchen)", "opened": True},
            {"subgoal": "navigate_to(kitchen)", "guards": ["avoid-cycles"]},
            {"ended": [["navigate_to(kitchen)", "done"], ["focus_on(milk)", "done"]]},
            {"subgoal": "open(fridge)", "opened": True},
            {"subgoal": "look_around()", "opened": True, "ended": [["open(fridge)", "budget"]]},
        ],
        "score": 5.0,
        "steps": 5,
        "failed": False,
        "error": None,
    }
    lines = format_transcript(record, max_steps=5)
    assert lines[0] == "sub-goal 1: navigate_to(kitchen)"
    assert lines[1].startswith("    1. go to hallway") and lines[1].endswith("score   0")
    assert lines[2].endswith("score   5  +5  guards: avoid-cycles")
    assert lines[3:6] == ["    -> " + ENDINGS["done"], "sub-goal 2: focus_on(milk)  (no action)",
                          "    -> " + ENDINGS["done"]]  # fmt: skip
    assert lines[6] == "(no sub-goal: two options in a row ended at once)"
    assert lines[8] == "sub-goal 3: open(fridge)" and lines[9].endswith("not understood")
    assert lines[10:12] == ["    -> budget (the option's step budget was spent)", "sub-goal 4: look_around()"]
    assert lines[-2:] == ["    -> the episode ended: the 5-step budget was spent", "score 5 after 5 steps"]
    started = {**record, "step_scores": [3, 5, 5, 5, 5]}  # the first step's gain needs the score at reset
    assert format_transcript(started)[1].endswith("score   3")
    assert format_transcript({**started, "initial_score": 1})[1].endswith("score   3  +2")
    # patience: the step that changed the score (step 2) is not one of the steps without a change (3, 4, 5)
    stopped = format_transcript({**record, "step_scores": [0, 5, 5, 5, 5]}, max_steps=100)
    assert stopped[-2] == "    -> the episode stopped: no score change in its last 3 steps (the protocol's patience)"
