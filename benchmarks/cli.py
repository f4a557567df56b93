"""The ``sgd`` command line."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

from benchmarks.evaluate import AGENT_OPTIONS, AGENTS
from sgd_gym.tasks import SPLITS, resolve_tasks

DEMO_TASKS = "find-living-thing,power-component,chemistry-mix,boil"


def _tasks(value: str) -> list[str]:
    try:
        return resolve_tasks(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


# The agent switches of ``sgd eval`` (keys of benchmarks.evaluate.AGENT_OPTIONS, which says which agents each changes).
SWITCH_HELP = {
    "avoid_cycles": "pass over an action that repeats a cycle of the last steps (same actions, same texts back)",
    "safe_focus": "send a 'focus on' only when the model names it exactly, and never twice",
    "copy_actions": "(ablation) send a single-action sub-goal's own action (focus_on(x) -> focus on x) when valid",
    "constrained": "when no generated action is valid, send the model's own choice among the valid actions "
    "(constrained decoding) instead of the closest by string similarity",
    "ground_subgoals": "take the first planner candidate whose objects the valid actions name (no focus twice, "
    "no trip to the current room)",
    "scripted_end": "(ablation) an option ends when a rule says its sub-goal is carried out "
    "(its pattern's actions sent, or the room reached), not when the executor says END_SG",
    "end_stalled": "an option ends, and its sub-goal is passed over until the score or room changes, when the "
    "executor would go round a cycle of the last steps (waiting excepted)",
    "named_focus": "in a task whose train-split gold paths focus only on what the task description names "
    "(agents/named_focus.json), never focus on anything else",
}


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value!r}")
    return number


def demo(args: argparse.Namespace) -> int:
    """Oracle and random agents on a few tasks through gym.make, then a score table."""
    from baselines import OracleAgent, RandomAgent
    from benchmarks.evaluate import evaluate, markdown_table, plan_episodes, summarize

    specs = plan_episodes(args.tasks, args.split, args.variations)
    print(
        f"sgd demo: {len(args.tasks)} tasks x {args.variations} {args.split} variations, {args.max_steps} steps, "
        f"{args.workers} worker(s)"
    )
    summaries = {}
    for name, factory in (("oracle", OracleAgent), ("random", functools.partial(RandomAgent, seed=args.seed))):
        start = time.perf_counter()
        records = evaluate(factory, specs, max_steps=args.max_steps, workers=args.workers, desc=name)
        summaries[name] = summarize(records)
        print(f"  {name}: {len(records)} episodes in {time.perf_counter() - start:.1f} s")
    print()
    print(markdown_table(summaries))
    return 0


def _variations(value: str) -> int | None:
    return None if value == "all" else _positive(value)


def collect_command(args: argparse.Namespace) -> int:
    """Collect gold trajectories."""
    from agents.data.collect import collect
    from sgd_gym.io import read_jsonl

    path = collect(args.tasks, args.split, args.variations, args.out, args.workers, args.simplifications)
    records = read_jsonl(path)
    steps = sum(len(r["steps"]) for r in records)
    print(f"{path}: {len(records)} trajectories, {steps} steps")
    return 0


def annotate_command(args: argparse.Namespace) -> int:
    """Annotate trajectories with sub-goals, or print annotation statistics."""
    import json

    from agents.data import annotate

    if args.stats:
        print(json.dumps(annotate.annotation_stats(args.data, args.method), indent=2))
        return 0
    if args.method == "rules":
        path = annotate.annotate_rules(args.data, args.max_steps)
    elif args.method == "import":
        if not args.source:
            print("sgd annotate: --method import needs --from FILE", file=sys.stderr)
            return 2
        path = annotate.import_annotations(args.data, args.source)
    else:
        from agents.data.annotate_llm import annotate_llm

        stats = annotate_llm(
            args.data, base_url=args.base_url, model=args.model, api_key_env=args.api_key_env, max_steps=args.max_steps
        )
        print(json.dumps({k: v for k, v in stats.items() if k != "records"}, indent=2))
        path = annotate.annotation_path(args.data, "llm")
    print(f"{path}: written")
    return 0


def build_data_command(args: argparse.Namespace) -> int:
    """Build planner/executor/flat examples."""
    from agents.data.datasets import build_data

    counts = build_data(args.data, args.annotations, args.max_tokens, args.max_history)
    for name, count in counts.items():
        print(f"{args.data}/examples/{name}.jsonl: {count} examples")
    return 0


def train_command(args: argparse.Namespace) -> int:
    """Train one model: a seq2seq model on the examples, or a PPO baseline in the env."""
    import json

    if args.kind in ("ppo", "ppo-options"):
        from baselines.ppo import PPOSettings, train_ppo

        settings = PPOSettings(kind=args.kind, tasks=args.tasks, split="train", max_steps=args.episode_steps)
        summary = train_ppo(settings, args.out, timesteps=args.timesteps, max_minutes=args.max_minutes, envs=args.envs,
                            seed=args.seed, learning_rate=3e-4 if args.lr is None else args.lr)  # fmt: skip
    else:
        from agents.train import train

        summary = train(args.kind, args.data, args.out, preset=args.preset, init=args.init, max_steps=args.max_steps,
                        max_minutes=args.max_minutes, epochs=args.epochs, learning_rate=1e-3 if args.lr is None else args.lr,
                        batch_size=args.batch_size, seed=args.seed, eval_steps=args.eval_steps)  # fmt: skip
    print(json.dumps(summary, indent=1))
    return 0


def eval_command(args: argparse.Namespace) -> int:
    """Evaluate an agent under the protocol into a run folder."""
    from benchmarks.evaluate import (
        agent_parameters,
        agent_settings,
        check_agent_arguments,
        check_agent_options,
        make_agent,
        markdown_table,
        plan_episodes,
        run_evaluation,
    )

    try:
        check_agent_options(args.agent, args.executor, **{option: getattr(args, option) for option in AGENT_OPTIONS})
        check_agent_arguments(args.agent, args.checkpoint, args.planner, args.executor)
    except ValueError as error:  # CheckpointError is a ValueError too
        print(f"sgd eval: {error}", file=sys.stderr)
        return 2
    specs = plan_episodes(args.tasks, args.split, args.variations)
    cache = args.llm_cache or str(Path(args.out) / "llm_cache")
    factory = functools.partial(make_agent, args.agent, args.checkpoint, args.planner, args.executor, args.seed, args.replan,
                                args.num_beams, cache, args.avoid_cycles, args.safe_focus, args.copy_actions,
                                args.constrained, args.ground_subgoals, args.scripted_end, args.end_stalled,
                                args.named_focus)  # fmt: skip
    extra = {"parameters": agent_parameters(args.agent, args.checkpoint, args.planner, args.executor), "split": args.split,
             "seed": args.seed, "backend": args.backend, "avoid_cycles": args.avoid_cycles,
             "safe_focus": args.safe_focus, "agent_settings": agent_settings(factory)}  # fmt: skip
    name = args.name or args.agent
    summary = run_evaluation(factory, specs, args.out, name, args.max_steps, args.patience, args.workers, extra,
                             backend=args.backend)  # fmt: skip
    print(markdown_table({name: summary}))
    print(f"run folder: {args.out}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Compare run folders."""
    from benchmarks.report import compare_runs

    print(compare_runs(args.runs, args.out))
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Whether a re-run repeats a run's episodes; exit status 1 on any difference."""
    from benchmarks.report import check_replay, replay_check_text

    result = check_replay(args.reference, args.replay, args.out)
    print(replay_check_text(result))
    return 0 if not result["differences"] else 1


def gap_command(args: argparse.Namespace) -> int:
    """How sure the score gap between two runs is."""
    from benchmarks.gap import gap_text, gaps_text, score_gap, score_gaps

    if len(args.runs) % 2:
        odd = f"got an odd number ({len(args.runs)}): {args.runs}"
        print(f"sgd gap: expected BASELINE CANDIDATE pairs of run folders, {odd}", file=sys.stderr)
        return 2
    pairs = list(zip(args.runs[::2], args.runs[1::2], strict=True))
    options = (args.samples, args.seed, args.confidence, args.out)
    if len(pairs) == 1:
        print(gap_text(score_gap(*pairs[0], *options)))
    else:
        try:
            print(gaps_text(score_gaps(pairs, *options)))
        except ValueError as error:
            print(f"sgd gap: {error}", file=sys.stderr)
            return 2
    return 0


def quickstart_command(args: argparse.Namespace) -> int:
    """The main job (``quickstart``) or the full recipe (``reproduce``): every stage, ending in a score table."""
    from benchmarks.quickstart import RecipeConfig, run_recipe

    try:
        config = RecipeConfig.load(args.config, out=args.out, workers=args.workers)
    except (OSError, ValueError) as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 2
    run_recipe(config)
    return 0


def bench(args: argparse.Namespace) -> int:
    """The benchmarks: env throughput, evaluation throughput and model latency, into RESULTS.md."""
    from benchmarks import env_throughput, eval_throughput, model_latency

    common = ["--results-md", args.results_md]
    status = 0
    if args.only in ("env", "all"):
        status |= env_throughput.main([*common, "--out", args.out] + (["--no-progress"] if args.no_progress else []))
    if args.only in ("eval", "all"):
        status |= eval_throughput.main([*common, "--out", args.out] + (["--ray"] if args.ray else []))
    if args.only in ("model", "all"):
        if (Path(args.checkpoints) / "planner").is_dir():
            status |= model_latency.main([*common, "--data", args.data, "--checkpoints", args.checkpoints])
        else:
            print(f"sgd bench: no checkpoints in {args.checkpoints} (run sgd quickstart first): model latency skipped")
    return status


def build_parser() -> argparse.ArgumentParser:
    """The ``sgd`` parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="sgd", description="Sub-goal distillation on ScienceWorld: envs, agents, benchmarks.")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_tasks(p: argparse.ArgumentParser) -> None:
        help_text = f"comma-separated task names or ids, or 'all' (default: {DEMO_TASKS})"
        p.add_argument("--tasks", type=_tasks, default=resolve_tasks(DEMO_TASKS), help=help_text)

    p = commands.add_parser("demo", help="oracle + random agents on a few tasks; prints a score table")
    add_tasks(p)
    p.add_argument("--split", choices=SPLITS, default="test", help="variation split (default: test)")
    p.add_argument("--variations", type=_positive, default=2, help="first N variations of the split per task (default: 2)")
    p.add_argument("--max-steps", type=_positive, default=100, help="primitive step budget per episode (default: 100)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes, one JVM each (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random agent (default: 0)")
    p.set_defaults(func=demo)

    p = commands.add_parser("collect", help="collect ScienceWorld gold trajectories into DATA/trajectories.jsonl")
    add_tasks(p)
    p.add_argument("--split", choices=SPLITS, default="train", help="variation split (default: train)")
    p.add_argument("--variations", type=_variations, default=5, help="first N variations per task, or 'all' (default: 5)")
    p.add_argument("--workers", type=_positive, default=2, help="worker processes, one JVM each (default: 2)")
    p.add_argument("--simplifications", default="easy", help="ScienceWorld simplifications (default: easy)")
    p.add_argument("--out", default="data", help="data folder (default: data)")
    p.set_defaults(func=collect_command)

    p = commands.add_parser("annotate", help="segment trajectories into sub-goals -> DATA/annotations.<method>.jsonl")
    p.add_argument("--method", choices=("rules", "llm", "import"), default="rules", help="annotator (default: rules)")
    p.add_argument("--data", default="data", help="data folder holding trajectories.jsonl (default: data)")
    p.add_argument("--from", dest="source", help="with --method import: the JSONL file of annotations to import")
    p.add_argument("--stats", action="store_true", help="print statistics of existing annotations instead")
    p.add_argument("--max-steps", type=_positive, default=10, help="longest segment for repeated actions (default: 10)")
    p.add_argument("--base-url", help="llm: OpenAI-compatible base URL (default: $SGD_LLM_BASE_URL)")
    p.add_argument("--model", help="llm: model name (default: $SGD_LLM_MODEL)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="llm: env var holding the API key (default: OPENAI_API_KEY)")
    p.set_defaults(func=annotate_command)

    p = commands.add_parser("build-data", help="planner/executor/flat examples -> DATA/examples/{kind}.{train,dev}.jsonl")
    p.add_argument("--data", default="data", help="data folder (default: data)")
    p.add_argument(
        "--annotations", choices=("rules", "llm", "import"), default="rules", help="which annotations (default: rules)"
    )
    p.add_argument("--max-tokens", type=_positive, default=512, help="source token budget (default: 512)")
    p.add_argument("--max-history", type=_positive, default=10, help="most (action, observation) pairs kept (default: 10)")
    p.set_defaults(func=build_data_command)

    p = commands.add_parser("train", help="train the planner, executor or flat model, or a PPO baseline")
    p.add_argument("kind", choices=("planner", "executor", "flat", "ppo", "ppo-options"), help="which model")
    p.add_argument("--data", default="data", help="data folder holding examples/ (default: data)")
    p.add_argument("--out", required=True, help="checkpoint folder (resumed if it exists)")
    p.add_argument("--preset", choices=("tiny", "small"), default="tiny", help="model size trained from scratch (default: tiny)")
    p.add_argument("--init", help="pretrained T5/FLAN-T5 name or path instead of a preset (downloads only if a hub name)")
    p.add_argument("--max-steps", type=_positive, help="optimizer step budget")
    p.add_argument("--max-minutes", type=float, help="wall-clock budget in minutes")
    p.add_argument("--epochs", type=float, default=10, help="epochs when no step budget is given (default: 10)")
    p.add_argument("--lr", type=float, help="learning rate (default: 1e-3 seq2seq, 3e-4 ppo)")
    p.add_argument("--batch-size", type=_positive, default=16, help="batch size (default: 16)")
    p.add_argument("--eval-steps", type=_positive, default=200, help="evaluate and checkpoint every N steps (default: 200)")
    p.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    ppo = p.add_argument_group("ppo, ppo-options (trained in the env on train variations; --data is not used)")
    ppo.add_argument("--tasks", type=_tasks, default=resolve_tasks("all"), help="training tasks, or 'all' (default: all)")
    ppo.add_argument("--timesteps", type=_positive, default=20_000, help="env steps (decisions) to train (default: 20000)")
    ppo.add_argument("--envs", type=_positive, default=2, help="parallel envs, one JVM each (default: 2)")
    ppo.add_argument("--episode-steps", type=_positive, default=100, help="primitive steps per episode (default: 100)")
    p.set_defaults(func=train_command)

    p = commands.add_parser("eval", help="evaluate an agent under the paper's protocol into a run folder")
    p.add_argument("--agent", choices=AGENTS, required=True, help="which agent")
    p.add_argument("--checkpoint", help="flat, ppo, ppo-options: the model checkpoint folder")
    p.add_argument("--planner", help="hierarchical: the planner checkpoint")
    p.add_argument("--executor", help="hierarchical: the executor checkpoint, or 'scripted' (the rule-based executor)")
    p.add_argument(
        "--replan", choices=("boundary", "every-step"), default="boundary", help="hierarchical re-planning (default: boundary)"
    )
    p.add_argument("--num-beams", type=_positive, default=3, help="beam width of model agents (default: 3)")
    for option, text in SWITCH_HELP.items():
        p.add_argument(f"--{option.replace('_', '-')}", action="store_true", help=f"{', '.join(AGENT_OPTIONS[option])}: {text}")
    p.add_argument("--llm-cache", help="llm: folder of cached answers (default: RUN/llm_cache); endpoint from $SGD_LLM_*")
    add_tasks(p)
    p.set_defaults(tasks=resolve_tasks("all"))
    p.add_argument("--split", choices=SPLITS, default="test", help="variation split (default: test)")
    p.add_argument("--variations", type=_variations, default=10, help="first N variations per task, or 'all' (default: 10)")
    p.add_argument("--max-steps", type=_positive, default=100, help="primitive step budget (default: 100)")
    p.add_argument("--patience", type=_positive, default=50, help="stop after N steps without a score change (default: 50)")
    p.add_argument("--workers", type=_positive, default=1, help="worker processes or Ray actors, one JVM each (default: 1)")
    p.add_argument(
        "--backend", choices=("processes", "ray"), default="processes",
        help="processes on this machine, or Ray actors (RAY_ADDRESS or a local instance; needs the ray extra)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="agent seed (default: 0)")
    p.add_argument("--name", help="the run's name in tables and summary.json (default: the agent's), e.g. for ablations")
    p.add_argument("--out", required=True, help="run folder (resumed if it exists)")
    p.set_defaults(func=eval_command)

    p = commands.add_parser("report", help="comparison table and plot of several run folders")
    p.add_argument("runs", nargs="+", help="run folders of sgd eval")
    p.add_argument("--out", help="folder for comparison.md and comparison.png")
    p.set_defaults(func=report_command)

    p = commands.add_parser("check", help="whether a re-run (sgd eval) repeats a run's episodes exactly; exit 1 if not")
    p.add_argument("reference", help="run folder of sgd eval, e.g. benchmarks/results/flat")
    p.add_argument("replay", help="run folder of the re-run (any subset of the reference's episodes)")
    p.add_argument("--out", help="folder for replay_check.json")
    p.set_defaults(func=check_command)

    p = commands.add_parser(
        "gap", help="the score gap between two runs on their shared episodes, with a bootstrap interval and a sign test"
    )
    p.add_argument(
        "runs",
        nargs="+",
        metavar="BASELINE CANDIDATE",
        help="run folders of sgd eval, e.g. benchmarks/results/flat benchmarks/results/hierarchical; several pairs "
        "(one per training seed) give the gap across seeds too",
    )
    p.add_argument("--samples", type=_positive, default=10000, help="bootstrap resamples (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")
    p.add_argument("--confidence", type=_fraction, default=0.95, help="interval level, between 0 and 1 (default: 0.95)")
    p.add_argument("--out", help="folder for gap.json")
    p.set_defaults(func=gap_command)

    p = commands.add_parser("quickstart", help="the main job: collect, annotate, train tiny models, evaluate, print the table")
    p.add_argument("--config", help="YAML file overriding the defaults of benchmarks.quickstart.QuickstartConfig")
    p.add_argument("--out", help="output folder (default: runs/quickstart)")
    p.add_argument("--workers", type=_positive, help="worker processes (default: 2)")
    p.set_defaults(func=quickstart_command)

    p = commands.add_parser("reproduce", help="the full recipe from a config: configs/cpu-tiny.yaml or configs/paper.yaml")
    p.add_argument("--config", required=True, help="YAML recipe (keys of benchmarks.quickstart.RecipeConfig)")
    p.add_argument("--out", help="output folder (default: the config's out)")
    p.add_argument("--workers", type=_positive, help="worker processes (default: the config's workers)")
    p.set_defaults(func=quickstart_command)

    p = commands.add_parser("bench", help="benchmarks: env throughput, evaluation throughput, model latency -> RESULTS.md")
    p.add_argument("--only", choices=("env", "eval", "model", "all"), default="all", help="which benchmark (default: all)")
    p.add_argument("--ray", action="store_true", help="eval: also time the Ray backend (needs the ray extra)")
    p.add_argument("--checkpoints", default="runs/quickstart/checkpoints", help="model: planner/, executor/, flat/ folder")
    p.add_argument("--data", default="runs/quickstart/data", help="model: data folder holding examples/")
    p.add_argument("--out", default="runs/bench", help="folder for the JSON results (default: runs/bench)")
    p.add_argument(
        "--results-md", default="benchmarks/RESULTS.md", help="markdown file to update (default: benchmarks/RESULTS.md)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sgd`` console script."""
    from sgd_gym.io import DataFileError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataFileError as error:
        print(f"sgd {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
