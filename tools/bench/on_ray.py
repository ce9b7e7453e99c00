"""Benchmarks on a Ray cluster: one task per model and benchmark task.

Each Ray task opens the lake's catalog, loads its model where the files lie, runs the
benchmark task (``bench`` with one model and one task, one thread) and stores the run with
its provenance in its own transaction; the driver gathers the small reports. A pair whose
worker dies is run again; a pair that fails is reported and the others go on. The lake's
SQLite file serves a cluster of this machine only; several machines need a shared catalog
(PostgreSQL, ``--catalog``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.errors import one_line
from modellake.tools.bench.records import lake_root_of
from modellake.tools.bench.runs import BenchError, BenchReport
from modellake.tools.cluster import check_catalog, ray_session, run_tasks


def bench_on_ray(catalog: Catalog, models: Sequence[str], tasks: Sequence[str], address: str, *,
                 lake_root: str | Path | None = None,
                 on_progress: Callable[[str, int, int], None] | None = None,
                 **options: Any) -> BenchReport:
    """``bench(catalog, models, tasks, **options)`` with every (model, task) pair a Ray task."""
    check_catalog(catalog.url, address)  # before the names are checked: the setup is wrong
    for m in models:
        catalog.get_model(m)  # an unknown name fails here, before any task starts
    root = str(lake_root_of(catalog, lake_root))
    pairs = [(catalog.address, root, m, t, options) for m in models for t in tasks]
    t0 = time.perf_counter()
    with ray_session(address, catalog.url):
        results = run_tasks(bench_pair, pairs, on_progress=on_progress)
    report = BenchReport()
    for (_, _, model, task, _), result in zip(pairs, results, strict=True):
        if isinstance(result, BaseException):
            report.errors.append(BenchError(model, task, f"the Ray task failed: {one_line(result)}"))
        else:
            report.runs += result.runs
            report.errors += result.errors
    report.duration_s = time.perf_counter() - t0
    return report


def bench_pair(target: str, root: str, model: str, task: str, options: dict[str, Any]) -> BenchReport:
    """One model on one benchmark task, in a Ray worker (one torch thread: the cluster
    runs as many pairs at once as it has cores)."""
    from modellake.tools.bench.runs import bench

    with Catalog(target, root=Path(root)) as cat:
        return bench(cat, [model], [task], lake_root=root, **{"threads": 1, **options})
