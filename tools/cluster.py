"""Work spread over a Ray cluster: one task per item, results as they finish.

    with ray_session("auto"):                    # the running cluster (`ray start --head`)
        results = run_tasks(fn, [(a1,), (a2,)])   # fn runs as a Ray task per argument tuple

``address``: "auto" (the cluster this machine belongs to), "local" (start a cluster of this
machine for this run), or ``ray://HOST:PORT`` / ``HOST:PORT`` of a cluster's head. A task
whose worker dies is run again (``retries``); a task that raises returns the exception as
its result, so one bad item never stops the others. Each task writes its own result to the
shared catalog in its own transaction: what travels back is a small summary, and model
bytes are read where they lie, never through the driver: on a file system every node
mounts, or on a node's own disk, the task then placed on that node (``file_nodes``).
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


SHARED_CATALOG = ("a Ray cluster of several machines needs a shared catalog: add --catalog "
                  "postgresql://... (the lake's SQLite file serves a cluster of this machine only)")


def check_catalog(catalog_url: str | None, address: str | None) -> None:
    """Refuse a lake's SQLite file for a cluster of several machines: at once for a remote
    address, and for "auto" once connected and the cluster's nodes are known."""
    if catalog_url is not None or is_local(address):
        return
    if address != "auto":
        raise UsageError(SHARED_CATALOG)
    ray = _ray()
    if ray.is_initialized() and len([n for n in ray.nodes() if n.get("Alive")]) > 1:
        raise UsageError(SHARED_CATALOG)


@contextmanager
def ray_session(address: str | None, catalog_url: str | None = None) -> Iterator[Any]:
    """Connected to the cluster at ``address`` for the block (left as found afterwards),
    for work on the catalog at ``catalog_url`` (None: a lake's SQLite file, which a cluster
    of several machines cannot share: ``check_catalog``)."""
    check_catalog(catalog_url, address)
    ray = _ray()
    if ray.is_initialized():
        check_catalog(catalog_url, address)
        yield ray
        return
    try:
        ray.init(address=None if is_local(address) else address, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot reach the Ray cluster at {address!r}: {str(exc).splitlines()[0]} "
                         "(start one with `ray start --head`, or use --ray local)") from exc
    try:
        check_catalog(catalog_url, address)
        yield ray
    finally:
        ray.shutdown()


def run_tasks(fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], *, retries: int = RETRIES,
              on_progress: Callable[[str, int, int], None] | None = None, num_cpus: float = 1,
              nodes: Sequence[str | None] | None = None) -> list[Any]:
    """``fn(*item)`` for every item as Ray tasks (inside ``ray_session``); results in item
    order, an exception in place of a result for a task that raised or died ``retries`` times.
    ``on_progress("on the Ray cluster", done, total)`` as tasks finish; ``nodes``: per item,
    the Ray node that must run it (None: any), see ``file_nodes``."""
    ray = _ray()
    remote = ray.remote(max_retries=retries, num_cpus=num_cpus)(fn)
    refs = [_on(remote, node).remote(*item) for item, node in zip(items, nodes or [None] * len(items),
                                                                  strict=True)]
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
            if on_progress is not None:
                on_progress("on the Ray cluster", done, len(refs))
    return results


def _on(remote: Any, node: str | None) -> Any:
    if node is None:
        return remote
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))


def file_nodes(item_paths: Sequence[Sequence[str]]) -> list[str | None]:
    """Per item, a node that sees all its files, for files that only some nodes hold (disks
    of their own): a tiny probe task on every node reports which of the paths it sees. With
    one node, or files every node sees (a shared file system), None: any node."""
    ray = _ray()
    alive = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
    if len(alive) < 2:
        return [None] * len(item_paths)
    wanted = sorted({p for paths in item_paths for p in paths})
    probe = ray.remote(num_cpus=0)(_existing)
    seen = dict(zip(alive, ray.get([_on(probe, n).remote(wanted) for n in alive]), strict=True))
    return placement(item_paths, seen)


def placement(item_paths: Sequence[Sequence[str]], seen: dict[str, set[str]]) -> list[str | None]:
    """The node for each item from what each node sees: None where every node sees its
    files (or none does: the task then fails with the file's own error); else the nodes that
    see them in turn, so the items of one disk spread over the nodes sharing it."""
    out: list[str | None] = []
    turn = 0
    for paths in item_paths:
        having = [n for n, files in seen.items() if all(p in files for p in paths)]
        if not having or len(having) == len(seen):
            out.append(None)
        else:
            out.append(having[turn % len(having)])
            turn += 1
    return out


def _existing(paths: list[str]) -> set[str]:
    import os

    return {p for p in paths if os.path.exists(p)}


def _cause(exc: BaseException) -> BaseException:
    """The exception a task raised (Ray wraps it), or Ray's own when the worker died."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
