"""The env-throughput benchmark runs end to end on one short task and writes complete results.

Speed is reported by the benchmark, never asserted here: this machine's timings are not a test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from benchmarks.measure import env_throughput as bench
from benchmarks.measure.results import update_section

REPO = Path(__file__).resolve().parents[3]


def _numbers(result: dict) -> dict[str, float]:
    """Every metric of a result, by a readable name."""
    numbers = {f"step_ms.{m}.{stat}": result["step_ms"][m][stat] for m in bench.METHODS for stat in ("median", "mean")}
    numbers.update({f"ratios.{key}": value for key, value in result["ratios"].items()})
    parallel = result["parallel"]
    numbers.update({f"parallel.workers_{n}.episodes_per_s": parallel[f"workers_{n}"]["episodes_per_s"] for n in (1, 2)})
    numbers["parallel.speedup"] = parallel["speedup"]
    numbers.update({f"memory.{key}": value for key, value in result["memory"].items() if key.endswith("_mib")})
    return numbers


def test_benchmark_writes_json_and_markdown(tmp_path: Path) -> None:
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# sgd-gym benchmark results\n\nother section\n")
    argv = [
        "--tasks",
        "find-non-living-thing",
        "--repeats",
        "1",
        "--episodes",
        "2",
        "--memory-episodes",
        "2",
        "--workers",
        "2",
        "--out",
        str(tmp_path / "bench"),
        "--results-md",
        str(results_md),
        "--no-progress",
    ]
    assert bench.main(argv) == 0

    result = json.loads((tmp_path / "bench" / "env_throughput.json").read_text())
    numbers = _numbers(result)
    assert len(numbers) == 2 * len(bench.METHODS) + 10 + 3 + 4
    for name, value in numbers.items():
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (name, value)
    assert result["config"]["tasks"] == ["find-non-living-thing"]
    assert result["gold"]["find-non-living-thing"]["same_final_score"]
    assert result["parallel"]["workers_1"]["episodes"] == result["parallel"]["workers_2"]["episodes"] == 2
    assert {row["metric"] for row in result["targets"]} >= {"parallel speedup, 2 workers vs 1"}

    text = results_md.read_text()
    assert text.startswith("# sgd-gym benchmark results") and "other section" in text
    assert text.count("<!-- env_throughput:start -->") == text.count("<!-- env_throughput:end -->") == 1
    section = text[text.index("<!-- env_throughput:start -->") :]
    assert "| metric | value | target | met? |" in section and " cores; Python " in section and "scienceworld" in section
    assert "python -m benchmarks.measure.env_throughput --tasks find-non-living-thing" in section
    table = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table) == 1 + len(result["targets"])

    update_section(results_md, "env_throughput", bench.markdown_section(result))  # a second run replaces the section
    text = results_md.read_text()
    assert (
        text.count("<!-- env_throughput:start -->") == text.count("<!-- env_throughput:end -->") == 1 and "other section" in text
    )


def test_bad_task_fails_before_any_work(tmp_path: Path) -> None:
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.measure.env_throughput",
            "--tasks",
            "boil,no-such-task",
            "--out",
            str(tmp_path / "bench"),
            "--results-md",
            str(tmp_path / "RESULTS.md"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode != 0
    assert "no-such-task" in process.stderr
    assert not (tmp_path / "bench").exists() and not (tmp_path / "RESULTS.md").exists()
