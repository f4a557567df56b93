"""Env-runner scaling of RLlib PPO: primitive steps per second with 1 and 2 env runners, sampling and whole iterations.

python -m benchmarks.measure.rllib_scaling --runners 1,2 --rounds 2 --decisions 128 --iterations 2 --out benchmarks/results/rllib

For each env-runner count, a fresh algorithm on a local Ray (``baselines.rllib_ppo.ppo_config``: the RLlib example's
env and module, K = 1024, 50 primitive steps per episode) first lets every runner sample once (its JVM starts; not
timed). Then ``--rounds`` rounds in which every runner samples ``--decisions`` decisions at once with the current
policy (``sampling``: what the env runners deliver, the rate a cluster multiplies), then ``--iterations`` PPO
iterations as training runs them (``training``: sampling, then the learner's update of ``decisions x runners``
decisions). Primitive steps are counted from the sampled episodes (an option counts the steps its executor took).
Per JVM: the rate over the runners. The load average of the machine is recorded before and after: other work on it
slows every row alike only if it stays the same.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baselines.ppo import PPOSettings
from baselines.rllib_ppo import ppo_config, primitive_steps_of
from benchmarks.measure.results import command_line, machine_summary, measure_parser, publish
from sgd_gym.tasks import get_task


def sampled_primitive_steps(episodes: list[Any]) -> int:
    """Primitive steps in a sample's episode chunks (each chunk's infos after its first observation, one per step)."""
    return sum(primitive_steps_of(info) for episode in episodes for info in episode.get_infos()[1:])


def measure_runners(settings: PPOSettings, runners: int, rounds: int, decisions: int, iterations: int, seed: int) -> dict:
    """One row: the sampling and training rates of ``runners`` env runners (see the module docstring)."""
    algo = ppo_config(settings, num_env_runners=runners, seed=seed, train_batch_size=decisions * runners).build_algo()
    try:
        group = algo.env_runner_group
        sample = lambda runner: sampled_primitive_steps(runner.sample(num_timesteps=decisions, random_actions=False))  # noqa: E731
        group.foreach_env_runner(sample, local_env_runner=False)  # each JVM starts and plays its first episodes
        start = time.monotonic()
        sampled = sum(sum(group.foreach_env_runner(sample, local_env_runner=False)) for _ in range(rounds))
        sampling_seconds = time.monotonic() - start
        before = algo.train()["env_runners"]["primitive_steps"]  # the metric counts from here (warm-up samples aside)
        start = time.monotonic()
        for _ in range(iterations):
            after = algo.train()["env_runners"]["primitive_steps"]
        training_seconds = time.monotonic() - start
    finally:
        algo.stop()
    trained = int(after - before)
    return {"runners": runners, "sampled_decisions": rounds * decisions * runners, "sampled_primitive_steps": int(sampled),
            "sampling_seconds": round(sampling_seconds, 1), "sampling_rate": sampled / sampling_seconds,
            "trained_primitive_steps": trained, "training_seconds": round(training_seconds, 1),
            "training_rate": trained / training_seconds}  # fmt: skip


def section(result: dict[str, Any], command: str) -> str:
    """The RESULTS.md section: one row per env-runner count."""
    lines = [
        "## RLlib env-runner scaling (`benchmarks/measure/rllib_scaling.py`)",
        "",
        f"- Command: `{command}`; machine: {machine_summary()}; load average (1 min) {result['load_before']:.1f} before, "
        f"{result['load_after']:.1f} after.",
        f"- {result['task']} over {result['action_space']}, K = {result['max_choices']}, {result['episode_steps']} primitive "
        f"steps per episode, RLlib PPO with the DRRN module; each row a fresh local Ray. Sampling: {result['rounds']} rounds "
        f"of {result['decisions']} decisions per runner at once (after one untimed round that starts the JVMs); training: "
        f"{result['iterations']} PPO iterations of {result['decisions']} decisions per runner (sampling, then the learner's "
        "update in the driver). Rates in primitive steps per second of wall time.",
        "",
        "| env runners | sampled primitive steps | sampling s | sampling rate | per JVM | trained primitive steps | training s "
        "| training rate | per JVM |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        lines.append(f"| {row['runners']} | {row['sampled_primitive_steps']:,} | {row['sampling_seconds']:.1f} | "
                     f"{row['sampling_rate']:.1f} | {row['sampling_rate'] / row['runners']:.1f} | "
                     f"{row['trained_primitive_steps']:,} | {row['training_seconds']:.1f} | {row['training_rate']:.1f} | "
                     f"{row['training_rate'] / row['runners']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = measure_parser("benchmarks.measure.rllib_scaling", __doc__)
    parser.add_argument("--runners", default="1,2", help="comma-separated env-runner counts (default 1,2)")
    parser.add_argument("--task", default="find-living-thing", help="the task (default find-living-thing)")
    parser.add_argument("--action-space", default="options", choices=["options", "primitive"], help="default options")
    parser.add_argument("--rounds", type=int, default=2, help="timed sampling rounds (default 2)")
    parser.add_argument("--decisions", type=int, default=128, help="decisions per runner per round and iteration (default 128)")
    parser.add_argument("--iterations", type=int, default=2, help="timed PPO iterations (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="RLlib's seed (default 0)")
    parser.add_argument("--out", help="folder for scaling.json")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        runners = [int(count) for count in args.runners.split(",")]
    except ValueError:
        parser.error(f"--runners takes comma-separated integers, got {args.runners!r}")
    if min(runners) < 1 or min(args.rounds, args.decisions, args.iterations) < 1:
        parser.error("--runners, --rounds, --decisions and --iterations must be >= 1")
    import ray

    kind = "ppo-options" if args.action_space == "options" else "ppo"
    settings = PPOSettings(kind=kind, tasks=[get_task(args.task).name], max_steps=50, max_choices=1024, policy="drrn")
    load_before, rows = os.getloadavg()[0], []
    for count in runners:
        ray.init(num_cpus=count, include_dashboard=False, log_to_driver=False)
        try:
            rows.append(measure_runners(settings, count, args.rounds, args.decisions, args.iterations, args.seed))
        finally:
            ray.shutdown()
        print(f"{count} env runner(s): {rows[-1]['sampling_rate']:.1f} primitive steps/s sampling, "
              f"{rows[-1]['training_rate']:.1f} training", flush=True)  # fmt: skip
    result = {"task": settings.tasks[0], "action_space": args.action_space, "max_choices": settings.max_choices,
              "episode_steps": settings.max_steps, "rounds": args.rounds, "decisions": args.decisions,
              "iterations": args.iterations, "load_before": load_before, "load_after": os.getloadavg()[0],
              "rows": rows}  # fmt: skip
    command = command_line("benchmarks.measure.rllib_scaling", argv)
    publish("rllib_scaling", result, section(result, command), Path(args.out) / "scaling.json" if args.out else None,
            args.results_md)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
