"""``sgd train``: a planner, executor or flat sequence model on the examples, or a PPO baseline in the env."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from benchmarks.cli.common import non_negative, positive, tasks
from sgd_gym.tasks import resolve_tasks

PPO_KINDS = ("ppo", "ppo-options")


def train_command(args: argparse.Namespace) -> int:
    """Train one model."""
    if args.kind in PPO_KINDS:
        from baselines.ppo import PPOSettings, train_ppo

        try:
            settings = PPOSettings(
                kind=args.kind,
                tasks=args.tasks,
                split="train",
                max_steps=args.episode_steps,
                encoder=args.encoder,
                policy=args.policy,
            )
        except ValueError as error:  # a combination argparse cannot see (--policy drrn --encoder minilm)
            print(f"sgd train: {error}", file=sys.stderr)
            return 2
        summary = train_ppo(settings, args.out, timesteps=args.timesteps, max_minutes=getattr(args, "max_minutes", None),
                            envs=args.envs, seed=getattr(args, "seed", 0),
                            learning_rate=getattr(args, "learning_rate", 3e-4), warm_start=args.warm_start)  # fmt: skip
    else:
        examples = Path(args.data) / "examples" / f"{args.kind}.train.jsonl"
        if not examples.is_file() or examples.stat().st_size == 0:  # say so before importing torch and transformers
            print(f"sgd train: {examples}: no training examples; build them first: sgd build-data --data {args.data}",
                  file=sys.stderr)  # fmt: skip
            return 1
        from agents.train import train, train_settings

        settings = train_settings(args)
        try:
            settings.check()  # e.g. an --init that is not installed: name it and the command that installs it
        except ValueError as error:
            print(f"sgd train: {error}", file=sys.stderr)
            return 2
        command = shlex.join(["sgd", *sys.argv[1:]])  # the model card names it
        summary = train(settings, args.data, args.out, resume=args.resume, progress=args.progress, command=command)
    print(json.dumps(summary, indent=1))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``train``: the flags of ``agents.train.TrainSettings`` and those of the PPO baselines."""
    from agents.train import KINDS, add_train_arguments

    p = commands.add_parser("train", help="train the planner, executor or flat model, or a PPO baseline")
    p.add_argument("kind", choices=(*KINDS, *PPO_KINDS), help="which model")
    p.add_argument("--data", default="data", help="data folder holding examples/ (default: data)")
    p.add_argument("--out", required=True, help="checkpoint folder (resumed if it exists)")
    add_train_arguments(p, kind=False)
    p.add_argument("--overwrite", "--no-resume", dest="resume", action="store_false",
                   help="discard what OUT holds (checkpoints, a policy of other settings) and start over")  # fmt: skip
    p.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")
    ppo = p.add_argument_group("ppo, ppo-options (trained in the env on train variations; --data is not used; --seed, "
                               "--train-minutes and --learning-rate apply, the latter with default 3e-4)")  # fmt: skip
    ppo.add_argument("--tasks", type=tasks, default=resolve_tasks("all"), help="training tasks, or 'all' (default: all)")
    ppo.add_argument("--timesteps", type=positive, default=20_000, help="env steps (decisions) to train (default: 20000)")
    ppo.add_argument("--envs", type=positive, default=2, help="parallel envs, one JVM each (default: 2)")
    ppo.add_argument("--episode-steps", type=positive, default=100, help="primitive steps per episode (default: 100)")
    ppo.add_argument("--encoder", choices=("bow", "minilm"), default="bow",
                     help="observations as hashed bags of words, or all-MiniLM-L6-v2 embeddings (default: bow)")  # fmt: skip
    ppo.add_argument("--policy", choices=("mlp", "drrn"), default="mlp",
                     help="mlp: SB3's MlpPolicy (a logit per index); drrn: each choice's text scored against the state "
                          "(baselines/drrn.py; needs --encoder bow) (default: mlp)")  # fmt: skip
    ppo.add_argument("--warm-start", type=non_negative, default=0, metavar="N",
                     help="clone the gold paths of N train variations per task before PPO (baselines/warm_start.py: "
                          "rules sub-goals for ppo-options, actions for ppo) (default: 0, none)")  # fmt: skip
    p.set_defaults(func=train_command)
