"""Run work items in worker processes that each hold one env (one JVM), with a progress bar."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

Item = TypeVar("Item")
_STATE: dict[str, Any] = {}


def one_math_thread() -> None:
    """Limit torch/BLAS to one thread in this worker process (unless the user set the variables).

    The workers are the parallelism: with several math threads per worker, the threads of every
    worker and the JVMs fight over the cores (measured: a model agent ran ~10x slower with 2 workers).
    """
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def _init(setup: Callable[..., Any], args: tuple) -> None:
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
    bar = tqdm(total=len(items), desc=desc, unit="ep", leave=False, disable=not items)
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
