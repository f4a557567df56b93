"""``sgd quickstart``: the whole method end to end, small enough for 2 CPU cores.

Collect gold paths (train and dev), annotate them with the rules, build the datasets, train the
``tiny`` planner, executor and flat models with equal budgets, evaluate hierarchical vs flat (plus
random and oracle) on test variations, print the table and write the plot. Every stage skips what is
already on disk, so a re-run after Ctrl-C picks up where it stopped.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from pathlib import Path
from typing import Any

from sgd_gym.io import atomic_write_text
from sgd_gym.tasks import get_task

QUICK_TASKS = (
    "find-living-thing", "find-non-living-thing", "find-plant", "find-animal", "lifespan-longest-lived",
    "lifespan-shortest-lived", "power-component", "use-thermometer", "chemistry-mix", "boil",
)  # fmt: skip


@dataclasses.dataclass
class QuickstartConfig:
    """Every knob of the quickstart (a YAML file with these keys overrides the defaults)."""

    tasks: list[str] = dataclasses.field(default_factory=lambda: list(QUICK_TASKS))
    train_variations: int = 8
    dev_variations: int = 1
    test_variations: int = 1
    preset: str = "tiny"
    minutes_per_model: float = 2.5
    max_steps_per_model: int | None = None
    batch_size: int = 16
    learning_rate: float = 1e-3
    eval_steps: int = 50
    max_source_tokens: int = 256
    eval_max_steps: int = 100
    workers: int = 2
    num_beams: int = 3
    seed: int = 0
    out: str = "runs/quickstart"
    config_overrides: dict[str, Any] | None = None  # T5Config fields (tests use a micro model)

    @classmethod
    def load(cls, path: str | Path | None, **overrides: Any) -> QuickstartConfig:
        """Defaults, then the YAML file's keys, then ``overrides``; unknown keys are an error."""
        values: dict[str, Any] = {}
        if path is not None:
            import yaml

            loaded = yaml.safe_load(Path(path).read_text()) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a mapping of quickstart settings")
            values.update(loaded)
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown quickstart setting(s) {unknown}: expected some of {sorted(known)}")
        config = cls(**values)
        config.tasks = [get_task(task).name for task in config.tasks]  # unknown names fail here, before any work
        return config


def _stage(name: str, marker: Path, work) -> Any:
    """Run a stage unless its marker file says it is done; print how long it took."""
    if marker.exists():
        print(f"[quickstart] {name}: done earlier ({marker})")
        return json.loads(marker.read_text())
    start = time.perf_counter()
    result = work()
    atomic_write_text(marker, json.dumps(result, indent=1, default=str))
    print(f"[quickstart] {name}: {time.perf_counter() - start:.0f} s")
    return result


def run_quickstart(config: QuickstartConfig) -> dict[str, dict]:
    """Run every stage; returns the evaluation summaries by agent name."""
    from agents.data.annotate import annotate_rules
    from agents.data.collect import collect
    from agents.data.datasets import build_data
    from agents.train import train
    from benchmarks.evaluate import agent_parameters, make_agent, plan_episodes, run_evaluation
    from benchmarks.report import compare_runs

    out = Path(config.out)
    data, ckpt, runs, stages = out / "data", out / "checkpoints", out / "runs", out / "stages"
    print(f"[quickstart] {len(config.tasks)} tasks, {config.train_variations} train / {config.dev_variations} dev / "
          f"{config.test_variations} test variations each; {config.preset} models, {config.minutes_per_model} min each; "
          f"output in {out}")  # fmt: skip

    def collect_all() -> dict:
        collect(config.tasks, "train", config.train_variations, data, config.workers)
        path = collect(config.tasks, "dev", config.dev_variations, data, config.workers)
        return {"trajectories": str(path)}

    _stage("collect", stages / "collect.json", collect_all)
    _stage("annotate", stages / "annotate.json", lambda: {"annotations": str(annotate_rules(data))})
    _stage("build-data", stages / "build-data.json", lambda: build_data(data, max_tokens=config.max_source_tokens))
    for kind in ("planner", "executor", "flat"):  # equal budgets for every model
        _stage(
            f"train {kind}",
            stages / f"train-{kind}.json",
            functools.partial(
                train, kind, data, ckpt / kind, preset=config.preset, max_steps=config.max_steps_per_model,
                max_minutes=config.minutes_per_model, learning_rate=config.learning_rate, batch_size=config.batch_size,
                seed=config.seed, eval_steps=config.eval_steps, progress=True, max_source_tokens=config.max_source_tokens,
                config_overrides=config.config_overrides,
            ),
        )  # fmt: skip
    specs = plan_episodes(config.tasks, "test", config.test_variations)
    agents = {
        "hierarchical": functools.partial(make_agent, "hierarchical", None, str(ckpt / "planner"), str(ckpt / "executor"),
                                          config.seed, "boundary", config.num_beams),
        "flat": functools.partial(make_agent, "flat", str(ckpt / "flat"), None, None, config.seed, "boundary", config.num_beams),
        "random": functools.partial(make_agent, "random", seed=config.seed),
        "oracle": functools.partial(make_agent, "oracle"),
    }  # fmt: skip
    summaries = {}
    for name, factory in agents.items():
        checkpoints = factory.args[1:4] if len(factory.args) > 1 else (None, None, None)
        extra = {"parameters": agent_parameters(name, *checkpoints), "llm_calls": 0, "llm_tokens": 0, "seed": config.seed}
        summaries[name] = run_evaluation(factory, specs, runs / name, name, config.eval_max_steps, 50, config.workers, extra)
    table = compare_runs([runs / name for name in agents], out)
    print()
    print(table)
    print(f"\n[quickstart] table: {out / 'comparison.md'}, plot: {out / 'comparison.png'}, runs: {runs}")
    return summaries
