"""The viewer's page: one self-contained HTML file (CSS, script and data inline; no server, no network)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from benchmarks.viewer.data import Run, episode_keys, episode_view, load_runs, replay_runs
from benchmarks.viewer.replays import DEFAULT_CACHE, ReplayCache
from sgd_gym.io import atomic_write_text

DATA_MARK = "/*DATA*/null"  # where the template takes the page's data


class StringTable:
    """Texts stored once in the page (observations repeat a lot: looks, 'No known action matches that input.')."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.index: dict[str, int] = {}

    def __call__(self, text: str | None) -> int | None:
        """The index of ``text`` in ``strings`` (None stays None)."""
        if text is None:
            return None
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]


def _compact_side(side: dict[str, Any] | None, table: StringTable) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "score": side["score"], "steps": side["steps"], "failed": side["failed"], "error": side["error"],
        "start": side["initial_score"],
        "actions": [table(a) for a in side["actions"]], "obs": [table(o) for o in side["observations"]],
        "scores": side["scores"], "valid": [int(v) for v in side["valid"]], "trace": side["trace"],
        "spans": side["spans"], "recorded": side["recorded_steps"], "diverged": side["diverged"],
    }  # fmt: skip


def run_header(run: Run) -> dict[str, Any]:
    """What the page says about a run: label, folder, agent, overall score and episodes (its ``summary.json``)."""
    summary = run.summary
    settings = summary.get("agent_settings") or {}
    guards = settings.get("guards")
    agent = summary.get("agent") or settings.get("name") or ""
    if guards:
        agent += f" (guards: {', '.join(guards)})"
    return {"label": run.label, "path": str(run.path), "agent": agent, "overall": summary["overall"],
            "episodes": len(run.episodes)}  # fmt: skip


def page_data(runs: Sequence[Run], replays: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Everything the page shows, as one JSON-ready dict: ``runs`` (``run_header``), ``episodes`` (each
    ``episode_view`` with its texts as indices into ``strings``) and ``strings``; the same runs give the same data."""
    table = StringTable()
    episodes = []
    for key in episode_keys(runs):
        view = episode_view(key, runs, replays)
        episodes.append({
            "id": view["id"], "task": view["task"], "split": view["split"], "variation": view["variation"],
            "group": view["group"], "vid": view["variation_id"], "desc": table(view["description"]),
            "gold": [table(a) for a in view["gold_path"]], "init": table(view["initial"]),
            "runs": [_compact_side(side, table) for side in view["runs"]],
        })  # fmt: skip
    return {"runs": [run_header(run) for run in runs], "episodes": episodes, "strings": table.strings}


def render_page(data: dict[str, Any]) -> str:
    """The page's HTML with ``data`` (``page_data``) inline."""
    template = files("benchmarks.viewer").joinpath("page.html").read_text(encoding="utf-8")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")  # no early </script>
    return template.replace(DATA_MARK, payload, 1)


def build_page(
    runs: Sequence[str | Path],
    out: str | Path,
    workers: int = 1,
    cache: str | Path | None = DEFAULT_CACHE,
) -> dict[str, Any]:
    """``sgd view RUN [RUN ...] --out FILE.html``: replay the runs' episodes (``workers`` processes; replays cached
    in ``cache``, None for none) and write the page.

    Returns:
        ``out``, ``episodes`` (shown), ``replays`` (distinct), ``diverged`` (run episodes whose replay parts from
        the record), ``bytes`` (the page's size) and ``seconds`` (the whole build).

    Raises:
        DataFileError: a run folder that cannot be read.
    """
    start = time.perf_counter()
    loaded = load_runs(runs)
    replays = replay_runs(loaded, ReplayCache(cache), workers)
    data = page_data(loaded, replays)
    html = render_page(data)
    atomic_write_text(out, html)
    diverged = sum(side is not None and side["diverged"] is not None for e in data["episodes"] for side in e["runs"])
    return {"out": str(out), "episodes": len(data["episodes"]), "replays": len(replays), "diverged": diverged,
            "bytes": len(html.encode()), "seconds": time.perf_counter() - start}  # fmt: skip
