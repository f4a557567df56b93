"""Where the distilled models err on held-out gold contexts: exact match by kind of target, END_SG precision / recall.

python -m benchmarks.measure.dev_errors --data data/full --checkpoints runs/gpu-tiny-bf16/checkpoints

Each model generates for every example of ``examples/KIND.SPLIT.jsonl`` (gold contexts, not its own
rollouts) with the agents' beam; the best candidate is compared with the target. Targets are grouped by
what they ask for: the sub-goal verb for the planner (``navigate_to``, ``focus_on``, ...), the action's
sub-goal verb for the executor and the flat model (``focus on x`` -> ``focus_on``; ``go to x`` -> ``go``)
and ``END_SG``. Results go to a JSON file and a marked section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.io import DataFileError, read_jsonl
from sgd_gym.subgoals import END_SG, SubgoalError, match_action, parse_subgoal

KINDS = ("planner", "executor", "flat")
UNPARSED = "(not a sub-goal)"


def target_kind(kind: str, text: str) -> str:
    """The group of a target (or prediction) of model ``kind``: END_SG, a sub-goal verb or an action's verb."""
    if text == END_SG:
        return END_SG
    if kind == "planner":
        try:
            return parse_subgoal(text).verb
        except SubgoalError:
            return UNPARSED
    matched = match_action(text)
    return matched.verb if matched is not None else (text.split() or ["(empty)"])[0]


def score_predictions(
    kind: str, targets: Sequence[str], predictions: Sequence[str], actions: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """Exact match overall and by target group, END_SG precision and recall, and malformed sub-goals (planner).

    ``actions`` (executor): the best candidate that is not ``END_SG``, what the agent sends when it may not
    end the sub-goal (at its first step); scored on action targets as ``action_exact``.
    """
    for name, values in (("predictions", predictions), ("actions", actions)):
        if values is not None and len(values) != len(targets):
            raise ValueError(f"{len(targets)} targets but {len(values)} {name}")
    groups: dict[str, Counter] = {}
    for i, (target, prediction) in enumerate(zip(targets, predictions)):
        group = groups.setdefault(target_kind(kind, target), Counter())
        group["examples"] += 1
        group["exact"] += target == prediction
        group["same_group"] += target_kind(kind, prediction) == target_kind(kind, target)
        group["action_exact"] += actions is not None and target != END_SG and actions[i] == target
    ends_predicted = sum(p == END_SG for p in predictions)
    ends_right = sum(p == t == END_SG for t, p in zip(targets, predictions))
    ends_targeted = sum(t == END_SG for t in targets)
    return {
        "examples": len(targets),
        "exact": sum(t == p for t, p in zip(targets, predictions)) / max(1, len(targets)),
        "end_sg_precision": ends_right / ends_predicted if ends_predicted else None,
        "end_sg_recall": ends_right / ends_targeted if ends_targeted else None,
        "not_a_subgoal": sum(target_kind(kind, p) == UNPARSED for p in predictions) / max(1, len(targets))
        if kind == "planner"
        else None,
        "groups": {
            name: {
                "examples": c["examples"],
                "exact": c["exact"] / c["examples"],
                "same_group": c["same_group"] / c["examples"],
                **({"action_exact": c["action_exact"] / c["examples"]} if actions is not None and name != END_SG else {}),
            }
            for name, c in sorted(groups.items(), key=lambda item: -item[1]["examples"])
        },
    }


def measure(
    data: str | Path,
    checkpoints: str | Path,
    kinds: Sequence[str] = KINDS,
    split: str = "dev",
    num_beams: int = 3,
    limit: int | None = None,
    progress: bool = True,
    chunk: int = 32,
) -> dict[str, Any]:
    """Generate for each model's examples of ``split`` and score the best candidates (see ``score_predictions``)."""
    from agents.policies import load_policy

    result: dict[str, Any] = {"split": split, "num_beams": num_beams, "models": {}}
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown model kind {kind!r}: expected some of {list(KINDS)}")
        path = Path(data) / "examples" / f"{kind}.{split}.jsonl"
        records = read_jsonl(path)[:limit]
        if not records:
            raise DataFileError(f"{path}: no examples")
        if any("source" not in r or "target" not in r for r in records):
            raise DataFileError(f"{path}: every example needs a 'source' and a 'target'")
        policy = load_policy(Path(checkpoints) / kind)
        sources = [r["source"] for r in records]
        predictions, actions = [], []
        for start in tqdm(range(0, len(sources), chunk), desc=kind, unit="batch", disable=not progress):
            batch = sources[start : start + chunk]
            for candidates in policy.generate(batch, num_beams=num_beams, num_return_sequences=num_beams, batch_size=chunk):
                predictions.append(candidates[0][0])
                actions.append(next((text for text, _ in candidates if text != END_SG), None))
        targets = [r["target"] for r in records]
        result["models"][kind] = score_predictions(kind, targets, predictions, actions if kind == "executor" else None)
    return result


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown_section(result: dict[str, Any], command: str, top: int = 8) -> str:
    """The RESULTS.md section: one summary table, then the largest target groups of each model."""
    lines = [
        "## Where the models err on gold contexts (`benchmarks/measure/dev_errors.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; split {result['split']}, beam {result['num_beams']}, "
        "best candidate against the target, on contexts built from gold paths (not the agents' own rollouts).",
        "- exact: the best candidate is the target; same kind: it asks for the same sub-goal verb / action verb (or "
        "END_SG), whatever the object; exact, best action candidate (executor): the best candidate that is not END_SG "
        "is the target, i.e. what the agent sends at a sub-goal's first step, where it may not end the sub-goal.",
        "",
        "| model | examples | exact | END_SG precision | END_SG recall | not a sub-goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in result["models"].items():
        lines.append(
            f"| {kind} | {row['examples']:,} | {_percent(row['exact'])} | {_percent(row['end_sg_precision'])} | "
            f"{_percent(row['end_sg_recall'])} | {_percent(row['not_a_subgoal'])} |"
        )
    for kind, row in result["models"].items():
        forced = kind == "executor"
        lines += ["", f"{kind}, the {top} largest target groups and `focus_on`:", ""]
        lines.append("| target | examples | exact | same kind |" + (" exact, best action candidate |" if forced else ""))
        lines.append("| --- | ---: | ---: | ---: |" + (" ---: |" if forced else ""))
        names = list(row["groups"])[:top]
        names += [name for name in ("focus_on",) if name in row["groups"] and name not in names]
        for name in names:
            group = row["groups"][name]
            cells = [f"{group['examples']:,}", _percent(group["exact"]), _percent(group["same_group"])]
            if forced:
                cells.append(_percent(group.get("action_exact")))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.dev_errors", __doc__)
    parser.add_argument("--data", required=True, help="data folder holding examples/")
    parser.add_argument("--checkpoints", required=True, help="folder holding planner/, executor/, flat/")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated models (default: all three)")
    parser.add_argument("--split", default="dev", help="examples split (default: dev)")
    parser.add_argument("--num-beams", type=_positive, default=3, help="beam width (default: 3, as the agents)")
    parser.add_argument("--limit", type=_positive, help="first N examples per model (default: all)")
    parser.add_argument("--out", help="JSON file for the result")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        result = measure(
            args.data, args.checkpoints, args.kinds.split(","), args.split, args.num_beams, args.limit, not args.no_progress
        )
    except (ValueError, OSError) as error:  # DataFileError and CheckpointError are ValueErrors
        print(f"dev_errors: {error}", file=sys.stderr)
        return 2
    command = command_line("benchmarks.measure.dev_errors", argv)
    publish("dev_errors", result, markdown_section(result, command), args.out, args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
