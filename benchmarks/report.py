"""Result reporting shared by the benchmarks: marked sections of ``benchmarks/RESULTS.md``, machine facts."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sgd_gym.io import atomic_write_text

RESULTS_HEADING = "# sgd-gym benchmark results\n"


def update_section(path: str | Path, name: str, markdown: str) -> Path:
    """Replace (or append) the section between ``<!-- name:start -->`` and ``<!-- name:end -->``, atomically."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_HEADING
    block = f"<!-- {name}:start -->\n{markdown.rstrip()}\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    return atomic_write_text(path, text)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def java_version() -> str:
    """The first line of ``java -version``."""
    try:
        return subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr.splitlines()[0].strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return "java: unknown"


def machine_summary() -> str:
    """One line: CPU model, cores, Python, Java, date."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; {java_version()}; {now}"


def scores_csv(records: list[dict]) -> str:
    """One row per episode: task, split, variation, variation_id, score, steps, wall_time, error."""
    rows = ["task,split,variation,variation_id,score,steps,wall_time,error"]
    for r in records:
        error = (r.get("error") or "").replace('"', "'")
        rows.append(f"{r['task']},{r['split']},{r['variation']},{r['variation_id']},{r['score']:.1f},{r['steps']},"
                    f"{r['wall_time']:.3f},\"{error}\"")  # fmt: skip
    return "\n".join(rows) + "\n"


def plot_scores(summaries: dict[str, dict], path: str | Path) -> Path:
    """Per-task bars of several agents side by side, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    tasks = list(dict.fromkeys(task for s in summaries.values() for task in s["per_task"]))
    width = 0.8 / max(len(summaries), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(tasks) * max(len(summaries), 1) + 2), 4.5))
    for k, (name, summary) in enumerate(summaries.items()):
        xs = [i + k * width for i in range(len(tasks))]
        ax.bar(xs, [summary["per_task"].get(t, 0.0) for t in tasks], width, label=f"{name} ({summary['overall']:.1f})")
    ax.set_xticks([i + width * (len(summaries) - 1) / 2 for i in range(len(tasks))], tasks, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("score (0-100)")
    ax.set_ylim(0, 105)
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
    import json

    from benchmarks.evaluate import markdown_table

    out = Path(out)
    atomic_write_text(out / "scores.csv", scores_csv(records))
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    atomic_write_text(out / "table.md", markdown_table({name: summary}) + "\n")
    plot_scores({name: summary}, out / "scores.png")


def compare_runs(runs: list[str | Path], out: str | Path | None = None) -> str:
    """``sgd report``: the comparison table of several run folders (and a side-by-side PNG in ``out``)."""
    import json

    from benchmarks.evaluate import markdown_table
    from sgd_gym.io import DataFileError

    summaries = {}
    for run in runs:
        path = Path(run) / "summary.json"
        if not path.is_file():
            raise DataFileError(f"{path}: no such file; is {run} a run folder of 'sgd eval'?")
        try:
            summary = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise DataFileError(f"{path}: not valid JSON ({error.msg})") from None
        summaries[summary.get("agent", Path(run).name)] = summary
    table = markdown_table(summaries)
    if out is not None:
        atomic_write_text(Path(out) / "comparison.md", table + "\n")
        plot_scores(summaries, Path(out) / "comparison.png")
    return table
