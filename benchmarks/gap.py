"""``sgd gap``: how sure a score gap between two runs is (paired episodes, stratified bootstrap, sign test)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import paired_episodes
from sgd_gym.io import atomic_write_text
from sgd_gym.tasks import get_task

GROUPS = ("short", "medium", "long")


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact binomial p-value of ``better`` against ``worse`` under no difference (ties left out)."""
    n = better + worse
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(better, worse) + 1)) / 2**n
    return min(1.0, 2 * tail)


def score_gap(
    baseline: str | Path,
    candidate: str | Path,
    samples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """The gap ``candidate - baseline`` on their shared episodes, with a bootstrap confidence interval.

    Episodes are paired on (task, split, variation). The gap follows the protocol (mean over a task's
    variations, then over tasks; per length group over its tasks). The interval resamples each task's
    variations with replacement (stratified by task, ``samples`` times, seeded), the percentile method;
    ``share_above_zero`` is the share of resamples where the candidate leads. A task with one shared
    variation leaves nothing to resample: its estimates then have no interval (``low``, ``high`` None).
    Episodes are also counted better / worse / tied, with the two-sided sign test. Written to ``gap.json`` in ``out`` if given.
    """
    if samples < 1:
        raise ValueError(f"samples must be positive, got {samples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    old, new, common = paired_episodes(baseline, candidate)
    common = sorted(common)  # resampling follows a fixed episode order whatever the files hold
    diffs: dict[str, list[float]] = {}
    for key in common:
        diffs.setdefault(key[0], []).append(float(new[key]["score"]) - float(old[key]["score"]))
    tasks = sorted(diffs)
    rng = np.random.default_rng(seed)
    resampled = np.empty((samples, len(tasks)))
    for column, task in enumerate(tasks):
        values = np.asarray(diffs[task])
        resampled[:, column] = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    point = np.asarray([np.mean(diffs[task]) for task in tasks])
    lower, upper = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100

    def estimate(columns: list[int]) -> dict[str, Any]:
        gap = {"gap": float(point[columns].mean()), "low": None, "high": None, "share_above_zero": None, "tasks": len(columns)}
        if min(len(diffs[tasks[i]]) for i in columns) < 2:  # one variation: nothing to resample, no interval
            return gap
        draws = resampled[:, columns].mean(axis=1)
        low, high, above = np.percentile(draws, lower), np.percentile(draws, upper), (draws > 0).mean()
        return {**gap, "low": float(low), "high": float(high), "share_above_zero": float(above)}

    groups = {}
    for group in GROUPS:
        columns = [i for i, task in enumerate(tasks) if get_task(task).length_group == group]
        if columns:
            groups[group] = estimate(columns)
    flat = [d for task in tasks for d in diffs[task]]
    better, worse = sum(d > 0 for d in flat), sum(d < 0 for d in flat)
    result = {
        "baseline": str(baseline),
        "candidate": str(candidate),
        "episodes": len(common),
        "only_in_baseline": len(old) - len(common),
        "only_in_candidate": len(new) - len(common),
        "samples": samples,
        "seed": seed,
        "confidence": confidence,
        "overall": estimate(list(range(len(tasks)))),
        "groups": groups,
        "episodes_better": better,
        "episodes_worse": worse,
        "episodes_tied": len(flat) - better - worse,
        "sign_test_p": sign_test(better, worse),
    }
    if out is not None:
        atomic_write_text(Path(out) / "gap.json", json.dumps(result, indent=1) + "\n")
    return result


def gap_text(result: dict[str, Any]) -> str:
    """A short report of ``score_gap``'s result."""
    level = f"{result['confidence']:.0%}"

    def line(name: str, estimate: dict[str, Any]) -> str:
        if estimate["low"] is None:
            reason = "no interval: a task has one shared variation"
            return f"{name}: {estimate['gap']:+.1f} points ({reason}; {estimate['tasks']} tasks)"
        return (
            f"{name}: {estimate['gap']:+.1f} points ({level} interval {estimate['low']:+.1f} to {estimate['high']:+.1f}; "
            f"candidate ahead in {estimate['share_above_zero']:.0%} of resamples; {estimate['tasks']} tasks)"
        )

    lines = [
        f"{result['candidate']} - {result['baseline']}, {result['episodes']} paired episodes "
        f"({result['only_in_baseline']} only in the baseline, {result['only_in_candidate']} only in the candidate)",
        line("overall", result["overall"]),
        *(line(group, estimate) for group, estimate in result["groups"].items()),
        f"episodes: {result['episodes_better']} better, {result['episodes_worse']} worse, {result['episodes_tied']} tied "
        f"(sign test p = {result['sign_test_p']:.3g})",
    ]
    return "\n".join(lines)
