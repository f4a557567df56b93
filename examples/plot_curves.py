"""Plot test score against primitive env steps from the ``results.json`` of ``examples/ppo_options.py`` and
``examples/rllib_ppo.py`` runs.

    python examples/plot_curves.py runs/examples/*/results.json --out curves.png

Runs of the same task, action space, policy, encoder, warm start and library are one line: the mean over their seeds,
with the lowest and highest seed shaded (each run is evaluated at the same primitive-step marks when they share
``--eval-every``); the dashed line is the random floor of the same test variations.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def run_key(run: dict) -> tuple[str, str, str, str, int, str]:
    """(task, action space, policy, encoder, warm-start variations, library) of a run; runs from before ``--policy`` and
    ``--bc-variations`` existed used ``mlp`` and no warm start, runs that name no library are SB3's."""
    args = run["args"]
    return (args["task"], args["action_space"], args.get("policy", "mlp"), args["encoder"], args.get("bc_variations", 0),
            args.get("library", "sb3"))  # fmt: skip


def plot_runs(runs: list[dict], out: Path) -> None:
    """One panel per task: test score (mean over seeds, min-max shaded) against primitive steps, and the floor."""
    groups: dict[tuple[str, str, str, str, int, str], list[dict]] = defaultdict(list)
    for run in runs:
        groups[run_key(run)].append(run)
    tasks = sorted({key[0] for key in groups})
    figure, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        floor = []
        for (name, space, policy, encoder, cloned, library), group in sorted(groups.items()):
            if name != task:
                continue
            points = min(len(run["curve"]) for run in group)  # runs cut by the budget share their first marks
            steps = np.mean([[p["primitive_steps"] for p in run["curve"][:points]] for run in group], axis=0)
            scores = np.array([[p["test_score"] for p in run["curve"][:points]] for run in group])
            warm = f", cloned from {cloned} gold paths" if cloned else ""
            label = f"{space} ({'RLlib' if library == 'rllib' else 'SB3'}: {policy}, {encoder}{warm}), {len(group)} seed(s)"
            line = axis.plot(steps, scores.mean(axis=0), marker="o", label=label)[0]
            axis.fill_between(steps, scores.min(axis=0), scores.max(axis=0), color=line.get_color(), alpha=0.2)
            floor += [run["random_score"] for run in group]
            episodes = len(group[0]["test_variations"])
        axis.axhline(float(np.mean(floor)), color="grey", linestyle="--", label="random (valid primitive actions)")
        axis.set(title=f"{task}: PPO, {episodes} test variations", xlabel="primitive env steps",
                 ylabel="test score (0-100)", ylim=(-2, 102))  # fmt: skip
        axis.legend(loc="best", fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of the RL examples")
    parser.add_argument("--out", type=Path, default=Path("curves.png"))
    options = parser.parse_args()
    plot_runs([json.loads(path.read_text()) for path in options.results], options.out)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
