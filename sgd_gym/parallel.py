"""Run work items in worker processes that each hold one env (one JVM), with a progress bar."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sgd_gym.progress import progress_bar

Item = TypeVar("Item")
_STATE: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def one_math_thread() -> None:
    """Limit torch/BLAS to one thread in this worker process (unless the user set the variables).

    The workers are the parallelism: with several math threads per worker, the threads of every
    worker and the JVMs fight over the cores (measured: a model agent ran ~10x slower with 2 workers).
    """
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def die_with_parent() -> None:
    """Make this worker process die when its parent does (Linux ``PR_SET_PDEATHSIG``), and leave Ctrl-C to the parent.

    Without it, workers of a killed parent live on until they next touch their pipe (seen: 9-14 s, collect workers
    still writing part files); their JVMs end with them (py4j's ``--die-on-broken-pipe``). Ctrl-C reaches every
    process of the terminal's group: the parent stops the pool, the workers must not each print a traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: workers end when their pipe breaks
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _init(setup: Callable[..., Any], args: tuple) -> None:
    die_with_parent()
    one_math_thread()
    _STATE["worker"] = setup(*args)


def _work(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    function, item = job
    return function(_STATE["worker"], item)


def run_in_workers(
    setup: Callable[..., Any],
    setup_args: tuple,
    function: Callable[[Any, Item], Any],
    items: Sequence[Item],
    workers: int = 1,
    desc: str = "",
    ordered: bool = True,
) -> Iterator[Any]:
    """Yield ``function(state, item)`` for each item, ``state = setup(*setup_args)`` once per worker.

    ``workers == 1`` runs in this process; more use spawned processes (``setup`` and ``function``
    must be importable top-level functions). With ``ordered`` results come in item order, otherwise
    as they finish. A worker's state with a ``close()`` method is closed in the single-process case.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    bar = progress_bar(len(items), desc, "ep", disable=not items)
    try:
        if workers == 1 or len(items) <= 1:
            state = setup(*setup_args)
            try:
                for item in items:
                    yield function(state, item)
                    bar.update()
            finally:
                if callable(getattr(state, "close", None)):
                    state.close()
            return
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(workers, len(items)), initializer=_init, initargs=(setup, setup_args)) as pool:
            jobs = [(function, item) for item in items]
            for result in (pool.imap if ordered else pool.imap_unordered)(_work, jobs):
                yield result
                bar.update()
    finally:
        bar.close()
