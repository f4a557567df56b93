"""Run folders that cannot silently mix, overwrite or lose work, and evaluations that survive the faults of real
clusters (SIGTERM, a hung or dead JVM, a killed parent). Real CLI processes where the case is about processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from baselines.random_agent import RandomAgent
from benchmarks.protocol import evaluate, plan_episodes
from sgd_gym.io import read_jsonl
from tests.conftest import java_pids

SGD = [sys.executable, "-m", "benchmarks.cli"]


def sgd(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*SGD, *args], capture_output=True, text=True, timeout=timeout)


class Watched:
    """A CLI process whose stderr is read as it comes (progress bars included)."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen([*SGD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stderr = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.process.stderr.read(1):
            self.stderr += chunk

    def wait_for(self, pattern: str, timeout: float = 300) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.stderr)
            if found:
                return found
            assert self.process.poll() is None, self.stderr[-2000:]
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} within {timeout} s: {self.stderr[-2000:]}")

    def finish(self, timeout: float = 600) -> int:
        code = self.process.wait(timeout)
        self.thread.join(5)
        return code


def test_resume_into_a_folder_of_another_agent_or_protocol_is_refused(tmp_path):
    run = str(tmp_path / "run")
    common = ["--tasks", "find-plant", "--variations", "3", "--out", run]
    assert sgd("eval", "--agent", "random", *common).returncode == 0
    before = (tmp_path / "run" / "episodes.jsonl").read_text()
    done = sgd("eval", "--agent", "oracle", *common)
    assert done.returncode == 2 and "holds an evaluation run made with other settings" in done.stderr
    assert "agent.settings.agent: recorded 'random', now 'oracle'" in done.stderr and "name: recorded 'random'" in done.stderr
    done = sgd("eval", "--agent", "random", *common, "--max-steps", "5")
    assert done.returncode == 2 and "protocol.max_steps: recorded 100, now 5" in done.stderr
    assert (tmp_path / "run" / "episodes.jsonl").read_text() == before  # nothing touched
    done = sgd("eval", "--agent", "random", *common, "--max-steps", "5", "--overwrite")
    assert done.returncode == 0 and all(r["steps"] <= 5 for r in read_jsonl(tmp_path / "run" / "episodes.jsonl"))
    done = sgd("eval", "--agent", "random", "--tasks", "find-plant", "--variations", "4", "--max-steps", "5", "--out", run)
    assert done.returncode == 0 and len(read_jsonl(tmp_path / "run" / "episodes.jsonl")) == 4  # same settings: resumed


def test_a_retrained_checkpoint_at_the_same_path_is_another_agent(tmp_path):
    from agents.policies.seq2seq import Seq2SeqPolicy, build_model
    from agents.policies.tokenizer import train_tokenizer
    from tests.benchmarks.test_registry import MICRO

    def save(seed: int) -> None:
        import torch

        tokenizer = train_tokenizer(["look around", "open door to kitchen", "go to kitchen"] * 3)
        torch.manual_seed(seed)
        model = build_model("tiny", tokenizer, config_overrides=MICRO)
        Seq2SeqPolicy(model, tokenizer, kind="flat", max_source_tokens=128, metadata={"parameters": 1}).save(tmp_path / "flat")

    save(0)
    args = ["--agent", "flat", "--checkpoint", str(tmp_path / "flat"), "--tasks", "find-plant", "--variations", "1",
            "--max-steps", "3", "--out", str(tmp_path / "run")]  # fmt: skip
    assert sgd("eval", *args).returncode == 0
    save(1)  # retrained: same path, other weights
    done = sgd("eval", *args)
    assert done.returncode == 2 and "agent.checkpoints.checkpoint: recorded '" in done.stderr


def test_two_processes_one_folder_the_second_is_refused_at_once(tmp_path):
    run = str(tmp_path / "run")
    first = Watched("eval", "--agent", "random", "--tasks", "find-plant", "--variations", "12", "--out", run)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "run" / ".sgd.lock").is_file() or not (tmp_path / "run" / ".sgd.lock").read_text():
            assert time.monotonic() < deadline and first.process.poll() is None, first.stderr[-2000:]
            time.sleep(0.1)
        second = sgd("eval", "--agent", "random", "--tasks", "find-animal", "--variations", "12", "--out", run)
        assert second.returncode == 2
        assert f"is being written by process {first.process.pid}" in second.stderr
        assert "(`python -m benchmarks.cli eval --agent random" in second.stderr
    finally:
        assert first.finish() == 0, first.stderr[-2000:]
    assert [r["task"] for r in read_jsonl(tmp_path / "run" / "episodes.jsonl")] == ["find-plant"] * 12


def test_report_names_columns_by_run_and_says_when_episodes_differ(tmp_path):
    for name, variations in (("a/flat", "2"), ("b/flat", "1")):
        assert sgd("eval", "--agent", "random", "--tasks", "find-plant", "--variations", variations, "--max-steps", "5",
                   "--out", str(tmp_path / name)).returncode == 0  # fmt: skip
    done = sgd("report", str(tmp_path / "a" / "flat"), str(tmp_path / "b" / "flat"))
    assert done.returncode == 0
    header = done.stdout.splitlines()[0]
    assert header == f"| task | {tmp_path / 'a' / 'flat'} | {tmp_path / 'b' / 'flat'} |"  # two columns, not one
    assert "these runs hold different episodes" in done.stdout and "1 shared" in done.stdout
    done = sgd("report", str(tmp_path / "a" / "flat"), str(tmp_path / "a" / "flat"))
    assert done.returncode == 1 and "the same run folder is given twice" in done.stderr


def test_sigterm_saves_finished_episodes_quietly_and_the_rerun_resumes(tmp_path):
    run = tmp_path / "run"
    args = ["eval", "--agent", "random", "--tasks", "find-plant,find-animal", "--variations", "12", "--workers", "2",
            "--out", str(run)]  # fmt: skip
    watched = Watched(*args)
    done_before = int(watched.wait_for(r"(\d+)/24").group(1))
    while done_before < 3:
        done_before = max(int(n) for n in re.findall(r"(\d+)/24", watched.stderr))
        time.sleep(0.2)
    watched.process.send_signal(signal.SIGTERM)
    assert watched.finish(60) == 143
    assert "stopped by SIGTERM; finished work is saved" in watched.stderr
    for noise in ("Traceback", "leaked", "BrokenPipe"):
        assert noise not in watched.stderr, watched.stderr[-3000:]
    saved = read_jsonl(run / "episodes.jsonl")
    assert len(saved) >= done_before  # every episode finished before the signal (30 s between periodic saves)
    done = sgd(*args)
    assert done.returncode == 0 and len(read_jsonl(run / "episodes.jsonl")) == 24


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("command", ["eval", "collect"])
def test_workers_and_jvms_die_with_their_parent(tmp_path, command):
    if command == "eval":
        args = ["eval", "--agent", "random", "--tasks", "find-plant", "--variations", "12", "--workers", "2",
                "--out", str(tmp_path / "run")]  # fmt: skip
    else:
        args = ["collect", "--tasks", "boil", "--split", "train", "--variations", "12", "--workers", "2",
                "--out", str(tmp_path / "data")]  # fmt: skip
    watched = Watched(*args)
    deadline = time.monotonic() + 180
    while sum("java" in p.name() for p in descendants(watched.process.pid)) < 2:
        assert time.monotonic() < deadline and watched.process.poll() is None, watched.stderr[-2000:]
        time.sleep(0.2)
    children = descendants(watched.process.pid)
    watched.process.kill()
    watched.finish(30)
    time.sleep(2)
    alive = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [(p.pid, p.name()) for p in alive]
    if command == "collect":
        parts = tmp_path / "data" / "trajectories.parts"
        count = len(list(parts.glob("*.json"))) if parts.is_dir() else 0
        time.sleep(3)
        assert (len(list(parts.glob("*.json"))) if parts.is_dir() else 0) == count  # nobody writes any more


class FaultyAgent(RandomAgent):
    """A random agent that stops or kills its env's JVM once, at the third step of the second episode."""

    def __init__(self, fault: int) -> None:
        super().__init__()
        self.fault, self.episodes, self.steps = fault, 0, 0

    def reset(self, task_description: str) -> None:
        self.episodes, self.steps = self.episodes + 1, 0

    def act(self, obs, info):
        self.steps += 1
        if self.fault and self.episodes == 2 and self.steps == 3:
            ours = [psutil.Process(pid) for pid in java_pids() if psutil.Process(pid).ppid() == os.getpid()]
            os.kill(max(ours, key=lambda process: process.create_time()).pid, self.fault)  # the env's: the newest
            self.fault = 0
        return super().act(obs, info)


@pytest.mark.parametrize("fault", [signal.SIGSTOP, signal.SIGKILL], ids=["hung", "dead"])
def test_a_hung_or_dead_jvm_is_restarted_and_its_episode_replayed(monkeypatch, fault):
    monkeypatch.setenv("SGD_GYM_JVM_TIMEOUT", "5")
    specs = plan_episodes(["find-plant"], "test", 3)
    clean = evaluate(lambda: FaultyAgent(0), specs, max_steps=20)
    faulty = evaluate(lambda: FaultyAgent(fault), specs, max_steps=20)

    def strip(records):
        return [{k: v for k, v in r.items() if k != "wall_time"} for r in records]

    assert strip(faulty) == strip(clean) and all(r["error"] is None for r in faulty)
    assert not [pid for pid in java_pids() if psutil.pid_exists(pid) and psutil.Process(pid).status() == "stopped"]


def test_a_dead_jvm_inside_a_worker_does_not_end_the_run(tmp_path):
    run = tmp_path / "run"
    watched = Watched("eval", "--agent", "random", "--tasks", "find-plant,find-animal", "--variations", "10", "--workers",
                      "2", "--max-steps", "30", "--out", str(run))  # fmt: skip
    watched.wait_for(r"\b([1-9]|1[0-2])/20\b")  # tqdm may skip drawing any one count (1/20 then 3/20)
    javas = [p for p in descendants(watched.process.pid) if "java" in p.name()]
    javas[0].kill()
    assert watched.finish() == 0, watched.stderr[-3000:]
    records = read_jsonl(run / "episodes.jsonl")
    assert len(records) == 20 and all(r["error"] is None for r in records)
    json.loads((run / "summary.json").read_text())
