"""The index of every committed run in ``benchmarks/results``, generated from the runs' own ``summary.json`` files.

    python -m benchmarks.measure.runs_index          # rewrites the runs_index section of benchmarks/RESULTS.md

One row per run folder: its path, the recipe that made it, the agent, the inference settings its summary records,
the split, the overall score and the episode count. Summaries written before the agent registry record fewer
settings: "partly recorded" (at most the safe-focus and avoid-cycles switches) or "not recorded"; the run's name
says the rest, which the index does not guess from it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure.results import measure_parser, publish

RESULTS = Path("benchmarks/results")
RECIPE_FOLDERS = {"gpu-tiny": "gpu-tiny", "gpu-tiny-bf16": "gpu-tiny-bf16", "cpu-tiny-seed1": "cpu-tiny, seed 1",
                  "scorer-cpu": "scorer-cpu", "quickstart": "quickstart (scorers, 10 tasks)"}
# Inference switches of the code before the agent registry (their summaries record them as booleans).
OLD_SWITCHES = ("safe_focus", "avoid_cycles", "named_focus", "copy_actions", "constrained", "ground_subgoals", "scripted_end",
                "end_stalled")  # fmt: skip


def settings_label(summary: dict[str, Any]) -> str:
    """The inference settings a summary records, in ``--guards`` style (``-`` for the defaults)."""
    settings = summary.get("agent_settings") or {}
    if "agent" in settings:  # AgentConfig.settings(): everything is recorded
        parts = list(settings.get("guards") or [])
    else:
        source = settings or summary
        parts = [name.replace("_", "-") for name in OLD_SWITCHES if source.get(name)]
    if settings.get("executor") == "scripted":
        parts.append("scripted executor")
    if settings.get("replan", "boundary") != "boundary":
        parts.append(f"replan {settings['replan']}")
    if settings.get("num_beams", 3) != 3:
        parts.append(f"beam {settings['num_beams']}")
    label = ", ".join(parts) or "-"
    if not settings:
        label += " (partly recorded)" if any(name in summary for name in OLD_SWITCHES) else " (not recorded)"
    return label


def index_rows(results: Path = RESULTS) -> list[dict[str, Any]]:
    """One row per committed run folder (a folder with ``summary.json``), by path."""
    rows = []
    for path in sorted(results.rglob("summary.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        run = path.parent.relative_to(results)
        settings = summary.get("agent_settings") or {}
        rows.append({
            "run": str(run),
            "recipe": RECIPE_FOLDERS.get(run.parts[0], "cpu-tiny"),
            "agent": settings.get("agent") or settings.get("name") or summary.get("agent", "?"),
            "settings": settings_label(summary),
            "split": summary.get("split", "test"),
            "overall": summary["overall"],
            "episodes": summary["episodes"],
        })  # fmt: skip
    return rows


def markdown_section(rows: list[dict[str, Any]], command: str) -> str:
    """The RESULTS.md section: the table of every committed run."""
    lines = [
        "## Index of committed runs (generated)",
        "",
        f"Every folder of `benchmarks/results` with a `summary.json`, from the summaries themselves (`{command}`). "
        "Test rows follow the protocol (271 episodes: the first 10 test variations of all 30 tasks); dev rows are the "
        '60 episodes (2 dev variations) used to select settings. Settings "partly recorded" or "not recorded": the '
        "summary predates the agent registry; the run's name gives the rest.",
        "",
        "| run | recipe | agent | settings | split | overall | episodes |",
        "| --- | --- | --- | --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| [{row['run']}](results/{row['run']}/summary.json) | {row['recipe']} | {row['agent']} | {row['settings']} | "
        f"{row['split']} | {row['overall']:.1f} | {row['episodes']} |"
        for row in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: rewrite the ``runs_index`` section."""
    parser = measure_parser("benchmarks.measure.runs_index", __doc__)
    parser.add_argument("--results", default=str(RESULTS), help=f"folder of committed runs (default: {RESULTS})")
    args = parser.parse_args(argv)
    rows = index_rows(Path(args.results))
    publish(
        "runs_index", {"runs": rows}, markdown_section(rows, "python -m benchmarks.measure.runs_index"), None, args.results_md
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
