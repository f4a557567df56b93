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
    elif args.family == "scorer":
        return train_scorer_command(args)
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


# The flags of sequence-model training that mean the same for a scorer (``agents.train_scorer.ScorerTrainSettings``).
SCORER_SHARED_FLAGS = {"max_steps": "steps", "batch_size": "batch_size", "learning_rate": "learning_rate",
                       "seed": "seed", "eval_steps": "eval_steps", "max_source_tokens": "max_source_tokens"}  # fmt: skip
SCORER_IGNORED_FLAGS = ("preset", "init", "max_minutes", "epochs", "lora_rank", "precision", "vocab_size")


def train_scorer_command(args: argparse.Namespace) -> int:
    """``sgd train KIND --family scorer``: a candidate scorer on DATA's decisions (``agents.train_scorer``)."""
    from agents.policies.scorer import ScorerConfig
    from agents.train_scorer import ScorerTrainSettings, train_scorer

    if args.kind in PPO_KINDS:
        print(f"sgd train: --family scorer trains a planner, executor or flat policy, not {args.kind}", file=sys.stderr)
        return 2
    given = [name for name in SCORER_IGNORED_FLAGS if name in vars(args)]
    if given:
        print(f"sgd train: --{given[0].replace('_', '-')} does not apply to --family scorer", file=sys.stderr)
        return 2
    shared = {target: vars(args)[name] for name, target in SCORER_SHARED_FLAGS.items() if name in vars(args)}
    tokens = {"max_source_tokens": shared.pop("max_source_tokens")} if "max_source_tokens" in shared else {}
    try:
        versions = {"features": args.features} if args.features is not None else {}
        versions |= {"pooling": args.pooling} if args.pooling is not None else {}
        model = ScorerConfig(encoder=args.encoder, head=args.head, hidden=args.hidden, **versions, **tokens)
        settings = ScorerTrainSettings(kind=args.kind, model=model, annotations=args.annotations,
                                       sampling=args.sampling, **shared)
        settings.check()
    except ValueError as error:
        print(f"sgd train: {error}", file=sys.stderr)
        return 2
    command = shlex.join(["sgd", *sys.argv[1:]])
    summary = train_scorer(settings, args.data, args.out, resume=args.resume, progress=args.progress, command=command)
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
    p.add_argument("--family", choices=("generative", "scorer"), default="generative",
                   help="generative: a sequence model that writes its target (T5 preset, or --init's family); scorer: "
                        "scores the state's candidates (agents/policies/scorer.py; reads DATA/candidates/ from sgd "
                        "build-decisions; --train-steps, --batch-size, --learning-rate, --seed, --eval-steps and "
                        "--max-source-tokens apply, with defaults 2000, 32, 0.001, 0, 250, 512) (default: generative)")
    scorer = p.add_argument_group("scorer (--family scorer; --encoder also applies)")
    scorer.add_argument("--head", choices=("mlp", "dot"), default="mlp",
                        help="mlp: an MLP over state, candidate, their product and match features; dot: DRRN's inner "
                             "product plus a linear term of the features (default: mlp)")  # fmt: skip
    scorer.add_argument("--hidden", type=positive, default=64, help="width of the scorer's layers (default: 64)")
    scorer.add_argument("--features", type=positive, default=None,
                        help="match-feature version (agents.policies.scorer.FEATURE_SETS): 1, that of the first "
                             "scorer-cpu checkpoints; 2 adds repeats, the step before, verb pairs; 3 a weight per "
                             "(task word, candidate word) pair; 4 relation tokens (is the argument a room, named "
                             "by the goal, ...); 5 joint ones (focused before; held and named before; named after "
                             "the goal, by the foci so far; lost to 4 on dev) (default: 4)")  # fmt: skip
    scorer.add_argument("--pooling", choices=("joint", "fields"), default=None,
                        help="joint: one mean over the whole context's n-grams, that of the first scorer-cpu "
                             "checkpoints and the quickstart's; fields: one mean per context field (task, completed "
                             "sub-goals, ...), concatenated (default: fields)")  # fmt: skip
    scorer.add_argument("--sampling", choices=("decision", "task", "sqrt-task"), default="decision",
                        help="decision: every decision once per pass; task: each task drawn as often, whatever its "
                             "number of decisions (the protocol weighs tasks alike); sqrt-task: in proportion to the "
                             "root of its decisions; with task and sqrt-task, dev chooses the step by the mean "
                             "per-task accuracy (default: decision)")  # fmt: skip
    scorer.add_argument("--annotations", choices=("rules", "llm", "import"), default="rules",
                        help="which annotations the decisions come from (default: rules)")  # fmt: skip
    ppo = p.add_argument_group("ppo, ppo-options (trained in the env on train variations; --data is not used; --seed, "
                               "--train-minutes and --learning-rate apply, the latter with default 3e-4)")  # fmt: skip
    ppo.add_argument("--tasks", type=tasks, default=resolve_tasks("all"), help="training tasks, or 'all' (default: all)")
    ppo.add_argument("--timesteps", type=positive, default=20_000, help="env steps (decisions) to train (default: 20000)")
    ppo.add_argument("--envs", type=positive, default=2, help="parallel envs, one JVM each (default: 2)")
    ppo.add_argument("--episode-steps", type=positive, default=100, help="primitive steps per episode (default: 100)")
    ppo.add_argument("--encoder", choices=("bow", "minilm"), default="bow",
                     help="observations (ppo) or contexts and candidates (--family scorer) as hashed bags of words, or "
                          "all-MiniLM-L6-v2 embeddings (default: bow)")  # fmt: skip
    ppo.add_argument("--policy", choices=("mlp", "drrn"), default="mlp",
                     help="mlp: SB3's MlpPolicy (a logit per index); drrn: each choice's text scored against the state "
                          "(baselines/drrn.py; needs --encoder bow) (default: mlp)")  # fmt: skip
    ppo.add_argument("--warm-start", type=non_negative, default=0, metavar="N",
                     help="clone the gold paths of N train variations per task before PPO (baselines/warm_start.py: "
                          "rules sub-goals for ppo-options, actions for ppo) (default: 0, none)")  # fmt: skip
    p.set_defaults(func=train_command)
