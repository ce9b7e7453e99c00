"""Stored runs read back: list them, fetch one, rank models on a task (and plot the ranking).

The functions behind ``modellake runs`` and ``leaderboard``. Views default to measured runs
and always show the trust level; measured and reported values are never averaged together,
and measured runs rank only on the task's current definition and data (``task_hash``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError, TaskError
from modellake.store.records import BenchmarkRun
from modellake.tools.bench.records import JsonRecord, finite, lake_root_of, metric_direction, trust_levels
from modellake.tools.bench.tasks import TaskData, TaskSpec, get_task, load_task_data

__all__ = ["Leaderboard", "LeaderboardEntry", "RunList", "get_run", "leaderboard", "list_runs",
           "plot_leaderboard"]


# =========================================================================== runs
@dataclass
class RunList(JsonRecord):
    """``runs``: stored runs, newest first (per-sample outputs left out)."""

    SUMMARIZED = ("runs",)

    runs: list[BenchmarkRun] = field(default_factory=list)


def list_runs(catalog: Catalog, model: str | None = None, task: str | None = None,
              trust: str = "all", limit: int | None = None) -> RunList:
    """Stored runs filtered by model (``name`` or ``name@N``), task, and trust level."""
    if model:
        _ensure_known_model(catalog, model)
    return RunList(catalog.runs.find(model=model, task=task,
                                     trust=None if trust == "all" else trust_levels(trust)[0],
                                     limit=limit))


def get_run(catalog: Catalog, run_id: int) -> BenchmarkRun:
    """One run with its per-sample outputs (``to_dict()`` includes them)."""
    return catalog.runs.get(run_id)


def _ensure_known_model(catalog: Catalog, spec: str) -> None:
    try:
        catalog.get_model(spec)
    except NotFoundError:
        name = spec.rpartition("@")[0] or spec
        if not catalog.runs.find(model=name, limit=1):
            raise


# =========================================================================== leaderboard
@dataclass
class LeaderboardEntry(JsonRecord):
    """One model version's score on the task: the mean over its runs at one trust level."""

    rank: int
    model: str
    model_version: int | None
    model_hash: str
    trust: str
    value: float
    std: float | None          # standard deviation over repeated runs (None for one run)
    stderr: float | None       # mean stored stderr (bootstrap here; the source's when reported)
    n_runs: int
    run_ids: list[int]
    source: str


@dataclass
class Leaderboard(JsonRecord):
    """``leaderboard --task T``: models ranked on one metric, best first."""

    task: str
    metric: str
    higher_is_better: bool
    trust: list[str]
    task_hash: str | None
    entries: list[LeaderboardEntry] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    plot: str | None = None


def _current_task(task: str, root: Path) -> tuple[TaskSpec | None, TaskData | None]:
    try:
        spec = get_task(task, root)
    except NotFoundError:
        return None, None
    return spec, load_task_data(spec)


def leaderboard(catalog: Catalog, task: str, *, metric: str | None = None,
                trust: str = "measured", lake_root: str | Path | None = None,
                plot: str | Path | None = None, current_only: bool = True) -> Leaderboard:
    """Rank models on ``task`` by ``metric`` (default: the task's primary metric).

    ``trust``: ``measured`` (default), ``reported`` or ``all`` (both, each entry labelled,
    never averaged together; each reported run is its own entry, with its source). Measured
    runs count only when they used the task's current definition and data (``task_hash``);
    the others are counted in ``excluded``. Only current model versions are ranked unless
    ``current_only`` is false. ``plot`` writes a bar chart (error bars: std over repeated
    runs).
    """
    spec, data = _current_task(task, lake_root_of(catalog, lake_root))
    task_name = spec.name if spec else task
    if spec is not None and spec.kind == "probe":
        raise TaskError(f"task {task_name} is a probe set: it has no score to rank; use "
                        f"`modellake behaves-like MODEL` to compare fingerprints")
    trusts = trust_levels(trust)
    runs, excluded = _current_runs(catalog, task_name, trusts, data, current_only)
    if metric is None:
        metric = _default_metric(runs, spec, trusts, task_name)
    missing_metric = [r for r in runs if not finite(r.metrics.get(metric))]
    if missing_metric:
        excluded["no_such_metric"] = len(missing_metric)
    runs = [r for r in runs if finite(r.metrics.get(metric))]
    hib = metric_direction(runs, metric, spec)
    entries = _ranked_entries(runs, metric, hib)
    board = Leaderboard(task=task_name, metric=metric, higher_is_better=hib, trust=trusts,
                        task_hash=data.task_hash if data else None, entries=entries,
                        excluded=excluded, notes=_notes(task_name, spec, trusts, entries))
    if plot is not None:
        board.plot = str(plot_leaderboard(board, plot))
    return board


def _current_runs(catalog: Catalog, task_name: str, trusts: list[str], data: TaskData | None,
                  current_only: bool) -> tuple[list[BenchmarkRun], dict[str, int]]:
    """The task's runs at the trust levels asked, less measured runs of another task version
    (counted in the second value, the leaderboard's ``excluded``)."""
    runs = [r for t in trusts for r in catalog.runs.find(task=task_name, trust=t,
                                                          current_only=current_only)]
    excluded: dict[str, int] = {}
    if data is not None:
        stale = [r for r in runs if r.trust == "measured" and r.task_hash != data.task_hash]
        if stale:
            excluded["other_task_version"] = len(stale)
        runs = [r for r in runs if not (r.trust == "measured" and r.task_hash != data.task_hash)]
    return runs, excluded


def _default_metric(runs: list[BenchmarkRun], spec: TaskSpec | None, trusts: list[str],
                    task_name: str) -> str:
    """The task's primary metric, else the metric most of its runs have."""
    if spec is not None and spec.primary_metric:
        return spec.primary_metric
    counts: dict[str, int] = defaultdict(int)
    for r in runs:
        for m in r.metrics:
            counts[m] += 1
    if not counts:
        err = NotFoundError(f"no {'/'.join(trusts)} runs of task {task_name!r}"
                            + ("" if spec else " (and no such task is defined here)"))
        err.hint = "see `modellake runs`, or `modellake bench --list-tasks`"
        raise err
    return max(sorted(counts), key=lambda m: counts[m])


def _ranked_entries(runs: list[BenchmarkRun], metric: str, hib: bool) -> list[LeaderboardEntry]:
    """One entry per model version and trust level (per source when reported), best first."""
    groups: dict[tuple[Any, ...], list[BenchmarkRun]] = defaultdict(list)
    for r in runs:  # measured: repeats of one model version pool; reported: one entry per source
        key = (r.model, r.model_version, r.model_hash, r.trust)
        groups[key + ((r.id,) if r.trust == "reported" else ())].append(r)
    entries = []
    for (model, version, mhash, tr, *_), rs in groups.items():
        vals = [r.metrics[metric] for r in rs]
        ses = [r.stderr[metric] for r in rs if finite(r.stderr.get(metric))]
        entries.append(LeaderboardEntry(
            rank=0, model=model, model_version=version, model_hash=mhash, trust=tr,
            value=float(np.mean(vals)), std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
            stderr=float(np.mean(ses)) if ses else None, n_runs=len(rs),
            run_ids=sorted(r.id for r in rs if r.id is not None),
            source=rs[0].source))
    entries.sort(key=lambda e: ((-e.value if hib else e.value), e.model, e.trust))
    for i, e in enumerate(entries, 1):
        e.rank = i
    return entries


def _notes(task_name: str, spec: TaskSpec | None, trusts: list[str],
           entries: list[LeaderboardEntry]) -> list[str]:
    notes = []
    if len(trusts) > 1 and {e.trust for e in entries} == {"measured", "reported"}:
        notes.append("measured and reported values come from different protocols and data; "
                     "each entry is labelled with its trust level")
    if spec is not None and spec.smoke:
        notes.append(f"{task_name} is a smoke-size built-in suite: useful to tell models apart, "
                     "too small to rank them for real use")
    return notes


def plot_leaderboard(board: Leaderboard, out: str | Path) -> Path:
    """A horizontal bar chart of a leaderboard (PNG/SVG/PDF by suffix; matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = board.entries
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.45 * len(entries) + 1.2)))
    try:
        if not entries:
            ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
        else:
            _draw_bars(ax, entries)
        arrow = "higher is better" if board.higher_is_better else "lower is better"
        ax.set_xlabel(f"{board.metric} ({arrow}); error bars: std over repeated runs")
        ax.set_title(f"{board.task}: {', '.join(board.trust)} runs")
        fig.tight_layout()
        fig.savefig(out, dpi=120)
    finally:
        plt.close(fig)
    return out


def _draw_bars(ax: Any, entries: list[LeaderboardEntry]) -> None:
    """One bar per entry, best at the top; reported entries hatched."""
    from matplotlib.patches import Patch

    labels = [f"{e.model}@{e.model_version}" if e.model_version else e.model for e in entries]
    y = np.arange(len(entries))[::-1]
    colors = ["#3b6ea8" if e.trust == "measured" else "#d98c2b" for e in entries]
    errs = [e.std if e.std is not None else 0.0 for e in entries]
    bars = ax.barh(y, [e.value for e in entries], color=colors,
                   xerr=errs if any(errs) else None, capsize=4, edgecolor="black",
                   linewidth=0.5)
    for bar, e in zip(bars, entries):
        if e.trust == "reported":
            bar.set_hatch("//")
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f" {e.value:.4g}" + (f" ±{e.std:.2g} (n={e.n_runs})" if e.std is not None else "")
                + (" reported" if e.trust == "reported" else ""),
                va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.legend(handles=[Patch(color="#3b6ea8", label="measured"),
                       Patch(facecolor="#d98c2b", hatch="//", label="reported")],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.margins(x=0.25)
