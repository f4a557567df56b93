"""The viewer's build-time measurement writes its JSON and RESULTS.md section (timings are not asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks.measure import view_build


def test_view_build_plays_every_replay_once_then_reads_the_cache(micro_runs, tmp_path):
    results_md = tmp_path / "RESULTS.md"
    results_md.write_text("# results\n")
    argv = [*map(str, micro_runs), "--workers", "1", "--out", str(tmp_path / "view.html"),
            "--cache", str(tmp_path / "cache"), "--json", str(tmp_path / "view_build.json"),
            "--results-md", str(results_md)]  # fmt: skip
    assert view_build.main(argv) == 0
    result = json.loads((tmp_path / "view_build.json").read_text())
    assert result["same_page"] and result["workers"] == 1
    assert result["first"]["episodes"] == 4 and result["first"]["played"] == result["first"]["replays"] == 8
    assert result["cached"]["played"] == 0 and result["cached"]["replays"] == 8
    text = results_md.read_text()
    assert "## Episode viewer: time to build the page" in text and "| again (from the cache) | 1 |" in text


def test_a_cache_holding_replays_fails_before_work(micro_runs, tmp_path, capsys):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "old.json").write_text("{}")
    with pytest.raises(SystemExit):
        view_build.main([*map(str, micro_runs), "--cache", str(tmp_path / "cache"), "--results-md", ""])
    assert "holds replays already" in capsys.readouterr().err
