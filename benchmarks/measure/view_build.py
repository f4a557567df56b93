"""Episode viewer build time: ``sgd view`` on run folders, from an empty replay cache and again from the cache.

python -m benchmarks.measure.view_build RUN [RUN ...] [--workers 2] [--out runs/view/view.html]

The first build replays every episode of the runs in ``--workers`` processes (one JVM each); the second finds every
replay in the cache. Both write the same page (checked). The machine's load average is recorded beside the times:
replays share the cores with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure.results import add_results_argument, command_line, machine_summary, publish
from benchmarks.viewer.page import build_page


def replays_written(cache: Path, since: float) -> int:
    """How many replays were written to ``cache`` (one JSON file each) since the time ``since``."""
    return sum(path.stat().st_mtime >= since for path in cache.glob("*.json")) if cache.is_dir() else 0


def measure(runs: Sequence[str], out: Path, workers: int, cache: Path) -> dict[str, Any]:
    """Build the page twice into ``out`` with replays cached in ``cache`` (empty or absent); both builds' figures,
    each with ``played``: the replays it played and cached (the others it read from the cache)."""
    load_before = os.getloadavg()[0]
    since = time.time()
    first = build_page(runs, out, workers, cache)
    first["played"] = replays_written(cache, since)
    page = out.read_text(encoding="utf-8")
    since = time.time()
    cached = build_page(runs, out, workers, cache)
    cached["played"] = replays_written(cache, since)
    same = out.read_text(encoding="utf-8") == page
    return {"runs": list(runs), "workers": workers, "first": first, "cached": cached, "same_page": same,
            "load_average": [load_before, os.getloadavg()[0]], "cores": os.cpu_count()}  # fmt: skip


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section."""
    first, cached = result["first"], result["cached"]
    runs = ", ".join(f"`{run}`" for run in result["runs"])
    lines = [
        "## Episode viewer: time to build the page (`sgd view`, `benchmarks/measure/view_build.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; load average {result['load_average'][0]:.1f} before, "
        f"{result['load_average'][1]:.1f} after (on {result['cores']} cores shared with other work).",
        f"- Runs: {runs}: {first['episodes']} episodes, {first['replays']} replays "
        f"({first['diverged']} part from their record); page {first['bytes'] / 1e6:.1f} MB.",
        "",
        "| build | workers | seconds | replays played |",
        "| --- | ---: | ---: | ---: |",
        f"| first (empty cache) | {result['workers']} | {first['seconds']:.1f} | {first['played']} |",
        f"| again (from the cache) | {result['workers']} | {cached['seconds']:.1f} | {cached['played']} |",
        "",
        f"Both builds wrote the same page: {'yes' if result['same_page'] else '**no**'}.",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The measurement's flags."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure.view_build", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders of sgd eval")
    parser.add_argument("--workers", type=int, default=2, help="replay processes (default: 2)")
    parser.add_argument("--out", type=Path, default=Path("runs/view/view.html"), help="the page (default: runs/view/view.html)")
    parser.add_argument("--cache", type=Path, help="replay cache, empty or absent (default: a temporary folder, removed after)")
    parser.add_argument("--json", type=Path, default=Path("runs/bench/view_build.json"), help="figures as JSON")
    add_results_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"argument --workers: expected a positive integer, got {args.workers!r}")
    if args.cache is not None and args.cache.is_dir() and any(args.cache.iterdir()):
        parser.error(f"argument --cache: {args.cache} holds replays already; the first build must start from none")
    with tempfile.TemporaryDirectory(prefix="sgd-view-cache-") as scratch:
        result = measure(args.runs, args.out, args.workers, args.cache or Path(scratch) / "replays")
    publish("view_build", result, markdown_section(result, command_line("benchmarks.measure.view_build", argv)),
            args.json, args.results_md)  # fmt: skip
    return 0 if result["same_page"] else 1


if __name__ == "__main__":
    sys.exit(main())
