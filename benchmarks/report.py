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


def command_line(module: str, argv: list[str] | tuple[str, ...] | None = None) -> str:
    """The command that ran ``module`` (``argv``, or this process's arguments), for a RESULTS.md section."""
    import sys

    return f"python -m {module} {' '.join(argv if argv is not None else sys.argv[1:])}".strip()


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


REPLAY_FIELDS = ("seed", "variation_id", "score", "steps", "failed", "error")


def read_episodes(run: str | Path) -> dict[tuple, dict]:
    """The episodes of a run folder by (task, split, variation); ``DataFileError`` naming what is missing."""
    from sgd_gym.io import DataFileError, read_jsonl

    path = Path(run) / "episodes.jsonl"
    if not path.is_file():
        raise DataFileError(f"{path}: no such file; is {run} a run folder of 'sgd eval'?")
    episodes = {}
    for number, record in enumerate(read_jsonl(path), 1):
        try:
            episodes[record["task"], record["split"], record["variation"]] = record
        except KeyError as error:
            raise DataFileError(f"{path}: episode {number} has no {error.args[0]!r} field") from None
    return episodes


def paired_episodes(first: str | Path, second: str | Path) -> tuple[dict[tuple, dict], dict[tuple, dict], list[tuple]]:
    """Both runs' episodes (``read_episodes``) and the (task, split, variation) keys they share, in ``second``'s
    order; ``DataFileError`` when they share none."""
    from sgd_gym.io import DataFileError

    old, new = read_episodes(first), read_episodes(second)
    common = [key for key in new if key in old]
    if not common:
        raise DataFileError(f"{second} and {first} have no episode (task, split, variation) in common")
    return old, new, common


def check_replay(reference: str | Path, replay: str | Path, out: str | Path | None = None) -> dict:
    """``sgd check``: whether the episodes of ``replay`` repeat those of ``reference`` exactly.

    Episodes are matched on (task, split, variation); for each one found in both, the seed, the
    variation id, the score, the steps, the outcome and every action must be equal. Episodes of only
    one run are counted, not compared. The result (also ``replay_check.json`` in ``out``) lists every
    difference with the first action where the two episodes part.
    """
    import json

    old, new, common = paired_episodes(reference, replay)
    differences = []
    for key in common:
        a, b = old[key], new[key]
        fields = [field for field in REPLAY_FIELDS if a.get(field) != b.get(field)]
        actions_a, actions_b = a.get("actions", []), b.get("actions", [])
        if actions_a != actions_b:
            fields.append("actions")
        if fields:
            parts = next((i for i, (x, y) in enumerate(zip(actions_a, actions_b)) if x != y), None)
            if parts is None and len(actions_a) != len(actions_b):
                parts = min(len(actions_a), len(actions_b))
            differences.append(
                {
                    "task": key[0], "split": key[1], "variation": key[2], "fields": fields,
                    "reference_score": a.get("score"), "replay_score": b.get("score"), "first_action_difference": parts,
                }
            )  # fmt: skip
    result = {
        "reference": str(reference),
        "replay": str(replay),
        "compared": len(common),
        "identical": len(common) - len(differences),
        "only_in_reference": len(old) - len(common),
        "only_in_replay": len(new) - len(common),
        "differences": differences,
    }
    if out is not None:
        atomic_write_text(Path(out) / "replay_check.json", json.dumps(result, indent=1) + "\n")
    return result


def replay_check_text(result: dict) -> str:
    """A short report of ``check_replay``'s result."""
    lines = [
        f"{result['identical']}/{result['compared']} episodes identical (seed, variation, score, steps, outcome, "
        f"every action); {result['only_in_reference']} only in {result['reference']}, "
        f"{result['only_in_replay']} only in {result['replay']}"
    ]
    for diff in result["differences"]:
        lines.append(
            f"  {diff['task']} {diff['split']} variation {diff['variation']}: {', '.join(diff['fields'])} differ "
            f"(score {diff['reference_score']} -> {diff['replay_score']}; actions part at step {diff['first_action_difference']})"
        )
    return "\n".join(lines)
