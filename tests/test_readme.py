"""The README runs as written: each Python block, saved as a file and run in a fresh process, prints the text block
that follows it; each `sgd` command line of the bash blocks parses with the real parser; and it stays short."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import build_parser

README = Path(__file__).parents[1] / "README.md"
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(language, body) for language, body in BLOCK.findall(README.read_text(encoding="utf-8"))]


def python_examples() -> list[tuple[str, str]]:
    """(code, the text block right after it) for every Python block."""
    found = blocks()
    examples = [(body, found[i + 1][1]) for i, (language, body) in enumerate(found) if language == "python"]
    assert all(found[i + 1][0] == "text" for i, (language, _) in enumerate(found) if language == "python"), (
        "each Python block of the README is followed by a text block with what it prints"
    )
    return examples


def test_the_readme_is_a_short_read():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200
    assert len(python_examples()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_each_python_block_prints_what_the_readme_shows(tmp_path, index):
    code, shown = python_examples()[index]
    script = tmp_path / f"example_{index}.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == shown, f"the README shows:\n{shown}\nthe block prints:\n{done.stdout}"


def test_every_sgd_command_of_the_readme_parses():
    parser = build_parser()
    commands = []
    for language, body in blocks():
        if language != "bash":
            continue
        for line in body.splitlines():
            for part in line.split("#", 1)[0].split("&&"):
                words = shlex.split(part)
                if words and Path(words[0]).name == "sgd":
                    commands.append(words[1:])
    assert len(commands) >= 12
    for words in commands:
        try:
            parser.parse_args(words)
        except SystemExit as error:  # argparse's way of refusing
            pytest.fail(f"`sgd {shlex.join(words)}` does not parse (exit {error.code})")


QUICKSTART = Path(__file__).parents[1] / "benchmarks" / "results" / "quickstart"


def test_the_quickstart_table_is_the_committed_runs():
    """The README's quickstart table is the score table `sgd quickstart` printed (benchmarks/results/quickstart,
    copied from its OUT folder), and that table is what the committed run folders give again (never edited)."""
    from benchmarks.report import compare_runs

    runs = [QUICKSTART / "runs" / name for name in ("hierarchical", "flat", "random", "oracle")]
    table = compare_runs(runs)
    assert table + "\n" == (QUICKSTART / "comparison.md").read_text()
    scores = table[: table.index("| tasks solved")].strip()
    assert f"```\n{scores}\n```" in README.read_text(encoding="utf-8")
    gap = json.loads((QUICKSTART / "gap.json").read_text())["overall"]
    assert f"{gap['gap']:+.1f} points, 95% interval {gap['low']:+.1f} to {gap['high']:+.1f}" in README.read_text()


# Each headline row of the README (its recipe cell's first word) and the committed files its numbers come from.
HEADLINE_ROWS = {
    "cpu-tiny": ("hierarchical", "flat", "gaps/cpu-tiny"),
    "gpu-tiny": ("gpu-tiny/hierarchical-safe-focus-avoid-cycles-named-focus",
                 "gpu-tiny/flat-safe-focus-avoid-cycles-named-focus", "gaps/gpu-tiny-named-focus"),
    "gpu-tiny-bf16": ("gpu-tiny-bf16/hierarchical-safe-focus-avoid-cycles-named-focus",
                      "gpu-tiny-bf16/flat-safe-focus-avoid-cycles-named-focus", "gaps/gpu-tiny-bf16-named-focus"),
    "scorer-cpu": ("scorer-cpu/hierarchical", "scorer-cpu/flat", "scorer-cpu/gap"),
}  # fmt: skip


def test_the_headline_table_is_the_committed_runs():
    """Each measured row of "Where the method stands" shows the overall scores of its committed runs and their gap."""
    results = QUICKSTART.parent
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Where the method stands") :]
    rows = {re.sub(r"\*", "", line.split("|")[1]).split()[0]: line for line in section.splitlines() if line.startswith("| ")}
    for recipe, (hierarchical, flat, gap_folder) in HEADLINE_ROWS.items():
        cells = [re.sub(r"\*", "", cell).strip() for cell in rows[recipe].split("|")]
        scores = [json.loads((results / run / "summary.json").read_text())["overall"] for run in (hierarchical, flat)]
        gap = json.loads((results / gap_folder / "gap.json").read_text())["overall"]
        shown = f"{gap['gap']:+.1f} ({gap['low']:+.1f} to {gap['high']:+.1f})"
        assert cells[3:6] == [f"{scores[0]:.1f}", f"{scores[1]:.1f}", shown], recipe


def test_the_shipped_agents_commands_play_the_committed_episodes(tmp_path):
    """Each `sgd eval` line of "One command each", run as written but on one task (its first test variation), plays the
    episode the committed scorer-cpu row holds, action for action; the `sgd gap` line then runs on those folders."""
    from sgd_gym.io import read_jsonl

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## One command each") : text.index("## Where the method stands")]
    lines = [line.split("  #")[0] for line in section.splitlines() if line.startswith(("sgd eval", "sgd gap"))]
    assert [line.split()[1] for line in lines] == ["eval", "eval", "gap"]
    root, renamed = README.parent, {}
    for line in lines:
        words = [renamed.get(word, word) for word in shlex.split(line)]
        if words[1] == "eval":
            out = words.index("--out") + 1
            renamed[words[out]] = words[out] = str(tmp_path / words[out])
            words += ["--tasks", "find-living-thing", "--variations", "1"]
        done = subprocess.run([sys.executable, "-m", "benchmarks.cli", *words[1:]], cwd=root, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, (line, done.stderr[-2000:])
        if words[1] == "eval":
            agent = words[words.index("--agent") + 1]
            committed = next(episode for episode in read_jsonl(QUICKSTART.parent / "scorer-cpu" / agent / "episodes.jsonl")
                             if episode["task"] == "find-living-thing" and episode["variation"] == 0)  # fmt: skip
            (played,) = read_jsonl(Path(words[out]) / "episodes.jsonl")
            assert (played["actions"], played["score"]) == (committed["actions"], committed["score"]), agent
