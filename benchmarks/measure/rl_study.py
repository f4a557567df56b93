"""The RL study: MaskablePPO over sub-goal options vs over primitive actions, per task, several seeds, equal budgets.

python -m benchmarks.measure.rl_study --logdir runs/rl-study --tasks find-living-thing,find-plant --seeds 0,1,2 \
    --primitive-steps 6000 --eval-every 2000 --policy drrn --run --out benchmarks/results/rl-study

With ``--run``, every (task, action space, seed) without a ``results.json`` under LOGDIR is trained by
``examples/ppo_options.py`` (one run at a time, each with its 2 env processes; an interrupted study resumes at
the first unfinished run); arguments after ``--`` go to every run (``-- --envs 1 --test-episodes 5``). Then the
finished runs of the grid are summarized: the per-task table of final test scores (mean and spread over seeds,
the share of test episodes solved, the random floor of the same variations), the wall time, and the learning
curves as a PNG (``examples/plot_curves.py``), with each run's ``results.json`` kept under ``OUT/runs/``. Nothing is
selected on the test variations: each run reports its last model.

``--library rllib`` runs ``examples/rllib_ppo.py`` instead (RLlib PPO, the same network and budget, 2 env runners by
default); ``--compare`` puts another study's cells beside this one's (RLlib against SB3):

python -m benchmarks.measure.rl_study --library rllib --action-spaces options --logdir runs/rllib-study \
    --tasks find-living-thing --seeds 0,1,2 --primitive-steps 6000 --eval-every 2000 --run --out benchmarks/results/rllib \
    --section rllib_study --compare benchmarks/results/rl-study/study.json
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
from sgd_gym.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[2]
SPACES = ("options", "primitive")
LIBRARIES = {"sb3": "ppo_options.py", "rllib": "rllib_ppo.py"}  # the example each library's runs come from
TITLES = {"sb3": "MaskablePPO (SB3)", "rllib": "RLlib PPO"}


def run_folder_prefix(task: str, space: str, policy: str, seed: int, library: str = "sb3") -> str:
    """The start of the run folder name the library's example gives (SB3: the bag-of-words encoder; RLlib: drrn)."""
    return f"{task}__{space}__rllib__{seed}__" if library == "rllib" else f"{task}__{space}__{policy}__bow__{seed}__"


def find_result(logdir: Path, task: str, space: str, policy: str, seed: int, library: str = "sb3") -> Path | None:
    """The newest ``results.json`` of a grid cell under ``logdir``, or None if the cell has not finished."""
    found = sorted(logdir.glob(f"{run_folder_prefix(task, space, policy, seed, library)}*/results.json"))
    return found[-1] if found else None


def run_grid(
    logdir: Path,
    tasks: Sequence[str],
    seeds: Sequence[int],
    policy: str,
    steps: int,
    eval_every: int,
    extra: Sequence[str] = (),
    library: str = "sb3",
    spaces: Sequence[str] = SPACES,
) -> None:
    """Train every unfinished cell, seeds outermost (so a cut-short study has whole seeds); raises on a failed run."""
    for seed in seeds:
        for task in tasks:
            for space in spaces:
                if find_result(logdir, task, space, policy, seed, library):
                    continue
                print(f"rl study ({library}): {task}, {space}, seed {seed}", flush=True)
                command = [sys.executable, str(ROOT / "examples" / LIBRARIES[library]), "--task", task, "--action-space",
                           space, *(["--policy", policy] if library == "sb3" else []), "--primitive-steps", str(steps),
                           "--eval-every", str(eval_every), "--seed", str(seed), "--logdir", str(logdir), *extra]  # fmt: skip
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


def summarize(
    logdir: Path, tasks: Sequence[str], seeds: Sequence[int], policy: str, library: str = "sb3", spaces: Sequence[str] = SPACES
) -> dict[str, Any]:
    """Per task and action space: the finished seeds' final scores, solved share, floor, budget and wall time (RLlib's
    runs also: env runners, masked choices taken, primitive steps per second of training without the evaluations)."""
    cells: dict[str, dict[str, Any]] = {}
    for task in tasks:
        for space in spaces:
            paths = [path for seed in seeds if (path := find_result(logdir, task, space, policy, seed, library))]
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
            if library == "rllib":
                cells[f"{task}/{space}"].update(rllib_counts(runs))
    return {"policy": policy, "library": library, "tasks": list(tasks), "seeds": list(seeds), "cells": cells}


def rllib_counts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What RLlib's runs record besides the SB3 example's fields: env runners, masked choices taken (0 when masking
    works) and the training rate, primitive steps per second of wall time spent training (evaluations excluded)."""
    rates = [run["primitive_steps"] / max(run["train_seconds"] - run["eval_seconds"], 1e-9) for run in runs]
    return {"num_env_runners": sorted({run["args"]["num_env_runners"] for run in runs}),
            "masked_choices_taken": sum(run["masked_choices_taken"] for run in runs),
            "primitive_steps_per_second": float(np.mean(rates))}  # fmt: skip


def section(result: dict[str, Any], command: str, compare: dict[str, Any] | None = None) -> str:
    """The RESULTS.md section: the per-task table (and, given another library's study, the two side by side)."""
    library = result.get("library", "sb3")  # studies from before RLlib are SB3's
    spaces = sorted({cell["action_space"] for cell in result["cells"].values()})
    over = "options vs primitive actions" if len(spaces) == 2 else {"options": "options"}.get(spaces[0], "primitive actions")
    lines = [
        f"## RL study: {'RLlib PPO (new API stack)' if library == 'rllib' else 'MaskablePPO'} over {over} "
        f"(`benchmarks/measure/rl_study.py`, policy {result['policy']})",
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
    if compare is not None:
        lines += ["", *comparison(result, compare)]
    return "\n".join(lines)


def comparison(result: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Rows of the cells both studies ran: final test scores (mean ± sd over seeds, per seed), wall minutes, and the
    RLlib runs' env runners, training rate and masked choices taken.

    Raises:
        ValueError: the studies share no cell (task and action space).
    """
    shared = [key for key in result["cells"] if key in other["cells"]]
    if not shared:
        raise ValueError(f"the studies share no task/action space: {list(result['cells'])} vs {list(other['cells'])}")
    ours, theirs = (TITLES[study.get("library", "sb3")] for study in (result, other))
    lines = [f"{ours} vs {theirs}, the same cells (same task, action space, budget, test variations and seeds where both ran "
             "them); rate: primitive steps per second of wall time spent training (evaluations excluded):", "",
             f"| task | action space | warm start | {ours} final test score | per seed | {theirs} final test score | per seed "
             f"| {ours} wall minutes | {theirs} wall minutes | env runners | rate | masked choices taken |",
             "| --- | --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for key in shared:
        cell, other_cell = result["cells"][key], other["cells"][key]
        rllib = cell if "num_env_runners" in cell else other_cell
        seeds = [", ".join(f"{score:.1f}" for score in c["test_scores"]) for c in (cell, other_cell)]
        runners, rate = ", ".join(map(str, rllib.get("num_env_runners", []))), rllib.get("primitive_steps_per_second", 0.0)
        lines.append(f"| {cell['task']} | {cell['action_space']} | {', '.join(map(str, cell['warm_start']))} | "
                     f"**{cell['mean']:.1f}** ± {cell['std']:.1f} | {seeds[0]} | **{other_cell['mean']:.1f}** ± "
                     f"{other_cell['std']:.1f} | {seeds[1]} | {cell['wall_minutes']:.0f} | {other_cell['wall_minutes']:.0f} | "
                     f"{runners} | {rate:.1f} | {rllib.get('masked_choices_taken', '')} |")  # fmt: skip
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.rl_study", __doc__)
    parser.add_argument("--logdir", required=True, help="folder of the runs (examples/ppo_options.py --logdir)")
    parser.add_argument("--tasks", default="find-living-thing,find-plant", help="comma-separated task names")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--policy", default="drrn", choices=["mlp", "drrn"], help="the PPO policy (default drrn; RLlib's: drrn)")
    parser.add_argument("--library", default="sb3", choices=list(LIBRARIES),
                        help="sb3: examples/ppo_options.py; rllib: examples/rllib_ppo.py (default sb3)")  # fmt: skip
    parser.add_argument("--action-spaces", default=",".join(SPACES), help="comma-separated, of options,primitive (default both)")
    parser.add_argument("--compare", help="another study's study.json (e.g. SB3's, for --library rllib): a side-by-side table")
    parser.add_argument("--primitive-steps", type=int, default=6000, help="budget per run in primitive steps")
    parser.add_argument("--eval-every", type=int, default=2000, help="primitive steps between test evaluations")
    parser.add_argument("--run", action="store_true", help="train the grid's unfinished runs first")
    parser.add_argument("--out", help="folder for study.json and curves.png")
    parser.add_argument("--section", default="rl_study", help="the RESULTS.md section to update (default rl_study)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    tasks, logdir, spaces, library = args.tasks.split(","), Path(args.logdir), args.action_spaces.split(","), args.library
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds takes comma-separated integers, got {args.seeds!r}")
    if not set(spaces) <= set(SPACES):
        parser.error(f"--action-spaces takes some of {','.join(SPACES)}, got {args.action_spaces!r}")
    cells = [(t, sp, seed) for t in tasks for sp in spaces for seed in seeds]
    for path in filter(None, (find_result(logdir, t, sp, args.policy, seed, library) for t, sp, seed in cells)):
        budget = json.loads(path.read_text())["args"]["primitive_steps"]
        if budget != args.primitive_steps:  # a finished cell of another budget would be skipped and tabulated as this one
            parser.error(f"{path} was trained for {budget} primitive steps, not --primitive-steps {args.primitive_steps}: "
                         "use another --logdir or the same budget")  # fmt: skip
    if args.run:
        run_grid(logdir, tasks, seeds, args.policy, args.primitive_steps, args.eval_every, extra, library, spaces)
    result = summarize(logdir, tasks, seeds, args.policy, library, spaces)
    if not result["cells"]:
        parser.error(f"no finished run of the grid under {logdir} (run with --run)")
    out = Path(args.out) if args.out else None
    if out:
        keep_runs(logdir, cells, args.policy, library, out)
    compare = json.loads(Path(args.compare).read_text()) if args.compare else None
    command = command_line("benchmarks.measure.rl_study", argv)
    publish(args.section, result, section(result, command, compare), out / "study.json" if out else None, args.results_md)
    return 0


def keep_runs(logdir: Path, cells: Sequence[tuple[str, str, int]], policy: str, library: str, out: Path) -> None:
    """Into ``out``: the curves of the finished runs (``curves.png``) and each run's ``results.json`` as
    ``runs/PREFIX.json`` (the run folder's name without its time)."""
    from examples.plot_curves import plot_runs

    paths = [path for task, space, seed in cells if (path := find_result(logdir, task, space, policy, seed, library))]
    (out / "runs").mkdir(parents=True, exist_ok=True)
    for path in paths:
        atomic_write_text(out / "runs" / f"{path.parent.name.rsplit('__', 1)[0]}.json", path.read_text())
    plot_runs([json.loads(path.read_text()) for path in paths], out / "curves.png")


if __name__ == "__main__":
    sys.exit(main())
