"""The sgd command line."""

from __future__ import annotations

import json
import subprocess
import sys


def sgd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.cli", *args], capture_output=True, text=True, timeout=600)


def test_demo_prints_a_score_table():
    done = sgd("demo", "--table", "--tasks", "find-non-living-thing,4-1", "--variations", "1")
    assert done.returncode == 0, done.stderr
    assert "| task | oracle | random |" in done.stdout
    assert "| find-non-living-thing | 100.0 |" in done.stdout and "| find-living-thing | 100.0 |" in done.stdout


def test_version_and_quiet_output():
    from importlib.metadata import version

    done = sgd("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"sgd-gym {version('sgd-gym')}"
    done = sgd("-q", "demo", "--table", "--tasks", "find-non-living-thing", "--variations", "1", "--max-steps", "5")
    assert done.returncode == 0 and "| task | oracle | random |" in done.stdout and done.stderr == ""
    done = sgd("-q", "-v", "demo")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr


def test_bad_flag_values_fail_before_any_work():
    done = sgd("demo", "--table", "--tasks", "boiling")
    assert done.returncode == 2 and "unknown task 'boiling'" in done.stderr
    done = sgd("demo", "--table", "--variations", "0")
    assert done.returncode == 2 and "expected a positive integer, got '0'" in done.stderr
    done = sgd("demo", "--table", "--split", "val")
    assert done.returncode == 2 and "invalid choice: 'val'" in done.stderr


def test_help_documents_every_flag():
    done = sgd("demo", "--help")
    for flag in ("--task", "--variation", "--planner", "--executor", "--guards", "--table", "--tasks", "--split",
                 "--variations", "--max-steps", "--workers"):  # fmt: skip
        assert flag in done.stdout
    done = sgd("eval", "--help")  # a flag per AgentConfig field, each naming the agents that read it
    expected = ("--guards", "flat and hierarchical: comma-separated inference guards",
                "safe-focus, avoid-cycles, no-room-focus, named-focus", "--checkpoint", "flat, ppo, ppo-options, rllib-ppo and",
                "--executor", "--replan", "--num-beams", "--llm-cache", "--listing", "flat accepted")  # fmt: skip
    shown = " ".join(done.stdout.split()).replace("no- room", "no-room")  # argparse may wrap at a name's hyphen
    for text in expected:
        assert text in shown, text


def test_eval_rejects_bad_agent_and_missing_checkpoint_before_any_episode(tmp_path):
    done = sgd("eval", "--agent", "genius", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "invalid choice: 'genius'" in done.stderr
    done = sgd("eval", "--agent", "flat", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "--agent flat needs --checkpoint" in done.stderr
    done = sgd("eval", "--agent", "flat", "--checkpoint", str(tmp_path / "nothing"), "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and str(tmp_path / "nothing") in done.stderr
    assert not (tmp_path / "r").exists()


def test_eval_rejects_settings_and_guards_the_agent_would_ignore(tmp_path):
    done = sgd("eval", "--agent", "random", "--guards", "safe-focus", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "--guards applies to --agent flat or hierarchical, not to --agent random" in done.stderr
    done = sgd("eval", "--agent", "flat", "--checkpoint", "x", "--replan", "every-step", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "--replan applies to --agent hierarchical, not to --agent flat" in done.stderr
    done = sgd("eval", "--agent", "flat", "--checkpoint", "x", "--guards", "safe-focus,careful", "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "unknown guard 'careful': expected some of ['safe-focus', 'avoid-cycles'" in done.stderr
    done = sgd("eval", "--agent", "hierarchical", "--planner", "p", "--executor", "scripted", "--guards", "avoid-cycles",
               "--out", str(tmp_path / "r"))  # fmt: skip
    assert done.returncode == 2
    assert "guard 'avoid-cycles' filters actions, which --agent hierarchical --executor scripted does not choose" in done.stderr
    assert not (tmp_path / "r").exists()


def test_check_says_whether_a_rerun_repeats_every_episode(tmp_path):
    """Two seeded runs of one agent: identical; one changed action: found, with the step where they part."""
    runs = []
    for name, variations in (("first", "2"), ("again", "1")):
        out = tmp_path / name
        done = sgd("eval", "--agent", "random", "--tasks", "find-non-living-thing", "--variations", variations,
                   "--max-steps", "12", "--out", str(out))  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs.append(out)
    settings = json.loads((runs[0] / "summary.json").read_text())["agent_settings"]
    assert settings["agent"] == "random" and settings["guards"] == [] and settings["num_beams"] == 3
    done = sgd("check", str(runs[0]), str(runs[1]), "--out", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("1/1 episodes identical") and "1 only in" in done.stdout
    assert json.loads((tmp_path / "replay_check.json").read_text())["identical"] == 1

    episodes = runs[1] / "episodes.jsonl"
    record = json.loads(episodes.read_text())
    record["actions"][3] = "look around" if record["actions"][3] != "look around" else "inventory"
    episodes.write_text(json.dumps(record) + "\n")
    done = sgd("check", str(runs[0]), str(runs[1]))
    assert done.returncode == 1
    assert "0/1 episodes identical" in done.stdout
    assert "find-non-living-thing test variation 0: actions differ" in done.stdout and "part at step 3" in done.stdout


def test_check_rejects_what_it_cannot_compare(tmp_path):
    done = sgd("check", str(tmp_path / "nothing"), str(tmp_path))
    assert done.returncode == 1 and f"{tmp_path / 'nothing' / 'episodes.jsonl'}: no such file" in done.stderr
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    episode = {"task": "boil", "split": "test", "variation": 0, "seed": 1, "variation_id": 21, "actions": [], "error": None,
               "score": 0.0, "steps": 0, "wall_time": 1.0}  # fmt: skip
    (tmp_path / "a" / "episodes.jsonl").write_text(json.dumps(episode) + "\n")
    (tmp_path / "b" / "episodes.jsonl").write_text(json.dumps({**episode, "split": "dev"}) + "\n")
    done = sgd("check", str(tmp_path / "a"), str(tmp_path / "b"))
    assert done.returncode == 1 and "no episode (task, split, variation) in common" in done.stderr
    (tmp_path / "b" / "episodes.jsonl").write_text('{"task": "boil", "variation": 0}\n')
    done = sgd("check", str(tmp_path / "a"), str(tmp_path / "b"))
    assert done.returncode == 1 and "episodes.jsonl:1: episode field 'split': Field required" in done.stderr
    (tmp_path / "b" / "episodes.jsonl").write_text("{not json\n")
    done = sgd("check", str(tmp_path / "a"), str(tmp_path / "b"))
    assert done.returncode == 1 and "episodes.jsonl:1: not valid JSON" in done.stderr
