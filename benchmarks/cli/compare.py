"""``sgd report``, ``sgd check``, ``sgd gap``: comparing run folders."""

from __future__ import annotations

import argparse
import sys

from benchmarks.cli.common import fraction, positive


def report_command(args: argparse.Namespace) -> int:
    """Compare run folders."""
    from benchmarks.report import compare_runs

    print(compare_runs(args.runs, args.out))
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Whether a re-run repeats a run's episodes; exit status 1 on any difference."""
    from benchmarks.replay import check_replay, replay_check_text

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


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``report``, ``check`` and ``gap``."""
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
    p.add_argument("--samples", type=positive, default=10000, help="bootstrap resamples (default: 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")
    p.add_argument("--confidence", type=fraction, default=0.95, help="interval level, between 0 and 1 (default: 0.95)")
    p.add_argument("--out", help="folder for gap.json")
    p.set_defaults(func=gap_command)
