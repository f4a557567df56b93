"""``--backend ray`` on a local Ray instance: same records as worker processes, lost actors replaced."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from baselines import RandomAgent
from benchmarks.protocol import evaluate, plan_episodes

pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'sgd-gym[ray]')")


def strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_time"} for r in records]


class DiesOnceAgent(RandomAgent):
    """A random agent whose process dies (as a lost node would) the first time it plays ``variation``."""

    def __init__(self, marker: str, variation: int, seed: int = 0) -> None:
        super().__init__(seed)
        self.marker, self.variation = Path(marker), variation

    def act(self, obs, info):
        if info["variation"] == self.variation and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().act(obs, info)


@pytest.fixture(scope="module")
def ray_instance():
    import ray

    from benchmarks.ray_backend import ensure_ray

    ensure_ray(2)
    yield ray
    ray.shutdown()


def test_ray_backend_matches_worker_processes_and_replaces_lost_actors(ray_instance, tmp_path):
    specs = plan_episodes(["find-living-thing", "power-component"], "test", 2)
    factory = functools.partial(RandomAgent, seed=3)
    local = evaluate(factory, specs, max_steps=15, workers=1)
    on_ray = evaluate(factory, specs, max_steps=15, workers=2, backend="ray")
    assert strip(on_ray) == strip(local)

    marker = tmp_path / "died"
    dying = functools.partial(DiesOnceAgent, str(marker), 1, seed=3)
    recovered = evaluate(dying, specs, max_steps=15, workers=2, backend="ray")
    assert marker.exists()  # an actor really died mid-episode
    assert strip(recovered) == strip(local)  # its episode was played again, from the start, on a new actor


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        evaluate(RandomAgent, plan_episodes(["boil"], "test", 1), backend="spark")
