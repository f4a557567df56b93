"""The evaluation protocol: one episode loop for every agent, episode lists, worker processes, run folders.

The paper's protocol: split ``test``, simplifications ``easy``, 100 primitive steps, the first 10
test variations of each task, stop early after 50 steps without a score change. Episode score is
the final score clipped to 0..100; task score is the mean over its variations; overall is the mean
over tasks. Every episode has its own seed (derived from the task and variation), and every agent is re-seeded
(``Agent.seed``) per episode, so results do not depend on the number of workers. Agents are ``agents.agent.Agent``
subclasses: the loop reads what they declare (``listing``, ``needs_valid_actions``, ``needs_gold_path``) as it is.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import sgd_gym  # noqa: F401  (registers the ids)
from agents.agent import Agent
from sgd_gym.parallel import run_in_workers
from sgd_gym.tasks import check_split, get_task

AgentFactory = Callable[[], Agent]
# The listing of a run whose recorded agent settings name none: before agents declared one (agents.agent.Agent), every
# agent but PPO (whose checkpoint records its own) was given ScienceWorld's raw list.
UNRECORDED_LISTING = "raw"


@dataclass(frozen=True)
class EpisodeSpec:
    """One evaluation episode: a task variation (index inside its split) and its seed."""

    task: str
    split: str
    variation: int
    seed: int


def episode_spec(task: str, split: str, variation: int) -> EpisodeSpec:
    """One episode of the protocol: a task variation and the seed every evaluation gives it.

    Args:
        task: a task name or id (``sgd_gym.tasks.get_task``).
        split: ``train``, ``dev`` or ``test``.
        variation: the index inside ``split``.

    Returns:
        The episode, its seed derived from the task's name, the split and the variation.

    Raises:
        ValueError: an unknown task or split, or a variation out of the split's range (naming the range).
    """
    info = get_task(task)
    info.variation_id(check_split(split), variation)  # raises naming the range
    return EpisodeSpec(info.name, split, variation, zlib.crc32(f"{info.name}/{split}/{variation}".encode()))


def plan_episodes(tasks: Iterable[str], split: str = "test", variations: int | None = 10) -> list[EpisodeSpec]:
    """The first ``variations`` variations of ``split`` for each task (all when None or fewer exist)."""
    check_split(split)
    if variations is not None and variations < 1:
        raise ValueError(f"variations must be >= 1 or None (all), got {variations!r}")
    specs = []
    for task in tasks:
        size = get_task(task).split_size(split)
        count = size if variations is None else min(variations, size)
        specs += [episode_spec(task, split, variation) for variation in range(count)]
    return specs


def check_agent(agent: object) -> Agent:
    """``agent`` itself, when it is an ``agents.agent.Agent``; ``TypeError`` saying what an agent must be otherwise."""
    if not isinstance(agent, Agent):
        raise TypeError(
            f"an evaluated agent must subclass agents.agent.Agent (it declares listing, needs_valid_actions and "
            f"needs_gold_path), got {type(agent).__name__}"
        )
    return agent


def make_eval_env(agent: Agent, split: str, max_steps: int, simplifications: str = "easy") -> gym.Env:
    """A flat env that gives ``agent`` what it declares it needs.

    ``info["valid_actions"]`` (when the agent ``needs_valid_actions``) is the list the agent's ``listing`` names:
    ``"accepted"``, the actions the game's parser accepts, or ``"raw"``, ScienceWorld's own list (as
    ``ScienceWorld-v0``).
    """
    agent = check_agent(agent)
    return gym.make(
        "sgd_gym/ScienceWorld-v1",
        split=split,
        simplifications=simplifications,
        valid_actions=agent.needs_valid_actions,
        listing=agent.listing,
        max_episode_steps=max_steps,
    )


def run_episode(agent: Agent, env: gym.Env, spec: EpisodeSpec, max_steps: int = 100, patience: int | None = 50) -> dict:
    """Play one episode; returns its record (``sgd_gym.records.Episode``: score, steps, wall time, actions, error if
    the agent raised, and per action the score after it, whether the game understood it, and the agent's ``trace()``
    when it records one (``Agent.records_trace``); ``llm_calls``/``llm_tokens`` when its ``usage()`` counts them)."""
    start = time.perf_counter()
    agent = check_agent(agent)
    options = {"task": spec.task, "variation": spec.variation}
    if agent.needs_gold_path:
        options["gold_path"] = True
    obs, info = env.reset(seed=spec.seed, options=options)
    agent.seed(spec.seed)
    agent.reset(obs["task"])
    before = agent.usage()
    record: dict[str, Any] = {**asdict(spec), "variation_id": info["variation_id"], "actions": [], "error": None}
    trace = agent.records_trace()
    steps: dict[str, list] = {"step_scores": [], "step_valid": [], **({"step_trace": []} if trace else {})}
    score, last_change, failed = info["score"], 0, False
    for step in range(1, max_steps + 1):
        try:
            action = agent.act(obs, info)
        except Exception as error:  # noqa: BLE001 - an agent's failure is this episode's result, not the run's
            record["error"] = f"{type(error).__name__}: {error}"
            break
        if trace:
            steps["step_trace"].append(agent.trace())
        obs, _, terminated, truncated, info = env.step(action)
        record["actions"].append(action)
        steps["step_scores"].append(info["score"])
        steps["step_valid"].append(bool(info["valid"]))
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
        **steps,
    )
    after = agent.usage()
    record.update({name: after[name] - before.get(name, 0) for name in ("llm_calls", "llm_tokens") if name in after})
    return record


# ------------------------------------------------------------------ worker processes
@dataclass
class _Worker:
    """What one worker holds: an agent and an env (one JVM)."""

    agent: Agent
    env: gym.Env
    max_steps: int
    patience: int | None

    def close(self) -> None:
        self.env.close()


def _worker_setup(agent_factory: AgentFactory, split: str, max_steps: int, patience: int | None) -> _Worker:
    agent = agent_factory()
    return _Worker(agent, make_eval_env(agent, split, max_steps), max_steps, patience)


EPISODE_ATTEMPTS = 3  # an episode whose JVM dies or hangs is played again from its start, at most this often


def _worker_run(worker: _Worker, spec: EpisodeSpec) -> dict:
    return play_episode(worker.agent, worker.env, spec, worker.max_steps, worker.patience)


def play_episode(agent: Agent, env: gym.Env, spec: EpisodeSpec, max_steps: int = 100, patience: int | None = 50,
                 attempts: int = EPISODE_ATTEMPTS) -> dict:  # fmt: skip
    """``run_episode``, played again from its start when the JVM dies or hangs (``sgd_gym.backend.BackendError``).

    The env starts a new JVM at the next reset and the episode is seeded, so a replayed episode gives the record it
    would have given without the fault (wall time aside). After ``attempts`` faults the episode's record carries the
    last one as its ``error`` (score 0, no actions), and the run goes on.
    """
    from sgd_gym.backend import BackendError

    start, failure = time.perf_counter(), None
    for _ in range(attempts):
        try:
            return run_episode(agent, env, spec, max_steps, patience)
        except BackendError as error:
            failure = error
    return {**asdict(spec), "variation_id": get_task(spec.task).variation_id(spec.split, spec.variation), "actions": [],
            "error": f"BackendError after {attempts} attempts: {failure}", "score": 0.0, "steps": 0, "failed": False,
            "wall_time": time.perf_counter() - start}  # fmt: skip


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


# ------------------------------------------------------------------ run folders
def factory_identity(agent_factory: AgentFactory) -> dict[str, Any]:
    """What identifies an agent factory that is not a registry config: its name and arguments."""
    import functools

    if isinstance(agent_factory, functools.partial):
        return {"factory": getattr(agent_factory.func, "__qualname__", repr(agent_factory.func)),
                "args": repr(agent_factory.args), "keywords": repr(sorted(agent_factory.keywords.items()))}  # fmt: skip
    return {"factory": getattr(agent_factory, "__qualname__", type(agent_factory).__qualname__)}


def run_config(specs: list[EpisodeSpec], name: str, max_steps: int, patience: int | None, identity: dict[str, Any]) -> dict:
    """The configuration a run folder records (``run.json``): what defines its episodes, and the code version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        code = version("sgd-gym")
    except PackageNotFoundError:  # run from a source tree that is not installed
        code = "unknown"
    splits = sorted({spec.split for spec in specs})
    protocol = {"split": splits[0] if len(splits) == 1 else splits, "max_steps": max_steps, "patience": patience,
                "simplifications": "easy"}  # fmt: skip
    return {"name": name, "agent": identity, "protocol": protocol, "code": {"sgd_gym": code}}


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
    identity: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict:
    """Evaluate into a run folder: ``episodes.jsonl``, ``scores.csv``, ``summary.json``, ``table.md``, a PNG.

    The folder records what defines its episodes (``run.json``: the run's name, the agent's ``identity`` (settings
    and checkpoint fingerprints, ``benchmarks.registry.AgentConfig.identity``) and the protocol); a run into a folder
    of another configuration stops before any episode (``sgd_gym.folders.ConfigMismatch``), and a second process
    writing the same folder is refused (``FolderInUse``). Finished episodes are written to ``episodes.jsonl`` at
    least every ``save_every`` seconds, at the end, and when interrupted (Ctrl-C, SIGTERM), so a re-run resumes:
    episodes already there are not played again. ``overwrite`` discards the folder's episodes and starts afresh.
    """
    from benchmarks.report import summarize, write_run_files
    from sgd_gym.folders import check_config, writer
    from sgd_gym.io import read_jsonl, write_jsonl
    from sgd_gym.records import Episode

    out = Path(out)
    episodes_path = out / "episodes.jsonl"
    with writer(out):
        config = run_config(specs, name, max_steps, patience, identity or factory_identity(agent_factory))
        check_config(out, "run", config, "an evaluation run", overwrite, ignore=("code",), content=[episodes_path],
                     absent_means={"agent.settings.listing": UNRECORDED_LISTING})  # fmt: skip
        if overwrite:
            episodes_path.unlink(missing_ok=True)
        done = {_spec_key(r): r for r in read_jsonl(episodes_path, Episode)} if episodes_path.exists() else {}
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
