"""Plot test score against primitive env steps from the ``results.json`` of ``examples/ppo_options.py`` runs.

    python examples/plot_curves.py runs/examples/*/results.json --out curves.png

Runs of the same task, action space and encoder are one line: the mean over their seeds, with the lowest
and highest seed shaded (each run is evaluated at the same primitive-step marks when they share
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results.json files of examples/ppo_options.py")
    parser.add_argument("--out", type=Path, default=Path("curves.png"))
    options = parser.parse_args()

    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for path in options.results:
        run = json.loads(path.read_text())
        groups[(run["args"]["task"], run["args"]["action_space"], run["args"]["encoder"])].append(run)
    tasks = sorted({task for task, _, _ in groups})
    figure, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        floor = []
        for (name, space, encoder), runs in sorted(groups.items()):
            if name != task:
                continue
            points = min(len(run["curve"]) for run in runs)  # runs cut by the budget share their first marks
            steps = np.mean([[p["primitive_steps"] for p in run["curve"][:points]] for run in runs], axis=0)
            scores = np.array([[p["test_score"] for p in run["curve"][:points]] for run in runs])
            line = axis.plot(steps, scores.mean(axis=0), marker="o", label=f"{space} ({encoder}), {len(runs)} seed(s)")[0]
            axis.fill_between(steps, scores.min(axis=0), scores.max(axis=0), color=line.get_color(), alpha=0.2)
            floor += [run["random_score"] for run in runs]
            episodes = len(runs[0]["test_variations"])
        axis.axhline(float(np.mean(floor)), color="grey", linestyle="--", label="random (valid primitive actions)")
        axis.set(title=f"{task}: MaskablePPO, {episodes} test variations", xlabel="primitive env steps",
                 ylabel="test score (0-100)", ylim=(-2, 102))  # fmt: skip
        axis.legend(loc="upper left", fontsize=8)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(options.out, dpi=100)
    print(f"wrote {options.out}")


if __name__ == "__main__":
    main()
