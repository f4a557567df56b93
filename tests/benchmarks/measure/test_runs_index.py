"""The index of committed runs in RESULTS.md is generated from the summaries, and current."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.measure.runs_index import index_rows, main, markdown_section, settings_label

ROOT = Path(__file__).parents[3]


def test_settings_are_labelled_from_what_each_summary_records():
    new = {"agent_settings": {"agent": "hierarchical", "guards": ["safe-focus", "named-focus"], "executor": "scripted",
                              "replan": "every-step", "num_beams": 5}}  # fmt: skip
    assert settings_label(new) == "safe-focus, named-focus, scripted executor, replan every-step, beam 5"
    old = {"agent_settings": {"name": "flat", "safe_focus": True, "constrained": True, "num_beams": 3, "replan": "boundary"}}
    assert settings_label(old) == "safe-focus, constrained"
    assert settings_label({"safe_focus": True, "avoid_cycles": False}) == "safe-focus (partly recorded)"
    assert settings_label({}) == "- (not recorded)"


def test_the_committed_index_is_current(tmp_path):
    text = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- runs_index:start -->\n(.*?)\n<!-- runs_index:end -->", text, re.DOTALL).group(1)
    rows = index_rows(ROOT / "benchmarks" / "results")
    assert section == markdown_section(rows, "python -m benchmarks.measure.runs_index"), (
        "RESULTS.md's index is stale: run python -m benchmarks.measure.runs_index"
    )
    assert len(rows) == len(list((ROOT / "benchmarks" / "results").rglob("summary.json"))) >= 40
    headline = next(row for row in rows if row["run"] == "gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles-named-focus")
    assert (headline["agent"], headline["split"], round(headline["overall"], 1), headline["episodes"]) == (
        "hierarchical", "test", 19.5, 271)  # fmt: skip
    results_md = tmp_path / "RESULTS.md"
    assert main(["--results", str(ROOT / "benchmarks" / "results"), "--results-md", str(results_md)]) == 0
    assert section in results_md.read_text()
