"""Shared fixtures: real ScienceWorld envs (one JVM each), closed after use."""

from __future__ import annotations

import gymnasium as gym
import pytest

import sgd_gym  # noqa: F401  (registers the ids)


@pytest.fixture(scope="module")
def boil_env():
    """One flat env on the boil task, shared by a test module (starting a JVM costs ~1 s)."""
    env = gym.make("sgd_gym/ScienceWorld-v0", task="boil", split="train")
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
