"""The evaluation-throughput benchmark writes its JSON and its RESULTS.md section (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks.measure import eval_throughput


def test_eval_throughput_compares_worker_counts(tmp_path):
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# results\n")
    argv = ["--tasks", "find-non-living-thing,power-component", "--variations", "1", "--workers", "1,2",
            "--out", str(tmp_path / "bench"), "--results-md", str(results_md)]  # fmt: skip
    assert eval_throughput.main(argv) == 0
    result = json.loads((tmp_path / "bench" / "eval_throughput.json").read_text())
    assert [row["workers"] for row in result["rows"]] == [1, 2]
    assert all(row["episodes"] == 2 and row["same_records"] and row["episodes_per_min"] > 0 for row in result["rows"])
    assert result["rows"][0]["speedup"] == 1.0
    text = results_md.read_text()
    assert "## Evaluation throughput" in text and "| processes | 2 | 2 |" in text


def test_bad_worker_counts_fail_before_work(capsys):
    with pytest.raises(SystemExit):
        eval_throughput.main(["--workers", "0,2"])
    assert "expected comma-separated positive worker counts, got '0,2'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agent", "flat"], "--agent flat needs --checkpoint CKPT"),
        (["--agent", "hierarchical", "--planner", "no/such/planner", "--executor", "scripted"], "no/such/planner"),
    ],
)
def test_model_agent_without_usable_checkpoint_fails_before_work(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        eval_throughput.main([*argv, "--out", str(tmp_path), "--results-md", ""])
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
