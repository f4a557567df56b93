"""Reporting a run: its summary (scores per task, group and overall), tables, plots, run files and comparisons.

Nothing here runs an episode: everything reads episode records or run folders (``benchmarks.protocol`` writes them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sgd_gym.io import DataFileError, atomic_write_text
from sgd_gym.tasks import get_task

LOOP_WINDOW = 10


def ends_in_loop(actions: list[str], window: int = LOOP_WINDOW) -> bool:
    """Whether the last ``window`` actions cycle through at most two commands (e.g. go to A, go to B, ...)."""
    return len(actions) >= window and len(set(actions[-window:])) <= 2


def summarize(records: list[dict]) -> dict:
    """Overall, per-task and per-length-group scores of a list of episode records."""
    per_task: dict[str, list[float]] = {}
    for record in records:
        per_task.setdefault(record["task"], []).append(record["score"])
    task_scores = {task: sum(scores) / len(scores) for task, scores in per_task.items()}
    groups: dict[str, list[float]] = {}
    for task, score in task_scores.items():
        groups.setdefault(get_task(task).length_group, []).append(score)
    return {
        "overall": sum(task_scores.values()) / len(task_scores) if task_scores else 0.0,
        "per_task": task_scores,
        "groups": {group: sum(scores) / len(scores) for group, scores in sorted(groups.items())},
        "tasks_solved": sum(score == 100 for score in task_scores.values()),
        "episodes": len(records),
        "mean_steps": sum(r["steps"] for r in records) / len(records) if records else 0.0,
        "wall_time": sum(r["wall_time"] for r in records),
        "errors": sum(r["error"] is not None for r in records),
        "looping_episodes": sum(r["score"] < 100 and ends_in_loop(r["actions"]) for r in records),
        "failed_episodes": sum(bool(r.get("failed")) for r in records),
        "llm_calls": sum(r.get("llm_calls", 0) for r in records),
        "llm_tokens": sum(r.get("llm_tokens", 0) for r in records),
    }


def markdown_table(summaries: dict[str, dict]) -> str:
    """A per-task score table with one column per agent, then overall and group rows."""
    agents = list(summaries)
    tasks = list(dict.fromkeys(task for summary in summaries.values() for task in summary["per_task"]))
    lines = ["| task | " + " | ".join(agents) + " |", "|---|" + "---:|" * len(agents)]

    def row(name: str, values: list[float | None]) -> str:
        return f"| {name} | " + " | ".join("-" if v is None else f"{v:.1f}" for v in values) + " |"

    for task in tasks:
        lines.append(row(task, [summaries[a]["per_task"].get(task) for a in agents]))
    for group in ("short", "medium", "long"):
        if any(group in summaries[a]["groups"] for a in agents):
            lines.append(row(f"*{group}*", [summaries[a]["groups"].get(group) for a in agents]))
    lines.append(row("**overall**", [summaries[a]["overall"] for a in agents]))
    extra_rows = (
        ("tasks solved", "tasks_solved", "{:d}"),
        ("episodes", "episodes", "{:d}"),
        ("mean steps", "mean_steps", "{:.1f}"),
        (f"unsolved, ending in a loop (last {LOOP_WINDOW} actions: <= 2 commands)", "looping_episodes", "{:d}"),
        ("failed (the game ended the episode, e.g. a wrong focus)", "failed_episodes", "{:d}"),
        ("wall time (s, summed)", "wall_time", "{:.0f}"),
        ("parameters", "parameters", "{:,}"),
        ("LLM calls", "llm_calls", "{:d}"),
        ("LLM tokens", "llm_tokens", "{:d}"),
    )
    for label, key, form in extra_rows:
        if any(key in summaries[a] for a in agents):
            cells = ["-" if summaries[a].get(key) is None else form.format(summaries[a][key]) for a in agents]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


CSV_COLUMNS = ("task", "split", "variation", "variation_id", "score", "steps", "wall_time", "error")


def scores_csv(records: list[dict]) -> str:
    """One row per episode (``CSV_COLUMNS``), written by the ``csv`` module: an error text keeps its quotes and
    commas, and reads back as it was."""
    import csv
    import io

    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([r["task"], r["split"], r["variation"], r["variation_id"], f"{r['score']:.1f}", r["steps"],
                         f"{r['wall_time']:.3f}", r.get("error") or ""])  # fmt: skip
    return stream.getvalue()


ZERO_MARK = 1.0  # the height (score points) of the stub that shows a score of 0, so that no task looks missing


def plot_scores(summaries: dict[str, dict], path: str | Path, title: str = "Scores per task", gap: str | None = None) -> Path:
    """Per-task bars of several runs side by side, written atomically as a PNG that reads without the table.

    The title names the runs' episode counts (and ``gap``, e.g. ``sgd gap``'s one-line result, when two runs are
    compared); the legend gives each run's overall score; a score of 0 is drawn as a short hatched stub labelled 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    tasks = list(dict.fromkeys(task for s in summaries.values() for task in s["per_task"]))
    width = 0.8 / max(len(summaries), 1)
    fig, ax = plt.subplots(figsize=(min(20, max(7, 0.3 * len(tasks) * max(len(summaries), 1) + 3)), 6))
    for k, (name, summary) in enumerate(summaries.items()):
        xs = [i + k * width for i in range(len(tasks))]
        scores = [summary["per_task"].get(t) for t in tasks]
        label = f"{name}: overall {summary['overall']:.1f}, {summary.get('episodes', '?')} episodes"
        bars = ax.bar(xs, [score or 0.0 for score in scores], width, label=label)
        color = bars.patches[0].get_facecolor() if bars.patches else None
        zeros = [x for x, score in zip(xs, scores) if score == 0]
        if zeros:
            ax.bar(zeros, [ZERO_MARK] * len(zeros), width, color=color, hatch="///", edgecolor="white", linewidth=0)
            for x in zeros:
                ax.text(x, ZERO_MARK + 0.5, "0", ha="center", va="bottom", fontsize=6)
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(tasks))], tasks, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("task score (0-100)")
    ax.set_ylim(0, 105)
    episodes = sorted({summary.get("episodes") for summary in summaries.values()}, key=str)
    counts = f"{episodes[0]} episodes per run" if len(episodes) == 1 else "runs of different episode counts"
    ax.set_title(f"{title}: {len(tasks)} tasks, {counts}" + (f"\n{gap}" if gap else ""), fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def write_run_files(out: str | Path, name: str, records: list[dict], summary: dict) -> None:
    """``scores.csv``, ``summary.json``, ``table.md`` and ``scores.png`` of one run folder."""
    out = Path(out)
    atomic_write_text(out / "scores.csv", scores_csv(records))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    atomic_write_text(out / "table.md", markdown_table({name: summary}) + "\n")
    plot_scores({name: summary}, out / "scores.png", title=f"Run {name}")


def run_labels(runs: list[str | Path]) -> list[str]:
    """A column name per run folder: its folder name, or its path where two runs share a folder name.

    Raises:
        DataFileError: the same folder given twice.
    """
    paths = [Path(run) for run in runs]
    resolved = [path.resolve() for path in paths]
    twice = next((str(path) for i, path in enumerate(paths) if resolved[i] in resolved[:i]), None)
    if twice is not None:
        raise DataFileError(f"{twice}: the same run folder is given twice")
    names = [path.name for path in paths]
    return [path.name if names.count(path.name) == 1 else str(path) for path in paths]


def load_summary(run: str | Path) -> dict:
    """A run folder's ``summary.json``, checked against ``sgd_gym.records.Summary``."""
    from sgd_gym.io import check_record
    from sgd_gym.records import Summary

    path = Path(run) / "summary.json"
    if not path.is_file():
        raise DataFileError(f"{path}: no such file; is {run} a run folder of 'sgd eval'?")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataFileError(f"{path}: not valid JSON ({error.msg})") from None
    if not isinstance(summary, dict):
        raise DataFileError(f"{path}: expected a JSON object")
    check_record(summary, Summary, str(path))
    return summary


def episode_sets_note(runs: list[str | Path], labels: list[str]) -> str | None:
    """A line saying how the runs' episode sets differ (None when they hold the same episodes)."""
    from sgd_gym.io import read_jsonl

    sets = {}
    for run, label in zip(runs, labels):
        path = Path(run) / "episodes.jsonl"
        sets[label] = {(r["task"], r["split"], r["variation"]) for r in read_jsonl(path)} if path.is_file() else None
    known = [episodes for episodes in sets.values() if episodes is not None]
    if len(known) == len(sets) and all(episodes == known[0] for episodes in known):
        return None
    shared = set.intersection(*known) if known else set()
    counts = ", ".join(f"{label}: {'?' if e is None else len(e)}" for label, e in sets.items())
    return (
        f"Note: these runs hold different episodes ({counts}; {len(shared)} shared); each column scores its own "
        "episodes. Compare them on their shared episodes with sgd gap BASELINE CANDIDATE."
    )


def compare_runs(runs: list[str | Path], out: str | Path | None = None) -> str:
    """``sgd report``: the comparison table of several run folders (and a side-by-side PNG in ``out``).

    Columns are named by run folder, never merged by agent name (``run_labels``); runs that hold different episode
    sets get a note under the table saying so.
    """
    labels = run_labels(runs)
    summaries = {label: load_summary(run) for run, label in zip(runs, labels)}
    table = markdown_table(summaries)
    note = episode_sets_note(runs, labels)
    if note is not None:
        table += "\n\n" + note
    if out is not None:
        atomic_write_text(Path(out) / "comparison.md", table + "\n")
        gap = None
        if len(runs) == 2 and note is None and all((Path(run) / "episodes.jsonl").is_file() for run in runs):
            from benchmarks.gap import score_gap

            result = score_gap(runs[0], runs[1], samples=2000)["overall"]
            interval = "" if result["low"] is None else f", 95% interval {result['low']:+.1f} to {result['high']:+.1f}"
            gap = f"gap {labels[1]} - {labels[0]}: {result['gap']:+.1f} points{interval} (sgd gap)"
        plot_scores(summaries, Path(out) / "comparison.png", title="Comparison", gap=gap)
    return table
