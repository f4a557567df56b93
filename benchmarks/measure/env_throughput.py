"""Env throughput: stock ScienceWorld against our JVM backend and env, on the same gold actions.

What is measured (docs/architecture.md, "Speed targets"; ratios are computed within one run, speed is reported, never
asserted):

* ms/step of stock ``scienceworld.ScienceWorldEnv.step`` (it builds look, inventory and valid actions every step),
  of our bare JVM step (``ScienceWorldBackend._call("step", ...)``), of ``sgd_gym/ScienceWorld-v0`` and of the
  same env with ``valid_actions=True``, replaying the gold path of variation 0 (train split, ``easy``) of each task;
* episodes/s replaying gold paths (reset + whole path) with 1 worker process against W workers;
* the JVM's resident memory before and after a long run of episodes (the heap is capped).

Every JVM plays one untimed episode first (JIT warm-up). Run ``python -m benchmarks.measure.env_throughput --help``.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import platform
import queue
import shlex
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import gymnasium as gym
import psutil
from tqdm import tqdm

import sgd_gym  # noqa: F401  (registers the env ids)
from benchmarks.measure.results import cpu_model, java_version, publish
from sgd_gym.tasks import get_task, resolve_tasks

ENV_ID = "sgd_gym/ScienceWorld-v0"
SPLIT = "train"
SIMPLIFICATIONS = "easy"
DEFAULT_TASKS: tuple[str, ...] = ("boil", "find-living-thing", "chemistry-mix", "power-component", "use-thermometer")
METHODS: tuple[str, ...] = ("stock", "raw", "ours", "ours_valid", "ours_fast", "ours_fast_valid")
METHOD_LABELS = {
    "stock": "stock `ScienceWorldEnv.step`",
    "raw": 'raw JVM step (`_call("step")`)',
    "ours": "ours, no valid actions",
    "ours_valid": "ours + valid actions",
    "ours_fast": "ours, deterministic=False, no valid actions",
    "ours_fast_valid": "ours, deterministic=False, + valid actions",
}
STEP_LIMIT = 1000  # TimeLimit of the benchmarked envs: above any gold path, so no replay is truncated
RESULTS_MD = Path(__file__).with_name("RESULTS.md")
WORKER_TIMEOUT_S = 600.0


# ---------------------------------------------------------------------------- helpers
def _make_env(valid_actions: bool = False, task: str = "boil", deterministic: bool = True) -> gym.Env:
    """Our flat env as users make it (gym.make wrappers included)."""
    return gym.make(
        ENV_ID,
        task=task,
        deterministic=deterministic,
        split=SPLIT,
        variation=0,
        simplifications=SIMPLIFICATIONS,
        valid_actions=valid_actions,
        max_episode_steps=STEP_LIMIT,
    )


def _summary(values: Sequence[float]) -> dict[str, float | int]:
    """Median, mean and count of a list of timings."""
    return {"median": statistics.median(values), "mean": statistics.fmean(values), "steps": len(values)}


def _time_steps(step: Callable[[str], Any], actions: Sequence[str]) -> list[float]:
    """Call ``step`` on each action; returns the milliseconds each call took."""
    times = []
    for action in actions:
        start = time.perf_counter()
        step(action)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def _rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB."""
    return psutil.Process(pid).memory_info().rss / 2**20


class _CpuUsage:
    """CPU time the rest of the machine used since creation: other work on the cores makes timings noisy."""

    def __init__(self) -> None:
        self._start = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float, float]:
        system = psutil.cpu_times()
        busy = sum(system) - system.idle - getattr(system, "iowait", 0.0)
        own = os.times()  # children_* include our JVMs and workers (with their JVMs) once they have been waited for
        return time.perf_counter(), busy, own.user + own.system + own.children_user + own.children_system

    def other_share(self) -> float:
        """Fraction of all cores' time used by processes outside this benchmark's process tree."""
        wall, busy, own = (end - start for end, start in zip(self._snapshot(), self._start))
        return max(busy - own, 0.0) / (wall * (psutil.cpu_count() or 1))


def _episode_plan(tasks: Sequence[str], episodes: int) -> list[tuple[str, int]]:
    """``episodes`` (task, train variation) pairs: tasks in turn, then the next variation of each."""
    plan = []
    for index in range(episodes):
        task = tasks[index % len(tasks)]
        plan.append((task, (index // len(tasks)) % get_task(task).split_size(SPLIT)))
    return plan


def _play_gold_episode(env: gym.Env, task: str, variation: int) -> int:
    """Reset ``env`` to a variation and replay its gold path; returns the number of steps."""
    _, info = env.reset(options={"task": task, "variation": variation, "gold_path": True})
    for action in info["gold_path"]:
        env.step(action)
    return len(info["gold_path"])


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python, Java and scienceworld versions, load average and date."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "java": java_version(),
        "scienceworld": version("scienceworld"),
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------- 1-5: ms per step
def _env_runner(env: gym.Env, step: Any = None) -> tuple[Any, Any, Any]:
    """(start an episode on variation 0 of a task, step, final raw score) of one of our envs; ``step`` replaces its step."""
    backend = env.unwrapped.backend
    return (
        lambda task, vid: env.reset(options={"task": task, "variation": 0}),
        step or env.step,
        lambda: round(100 * backend._call("getScore")),
    )


def _runners(stock: Any, ours: gym.Env, ours_valid: gym.Env, fast: gym.Env, fast_valid: gym.Env) -> dict[str, tuple]:
    """Each method of ``METHODS`` -> (start an episode on a variation id, step, final raw score)."""
    return {
        "stock": (
            lambda task, vid: (stock.load(task, vid, SIMPLIFICATIONS), stock.reset()),
            stock.step,
            lambda: round(100 * stock.server.getScore()),
        ),
        "raw": _env_runner(ours, lambda action: ours.unwrapped.backend._call("step", action)),
        "ours": _env_runner(ours),
        "ours_valid": _env_runner(ours_valid),
        "ours_fast": _env_runner(fast),
        "ours_fast_valid": _env_runner(fast_valid),
    }


def measure_steps(tasks: Sequence[str], repeats: int, progress: bool = True) -> dict[str, Any]:
    """Time stock, raw, ours and ours+valid steps on the gold path of variation 0 of each task.

    Args:
        tasks: task names.
        repeats: timed replays per task and method, after one untimed warm-up replay.
        progress: show a tqdm bar.

    Returns:
        ``{"step_ms": {method: {median, mean, steps, per_task}}, "gold": {task: {...}}, "jvm": {heap, deterministic}}``.
    """
    from scienceworld import ScienceWorldEnv as StockEnv

    ours, ours_valid = _make_env(), _make_env(valid_actions=True)
    fast, fast_valid = _make_env(deterministic=False), _make_env(valid_actions=True, deterministic=False)
    stock = StockEnv()
    backend = ours.unwrapped.backend
    times: dict[str, dict[str, list[float]]] = {method: {task: [] for task in tasks} for method in METHODS}
    gold_info: dict[str, dict[str, Any]] = {}
    try:
        runners = _runners(stock, ours, ours_valid, fast, fast_valid)
        bar = tqdm(total=len(tasks) * len(METHODS) * (repeats + 1), desc="step timing", unit="replay", disable=not progress)
        for task in tasks:
            variation_id = get_task(task).variation_id(SPLIT, 0)
            _, info = ours.reset(options={"task": task, "variation": 0, "gold_path": True})
            gold = info["gold_path"]  # one gold path for all methods: generating one may pick other objects each time
            scores: dict[str, int] = {}
            for round_index in range(repeats + 1):  # round 0 is the untimed warm-up; methods interleave to share drift
                for method, (start, step, score) in runners.items():
                    start(task, variation_id)
                    taken = _time_steps(step, gold)
                    if round_index:
                        times[method][task].extend(taken)
                    scores[method] = score()
                    bar.update()
            gold_info[task] = {
                "variation_id": variation_id,
                "length": len(gold),
                "actions": gold,
                "final_score": scores,
                "same_final_score": len(set(scores.values())) == 1,
            }
        bar.close()
    finally:
        for env in (ours, ours_valid, fast, fast_valid):
            env.close()
        _close_stock(stock)
    step_ms = {}
    for method in METHODS:
        pooled = [ms for task in tasks for ms in times[method][task]]
        step_ms[method] = {**_summary(pooled), "per_task": {task: _summary(times[method][task]) for task in tasks}}
    jvm = {"heap": backend.heap, "deterministic": getattr(backend, "deterministic", None)}  # how our JVMs were started
    return {"step_ms": step_ms, "gold": gold_info, "jvm": jvm}


def _close_stock(stock: Any) -> None:
    """Close a stock env and make sure its JVM (our child process) has ended."""
    process = stock._gateway.java_process
    with contextlib.suppress(Exception):  # a JVM that does not exit is killed below
        stock.close()
        process.wait(timeout=10)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


# ---------------------------------------------------------------------------- 6: parallel episodes
def _parallel_worker(work: Any, results: Any, ready: Any, warmup: list[tuple[str, int]]) -> None:
    """One worker process: one env (one JVM), untimed warm-up episodes (JIT), then episodes from ``work``."""
    env = None
    try:
        env = _make_env(task=warmup[0][0])
        for item in warmup:
            _play_gold_episode(env, *item)
        ready.wait()
        episodes = steps = 0
        while (item := work.get()) is not None:
            steps += _play_gold_episode(env, *item)
            episodes += 1
            results.put(("episode", 1))
        results.put(("done", (episodes, steps)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises
        ready.abort()
        results.put(("error", traceback.format_exc()))
    finally:
        if env is not None:
            env.close()


def measure_parallel(tasks: Sequence[str], episodes: int, workers: int, progress: bool = True) -> dict[str, Any]:
    """Episodes/s replaying gold paths through our env, with 1 worker process and with ``workers``.

    Workers (spawn context) pull episodes from one queue; the clock starts once every worker has
    warmed up its JVM (two untimed episodes per task: the JIT compiles for a while) and stops when
    the last episode is done. ``cores_busy`` is the machine's busy CPU time over wall time: one
    worker's JVM alone keeps more than one core busy (JIT compiler and GC threads), which bounds the
    speedup that two workers can reach on two cores.

    Returns:
        ``{"workers_1": {...}, "workers_W": {...}, "speedup": float, "episodes": int}``.
    """
    ctx = mp.get_context("spawn")
    plan = _episode_plan(tasks, episodes)
    out: dict[str, Any] = {"episodes": episodes, "workers": workers}
    for count in (1, workers):
        work, results, ready = ctx.Queue(), ctx.Queue(), ctx.Barrier(count + 1)
        for item in plan:
            work.put(item)
        for _ in range(count):
            work.put(None)
        args = (work, results, ready, plan[: 2 * len(tasks)])
        processes = [ctx.Process(target=_parallel_worker, args=args, daemon=True) for _ in range(count)]
        for process in processes:
            process.start()
        done: list[tuple[int, int]] = []
        try:
            try:
                ready.wait(timeout=WORKER_TIMEOUT_S)
            except threading.BrokenBarrierError:  # a worker failed: its traceback is on the queue
                detail = results.get(timeout=30)[1] if count else ""
                raise RuntimeError(f"a benchmark worker failed during warm-up:\n{detail}") from None
            start, cpu_start = time.perf_counter(), psutil.cpu_times()
            with tqdm(total=episodes, desc=f"parallel, {count} worker(s)", unit="episode", disable=not progress) as bar:
                while len(done) < count:
                    kind, payload = results.get(timeout=WORKER_TIMEOUT_S)
                    if kind == "episode":
                        bar.update(payload)
                    elif kind == "done":
                        done.append(payload)
                    else:
                        raise RuntimeError(f"a benchmark worker failed:\n{payload}")
            elapsed, cpu_end = time.perf_counter() - start, psutil.cpu_times()
        except queue.Empty as error:
            raise RuntimeError(f"benchmark workers gave no news for {WORKER_TIMEOUT_S:.0f} s") from error
        finally:
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=10)
        played = sum(episodes_done for episodes_done, _ in done)
        out[f"workers_{count}"] = {
            "episodes": played,
            "steps": sum(steps for _, steps in done),
            "seconds": elapsed,
            "episodes_per_s": played / elapsed,
            "cores_busy": (sum(cpu_end) - cpu_end.idle - sum(cpu_start) + cpu_start.idle) / elapsed,
        }
    out["speedup"] = out[f"workers_{workers}"]["episodes_per_s"] / out["workers_1"]["episodes_per_s"]
    return out


# ---------------------------------------------------------------------------- 7: JVM memory
def measure_memory(tasks: Sequence[str], episodes: int, progress: bool = True) -> dict[str, Any]:
    """JVM resident memory (psutil, the java child process) before and after ``episodes`` gold episodes.

    Returns:
        heap cap, RSS in MiB after the first reset (``before``), halfway, at the end (``after``) and the peak.
    """
    env = _make_env(task=tasks[0])
    try:
        env.reset(options={"task": tasks[0], "variation": 0})
        backend = env.unwrapped.backend
        before = _rss_mib(backend.pid)
        samples = []
        for task, variation in tqdm(_episode_plan(tasks, episodes), desc="JVM memory", unit="episode", disable=not progress):
            _play_gold_episode(env, task, variation)
            samples.append(_rss_mib(backend.pid))
        heap = backend.heap
    finally:
        env.close()
    return {
        "episodes": episodes,
        "heap_cap": heap,
        "rss_before_mib": before,
        "rss_half_mib": samples[(len(samples) - 1) // 2],
        "rss_after_mib": samples[-1],
        "rss_peak_mib": max(samples),
    }


# ---------------------------------------------------------------------------- the whole benchmark
def check_config(tasks: Sequence[str], episodes: int, repeats: int, memory_episodes: int, workers: int) -> list[str]:
    """Validate a benchmark configuration; returns canonical task names.

    Raises:
        ValueError: an unknown task, an empty task list or a count out of range, naming the value.
    """
    names = [get_task(task).name for task in tasks]
    if not names:
        raise ValueError("tasks is empty: expected at least one task name or id")
    for name, value, low in (
        ("episodes", episodes, 1),
        ("repeats", repeats, 1),
        ("memory_episodes", memory_episodes, 1),
        ("workers", workers, 2),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return names


def run_benchmark(
    tasks: Sequence[str] = DEFAULT_TASKS,
    episodes: int = 40,
    repeats: int = 3,
    memory_episodes: int = 200,
    workers: int = 2,
    command: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the whole env-throughput benchmark (see the module docstring).

    Args:
        tasks: task names or ids; gold paths of train variation 0 are timed step by step.
        episodes: episodes per worker configuration in the parallel measurement.
        repeats: timed gold-path replays per task and method (after one untimed warm-up).
        memory_episodes: episodes in the JVM memory run.
        workers: worker processes compared against 1 (>= 2).
        command: the command line to record in the results (defaults to this process's).
        progress: show tqdm bars.

    Returns:
        The results as a JSON-serialisable dict: ``machine``, ``config``, ``step_ms``, ``ratios``, ``parallel``,
        ``memory``, ``targets`` (rows of metric, value, target, met).
    """
    names = check_config(tasks, episodes, repeats, memory_episodes, workers)
    machine = machine_info()
    usage = _CpuUsage()
    steps = measure_steps(names, repeats, progress)
    parallel = measure_parallel(names, episodes, workers, progress)
    memory = measure_memory(names, memory_episodes, progress)
    machine["other_cpu_share"] = round(usage.other_share(), 3)
    step_ms = steps["step_ms"]
    ratios = {}
    for stat in ("median", "mean"):
        suffix = "" if stat == "median" else "_mean"
        ratios[f"speedup_vs_stock{suffix}"] = step_ms["stock"][stat] / step_ms["ours"][stat]
        ratios[f"overhead_vs_raw{suffix}"] = step_ms["ours"][stat] / step_ms["raw"][stat]
        ratios[f"speedup_vs_stock_valid{suffix}"] = step_ms["stock"][stat] / step_ms["ours_valid"][stat]
        ratios[f"speedup_vs_stock_fast{suffix}"] = step_ms["stock"][stat] / step_ms["ours_fast"][stat]
        ratios[f"speedup_vs_stock_fast_valid{suffix}"] = step_ms["stock"][stat] / step_ms["ours_fast_valid"][stat]
    result = {
        "benchmark": "env_throughput",
        "machine": machine,
        "command": command or shlex.join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "tasks": names,
            "split": SPLIT,
            "variation": 0,
            "simplifications": SIMPLIFICATIONS,
            "repeats": repeats,
            "episodes": episodes,
            "memory_episodes": memory_episodes,
            "workers": workers,
            "our_jvm": steps["jvm"],
        },
        "step_ms": step_ms,
        "ratios": ratios,
        "parallel": parallel,
        "memory": memory,
        "gold": steps["gold"],
    }
    machine["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    result["targets"] = _targets(result)
    return result


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows: metric, value, target and whether it is met (``None``: no target)."""
    step_ms, ratios, parallel, memory = result["step_ms"], result["ratios"], result["parallel"], result["memory"]
    workers = parallel["workers"]
    rows: list[dict[str, Any]] = [
        {
            "metric": f"{METHOD_LABELS[m]}, ms/step median (mean)",
            "target": "",
            "met": None,
            "value": f"{step_ms[m]['median']:.2f} ({step_ms[m]['mean']:.2f})",
        }
        for m in METHODS
    ]

    def ratio_row(metric: str, value: float, target: str, met: bool) -> None:
        rows.append({"metric": metric, "value": f"{value:.2f}x", "target": target, "met": met})

    ratio_row(
        "speedup vs stock, no valid actions (stock / ours)",
        ratios["speedup_vs_stock"],
        ">= 10x",
        ratios["speedup_vs_stock"] >= 10,
    )
    ratio_row("overhead vs raw JVM step (ours / raw)", ratios["overhead_vs_raw"], "<= 1.5x", ratios["overhead_vs_raw"] <= 1.5)
    ratio_row(
        "speedup vs stock, with valid actions (stock / ours+valid)",
        ratios["speedup_vs_stock_valid"],
        ">= 1.5x",
        ratios["speedup_vs_stock_valid"] >= 1.5,
    )
    ratio_row(
        "speedup vs stock, with valid actions (project target)",
        ratios["speedup_vs_stock_valid"],
        ">= 5x",
        ratios["speedup_vs_stock_valid"] >= 5,
    )
    ratio_row(
        "speedup vs stock, deterministic=False, no valid actions",
        ratios["speedup_vs_stock_fast"],
        ">= 10x",
        ratios["speedup_vs_stock_fast"] >= 10,
    )
    ratio_row(
        "speedup vs stock, deterministic=False, with valid actions",
        ratios["speedup_vs_stock_fast_valid"],
        ">= 1.5x",
        ratios["speedup_vs_stock_fast_valid"] >= 1.5,
    )
    for count in (1, workers):
        config = parallel[f"workers_{count}"]
        rows.append(
            {
                "metric": f"episodes/s, {count} worker(s) (cores busy)",
                "value": f"{config['episodes_per_s']:.2f} ({config['cores_busy']:.2f})",
                "target": "",
                "met": None,
            }
        )
    ratio_row(
        f"parallel speedup, {workers} workers vs 1",
        parallel["speedup"],
        f">= {0.9 * workers:.1f}x",
        parallel["speedup"] >= 0.9 * workers,
    )
    for key, label in (
        ("rss_before_mib", "after the first reset"),
        ("rss_half_mib", "halfway"),
        ("rss_after_mib", f"after {memory['episodes']} episodes"),
        ("rss_peak_mib", "peak"),
    ):
        rows.append(
            {
                "metric": f"JVM RSS {label}, MiB (heap cap -Xmx{memory['heap_cap']})",
                "value": f"{memory[key]:.0f}",
                "target": "",
                "met": None,
            }
        )
    return rows


# ---------------------------------------------------------------------------- output
def markdown_section(result: dict[str, Any]) -> str:
    """The RESULTS.md section (between the env_throughput markers) for one benchmark result."""
    machine, config = result["machine"], result["config"]
    lengths = ", ".join(f"{task} ({info['length']})" for task, info in result["gold"].items())
    noise = ": timings are noisy" if machine.get("other_cpu_share", 0) > 0.1 else ""
    same = "yes" if all(info["same_final_score"] for info in result["gold"].values()) else "**no**"
    met = {True: "yes", False: "**no**", None: "-"}
    lines = [
        "## Env throughput (`benchmarks/env_throughput.py`)",
        "",
        (
            f"- Machine: {machine['cpu']}, {machine['cores']} cores; Python {machine['python']}; {machine['java']}; "
            f"scienceworld {machine['scienceworld']}; {machine['date']} (1-min load average before / after the run: "
            f"{machine['load_average_1m']} / {machine.get('load_average_1m_after', '?')}; other processes used "
            f"{100 * machine.get('other_cpu_share', 0):.0f}% of the cores' time during the run{noise})"
        ),
        f"- Command: `{result['command']}`",
        (
            f"- Steps: gold paths of train variation 0 (`{config['simplifications']}`) of {lengths}; one untimed warm-up "
            f"replay, then {config['repeats']} timed replays per task and method (every method ends on the same score: {same}). "
            f"Our JVMs: `-Xmx{config['our_jvm']['heap']}`, deterministic={config['our_jvm']['deterministic']}. "
            "Ratios use medians, within this run."
        ),
        (
            f"- Parallel: {config['episodes']} episodes (reset + gold path, several variations) per configuration, after "
            f"one untimed episode per worker. Memory: {config['memory_episodes']} episodes in one env."
        ),
        "",
        "| metric | value | target | met? |",
        "| --- | --- | --- | --- |",
        *(f"| {row['metric']} | {row['value']} | {row['target'] or '-'} | {met[row['met']]} |" for row in result["targets"]),
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- command line
def _tasks_arg(value: str) -> list[str]:
    try:
        names = resolve_tasks(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not names:
        raise argparse.ArgumentTypeError(f"no task in {value!r}: expected comma-separated task names or ids, or 'all'")
    return names


def _int_arg(low: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if number < low:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}, got {value!r}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m benchmarks.measure.env_throughput`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.measure.env_throughput",
        description="Env throughput: stock ScienceWorld vs our backend and env on the same gold actions; "
        "writes OUT/env_throughput.json and a section of RESULTS.md.",
    )
    parser.add_argument(
        "--tasks",
        type=_tasks_arg,
        default=list(DEFAULT_TASKS),
        help=f"comma-separated task names or ids, or 'all' (default: {','.join(DEFAULT_TASKS)})",
    )
    parser.add_argument(
        "--episodes",
        type=_int_arg(1),
        default=40,
        help="episodes per worker configuration in the parallel measurement (default: 40)",
    )
    parser.add_argument(
        "--repeats",
        type=_int_arg(1),
        default=3,
        help="timed gold-path replays per task and method, after one untimed warm-up (default: 3)",
    )
    parser.add_argument("--memory-episodes", type=_int_arg(1), default=200, help="episodes in the JVM memory run (default: 200)")
    parser.add_argument("--workers", type=_int_arg(2), default=2, help="worker processes compared against 1 (default: 2)")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/bench"), help="folder for env_throughput.json (default: runs/bench)"
    )
    parser.add_argument(
        "--results-md",
        type=Path,
        default=RESULTS_MD,
        help="markdown file whose env_throughput section is replaced (default: benchmarks/RESULTS.md)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the tqdm progress bars")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"argument --out: {str(args.out)!r} exists and is not a folder")
    if args.results_md.is_dir():
        parser.error(f"argument --results-md: {str(args.results_md)!r} is a folder, expected a markdown file")
    result = run_benchmark(
        args.tasks,
        episodes=args.episodes,
        repeats=args.repeats,
        memory_episodes=args.memory_episodes,
        workers=args.workers,
        command=shlex.join(["python", "-m", "benchmarks.measure.env_throughput", *argv]),
        progress=not args.no_progress,
    )
    json_path = args.out / "env_throughput.json"
    publish("env_throughput", result, markdown_section(result), json_path, args.results_md)
    print(f"wrote {json_path} and {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
