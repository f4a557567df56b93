"""``sgd gap``: how sure a score gap between two runs is (paired episodes, stratified bootstrap, sign test)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.replay import paired_episodes
from sgd_gym.io import atomic_write_text
from sgd_gym.tasks import get_task

GROUPS = ("short", "medium", "long")
OPTION_KEYS = ("samples", "seed", "confidence")  # stated once in score_gaps' result, not in each pair's


def sign_test(better: int, worse: int) -> float:
    """Two-sided exact binomial p-value of ``better`` against ``worse`` under no difference (ties left out):
    ``scipy.stats.binomtest``; 1 when every episode is tied."""
    from scipy.stats import binomtest

    return 1.0 if better + worse == 0 else float(binomtest(better, better + worse, 0.5).pvalue)


def _task_means(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """The mean of each task's resampled variation gaps (``scipy.stats.bootstrap``'s vectorized statistic)."""
    return np.stack([sample.mean(axis=axis) for sample in samples])


def stratified_bootstrap(samples: list[np.ndarray], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``resamples`` bootstrap draws of each sample's mean, each sample resampled apart (stratified by task):
    ``scipy.stats.bootstrap(paired=False)``'s distribution, shape ``(resamples, len(samples))``. A sample of one value
    has nothing to resample: its column is that value (``score_gap`` gives such estimates no interval)."""
    from scipy.stats import bootstrap

    draws = np.empty((resamples, len(samples)))
    several = [i for i, sample in enumerate(samples) if len(sample) > 1]
    for i, sample in enumerate(samples):
        if len(sample) == 1:
            draws[:, i] = sample[0]
    if several:
        result = bootstrap([samples[i] for i in several], _task_means, n_resamples=resamples, vectorized=True, paired=False,
                           method="percentile", rng=rng)  # fmt: skip
        draws[:, several] = np.asarray(result.bootstrap_distribution).reshape(len(several), resamples).T
    return draws


def _pair(baseline: str | Path, candidate: str | Path, rng: np.random.Generator, samples: int) -> dict[str, Any]:
    """One pair of runs: per-task episode gaps, per-task point gaps and ``samples`` stratified resamples of them."""
    old, new, common = paired_episodes(baseline, candidate)
    common = sorted(common)  # resampling follows a fixed episode order whatever the files hold
    diffs: dict[str, list[float]] = {}
    for key in common:
        diffs.setdefault(key[0], []).append(float(new[key]["score"]) - float(old[key]["score"]))
    tasks = sorted(diffs)
    resampled = stratified_bootstrap([np.asarray(diffs[task]) for task in tasks], samples, rng)
    point = np.asarray([np.mean(diffs[task]) for task in tasks])
    counts = {"episodes": len(common), "only_in_baseline": len(old) - len(common), "only_in_candidate": len(new) - len(common)}
    return {"counts": counts, "diffs": diffs, "tasks": tasks, "resampled": resampled, "point": point}


def _group_columns(tasks: list[str]) -> dict[str, list[int]]:
    """Column indices of ``tasks`` per length group, ``overall`` first; groups without tasks left out."""
    columns = {"overall": list(range(len(tasks)))}
    for group in GROUPS:
        members = [i for i, task in enumerate(tasks) if get_task(task).length_group == group]
        if members:
            columns[group] = members
    return columns


def _check_options(samples: int, confidence: float) -> None:
    if samples < 1:
        raise ValueError(f"samples must be positive, got {samples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    lower, upper = (1 - confidence) / 2 * 100, (1 + confidence) / 2 * 100
    return float(np.percentile(draws, lower)), float(np.percentile(draws, upper))


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
    _check_options(samples, confidence)
    pair = _pair(baseline, candidate, np.random.default_rng(seed), samples)
    result = _pair_result(baseline, candidate, pair, samples, seed, confidence)
    if out is not None:
        atomic_write_text(Path(out) / "gap.json", json.dumps(result, indent=1) + "\n")
    return result


def _pair_result(
    baseline: str | Path, candidate: str | Path, pair: dict[str, Any], samples: int, seed: int, confidence: float
) -> dict[str, Any]:
    """``score_gap``'s result for one pair of runs (``_pair``)."""
    diffs, tasks, resampled, point = pair["diffs"], pair["tasks"], pair["resampled"], pair["point"]

    def estimate(columns: list[int]) -> dict[str, Any]:
        gap = {"gap": float(point[columns].mean()), "low": None, "high": None, "share_above_zero": None, "tasks": len(columns)}
        if min(len(diffs[tasks[i]]) for i in columns) < 2:  # one variation: nothing to resample, no interval
            return gap
        draws = resampled[:, columns].mean(axis=1)
        low, high = _percentiles(draws, confidence)
        return {**gap, "low": low, "high": high, "share_above_zero": float((draws > 0).mean())}

    estimates = {name: estimate(columns) for name, columns in _group_columns(tasks).items()}
    flat = [d for task in tasks for d in diffs[task]]
    better, worse = sum(d > 0 for d in flat), sum(d < 0 for d in flat)
    return {
        "baseline": str(baseline),
        "candidate": str(candidate),
        **pair["counts"],
        "samples": samples,
        "seed": seed,
        "confidence": confidence,
        "overall": estimates.pop("overall"),
        "groups": estimates,
        "episodes_better": better,
        "episodes_worse": worse,
        "episodes_tied": len(flat) - better - worse,
        "sign_test_p": sign_test(better, worse),
    }


def score_gaps(
    pairs: Sequence[tuple[str | Path, str | Path]],
    samples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """The gap ``candidate - baseline`` over several training runs: one (baseline, candidate) pair of run folders per seed.

    Each pair gets ``score_gap``'s result (``pairs``). ``overall`` and ``groups`` (per length group) hold the mean of
    the pairs' protocol gaps, with the spread between pairs (``min``, ``max``, ``sd``) and a two-level bootstrap interval: each
    resample draws as many pairs as there are, with replacement (the training seed is the unit: one model plays every
    task), then each drawn pair's variations within tasks, so the interval holds training noise as well as the
    variations'. With few pairs it is rough (two pairs give three distinct seed draws); the per-pair gaps are the
    evidence. Every pair must cover the same tasks. Written to ``gap.json`` in ``out`` if given.
    """
    _check_options(samples, confidence)
    if len(pairs) < 2:
        raise ValueError(f"score_gaps needs at least two (baseline, candidate) pairs, got {len(pairs)}: use score_gap for one")
    rng = np.random.default_rng(seed)
    raw = [_pair(baseline, candidate, rng, samples) for baseline, candidate in pairs]
    for (baseline, candidate), pair in zip(pairs[1:], raw[1:], strict=True):
        if pair["tasks"] != raw[0]["tasks"]:
            differ = sorted(set(pair["tasks"]) ^ set(raw[0]["tasks"]))
            raise ValueError(f"the pair {baseline} / {candidate} covers other tasks than {pairs[0][0]} / {pairs[0][1]}: {differ}")
    results = [_pair_result(b, c, pair, samples, seed, confidence) for (b, c), pair in zip(pairs, raw, strict=True)]
    picks = rng.integers(0, len(pairs), size=(samples, len(pairs)))
    rows = rng.integers(0, samples, size=(samples, len(pairs)))
    across = {}
    for name, columns in _group_columns(raw[0]["tasks"]).items():
        gaps = np.asarray([pair["point"][columns].mean() for pair in raw])
        per_pair = np.stack([pair["resampled"][:, columns].mean(axis=1) for pair in raw])  # pairs x samples
        draws = per_pair[picks, rows].mean(axis=1)
        low, high = _percentiles(draws, confidence)
        across[name] = {
            "gap": float(gaps.mean()), "low": low, "high": high, "share_above_zero": float((draws > 0).mean()),
            "tasks": len(columns), "min": float(gaps.min()), "max": float(gaps.max()), "sd": float(gaps.std(ddof=1)),
        }  # fmt: skip
    result = {
        "pairs": [{key: value for key, value in r.items() if key not in OPTION_KEYS} for r in results],
        "samples": samples,
        "seed": seed,
        "confidence": confidence,
        "overall": across.pop("overall"),
        "groups": across,
        "pairs_ahead": sum(r["overall"]["gap"] > 0 for r in results),
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


def gaps_text(result: dict[str, Any]) -> str:
    """A short report of ``score_gaps``'s result: each pair's gap, then the gap across pairs."""
    level, n = f"{result['confidence']:.0%}", len(result["pairs"])
    lines = [f"{n} pairs (one per training seed), candidate - baseline:"]
    for pair in result["pairs"]:
        estimate = pair["overall"]
        interval = "" if estimate["low"] is None else f" ({estimate['low']:+.1f} to {estimate['high']:+.1f})"
        lines.append(f"  {pair['candidate']} - {pair['baseline']}: {estimate['gap']:+.1f}{interval}, {pair['episodes']} episodes")
    for name, estimate in {"overall": result["overall"], **result["groups"]}.items():
        lines.append(
            f"{name}, mean over pairs: {estimate['gap']:+.1f} points (pairs {estimate['min']:+.1f} to {estimate['max']:+.1f}, "
            f"sd {estimate['sd']:.1f}; {level} interval over seeds and variations {estimate['low']:+.1f} to "
            f"{estimate['high']:+.1f}; {estimate['tasks']} tasks)"
        )
    lines.append(f"candidate ahead in {result['pairs_ahead']} of {n} pairs; with few pairs the interval is rough")
    return "\n".join(lines)
