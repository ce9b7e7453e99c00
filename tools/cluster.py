"""Work spread over a Ray cluster: one task per item, results as they finish.

    with ray_session("auto"):                    # the running cluster (`ray start --head`)
        results = run_tasks(fn, [(a1,), (a2,)])   # fn runs as a Ray task per argument tuple

``address``: "auto" (the cluster this machine belongs to), "local" (start a cluster of this
machine for this run), or ``ray://HOST:PORT`` / ``HOST:PORT`` of a cluster's head. A task
whose worker dies is run again (``retries``); a task that raises returns the exception as
its result, so one bad item never stops the others. Each task writes its own result to the
shared catalog in its own transaction: what travels back is a small summary, and model
bytes are read where they lie (a shared file system), never through the driver.
Ray is imported only here, and only when asked for.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from modellake.store.errors import UsageError

RETRIES = 3  # runs of a task whose worker died (kill -9, a lost node) before it fails


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--ray needs Ray: pip install 'ray>=2.40' (or install modellake[team])") from exc
    return ray


def is_local(address: str | None) -> bool:
    return address in (None, "", "local")


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Connected to the cluster at ``address`` for the block (left as found afterwards)."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(address=None if is_local(address) else address, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot reach the Ray cluster at {address!r}: {str(exc).splitlines()[0]} "
                         "(start one with `ray start --head`, or use --ray local)") from exc
    try:
        yield ray
    finally:
        ray.shutdown()


def run_tasks(fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], *, retries: int = RETRIES,
              on_done: Callable[[int, int], None] | None = None, num_cpus: float = 1) -> list[Any]:
    """``fn(*item)`` for every item as Ray tasks (inside ``ray_session``); results in item
    order, an exception in place of a result for a task that raised or died ``retries`` times."""
    ray = _ray()
    remote = ray.remote(max_retries=retries, num_cpus=num_cpus)(fn)
    refs = [remote.remote(*item) for item in items]
    where = {ref.hex(): i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    pending, done = list(refs), 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            try:
                results[where[ref.hex()]] = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - a task's failure is its item's result
                results[where[ref.hex()]] = _cause(exc)
            done += 1
            if on_done is not None:
                on_done(done, len(refs))
    return results


def _cause(exc: BaseException) -> BaseException:
    """The exception a task raised (Ray wraps it), or Ray's own when the worker died."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
