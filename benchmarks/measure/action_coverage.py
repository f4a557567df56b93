"""Does the action set learners see keep what tasks need? Gold-action coverage at K and parser-rejected shares.

python -m benchmarks.measure.action_coverage --variations 2 --workers 2 --out benchmarks/results/action-coverage

Replays ScienceWorld's gold path of the first N train and test variations of every task. At each gold step
(the state before the gold action) it records the size of ScienceWorld's list (``valid_actions``) and of the
accepted list (``accepted_actions``: without the actions naming objects the parser cannot reach), and where
the gold action falls in two action sets:

- *before*: the raw list in the ``length`` order (fewest words first: ``ValidActionDiscrete`` before v1);
- *after*: the accepted list in the ``tiered`` order (``ValidActionDiscrete`` now).

A gold step is covered at K when the gold action, or an action giving the same reply and score, is among the
first K choices. Gold paths name objects their own way (``pick up metal pot``, ``examine substance in metal
pot``), so when the gold text is not listed, the listed actions the parser reads as the same template on the
same objects are tried on a replay of the gold path up to that step, and kept when reply and score match (an
action that opens an ambiguity prompt is tried with each answer; a gold action that opens one is compared after
the gold answer). A gold step that no listed action stands for is *replaceable* when the gold path still
reaches the same final score without it or with ``wait1`` (an idle turn, always listed) in its place (``open
door to kitchen`` on an open door: "The door is already open."); a second coverage figure counts those as
covered, since a learner loses nothing without them.

Every ``--check-every``-th state, ``--sample`` actions of each list go through the game's own parser
(``ScienceWorldBackend.parse``) for the rejected and ambiguous shares; ``valid_actions`` and
``accepted_actions`` are timed on every state. Results go to ``coverage.json`` in ``--out`` and to the
``action-coverage`` section of RESULTS.md.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.cli.common import positive
from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.backend import ACCEPTED, AMBIGUOUS, REJECTED
from sgd_gym.envs.scienceworld import AMBIGUITY_PROMPT, ScienceWorldEnv, prompt_choices
from sgd_gym.parallel import run_in_workers
from sgd_gym.tasks import check_split, get_task, resolve_tasks
from sgd_gym.wrappers.discrete import DEFAULT_MAX_ACTIONS, order_actions
from sgd_gym.wrappers.subgoals import subgoal_candidates

SECTION = "action-coverage"
KS = (256, 512, 1024, DEFAULT_MAX_ACTIONS)
BEFORE_K = 512  # the README's K before v1
MAX_TRIALS = 4  # structural candidates tried per gold step
IDLE_TURN = "wait1"  # always listed: a turn passes and nothing else happens
NOT_COVERED = None


@dataclass(frozen=True)
class CoverageItem:
    """One gold path to measure."""

    task: str
    split: str
    variation: int


def plan_items(tasks: Sequence[str], splits: Sequence[str], variations: int) -> list[CoverageItem]:
    """The first ``variations`` variations of each split for each task (fewer when a split is smaller)."""
    if variations < 1:
        raise ValueError(f"variations must be >= 1, got {variations!r}")
    items = []
    for task in tasks:
        info = get_task(task)
        for split in splits:
            check_split(split)
            items.extend(CoverageItem(info.name, split, v) for v in range(min(variations, info.split_size(split))))
    return items


def _setup() -> ScienceWorldEnv:
    return ScienceWorldEnv(listing="accepted")


def _timed(function) -> tuple[Any, float]:
    start = time.perf_counter()
    result = function()
    return result, 1000 * (time.perf_counter() - start)


def _effective(steps: list[dict], i: int) -> tuple[str, int]:
    """The reply and score a gold step leads to: after the gold answer when it opened an ambiguity prompt."""
    if steps[i]["reply"].startswith(AMBIGUITY_PROMPT) and i + 1 < len(steps):
        return steps[i + 1]["reply"], steps[i + 1]["score"]
    return steps[i]["reply"], steps[i]["score"]


def _replay(env: ScienceWorldEnv, item: CoverageItem, prefix: list[str], actions: list[str]) -> tuple[str, int]:
    """Reply and score after ``actions``, played on a fresh load after the gold ``prefix``."""
    env.reset(options={"task": item.task, "variation": item.variation})
    for action in prefix + actions:
        obs, _, _, _, info = env.step(action)
    return obs["observation"], info["score"]


def _equivalent(env: ScienceWorldEnv, item: CoverageItem, gold: list[str], i: int, candidate: str, target: tuple) -> bool:
    """Whether ``candidate`` in the state before gold step ``i`` gives the reply and score ``target``."""
    reply, score = _replay(env, item, gold[:i], [candidate])
    if not reply.startswith(AMBIGUITY_PROMPT):
        return (reply, score) == target
    return any(_replay(env, item, gold[:i], [candidate, str(j)]) == target for j in range(prompt_choices(reply)))


def measure_episode(env: ScienceWorldEnv, item: CoverageItem, check_every: int = 4, sample: int = 20) -> dict[str, Any]:
    """Walk one gold path; returns its per-step sizes, ranks, timings and parser verdicts (see the module docstring)."""
    backend = env.backend
    obs, info = env.reset(options={"task": item.task, "variation": item.variation, "gold_path": True})
    gold = info["gold_path"]
    rng = random.Random(f"{item.task}/{item.split}/{item.variation}")
    steps: list[dict[str, Any]] = []
    verdicts = {"before": Counter(), "after": Counter()}
    for i, action in enumerate(gold):
        raw, ms_raw = _timed(backend.valid_actions)
        accepted, ms_accepted = _timed(backend.accepted_actions)
        listed = backend.listed_actions()
        if [entry.text for entry in listed] != raw:
            raise RuntimeError(f"{item}: step {i}: the JSON listing differs from the plain one")
        step = {
            "gold": action,
            "raw": len(raw),
            "accepted": len(accepted),
            "subgoals": len(subgoal_candidates(accepted, obs["look"])),
            "ms_raw": round(ms_raw, 2),
            "ms_accepted": round(ms_accepted, 2),
            "before": order_actions(raw, "length"),
            "after": order_actions(accepted, "tiered"),
            "candidates": [],
        }
        if action not in raw:
            meaning = backend.parse(action)
            if meaning.action_id is not None:
                step["candidates"] = [
                    entry.text
                    for entry in listed
                    if entry.template_id == meaning.action_id and set(entry.object_ids) <= set(meaning.object_ids)
                ]
        if i % check_every == 0:
            for name, actions in (("before", raw), ("after", accepted)):
                for candidate in rng.sample(actions, min(sample, len(actions))):
                    verdicts[name][backend.parse(candidate).verdict] += 1
        obs, _, terminated, _, info = env.step(action)
        step.update(reply=obs["observation"], score=info["score"])
        steps.append(step)
        if terminated:
            break
    final_score = info["score"]
    for i, step in enumerate(steps):  # rank of the gold action, or of the best equivalent
        equivalents = [step["gold"]] if step["gold"] in step["before"] else []
        if not equivalents and step["candidates"]:
            target = _effective(steps, i)
            tried = sorted(step["candidates"], key=lambda c: step["after"].index(c) if c in step["after"] else len(step["after"]))
            equivalents = [c for c in tried[:MAX_TRIALS] if _equivalent(env, item, gold, i, c, target)]
        for name in ("before", "after"):
            ranks = [step[name].index(c) for c in equivalents if c in step[name]]
            step[f"rank_{name}"] = min(ranks) if ranks else NOT_COVERED
        step["equivalent"] = equivalents[0] if equivalents and equivalents[0] != step["gold"] else None
        # a step no listed action stands for: does the gold path need it? (drop it, or let an idle turn pass instead)
        step["replaceable"] = step["rank_after"] is NOT_COVERED and any(
            _replay(env, item, [], gold[:i] + instead + gold[i + 1 :])[1] == final_score for instead in ([], [IDLE_TURN])
        )
        del step["before"], step["after"], step["candidates"]
    return {**asdict(item), "final_score": final_score, "steps": steps, "verdicts": {k: dict(v) for k, v in verdicts.items()}}


def _share(counter: Counter, key: str) -> float | None:
    total = sum(counter.values())
    return counter[key] / total if total else None


def summarize(episodes: list[dict[str, Any]], ks: Sequence[int] = KS) -> dict[str, Any]:
    """Per task and overall: list sizes, coverage at each K before and after, parser shares, listing cost, uncovered steps."""
    groups: dict[str, list[dict]] = {}
    for episode in episodes:
        groups.setdefault(episode["task"], []).append(episode)
    rows = {name: _row(group, ks) for name, group in groups.items()}
    overall = _row(episodes, ks)
    overall["tasks_missing_before"] = sum(row["needed_coverage_before"][str(BEFORE_K)] < 1 for row in rows.values())
    overall["tasks_missing_after"] = sum(row["needed_coverage_after"][str(DEFAULT_MAX_ACTIONS)] < 1 for row in rows.values())
    return {"per_task": rows, "overall": overall}


def _row(episodes: list[dict[str, Any]], ks: Sequence[int]) -> dict[str, Any]:
    steps = [step for episode in episodes for step in episode["steps"]]
    before, after = Counter(), Counter()
    for episode in episodes:
        before.update(episode["verdicts"]["before"])
        after.update(episode["verdicts"]["after"])
    uncovered = Counter(step["reply"].splitlines()[0][:60] for step in steps if step["rank_after"] is NOT_COVERED)
    blocked = Counter(
        f"{step['gold']} -> {step['reply'].splitlines()[0][:50]}"
        for step in steps
        if step["rank_after"] is NOT_COVERED and not step["replaceable"]
    )

    def coverage(name: str, k: int, excuse_replaceable: bool = False) -> float:
        covered = sum(
            (step[f"rank_{name}"] is not NOT_COVERED and step[f"rank_{name}"] < k) or (excuse_replaceable and step["replaceable"])
            for step in steps
        )
        return covered / len(steps)

    return {
        "episodes": len(episodes),
        "gold_steps": len(steps),
        "final_score_mean": statistics.fmean(e["final_score"] for e in episodes),
        "raw_mean": statistics.fmean(s["raw"] for s in steps),
        "raw_max": max(s["raw"] for s in steps),
        "accepted_mean": statistics.fmean(s["accepted"] for s in steps),
        "accepted_max": max(s["accepted"] for s in steps),
        "subgoals_max": max(s["subgoals"] for s in steps),
        "replaceable_steps": sum(step["replaceable"] for step in steps),
        "coverage_before": {str(k): coverage("before", k) for k in ks},
        "coverage_after": {str(k): coverage("after", k) for k in ks},
        "needed_coverage_before": {str(k): coverage("before", k, True) for k in ks},
        "needed_coverage_after": {str(k): coverage("after", k, True) for k in ks},
        "gold_listed": sum(s["equivalent"] is None and s["rank_after"] is not NOT_COVERED for s in steps) / len(steps),
        "rejected_before": _share(before, REJECTED),
        "rejected_after": _share(after, REJECTED),
        "ambiguous_before": _share(before, AMBIGUOUS),
        "ambiguous_after": _share(after, AMBIGUOUS),
        "accepted_share_before": _share(before, ACCEPTED),
        "parsed": sum(before.values()) + sum(after.values()),
        "ms_raw": statistics.fmean(s["ms_raw"] for s in steps),
        "ms_accepted": statistics.fmean(s["ms_accepted"] for s in steps),
        "uncovered_replies": dict(uncovered.most_common(5)),
        "blocked": dict(blocked.most_common(10)),
    }


def measure(
    tasks: Sequence[str], splits: Sequence[str], variations: int, workers: int = 1, check_every: int = 4, sample: int = 20
) -> dict[str, Any]:
    """Measure the gold paths of ``plan_items(tasks, splits, variations)``; returns settings, summary and episodes."""
    items = plan_items(tasks, splits, variations)
    start = time.perf_counter()
    episodes = list(
        run_in_workers(_setup, (), _measure_item, [(item, check_every, sample) for item in items], workers, desc="gold paths")
    )
    settings = {"tasks": list(tasks), "splits": list(splits), "variations": variations, "check_every": check_every,
                "sample": sample, "ks": list(KS), "default_k": DEFAULT_MAX_ACTIONS}  # fmt: skip
    return {"settings": settings, "seconds": time.perf_counter() - start, **summarize(episodes), "episodes": episodes}


def _measure_item(env: ScienceWorldEnv, job: tuple[CoverageItem, int, int]) -> dict[str, Any]:
    item, check_every, sample = job
    return measure_episode(env, item, check_every, sample)


def _task_order(task: str) -> tuple[int, ...]:
    """ScienceWorld's order of tasks (1-1, 1-2, ..., 10-2)."""
    return tuple(int(part) for part in get_task(task).task_id.split("-"))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def markdown_section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: the coverage table, per task and overall, with the command that made it."""
    overall, k = result["overall"], str(DEFAULT_MAX_ACTIONS)
    settings = result["settings"]
    lines = [
        "## The action set learners see: gold-action coverage and parser-rejected actions",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; {overall['episodes']} gold paths (first "
        f"{settings['variations']} variations of {', '.join(settings['splits'])} per task), "
        f"{overall['gold_steps']:,} gold steps, {result['seconds'] / 60:.1f} min.",
        f"- *Listed*: ScienceWorld's `valid_actions()`; *accepted*: `accepted_actions()`. *Before*: the raw list, fewest "
        f"words first (`ValidActionDiscrete` before v1; K = {BEFORE_K} in the README). *After*: the accepted list in the "
        f"tiered order, K = {DEFAULT_MAX_ACTIONS} (the default). Covered: the gold action, or a listed action with the same "
        "reply and score (tried on a replay), is among the first K choices.",
        f'- Rejected: share of sampled listed actions the game\'s own parser answers "No known action matches that input." '
        f"({overall['parsed']:,} actions parsed, {settings['sample']} of each list every {settings['check_every']} states); "
        "ambiguous: the parser asks which object is meant (kept: the game carries them out once answered, and its gold "
        "paths rely on them).",
        "- Why ScienceWorld lists rejected actions: its list is built over `InputParser.collectObjects(room)`, which walks "
        "into closed containers, while the parser resolves names among `collectAccessibleObjects`, which stops at them. "
        "`accepted_actions()` keeps the actions whose objects the parser can reach (teleport, an oracle action, is "
        "resolved among all objects).",
        f"- Cost per step of the accepted list: {overall['ms_accepted']:.1f} ms vs {overall['ms_raw']:.1f} ms for "
        f"`valid_actions()` (+{overall['ms_accepted'] - overall['ms_raw']:.1f} ms, mean over all gold states).",
        f"- Tasks with a needed gold step not covered: before {overall['tasks_missing_before']} of "
        f"{len(result['per_task'])} at K = {BEFORE_K}; after {overall['tasks_missing_after']} at K = {DEFAULT_MAX_ACTIONS}. "
        "Largest lists: "
        f"{overall['raw_max']:,} listed, {overall['accepted_max']:,} accepted, {overall['subgoals_max']:,} sub-goal "
        "candidates (`DiscreteSubgoals`).",
        "",
        f"| task | gold steps (replaceable) | listed mean / max | accepted mean / max | covered before (K={BEFORE_K}) | "
        f"after (K={BEFORE_K}) | after (K={k}) | covered or replaceable, after (K={k}) | rejected before | rejected after | "
        "ambiguous after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in [*sorted(result["per_task"].items(), key=lambda item: _task_order(item[0])), ("**overall**", overall)]:
        lines.append(
            f"| {name} | {row['gold_steps']:,} ({row['replaceable_steps']}) | {row['raw_mean']:.0f} / {row['raw_max']:,} | "
            f"{row['accepted_mean']:.0f} / {row['accepted_max']:,} | {_percent(row['coverage_before'][str(BEFORE_K)])} | "
            f"{_percent(row['coverage_after'][str(BEFORE_K)])} | {_percent(row['coverage_after'][k])} | "
            f"{_percent(row['needed_coverage_after'][k])} | {_percent(row['rejected_before'])} | "
            f"{_percent(row['rejected_after'])} | {_percent(row['ambiguous_after'])} |"
        )
    cover = ", ".join(
        f"K={key}: {_percent(overall['coverage_before'][key])} -> {_percent(overall['coverage_after'][key])}"
        for key in overall["coverage_after"]
    )
    needed = ", ".join(
        f"K={key}: {_percent(overall['needed_coverage_before'][key])} -> {_percent(overall['needed_coverage_after'][key])}"
        for key in overall["needed_coverage_after"]
    )
    lines += ["", f"Coverage over all gold steps, before -> after: {cover}.", "",
              f"Covered or replaceable ({overall['replaceable_steps']:,} replaceable steps): {needed}."]  # fmt: skip
    if overall["uncovered_replies"]:
        replies = "; ".join(f'"{reply}" ({count})' for reply, count in overall["uncovered_replies"].items())
        lines += ["", f"Gold steps no listed action matches, by the game's reply to the gold action: {replies}."]
    if overall["blocked"]:
        missing = "; ".join(f"`{text}` ({count})" for text, count in overall["blocked"].items())
        lines += ["", f"Needed gold steps no listed action stands for: {missing}."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit status 0 on success, 2 for a bad argument."""
    parser = measure_parser("benchmarks.measure.action_coverage", __doc__)
    parser.add_argument("--tasks", default="all", help="comma-separated task names or ids, or 'all' (default: all)")
    parser.add_argument("--splits", default="train,test", help="comma-separated splits (default: train,test)")
    parser.add_argument("--variations", type=positive, default=2, help="first N variations of each split (default: 2)")
    parser.add_argument("--workers", type=positive, default=1, help="worker processes, one JVM each (default: 1)")
    parser.add_argument("--check-every", type=positive, default=4, help="parser check every N-th gold state (default: 4)")
    parser.add_argument(
        "--sample", type=positive, default=20, help="actions of each list parsed per checked state (default: 20)"
    )
    parser.add_argument("--out", required=True, help="folder for coverage.json")
    args = parser.parse_args(argv)
    try:
        tasks = resolve_tasks(args.tasks)
        splits = [check_split(split.strip()) for split in args.splits.split(",") if split.strip()]
        if not tasks or not splits:
            raise ValueError("--tasks and --splits must name at least one task and one split")
    except ValueError as error:
        parser.error(str(error))
    result = measure(tasks, splits, args.variations, args.workers, args.check_every, args.sample)
    command = command_line("benchmarks.measure.action_coverage", argv)
    result["command"], result["machine"] = command, machine_summary()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    publish(SECTION, result, markdown_section(result, command), Path(args.out) / "coverage.json", args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
