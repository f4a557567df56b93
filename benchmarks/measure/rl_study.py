"""The RL study: MaskablePPO over sub-goal options vs over primitive actions, per task, several seeds, equal budgets.

python -m benchmarks.measure.rl_study --logdir runs/rl-study --tasks find-living-thing,find-plant --seeds 0,1,2 \
    --primitive-steps 6000 --eval-every 2000 --policy drrn --run --out benchmarks/results/rl-study

With ``--run``, every (task, action space, seed) without a ``results.json`` under LOGDIR is trained by
``examples/ppo_options.py`` (one run at a time, each with its 2 env processes; an interrupted study resumes at
the first unfinished run); arguments after ``--`` go to every run (``-- --envs 1 --test-episodes 5``). Then the
finished runs of the grid are summarized: the per-task table of final test scores (mean and spread over seeds,
the share of test episodes solved, the random floor of the same variations), the wall time, and the learning
curves as a PNG (``examples/plot_curves.py``). Nothing is selected on the test variations: each run reports its
last model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish

ROOT = Path(__file__).resolve().parents[2]
SPACES = ("options", "primitive")


def run_folder_prefix(task: str, space: str, policy: str, seed: int) -> str:
    """The start of the run folder name ``examples/ppo_options.py`` gives (the bag-of-words encoder)."""
    return f"{task}__{space}__{policy}__bow__{seed}__"


def find_result(logdir: Path, task: str, space: str, policy: str, seed: int) -> Path | None:
    """The newest ``results.json`` of a grid cell under ``logdir``, or None if the cell has not finished."""
    found = sorted(logdir.glob(f"{run_folder_prefix(task, space, policy, seed)}*/results.json"))
    return found[-1] if found else None


def run_grid(
    logdir: Path,
    tasks: Sequence[str],
    seeds: Sequence[int],
    policy: str,
    steps: int,
    eval_every: int,
    extra: Sequence[str] = (),
) -> None:
    """Train every unfinished cell, seeds outermost (so a cut-short study has whole seeds); raises on a failed run."""
    for seed in seeds:
        for task in tasks:
            for space in SPACES:
                if find_result(logdir, task, space, policy, seed):
                    continue
                print(f"rl study: {task}, {space}, seed {seed}", flush=True)
                command = [sys.executable, str(ROOT / "examples" / "ppo_options.py"), "--task", task, "--action-space", space,
                           "--policy", policy, "--primitive-steps", str(steps), "--eval-every", str(eval_every),
                           "--seed", str(seed), "--logdir", str(logdir), *extra]  # fmt: skip
                subprocess.run(command, check=True, cwd=ROOT)


def training_scores(results: Path) -> list[float]:
    """The final scores of a run's training episodes, in order (its TensorBoard ``rollout/episode_score``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(results.parent), size_guidance={"scalars": 0}).Reload()
    return [event.value for event in events.Scalars("rollout/episode_score")]


def warm_start_seconds(run: dict[str, Any]) -> float:
    """What a run's warm start took: cloning, and replaying the gold paths where the run recorded it."""
    warm = run.get("warm_start") or {}
    return float(warm.get("seconds", 0.0) + warm.get("collect_seconds", 0.0))


def summarize(logdir: Path, tasks: Sequence[str], seeds: Sequence[int], policy: str) -> dict[str, Any]:
    """Per task and action space: the finished seeds' final scores, solved share, floor, budget and wall time."""
    cells: dict[str, dict[str, Any]] = {}
    for task in tasks:
        for space in SPACES:
            paths = [path for seed in seeds if (path := find_result(logdir, task, space, policy, seed))]
            if not paths:
                continue
            runs = [json.loads(path.read_text()) for path in paths]
            training = [training_scores(path) for path in paths]
            finals = [run["test_score"] for run in runs]
            last = [run["curve"][-1].get("test_scores", []) for run in runs]
            episodes = [score for scores in last for score in scores]
            cells[f"{task}/{space}"] = {
                "task": task,
                "action_space": space,
                "seeds": [run["args"]["seed"] for run in runs],
                "test_scores": finals,
                "mean": float(np.mean(finals)),
                "std": float(np.std(finals)),
                "solved": sum(score >= 100 for score in episodes),
                "episodes": len(episodes),
                "random": float(np.mean([run["random_score"] for run in runs])),
                "primitive_steps": int(np.mean([run["primitive_steps"] for run in runs])),
                "decisions": int(np.mean([run["decisions"] for run in runs])),
                "wall_minutes": float(sum(run["train_seconds"] + warm_start_seconds(run) for run in runs) / 60),
                "training_episodes": sum(len(scores) for scores in training),
                "best_training_score": max((max(scores, default=0.0) for scores in training), default=0.0),
                "training_last_third": float(np.mean([np.mean(s[len(s) * 2 // 3 :]) for s in training if s] or [0.0])),
                "test_variations": runs[0]["test_variations"],
                "max_choices": sorted({run["args"]["max_choices"] for run in runs}),
                "warm_start": sorted({run["args"].get("bc_variations", 0) for run in runs}),  # train variations cloned
                # training states with more choices than K; None where a run predates the count
                "states_cut": sum(run["states_cut"] for run in runs) if all("states_cut" in run for run in runs) else None,
                "curves": [[(p["primitive_steps"], p["test_score"]) for p in run["curve"]] for run in runs],
            }
    return {"policy": policy, "tasks": list(tasks), "seeds": list(seeds), "cells": cells}


def section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: the per-task table."""
    lines = [
        f"## RL study: MaskablePPO over options vs primitive actions (`benchmarks/measure/rl_study.py`, policy "
        f"{result['policy']})",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}.",
        "- Final test score: the last model's deterministic policy on the test variations listed (evenly spaced over "
        "the split), mean over seeds (population sd); solved: test episodes at score 100; random: seeded uniformly "
        "random valid primitive actions on the same variations. Wall: the runs' training and evaluation time (and warm "
        "start) as each recorded it, whatever else ran on the machine (each run keeps 2 env processes and PPO busy, so "
        "core-minutes are at most twice it).",
        "",
        "- Training episodes: their count over the seeds, the mean score of each run's last third of them (averaged over "
        "seeds) and the best score any of them reached. K: the choices offered per state (`--max-choices`); cut: "
        "training states that listed more than K (the rest not offered; n/r: the run predates the count). Warm start: "
        "the train variations whose gold paths the policy was cloned from before PPO (`--bc-variations`), 0: none.",
        "",
        "| task | action space | warm start | seeds | primitive steps | decisions | K | cut | final test score | per seed "
        "| solved | random | training episodes | training score, last third | best training score | wall minutes (all seeds) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cell in result["cells"].values():
        per_seed = ", ".join(f"{score:.1f}" for score in cell["test_scores"])
        cut = "n/r" if cell["states_cut"] is None else f"{cell['states_cut']:,}"
        warm = ", ".join(map(str, cell["warm_start"]))
        lines.append(
            f"| {cell['task']} | {cell['action_space']} | {warm} | {len(cell['seeds'])} | {cell['primitive_steps']:,} | "
            f"{cell['decisions']:,} | {', '.join(map(str, cell['max_choices']))} | {cut} | "
            f"**{cell['mean']:.1f}** ± {cell['std']:.1f} | {per_seed} | "
            f"{cell['solved']} / {cell['episodes']} | {cell['random']:.1f} | {cell['training_episodes']} | "
            f"{cell['training_last_third']:.1f} | {cell['best_training_score']:.0f} | {cell['wall_minutes']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.rl_study", __doc__)
    parser.add_argument("--logdir", required=True, help="folder of the runs (examples/ppo_options.py --logdir)")
    parser.add_argument("--tasks", default="find-living-thing,find-plant", help="comma-separated task names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--policy", default="drrn", choices=["mlp", "drrn"], help="the PPO policy (default drrn)")
    parser.add_argument("--primitive-steps", type=int, default=6000, help="budget per run in primitive steps")
    parser.add_argument("--eval-every", type=int, default=2000, help="primitive steps between test evaluations")
    parser.add_argument("--run", action="store_true", help="train the grid's unfinished runs first")
    parser.add_argument("--out", help="folder for study.json and curves.png")
    parser.add_argument("--section", default="rl_study", help="the RESULTS.md section to update (default rl_study)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    tasks, logdir = args.tasks.split(","), Path(args.logdir)
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    for path in filter(None, (find_result(logdir, t, sp, args.policy, seed) for t in tasks for sp in SPACES for seed in seeds)):
        budget = json.loads(path.read_text())["args"]["primitive_steps"]
        if budget != args.primitive_steps:  # a finished cell of another budget would be skipped and tabulated as this one
            parser.error(f"{path} was trained for {budget} primitive steps, not --primitive-steps {args.primitive_steps}: "
                         "use another --logdir or the same budget")  # fmt: skip
    if args.run:
        run_grid(logdir, tasks, seeds, args.policy, args.primitive_steps, args.eval_every, extra)
    result = summarize(logdir, tasks, seeds, args.policy)
    if not result["cells"]:
        parser.error(f"no finished run of the grid under {logdir} (run with --run)")
    out = Path(args.out) if args.out else None
    if out:
        from examples.plot_curves import plot_runs

        out.mkdir(parents=True, exist_ok=True)
        paths = [find_result(logdir, t, s, args.policy, seed) for t in tasks for s in SPACES for seed in seeds]
        plot_runs([json.loads(path.read_text()) for path in paths if path], out / "curves.png")
    command = command_line("benchmarks.measure.rl_study", argv)
    publish(args.section, result, section(result, command), out / "study.json" if out else None, args.results_md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
