"""Benchmarks: run tasks on lake models, keep every run with its provenance, compare.

Public API (behind ``modellake bench``, ``runs``, ``leaderboard``, ``compare``,
``behaves-like``, ``import-results`` and ``tasks``): each function returns a typed record
whose ``to_dict()`` is the command's ``--json`` output.

Inside: :mod:`.tasks` (task definitions as data, ``data/tasks/``), :mod:`.models` (loading
a lake model for a task), :mod:`.kinds` (one runner per task kind), :mod:`.stats`
(metrics, bootstrap, similarity of representations), :mod:`.runs` (running tasks on models
and storing the runs), :mod:`.results` (stored runs read back, leaderboards),
:mod:`.compare` (two models side by side; nearest models by fingerprint), :mod:`.importer`
(reported results from lm-evaluation-harness JSON or a model-index, parsed and stored) and
:mod:`.records` (the small pieces these share).
"""
from __future__ import annotations

from modellake.tools.bench.compare import (
    BehavesLike,
    CompareRow,
    Comparison,
    Neighbour,
    behaves_like,
    compare,
)
from modellake.tools.bench.importer import ImportReport, ResultsFileError, import_results
from modellake.tools.bench.results import (
    Leaderboard,
    LeaderboardEntry,
    RunList,
    get_run,
    leaderboard,
    list_runs,
    plot_leaderboard,
)
from modellake.tools.bench.runs import BenchError, BenchReport, TaskList, bench, list_tasks
from modellake.tools.bench.tasks import TaskSpec


def bench_on_ray(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - see on_ray.bench_on_ray
    """``bench`` with every (model, task) pair a task on a Ray cluster (:mod:`.on_ray`)."""
    from modellake.tools.bench.on_ray import bench_on_ray as run

    return run(*args, **kwargs)


__all__ = [
    "BehavesLike", "BenchError", "BenchReport", "CompareRow", "Comparison", "ImportReport",
    "Leaderboard", "LeaderboardEntry", "Neighbour", "ResultsFileError", "RunList", "TaskList",
    "TaskSpec", "behaves_like", "bench", "bench_on_ray", "compare", "get_run", "import_results", "leaderboard",
    "list_runs", "list_tasks", "plot_leaderboard",
]
