"""Shared fixtures: real ScienceWorld envs (one JVM each), closed after use."""

from __future__ import annotations

import gymnasium as gym
import pytest

import sgd_gym  # noqa: F401  (registers the ids)


@pytest.fixture(scope="module")
def boil_env():
    """One flat env on the boil task, shared by a test module (starting a JVM costs ~1 s)."""
    env = gym.make("sgd_gym/ScienceWorld-v1", task="boil", split="train")
    yield env
    env.close()


def java_pids() -> set[int]:
    """Process ids of running java processes started from the scienceworld jar."""
    import psutil

    pids = set()
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "java" in (process.info["name"] or "") and "scienceworld" in cmdline:
            pids.add(process.pid)
    return pids


# Tasks whose gold paths, annotated with the rules, use every verb of the gold paths (checked in
# tests/sgd_gym/test_options_env.py): heat, measure, cool, act (melt); use (use-thermometer); mix, read
# (chemistry-mix); connect, drop (test-conductivity); watch, look_at (inclined plane); close (grow-fruit).
GOLD_TASKS = ["melt", "use-thermometer", "chemistry-mix", "test-conductivity", "inclined-plane-determine-angle", "grow-fruit"]


@pytest.fixture(scope="session")
def gold_data(tmp_path_factory):
    """A small data folder: gold trajectories of GOLD_TASKS (train variation 0) and their rules annotation."""
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect

    data = tmp_path_factory.mktemp("data")
    collect(GOLD_TASKS, "train", 1, data, workers=2)
    annotate_rules(data)
    return data
