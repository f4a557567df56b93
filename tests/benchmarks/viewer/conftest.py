"""Two real micro runs for the viewer's tests: a random agent, and the hierarchical agent (a planner that proposes a
fixed list of sub-goals, the scripted executor) whose records carry sub-goals."""

from __future__ import annotations

import functools

import pytest

from agents.hierarchical import HierarchicalAgent
from baselines import RandomAgent
from benchmarks.protocol import plan_episodes, run_evaluation
from sgd_gym.executors import ScriptedExecutor

MICRO_TASKS = ["find-living-thing", "power-component"]
MICRO_STEPS = 8


class ListPlanner:
    """A planner whose next sub-goal is the next of a fixed list, from its start in each episode."""

    max_source_tokens = 256
    subgoals = ("navigate_to(hallway)", "look_around()", "navigate_to(greenhouse)", "navigate_to(outside)")

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, sources, num_beams=1, num_return_sequences=1, **options):
        if "completed: none" in sources[0]:  # a new episode
            self.calls = 0
        text = self.subgoals[self.calls % len(self.subgoals)]
        self.calls += 1
        return [[(text, 0.0)]]


def list_planner_agent() -> HierarchicalAgent:
    return HierarchicalAgent(ListPlanner(), ScriptedExecutor(), max_option_steps=3, num_beams=1)


@pytest.fixture(scope="package")
def micro_runs(tmp_path_factory):
    """Folders of a random run and a hierarchical run: 2 tasks x 2 test variations, 8 steps each."""
    root = tmp_path_factory.mktemp("runs")
    specs = plan_episodes(MICRO_TASKS, "test", 2)
    run_evaluation(functools.partial(RandomAgent, seed=1), specs, root / "random", "random", max_steps=MICRO_STEPS)
    run_evaluation(list_planner_agent, specs, root / "hierarchical", "hierarchical", max_steps=MICRO_STEPS)
    return root / "random", root / "hierarchical"
