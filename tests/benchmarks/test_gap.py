"""sgd gap: paired score gaps with a stratified bootstrap interval and a sign test, on run folders the test writes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks.gap import score_gap, score_gaps, sign_test
from benchmarks.report import summarize
from sgd_gym.io import DataFileError

TASKS = ("boil", "find-living-thing", "mendelian-genetics-known-plant")  # one each of medium, short and long


def write_run(folder, scores: dict[str, list[float]]) -> list[dict]:
    """A run folder holding only what ``sgd gap`` reads: one episode record per (task, variation) score."""
    records = [
        {"task": task, "split": "test", "variation": v, "variation_id": v, "seed": 0, "score": score, "steps": 1,
         "wall_time": 0.0, "error": None, "actions": ["look around"]}
        for task, values in scores.items() for v, score in enumerate(values)
    ]  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def test_gap_follows_the_protocol_and_its_interval_holds_it(tmp_path):
    base = write_run(
        tmp_path / "base", {"boil": [0, 10, 20], "find-living-thing": [100, 0], "mendelian-genetics-known-plant": [50]}
    )
    cand = write_run(
        tmp_path / "cand", {"boil": [10, 10, 50], "find-living-thing": [100, 100], "mendelian-genetics-known-plant": [0]}
    )
    result = score_gap(tmp_path / "base", tmp_path / "cand", samples=2000, seed=3, out=tmp_path)
    expected = summarize(cand)["overall"] - summarize(base)["overall"]  # (40/3 + 50 - 50) / 3
    assert result["overall"]["gap"] == pytest.approx(expected) == pytest.approx(40 / 9)
    # One variation: nothing to resample, so no interval rather than a zero-width one.
    assert result["groups"]["long"] == {"gap": -50.0, "low": None, "high": None, "share_above_zero": None, "tasks": 1}
    assert result["overall"]["low"] is None
    assert result["groups"]["medium"]["low"] <= 40 / 3 <= result["groups"]["medium"]["high"]
    assert result["groups"]["short"]["low"] == 0.0 and result["groups"]["short"]["high"] == 100.0
    assert (result["episodes_better"], result["episodes_worse"], result["episodes_tied"]) == (3, 1, 2)
    assert json.loads((tmp_path / "gap.json").read_text()) == result
    assert score_gap(tmp_path / "base", tmp_path / "cand", samples=2000, seed=3) == result  # seeded
    same = score_gap(tmp_path / "base", tmp_path / "base", samples=100)
    assert same["overall"]["gap"] == same["groups"]["medium"]["low"] == same["groups"]["medium"]["high"] == 0.0
    assert same["sign_test_p"] == 1.0


def test_sign_test_is_the_exact_binomial():
    assert sign_test(0, 0) == 1.0 and sign_test(3, 3) == 1.0
    assert sign_test(5, 0) == pytest.approx(2 / 32) and sign_test(0, 5) == pytest.approx(2 / 32)
    assert sign_test(9, 1) == pytest.approx(2 * 11 / 1024)


def test_gap_rejects_what_it_cannot_compare(tmp_path):
    write_run(tmp_path / "a", {"boil": [0]})
    write_run(tmp_path / "b", {"melt": [0]})
    with pytest.raises(DataFileError, match="no episode .* in common"):
        score_gap(tmp_path / "a", tmp_path / "b")
    with pytest.raises(DataFileError, match="no such file"):
        score_gap(tmp_path / "a", tmp_path / "nowhere")
    with pytest.raises(ValueError, match="samples must be positive"):
        score_gap(tmp_path / "a", tmp_path / "a", samples=0)


def test_gaps_across_seeds_resample_the_seeds_as_well_as_the_variations(tmp_path):
    # Seed 0: the candidate leads by 10 on every episode; seed 1: it trails by 2. No variation noise inside a pair,
    # so the two-level bootstrap can only draw {10, 10}, {10, -2} or {-2, -2}: means 10, 4, -2 (1/4, 1/2, 1/4).
    for seed, (base, cand) in enumerate([(0, 10), (5, 3)]):
        write_run(tmp_path / f"flat{seed}", {task: [base, base, base] for task in TASKS})
        write_run(tmp_path / f"hier{seed}", {task: [cand, cand, cand] for task in TASKS})
    pairs = [(tmp_path / "flat0", tmp_path / "hier0"), (tmp_path / "flat1", tmp_path / "hier1")]
    result = score_gaps(pairs, samples=4000, seed=1, out=tmp_path)
    assert [pair["overall"]["gap"] for pair in result["pairs"]] == [10.0, -2.0]
    assert result["pairs"][1]["episodes_worse"] == 9 and result["pairs"][1]["baseline"] == str(tmp_path / "flat1")
    overall = result["overall"]
    assert (overall["gap"], overall["min"], overall["max"]) == (4.0, -2.0, 10.0)
    assert overall["sd"] == pytest.approx(72**0.5)  # sample sd of {10, -2}
    assert (overall["low"], overall["high"]) == (-2.0, 10.0)
    assert overall["share_above_zero"] == pytest.approx(0.75, abs=0.03)
    assert result["groups"]["long"]["gap"] == 4.0 and result["pairs_ahead"] == 1
    assert json.loads((tmp_path / "gap.json").read_text()) == result
    assert score_gaps(pairs, samples=4000, seed=1) == result  # seeded


def test_gaps_across_seeds_reject_what_they_cannot_pool(tmp_path):
    write_run(tmp_path / "a", {"boil": [0, 1], "melt": [0, 1]})
    write_run(tmp_path / "b", {"boil": [1, 1], "melt": [1, 1]})
    write_run(tmp_path / "c", {"boil": [1, 1]})
    with pytest.raises(ValueError, match=r"other tasks than .*\['melt'\]"):
        score_gaps([(tmp_path / "a", tmp_path / "b"), (tmp_path / "c", tmp_path / "c")])
    with pytest.raises(ValueError, match="at least two .* got 1"):
        score_gaps([(tmp_path / "a", tmp_path / "b")])
    with pytest.raises(ValueError, match="between 0 and 1"):
        score_gaps([(tmp_path / "a", tmp_path / "b")] * 2, confidence=1.5)


def test_gap_command(tmp_path):
    write_run(tmp_path / "flat", {task: [0, 10] for task in TASKS})
    write_run(tmp_path / "hier", {task: [10, 20] for task in TASKS})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "gap", str(tmp_path / "flat"), str(tmp_path / "hier"), "--samples", "200",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "overall: +10.0 points (95% interval +10.0 to +10.0" in done.stdout and "6 better, 0 worse, 0 tied" in done.stdout
    assert (tmp_path / "out" / "gap.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "benchmarks.cli", "gap", str(tmp_path / "flat"), str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and "no such file" in bad.stderr
    across = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", "gap", str(tmp_path / "flat"), str(tmp_path / "hier"), str(tmp_path / "hier"),
         str(tmp_path / "flat"), "--samples", "200"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert across.returncode == 0, across.stderr
    assert "overall, mean over pairs: +0.0 points (pairs -10.0 to +10.0" in across.stdout
    assert "candidate ahead in 1 of 2 pairs" in across.stdout
    odd = subprocess.run([sys.executable, "-m", "benchmarks.cli", "gap", str(tmp_path / "flat")],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert odd.returncode == 2 and "pairs of run folders, got an odd number (1)" in odd.stderr
    bad = subprocess.run([sys.executable, "-m", "benchmarks.cli", "gap", "a", "b", "--confidence", "95"],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr
