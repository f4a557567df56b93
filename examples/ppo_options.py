"""MaskablePPO on one ScienceWorld task, over sub-goal options or over primitive actions, read top to bottom.

    python examples/ppo_options.py --task find-living-thing --primitive-steps 20000
    python examples/ppo_options.py --action-space primitive --seed 1
    python examples/ppo_options.py --policy drrn --max-choices 1024
    tensorboard --logdir runs/examples

``--action-space options`` (default) learns on ``ScienceWorldOptionsDiscrete-v1``: each decision picks one of
the current sub-goal candidates (``navigate_to(kitchen)``, ``focus_on(...)``, ``pick_up(...)``...) and the
scripted executor carries it out in primitive actions. ``primitive`` learns on ``ScienceWorld-v1`` through
``ValidActionDiscrete``: each decision is one command the game's parser accepts. The budget is counted in
**primitive env steps** for both (an option counts the steps it took), so the two compare at equal cost.

``--policy mlp`` (default) is SB3's ``MlpPolicy``: one logit per index, though an index names another choice in
every state. ``--policy drrn`` reads ``CandidateObservation`` (the state and the text of every choice) and scores
each choice against the state (``baselines/drrn.py``, after He et al. 2016), so what it learns of a choice
follows the choice.

Every ``--eval-every`` primitive steps the deterministic policy plays ``--test-episodes`` test variations of the
task, evenly spaced over the split (``--test-variations first``: the first ones), never seen in training; nothing
is selected on them: the last model is the one reported. TensorBoard, under ``--logdir``/RUN:
``rollout/episode_score`` and ``eval/test_score`` against primitive steps, SB3's own ``rollout/`` and ``train/``
scalars against decisions in ``sb3/``; ``results.json`` holds the curve and the final scores. The run ends by
printing the test score next to a uniformly random policy over the same tasks' valid actions (the protocol's
``random`` floor).

``--bc-variations N`` starts PPO from imitation: the gold paths of N train variations are replayed through the
same env (as rules sub-goals over options, as actions over primitives) and the policy and value are fitted to the
expert's choices for ``--bc-epochs`` passes (``baselines/warm_start.py``); ``warm_start/`` in TensorBoard.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from torch.utils.tensorboard import SummaryWriter

import sgd_gym  # noqa: F401  (registers the ids)
from baselines.drrn import CandidateScoringPolicy
from baselines.warm_start import clone_gold_paths
from benchmarks.rl_examples import RLExampleArgs, arg, parse_example_args, pick_variations, play, random_floor
from sgd_gym.tasks import get_task
from sgd_gym.wrappers import BagOfWordsObservation, CandidateObservation, MiniLMObservation, ValidActionDiscrete


@dataclasses.dataclass
class Args(RLExampleArgs):  # the task, action space, budget, test and warm start: benchmarks/rl_examples.py
    encoder: str = arg("bow", "observations: bow (hashed bag of words) or minilm (all-MiniLM-L6-v2 embeddings)",
                       ("bow", "minilm"))  # fmt: skip
    policy: str = arg("mlp", "mlp: SB3's MlpPolicy, one logit per index; drrn: each choice's text scored against the state "
                      "(reads the bag of words)", ("mlp", "drrn"))  # fmt: skip
    envs: int = arg(2, "parallel training envs, one JVM each (SubprocVecEnv when > 1)")
    n_steps: int = arg(128, "decisions per env per PPO rollout")
    batch_size: int = arg(64, "decisions per PPO minibatch")
    logdir: str = arg("runs/examples", "TensorBoard and results.json go to LOGDIR/RUN_NAME")

    def problems(self) -> list[str]:
        """The shared checks, then: drrn reads the bag of words; at least one env, step and sample."""
        found = super().problems()
        if self.policy == "drrn" and self.encoder != "bow":
            found.append(f"--policy drrn reads the bag of words: --encoder bow, got {self.encoder}")
        if min(self.envs, self.n_steps, self.batch_size) < 1:
            found.append(f"--envs, --n-steps and --batch-size must be >= 1, got {self.envs}, {self.n_steps}, {self.batch_size}")
        return found


def make_env(args: Args, split: str = "train") -> gym.Env:
    """One env of the run: masked ``Discrete`` actions (options or primitive) and ``Box`` observations."""
    if args.action_space == "options":
        env = gym.make("sgd_gym/ScienceWorldOptionsDiscrete-v1", task=args.task, split=split,
                       max_primitive_steps=args.episode_steps, max_subgoals=args.max_choices)  # fmt: skip
    else:
        env = ValidActionDiscrete(gym.make("sgd_gym/ScienceWorld-v1", task=args.task, split=split,
                                           max_episode_steps=args.episode_steps), max_actions=args.max_choices)  # fmt: skip
    if args.policy == "drrn":  # the state and the text of every choice, for CandidateScoringPolicy
        return CandidateObservation(env, dim=256)
    return MiniLMObservation(env) if args.encoder == "minilm" else BagOfWordsObservation(env, dim=256)


class PrimitiveStepBudget(BaseCallback):
    """Counts primitive steps, logs episode and test scores against them, evaluates, and stops at the budget."""

    def __init__(self, args: Args, writer: SummaryWriter, test_env: gym.Env, variations: list[int]) -> None:
        super().__init__()
        self.args, self.writer, self.test_env, self.variations = args, writer, test_env, variations
        self.primitive_steps, self.next_eval, self.curve = 0, 0, []
        self.states_cut = 0  # training states with more choices than K (the wrappers' dropped_actions / dropped_subgoals)
        self.start = time.monotonic()

    def evaluate(self) -> float:
        """Mean test score of the deterministic policy now; logged and kept in ``self.curve``."""
        policy = lambda obs, mask: int(self.model.predict(obs, action_masks=mask, deterministic=True)[0])  # noqa: E731
        scores = play(self.test_env, policy, self.variations, self.args.seed)
        score = float(np.mean(scores))
        self.writer.add_scalar("eval/test_score", score, self.primitive_steps)
        self.curve.append({"primitive_steps": self.primitive_steps, "decisions": self.num_timesteps, "test_score": score,
                           "test_scores": scores, "seconds": round(time.monotonic() - self.start, 1)})  # fmt: skip
        print(f"primitive steps {self.primitive_steps:>7,}  decisions {self.num_timesteps:>6,}  test score {score:5.1f}  "
              f"({time.monotonic() - self.start:.0f} s)", flush=True)  # fmt: skip
        self.next_eval += self.args.eval_every
        return score

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"]):
            self.primitive_steps += int(info.get("option_steps", 1))  # a primitive action is one step
            self.states_cut += bool(info.get("dropped_actions", 0) or info.get("dropped_subgoals", 0))
            if done:
                self.writer.add_scalar("rollout/episode_score", info["score"], self.primitive_steps)
        self.writer.add_scalar("rollout/primitive_steps", self.primitive_steps, self.num_timesteps)
        if self.primitive_steps >= self.next_eval:
            self.evaluate()
        return self.primitive_steps < self.args.primitive_steps


def main(args: Args) -> dict:
    # Seeding first: Python, NumPy and torch here; the envs and PPO below get the same seed.
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # small networks: threads cost more than they bring next to 2+ env processes

    run_name = f"{get_task(args.task).name}__{args.action_space}__{args.policy}__{args.encoder}__{args.seed}__{int(time.time())}"
    run = Path(args.logdir) / run_name
    writer = SummaryWriter(str(run))
    writer.add_text("args", "\n".join(f"- {key}: {value}" for key, value in dataclasses.asdict(args).items()))

    vec_cls = SubprocVecEnv if args.envs > 1 else DummyVecEnv
    train_envs = make_vec_env(make_env, n_envs=args.envs, seed=args.seed, vec_env_cls=vec_cls, env_kwargs={"args": args})
    test_env = make_env(args, split="test")
    variations = pick_variations(get_task(args.task).n_test, args.test_episodes, args.test_variations)

    policy = CandidateScoringPolicy if args.policy == "drrn" else "MlpPolicy"
    model = MaskablePPO(policy, train_envs, n_steps=args.n_steps, batch_size=args.batch_size, seed=args.seed,
                        learning_rate=args.learning_rate, ent_coef=args.ent_coef, device="cpu",
                        tensorboard_log=str(run / "sb3"))  # fmt: skip
    warm_start = None
    if args.bc_variations:  # the expert's choices as PPO's first policy (baselines/warm_start.py)
        demo_env = make_env(args)
        warm_start = clone_gold_paths(model, demo_env, args.task, args.bc_variations, args.action_space, args.bc_epochs,
                                      args.seed, writer)  # fmt: skip
        demo_env.close()
    budget = PrimitiveStepBudget(args, writer, test_env, variations)
    start = time.monotonic()
    model.learn(total_timesteps=args.primitive_steps, callback=budget)  # decisions <= primitive steps: the callback stops it
    train_seconds = time.monotonic() - start
    final = budget.evaluate() if budget.curve[-1]["primitive_steps"] != budget.primitive_steps else budget.curve[-1]["test_score"]
    # MiniLM's cost: each training env's cache of encoded texts (hits, misses, seconds spent encoding).
    encoder_cache = train_envs.env_method("cache_info") if args.encoder == "minilm" else None
    train_envs.close()
    test_env.close()

    # The floor: uniformly random valid primitive actions on the same test variations, seeded.
    random_score = random_floor(args.task, args.episode_steps, variations, args.seed)
    writer.add_scalar("eval/random_score", random_score, budget.primitive_steps)
    writer.close()

    results = {"args": dataclasses.asdict(args), "primitive_steps": budget.primitive_steps, "decisions": model.num_timesteps,
               "train_seconds": round(train_seconds, 1), "test_score": final, "random_score": random_score,
               "test_variations": variations, "encoder_cache": encoder_cache, "states_cut": budget.states_cut,
               "warm_start": warm_start,
               "curve": budget.curve}  # fmt: skip
    (run / "results.json").write_text(json.dumps(results, indent=1))
    if budget.states_cut:
        print(f"warning: {budget.states_cut:,} training states listed more than --max-choices {args.max_choices} choices; "
              "the rest were not offered (raise --max-choices)", flush=True)  # fmt: skip
    print(f"{args.task}, {args.action_space} ({args.policy}, {args.encoder}), seed {args.seed}: test score {final:.1f} vs random "
          f"{random_score:.1f} on {len(variations)} test variations, after {budget.primitive_steps:,} primitive steps "
          f"({model.num_timesteps:,} decisions, {train_seconds / 60:.1f} min); TensorBoard: {run}")  # fmt: skip
    return results


if __name__ == "__main__":  # SubprocVecEnv starts its workers by importing this file
    main(parse_example_args(Args, __doc__.split("\n")[0]))
