"""The evaluation protocol: one episode loop for every agent, episode lists, worker processes, tables.

The paper's protocol: split ``test``, simplifications ``easy``, 100 primitive steps, the first 10
test variations of each task, stop early after 50 steps without a score change. Episode score is
the final score clipped to 0..100; task score is the mean over its variations; overall is the mean
over tasks. Every episode has its own seed (derived from the task and variation), and agents with a
``seed(int)`` method are re-seeded per episode, so results do not depend on the number of workers.
"""

from __future__ import annotations

import functools
import inspect
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import sgd_gym  # noqa: F401  (registers the ids)
from agents.executor import EXECUTOR_OPTIONS
from sgd_gym.parallel import run_in_workers
from sgd_gym.tasks import check_split, get_task

AgentFactory = Callable[[], Any]


@dataclass(frozen=True)
class EpisodeSpec:
    """One evaluation episode: a task variation (index inside its split) and its seed."""

    task: str
    split: str
    variation: int
    seed: int


def plan_episodes(tasks: Iterable[str], split: str = "test", variations: int | None = 10) -> list[EpisodeSpec]:
    """The first ``variations`` variations of ``split`` for each task (all when None or fewer exist)."""
    check_split(split)
    if variations is not None and variations < 1:
        raise ValueError(f"variations must be >= 1 or None (all), got {variations!r}")
    specs = []
    for task in tasks:
        info = get_task(task)
        count = info.split_size(split) if variations is None else min(variations, info.split_size(split))
        for variation in range(count):
            seed = zlib.crc32(f"{info.name}/{split}/{variation}".encode())
            specs.append(EpisodeSpec(info.name, split, variation, seed))
    return specs


def make_eval_env(agent: Any, split: str, max_steps: int, simplifications: str = "easy") -> gym.Env:
    """A flat env that gives ``agent`` what it declares it needs.

    ``info["valid_actions"]`` is the list the agent's ``listing`` names (``"accepted"``: the actions the game's
    parser accepts; ``"raw"``, for agents that declare none: ScienceWorld's own list, as ``ScienceWorld-v0``).
    """
    return gym.make(
        "sgd_gym/ScienceWorld-v1",
        split=split,
        simplifications=simplifications,
        valid_actions=bool(getattr(agent, "needs_valid_actions", False)),
        listing=getattr(agent, "listing", "raw"),
        max_episode_steps=max_steps,
    )


def run_episode(agent: Any, env: gym.Env, spec: EpisodeSpec, max_steps: int = 100, patience: int | None = 50) -> dict:
    """Play one episode; returns its record (score, steps, wall time, actions, error if the agent raised)."""
    start = time.perf_counter()
    options = {"task": spec.task, "variation": spec.variation}
    if getattr(agent, "needs_gold_path", False):
        options["gold_path"] = True
    obs, info = env.reset(seed=spec.seed, options=options)
    if hasattr(agent, "seed"):
        agent.seed(spec.seed)
    agent.reset(obs["task"])
    usage = getattr(agent, "usage", None)
    before = usage() if callable(usage) else {}
    record: dict[str, Any] = {**asdict(spec), "variation_id": info["variation_id"], "actions": [], "error": None}
    score, last_change, failed = info["score"], 0, False
    for step in range(1, max_steps + 1):
        try:
            action = agent.act(obs, info)
        except Exception as error:  # noqa: BLE001 - an agent's failure is this episode's result, not the run's
            record["error"] = f"{type(error).__name__}: {error}"
            break
        obs, _, terminated, truncated, info = env.step(action)
        record["actions"].append(action)
        failed = info["failed"]
        if info["score"] != score:
            score, last_change = info["score"], step
        if terminated or truncated or (patience is not None and step - last_change >= patience):
            break
    record.update(
        score=float(min(max(score, 0), 100)),
        steps=len(record["actions"]),
        failed=bool(failed),
        wall_time=time.perf_counter() - start,
    )
    after = usage() if callable(usage) else {}
    record.update({name: after[name] - before.get(name, 0) for name in ("llm_calls", "llm_tokens") if name in after})
    return record


# ------------------------------------------------------------------ worker processes
@dataclass
class _Worker:
    """What one worker holds: an agent and an env (one JVM)."""

    agent: Any
    env: gym.Env
    max_steps: int
    patience: int | None

    def close(self) -> None:
        self.env.close()


def _worker_setup(agent_factory: AgentFactory, split: str, max_steps: int, patience: int | None) -> _Worker:
    agent = agent_factory()
    return _Worker(agent, make_eval_env(agent, split, max_steps), max_steps, patience)


def _worker_run(worker: _Worker, spec: EpisodeSpec) -> dict:
    return run_episode(worker.agent, worker.env, spec, worker.max_steps, worker.patience)


BACKENDS = ("processes", "ray")


def iter_episodes(
    agent_factory: AgentFactory,
    specs: list[EpisodeSpec],
    max_steps: int = 100,
    patience: int | None = 50,
    workers: int = 1,
    desc: str = "eval",
    backend: str = "processes",
) -> Iterator[dict]:
    """Yield the record of every episode of ``specs`` as it finishes (any order).

    ``workers`` processes (``backend="processes"``) or Ray actors (``backend="ray"``) each hold one
    env (JVM) and one agent; episodes are seeded one by one, so the records do not depend on either.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {list(BACKENDS)}")
    if not specs:
        return
    splits = {spec.split for spec in specs}
    if len(splits) != 1:
        raise ValueError(f"all episodes of one evaluation must share a split, got {sorted(splits)}")
    setup_args = (agent_factory, splits.pop(), max_steps, patience)
    if backend == "ray":
        from benchmarks.ray_backend import run_on_ray

        yield from run_on_ray(_worker_setup, setup_args, _worker_run, specs, actors=workers, desc=desc)
    else:
        yield from run_in_workers(_worker_setup, setup_args, _worker_run, specs, workers=workers, desc=desc, ordered=False)


def _spec_key(record: dict | EpisodeSpec) -> tuple[str, str, int]:
    if isinstance(record, EpisodeSpec):
        return record.task, record.split, record.variation
    return record["task"], record["split"], record["variation"]


def evaluate(
    agent_factory: AgentFactory,
    specs: list[EpisodeSpec],
    max_steps: int = 100,
    patience: int | None = 50,
    workers: int = 1,
    desc: str = "eval",
    backend: str = "processes",
) -> list[dict]:
    """Run every episode of ``specs``; records come back in the order of ``specs`` (see ``iter_episodes``)."""
    order = {_spec_key(spec): i for i, spec in enumerate(specs)}
    records = iter_episodes(agent_factory, specs, max_steps, patience, workers, desc, backend)
    return sorted(records, key=lambda record: order[_spec_key(record)])


# ------------------------------------------------------------------ summaries
LOOP_WINDOW = 10


def ends_in_loop(actions: list[str], window: int = LOOP_WINDOW) -> bool:
    """Whether the last ``window`` actions cycle through at most two commands (e.g. go to A, go to B, ...)."""
    return len(actions) >= window and len(set(actions[-window:])) <= 2


def summarize(records: list[dict]) -> dict:
    """Overall, per-task and per-length-group scores of a list of episode records."""
    per_task: dict[str, list[float]] = {}
    for record in records:
        per_task.setdefault(record["task"], []).append(record["score"])
    task_scores = {task: sum(scores) / len(scores) for task, scores in per_task.items()}
    groups: dict[str, list[float]] = {}
    for task, score in task_scores.items():
        groups.setdefault(get_task(task).length_group, []).append(score)
    return {
        "overall": sum(task_scores.values()) / len(task_scores) if task_scores else 0.0,
        "per_task": task_scores,
        "groups": {group: sum(scores) / len(scores) for group, scores in sorted(groups.items())},
        "tasks_solved": sum(score == 100 for score in task_scores.values()),
        "episodes": len(records),
        "mean_steps": sum(r["steps"] for r in records) / len(records) if records else 0.0,
        "wall_time": sum(r["wall_time"] for r in records),
        "errors": sum(r["error"] is not None for r in records),
        "looping_episodes": sum(r["score"] < 100 and ends_in_loop(r["actions"]) for r in records),
        "failed_episodes": sum(bool(r.get("failed")) for r in records),
        "llm_calls": sum(r.get("llm_calls", 0) for r in records),
        "llm_tokens": sum(r.get("llm_tokens", 0) for r in records),
    }


def markdown_table(summaries: dict[str, dict]) -> str:
    """A per-task score table with one column per agent, then overall and group rows."""
    agents = list(summaries)
    tasks = list(dict.fromkeys(task for summary in summaries.values() for task in summary["per_task"]))
    lines = ["| task | " + " | ".join(agents) + " |", "|---|" + "---:|" * len(agents)]

    def row(name: str, values: list[float | None]) -> str:
        return f"| {name} | " + " | ".join("-" if v is None else f"{v:.1f}" for v in values) + " |"

    for task in tasks:
        lines.append(row(task, [summaries[a]["per_task"].get(task) for a in agents]))
    for group in ("short", "medium", "long"):
        if any(group in summaries[a]["groups"] for a in agents):
            lines.append(row(f"*{group}*", [summaries[a]["groups"].get(group) for a in agents]))
    lines.append(row("**overall**", [summaries[a]["overall"] for a in agents]))
    extra_rows = (
        ("tasks solved", "tasks_solved", "{:d}"),
        ("episodes", "episodes", "{:d}"),
        ("mean steps", "mean_steps", "{:.1f}"),
        (f"unsolved, ending in a loop (last {LOOP_WINDOW} actions: <= 2 commands)", "looping_episodes", "{:d}"),
        ("failed (the game ended the episode, e.g. a wrong focus)", "failed_episodes", "{:d}"),
        ("wall time (s, summed)", "wall_time", "{:.0f}"),
        ("parameters", "parameters", "{:,}"),
        ("LLM calls", "llm_calls", "{:d}"),
        ("LLM tokens", "llm_tokens", "{:d}"),
    )
    for label, key, form in extra_rows:
        if any(key in summaries[a] for a in agents):
            cells = ["-" if summaries[a].get(key) is None else form.format(summaries[a][key]) for a in agents]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------ agents by name, run folders
AGENTS = ("random", "oracle", "flat", "hierarchical", "ppo", "ppo-options", "llm")


def make_agent(name: str, checkpoint: str | None = None, planner: str | None = None, executor: str | None = None,
               seed: int = 0, replan: str = "boundary", num_beams: int = 3, cache_dir: str | None = None,
               avoid_cycles: bool = False, safe_focus: bool = False, copy_actions: bool = False,
               constrained: bool = False, ground_subgoals: bool = False, scripted_end: bool = False,
               end_stalled: bool = False, named_focus: bool = False) -> Any:  # fmt: skip
    """Build an agent by its ``sgd eval --agent`` name (top-level, so worker processes can call it).

    ``checkpoint`` is the model folder of ``flat``, ``ppo`` and ``ppo-options``; ``cache_dir`` the
    answer cache of ``llm``; ``avoid_cycles`` and ``safe_focus`` apply to the seq2seq agents' action choice
    (``agents.grounding.choose_action``); ``constrained`` makes them ground a candidate that is not valid
    by their own constrained decoding into the valid actions instead of fuzzy matching; ``copy_actions``
    and ``scripted_end`` (ablations) and ``end_stalled`` apply to the hierarchical agent's learned executor (see
    ``agents.executor.LearnedExecutor``), ``ground_subgoals`` to its planner (``agents.hierarchical.HierarchicalAgent``),
    ``named_focus`` to both seq2seq agents (``agents.focus``).
    """
    if name == "random":
        from baselines.random_agent import RandomAgent

        return RandomAgent(seed=seed)
    if name == "oracle":
        from baselines.oracle import OracleAgent

        return OracleAgent()
    if name == "flat":
        from baselines.flat_bc import FlatBCAgent

        return FlatBCAgent.from_pretrained(
            checkpoint, num_beams=num_beams, avoid_cycles=avoid_cycles, safe_focus=safe_focus, constrained=constrained,
            named_focus=named_focus,
        )  # fmt: skip
    if name == "hierarchical":
        from agents.hierarchical import HierarchicalAgent

        return HierarchicalAgent.from_pretrained(
            planner, executor, replan=replan, num_beams=num_beams, avoid_cycles=avoid_cycles, safe_focus=safe_focus,
            copy_actions=copy_actions, constrained=constrained, ground_subgoals=ground_subgoals, scripted_end=scripted_end,
            end_stalled=end_stalled, named_focus=named_focus,
        )  # fmt: skip
    if name in ("ppo", "ppo-options"):
        from baselines.ppo import PPOAgent

        agent = PPOAgent.from_pretrained(checkpoint)
        if agent.settings.kind != name:
            raise ValueError(f"{checkpoint} holds a {agent.settings.kind!r} model, not {name!r}")
        return agent
    if name == "llm":
        from baselines.llm_agent import LLMAgent

        return LLMAgent.from_environment(cache_dir=cache_dir)
    raise ValueError(f"unknown agent {name!r}: expected one of {list(AGENTS)}")


def check_agent_arguments(name: str, checkpoint: str | None, planner: str | None, executor: str | None) -> None:
    """Fail before any episode when an agent's checkpoints (or its LLM endpoint) are missing or unusable."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}: expected one of {list(AGENTS)}")
    if name == "llm":
        from agents.data.annotate_llm import resolve_config

        resolve_config()  # raises naming the missing environment variable
        return
    model_flags = {"flat": ("--checkpoint",), "hierarchical": ("--planner", "--executor"),
                   "ppo": ("--checkpoint",), "ppo-options": ("--checkpoint",)}.get(name, ())  # fmt: skip
    paths = {"--checkpoint": checkpoint, "--planner": planner, "--executor": executor}
    for flag in model_flags:
        if not paths[flag]:
            raise ValueError(f"--agent {name} needs {flag} CKPT")
        if flag == "--executor" and paths[flag] == "scripted":
            continue
        if name.startswith("ppo"):
            from baselines.ppo import load_ppo

            _, settings = load_ppo(paths[flag])  # raises CheckpointMissing naming what is wrong
            if settings.kind != name:
                raise ValueError(f"{paths[flag]} holds a {settings.kind!r} model, not {name!r}")
        else:
            from agents.models import Seq2SeqPolicy

            Seq2SeqPolicy.load(paths[flag])  # raises CheckpointError naming what is wrong


# ``make_agent`` switches -> the agents they change; ``--executor scripted`` rejects ``EXECUTOR_OPTIONS``.
AGENT_OPTIONS: dict[str, tuple[str, ...]] = {
    "avoid_cycles": ("flat", "hierarchical"),
    "safe_focus": ("flat", "hierarchical"),
    "constrained": ("flat", "hierarchical"),
    "copy_actions": ("hierarchical",),
    "scripted_end": ("hierarchical",),
    "ground_subgoals": ("hierarchical",),
    "end_stalled": ("hierarchical",),
    "named_focus": ("flat", "hierarchical"),
}


def check_agent_options(name: str, executor: str | None = None, **options: bool) -> None:
    """Fail when a switch is on for an agent it does not change (it would be ignored without a word).

    ``options`` are ``AGENT_OPTIONS`` keys; the message names the flag and the agents it applies to.
    """
    for option, value in options.items():
        if option not in AGENT_OPTIONS:
            raise ValueError(f"unknown agent option {option!r}: expected one of {list(AGENT_OPTIONS)}")
        if not value:
            continue
        flag, agents = "--" + option.replace("_", "-"), AGENT_OPTIONS[option]
        if name not in agents:
            raise ValueError(f"{flag} applies to --agent {' or '.join(agents)}, not to --agent {name}")
        if executor == "scripted" and option in EXECUTOR_OPTIONS:
            raise ValueError(f"{flag} applies to a learned executor, not to --executor scripted")


def agent_settings(factory: Callable[[], Any]) -> dict[str, Any]:
    """Every ``make_agent`` argument of an agent factory, defaults included (``{}`` for other factories).

    Written to a run's ``summary.json``, so that a row says which checkpoints and inference settings made it.
    """
    if not isinstance(factory, functools.partial) or factory.func is not make_agent:
        return {}
    bound = inspect.signature(make_agent).bind(*factory.args, **factory.keywords)
    bound.apply_defaults()
    return dict(bound.arguments)


def agent_parameters(name: str, checkpoint: str | None, planner: str | None, executor: str | None) -> int:
    """Trainable parameters of the agent's models (0 for random, oracle and the remote LLM)."""
    if name in ("ppo", "ppo-options") and checkpoint:
        from baselines.ppo import count_parameters, load_ppo

        return count_parameters(load_ppo(checkpoint)[0])
    paths = [p for p in {"flat": [checkpoint], "hierarchical": [planner, executor]}.get(name, []) if p and p != "scripted"]
    if not paths:
        return 0
    from agents.models import Seq2SeqPolicy, count_parameters

    return sum(count_parameters(Seq2SeqPolicy.load(p).model) for p in paths)


def run_evaluation(
    agent_factory: AgentFactory,
    specs: list[EpisodeSpec],
    out: str | Path,
    name: str,
    max_steps: int = 100,
    patience: int | None = 50,
    workers: int = 1,
    extra_summary: dict[str, Any] | None = None,
    backend: str = "processes",
    save_every: float = 30.0,
) -> dict:
    """Evaluate into a run folder: ``episodes.jsonl``, ``scores.csv``, ``summary.json``, ``table.md``, a PNG.

    Finished episodes are written to ``episodes.jsonl`` at least every ``save_every`` seconds (and
    at the end), so an interrupted run resumes: episodes already there are not played again.
    """
    from benchmarks.report import write_run_files
    from sgd_gym.io import read_jsonl, write_jsonl

    out = Path(out)
    episodes_path = out / "episodes.jsonl"
    done = {_spec_key(r): r for r in read_jsonl(episodes_path)} if episodes_path.exists() else {}
    order = {_spec_key(spec): i for i, spec in enumerate(specs)}
    todo = [spec for spec in specs if _spec_key(spec) not in done]

    def save() -> None:
        write_jsonl(episodes_path, sorted(done.values(), key=lambda r: order.get(_spec_key(r), len(order))))

    last_save = time.monotonic()
    try:
        for record in iter_episodes(agent_factory, todo, max_steps, patience, workers, name, backend):
            done[_spec_key(record)] = record
            if time.monotonic() - last_save >= save_every:
                save()
                last_save = time.monotonic()
    finally:
        if todo:
            save()
    records = sorted((r for key, r in done.items() if key in order), key=lambda r: order[_spec_key(r)])
    summary = {"agent": name, **summarize(records), "max_steps": max_steps, "patience": patience, **(extra_summary or {})}
    write_run_files(out, name, records, summary)
    return summary
