"""The one results-section writer of the measurement scripts: machine facts, the command, marked sections of
``benchmarks/RESULTS.md`` and the JSON beside them."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sgd_gym.io import atomic_write_text

RESULTS_HEADING = "# sgd-gym benchmark results\n"


def command_line(module: str, argv: list[str] | tuple[str, ...] | None = None) -> str:
    """The command that ran ``module`` (``argv``, or this process's arguments), for a RESULTS.md section."""
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


RESULTS_MD = "benchmarks/RESULTS.md"


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    """``--results-md``: the markdown file whose marked section a measurement updates ('' skips it)."""
    parser.add_argument("--results-md", default=RESULTS_MD, help=f"markdown file to update, '' to skip (default: {RESULTS_MD})")


def measure_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """The parser of a measurement script ``python -m MODULE``: described by its docstring's first line, with
    ``--results-md``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or module).strip().splitlines()[0])
    add_results_argument(parser)
    return parser


def publish(name: str, result: dict[str, Any], section: str, json_path: str | Path | None, results_md: str | Path | None) -> None:
    """Write a measurement: ``result`` as JSON to ``json_path`` and ``section`` between the ``name`` markers of
    ``results_md`` (each skipped when None or ''), both atomically; then print the section."""
    if json_path:
        atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
    if results_md:
        update_section(results_md, name, section)
    print(section.rstrip())
