"""PPO through RLlib (new API stack) on one ScienceWorld task, over sub-goal options or primitive actions, on Ray.

    python examples/rllib_ppo.py --task find-living-thing --primitive-steps 6000
    python examples/rllib_ppo.py --action-space primitive --num-env-runners 1
    python examples/rllib_ppo.py --bc-variations 20 --primitive-steps 2000
    python examples/rllib_ppo.py --address auto --num-env-runners 16     # on a running Ray cluster: docs/rllib.md
    tensorboard --logdir runs/rllib

The RLlib counterpart of ``examples/ppo_options.py --policy drrn``: the same envs (``DiscreteSubgoals`` over options
with the scripted executor, or ``ValidActionDiscrete`` over primitive actions; ``CandidateObservation``), the same
network (``baselines/rllib_drrn.py``: each choice's text scored against the state, the value from the state), SB3's
PPO hyper-parameters, a budget in **primitive** env steps (an option counts the steps it took), the same spread
test variations and seeded random floor, and a ``results.json`` of the same form. The mask travels inside the
observations (``ActionMaskObservation``), and masked choices get no probability.

Who runs what: ``--num-env-runners`` env runners (Ray actors, on any node of the cluster) each hold one env, with
its JVM, and sample with a copy of the module; the learner, in this process, holds the module and the optimizer and
updates them on each batch of ``--train-batch-size`` decisions, then sends the weights back out. ``--address``
joins a running cluster; by default a local Ray starts (one CPU per env runner).

After each PPO iteration that crosses an ``--eval-every`` mark, the greedy policy plays ``--test-episodes`` test
variations in this process (the first point is the starting policy); nothing is selected on them: the last model is
the one reported. TensorBoard, under ``--logdir``/RUN: ``eval/test_score`` and ``rollout/episode_score`` against
primitive steps, ``losses/*`` and ``charts/primitive_steps_per_second``. The run ends with ``RUN/results.json`` and
the checkpoint ``RUN/checkpoint`` (``sgd eval --agent rllib-ppo-options --checkpoint RUN/checkpoint``, or
``rllib-ppo`` over primitive actions).

``--bc-variations N`` starts PPO from imitation: the gold paths of N train variations are cloned into SB3's
``CandidateScoringPolicy`` (``baselines/warm_start.py``), whose weights then start the RLlib module
(``start_from_sb3_policy``); ``warm_start/`` in TensorBoard.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import tree
from torch.utils.tensorboard import SummaryWriter

import sgd_gym  # noqa: F401  (registers the ids)
from baselines.ppo import PPOSettings, make_env
from baselines.rllib_ppo import env_creator, ppo_config, save_checkpoint, start_from_sb3_policy
from benchmarks.rl_examples import RLExampleArgs, arg, parse_example_args, pick_variations, play, random_floor
from sgd_gym.tasks import get_task


@dataclasses.dataclass
class Args(RLExampleArgs):  # the task, action space, budget, test and warm start: benchmarks/rl_examples.py
    num_env_runners: int = arg(2, "RLlib env runners (Ray actors), each holding one env and its JVM; 0: sample here")
    address: str = arg("", "a running Ray cluster to join (auto, or HOST:PORT); empty: $RAY_ADDRESS if set, else a local Ray")
    train_batch_size: int = arg(256, "decisions per PPO update, over all env runners (SB3's n_steps 128 x 2 envs)")
    minibatch_size: int = arg(64, "decisions per gradient step (SB3's batch_size)")
    logdir: str = arg("runs/rllib", "TensorBoard, results.json and the checkpoint go to LOGDIR/RUN_NAME")

    def problems(self) -> list[str]:
        """The shared checks, then: env runners >= 0, batches >= 1."""
        found = super().problems()
        if self.num_env_runners < 0 or min(self.train_batch_size, self.minibatch_size) < 1:
            found.append(f"--num-env-runners must be >= 0 and --train-batch-size, --minibatch-size >= 1, got "
                         f"{self.num_env_runners}, {self.train_batch_size}, {self.minibatch_size}")  # fmt: skip
        return found


def start_ray(args: Args) -> None:
    """Join ``--address`` (or ``$RAY_ADDRESS``), or start a local Ray with one CPU per env runner."""
    import ray

    from benchmarks.ray_backend import ensure_ray

    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ensure_ray(max(args.num_env_runners, 1))


def settings_of(args: Args, split: str = "train") -> PPOSettings:
    """The env of the run (``baselines.ppo.make_env``'s, read by the RLlib module): one task, DRRN observations."""
    kind = "ppo-options" if args.action_space == "options" else "ppo"
    return PPOSettings(kind=kind, tasks=[get_task(args.task).name], split=split, max_steps=args.episode_steps,
                       max_choices=args.max_choices, dim=256, candidate_dim=64, policy="drrn")  # fmt: skip


def warm_start(args: Args, algo, writer: SummaryWriter) -> dict:
    """Clone the gold paths into SB3's ``CandidateScoringPolicy`` (the same network) and start RLlib's module from it."""
    from sb3_contrib import MaskablePPO

    from baselines.drrn import CandidateScoringPolicy
    from baselines.warm_start import clone_gold_paths

    demo_env = make_env(settings_of(args))  # without the mask in the observations: SB3 asks env.action_masks()
    try:
        model = MaskablePPO(CandidateScoringPolicy, demo_env, seed=args.seed, device="cpu")
        record = clone_gold_paths(model, demo_env, args.task, args.bc_variations, args.action_space, args.bc_epochs,
                                  args.seed, writer)  # fmt: skip
    finally:
        demo_env.close()
    start_from_sb3_policy(algo, model.policy)
    return record


def train(args: Args, algo, writer: SummaryWriter, evaluate) -> dict:
    """PPO iterations until the primitive-step budget is spent; ``evaluate(primitive_steps, decisions)`` at each mark."""
    done = {"primitive_steps": 0, "decisions": 0, "iterations": 0, "states_cut": 0, "masked_choices_taken": 0}
    start = time.monotonic()
    curve, episodes = [evaluate(0, 0)], 0
    eval_seconds = time.monotonic() - start
    while done["primitive_steps"] < args.primitive_steps:
        iteration = time.monotonic()
        result = algo.train()
        runners, learner = result["env_runners"], result["learners"]["default_policy"]
        steps = int(runners["primitive_steps"])
        rate = (steps - done["primitive_steps"]) / (time.monotonic() - iteration)
        writer.add_scalar("charts/primitive_steps_per_second", rate, steps)
        done.update(primitive_steps=steps, decisions=int(runners["num_env_steps_sampled_lifetime"]),
                    iterations=done["iterations"] + 1, states_cut=int(runners.get("states_cut", 0)),
                    masked_choices_taken=int(runners["masked_choices_taken"]))  # fmt: skip
        for score in runners.get("episode_scores", []):  # the training episodes that ended in this iteration
            writer.add_scalar("rollout/episode_score", score, steps)
            episodes += 1
        writer.add_scalar("rollout/primitive_steps", steps, done["decisions"])
        for name in ("policy_loss", "vf_loss", "entropy", "total_loss"):
            writer.add_scalar(f"losses/{name}", float(learner[name]), steps)
        if steps >= len(curve) * args.eval_every or steps >= args.primitive_steps:
            evaluating = time.monotonic()
            curve.append(evaluate(steps, done["decisions"]))
            eval_seconds += time.monotonic() - evaluating
    return {**done, "train_seconds": round(time.monotonic() - start, 1), "eval_seconds": round(eval_seconds, 1),
            "training_episodes": episodes, "curve": curve}  # fmt: skip


def main(args: Args) -> dict:
    # Seeding first: Python, NumPy and torch here; RLlib seeds its module and each env runner's env from --seed.
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # the learner's small network: threads cost more than they bring next to the env runners

    run_name = f"{get_task(args.task).name}__{args.action_space}__rllib__{args.seed}__{int(time.time())}"
    run = Path(args.logdir) / run_name
    writer = SummaryWriter(str(run))
    writer.add_text("args", "\n".join(f"- {key}: {value}" for key, value in dataclasses.asdict(args).items()))
    start_ray(args)
    settings = settings_of(args)
    algo = ppo_config(settings, num_env_runners=args.num_env_runners, seed=args.seed, train_batch_size=args.train_batch_size,
                      minibatch_size=args.minibatch_size, learning_rate=args.learning_rate,
                      entropy_coeff=args.ent_coef).build_algo()  # fmt: skip
    warm = warm_start(args, algo, writer) if args.bc_variations else None

    test_env = env_creator({"settings": dataclasses.asdict(settings_of(args, split="test"))})
    variations = pick_variations(get_task(args.task).n_test, args.test_episodes, args.test_variations)
    started = time.monotonic()

    def evaluate(primitive_steps: int, decisions: int) -> dict:
        """The greedy policy's test scores now (the driver's module copy, synced with the learner after each update)."""
        module = algo.get_module()
        policy = lambda obs, mask: int(module.greedy_actions(tree.map_structure(lambda x: x[None], obs))[0])  # noqa: E731
        scores = play(test_env, policy, variations, args.seed)
        score = float(np.mean(scores))
        writer.add_scalar("eval/test_score", score, primitive_steps)
        print(f"primitive steps {primitive_steps:>7,}  decisions {decisions:>6,}  test score {score:5.1f}  "
              f"({time.monotonic() - started:.0f} s)", flush=True)  # fmt: skip
        return {"primitive_steps": primitive_steps, "decisions": decisions, "test_score": score, "test_scores": scores,
                "seconds": round(time.monotonic() - started, 1)}  # fmt: skip

    trained = train(args, algo, writer, evaluate)
    save_checkpoint(algo, settings, run / "checkpoint")
    algo.stop()
    test_env.close()

    # The floor: uniformly random valid primitive actions on the same test variations, seeded.
    random_score = random_floor(args.task, args.episode_steps, variations, args.seed)
    writer.add_scalar("eval/random_score", random_score, trained["primitive_steps"])
    writer.close()
    final = trained["curve"][-1]["test_score"]
    results = {"args": {**dataclasses.asdict(args), "policy": "drrn", "encoder": "bow", "library": "rllib"},
               **{key: value for key, value in trained.items() if key != "curve"}, "test_score": final,
               "random_score": random_score, "test_variations": variations, "warm_start": warm,
               "checkpoint": str(run / "checkpoint"), "curve": trained["curve"]}  # fmt: skip
    (run / "results.json").write_text(json.dumps(results, indent=1))
    print(f"{args.task}, {args.action_space} (RLlib PPO, drrn, {args.num_env_runners} env runners), seed {args.seed}: test "
          f"score {final:.1f} vs random {random_score:.1f} on {len(variations)} test variations, after "
          f"{trained['primitive_steps']:,} primitive steps ({trained['decisions']:,} decisions, "
          f"{trained['train_seconds'] / 60:.1f} min); TensorBoard: {run}")  # fmt: skip
    return results


if __name__ == "__main__":
    main(parse_example_args(Args, __doc__.split("\n")[0]))
