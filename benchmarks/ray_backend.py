"""``sgd eval --backend ray``: the same episode list on a Ray cluster, one actor per env.

Each actor builds its state once (an agent and an env, i.e. one JVM) and plays the episodes sent
to it one at a time. When an actor dies (its node is lost, its process crashes), the episode it was
playing goes back to the queue and a new actor takes its place, up to ``max_restarts`` times in all.
Results come back as they finish; the episodes are seeded one by one, so they are the same as with
worker processes.

Connects to the cluster named by ``RAY_ADDRESS`` when set, otherwise starts a local Ray instance
with one CPU per actor. Needs the ``ray`` extra (``pip install 'sgd-gym[ray]'``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sgd_gym.progress import progress_bar

Item = TypeVar("Item")


class _Holder:
    """The body of each actor: a state built once, a function applied to it per item."""

    def __init__(self, setup: Callable[..., Any], setup_args: tuple, function: Callable[[Any, Any], Any]) -> None:
        from sgd_gym.parallel import one_math_thread

        one_math_thread()  # one core per actor, as the worker processes
        self.state = setup(*setup_args)
        self.function = function

    def run(self, item: Any) -> Any:
        return self.function(self.state, item)

    def ping(self) -> int:
        return os.getpid()


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError("--backend ray needs Ray: pip install 'sgd-gym[ray]' (or pip install ray)") from None
    return ray


def ensure_ray(actors: int) -> Any:
    """Connect to ``RAY_ADDRESS`` or start a local instance with ``actors`` CPUs; returns the ``ray`` module."""
    ray = _import_ray()
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
        else:
            ray.init(num_cpus=max(actors, 1), include_dashboard=False, log_to_driver=False)
    return ray


def run_on_ray(
    setup: Callable[..., Any],
    setup_args: tuple,
    function: Callable[[Any, Item], Any],
    items: Sequence[Item],
    actors: int = 1,
    desc: str = "",
    max_restarts: int | None = None,
) -> Iterator[Any]:
    """Yield ``function(state, item)`` for every item as it finishes, ``state = setup(*setup_args)`` per actor.

    A lost actor's item is re-run on a fresh actor; more than ``max_restarts`` losses (default:
    ``2 * actors + 2``) raise ``RuntimeError`` naming the last error.
    """
    if actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors!r}")
    if not items:
        return
    ray = ensure_ray(actors)
    from ray.exceptions import RayActorError

    remote = ray.remote(num_cpus=1, max_restarts=0)(_Holder)
    queue = list(range(len(items)))[::-1]
    pending: dict[Any, tuple[Any, int]] = {}  # object ref -> (actor, item index)
    idle: list[Any] = []
    restarts, limit = 0, (2 * actors + 2) if max_restarts is None else max_restarts
    bar = progress_bar(len(items), desc, "ep")
    live = [remote.remote(setup, setup_args, function) for _ in range(min(actors, len(items)))]
    idle.extend(live)
    try:
        while queue or pending:
            while queue and idle:
                actor, index = idle.pop(), queue.pop()
                pending[actor.run.remote(items[index])] = (actor, index)
            ready, _ = ray.wait(list(pending), num_returns=1)
            actor, index = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except RayActorError as error:
                restarts += 1
                if restarts > limit:
                    raise RuntimeError(f"{restarts} Ray actors lost (limit {limit}); last: {error}") from error
                live.remove(actor)
                queue.append(index)  # played again on a fresh actor
                fresh = remote.remote(setup, setup_args, function)
                live.append(fresh)
                idle.append(fresh)
                continue
            idle.append(actor)
            bar.update()
            yield result
    finally:
        bar.close()
        for actor in live:
            ray.kill(actor)
