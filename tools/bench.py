"""Benchmarks: run tasks on lake models, keep every run with its provenance, compare.

The functions behind ``modellake bench``, ``runs``, ``leaderboard``, ``compare``,
``behaves-like`` and ``import-results``. Each returns a typed record whose ``to_dict()``
is the command's ``--json`` output.

* A task is data (see :mod:`modellake.tools.bench_tasks`): built-in smoke-size suites in
  ``tools/data/tasks/``, the lake's own in ``LAKE/tasks/``, or any task YAML path.
* A run is ``measured`` (here, by :func:`bench`) or ``reported`` (imported by
  :func:`import_results` from lm-evaluation-harness JSON or a model-index). Views default
  to measured runs and always show the trust level; the two are never averaged together.
* Runs compare only on the same task definition and data (``task_hash``).
"""
from __future__ import annotations

import gc
import math
import platform
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store import runs as runs_db
from modellake.store.catalog import Catalog, utcnow
from modellake.store.errors import NotFoundError, TaskError
from modellake.store.records import BenchmarkRun, ModelRecord, Record
from modellake.tools import bench_stats as st
from modellake.tools.bench_import import ResultsFileError, parse_results_file
from modellake.tools.bench_tasks import (
    TaskData,
    TaskSpec,
    get_task,
    higher_is_better,
    list_tasks as _list_tasks,
    load_task_data,
)

__all__ = [
    "BenchError", "BenchReport", "BehavesLike", "CompareRow", "Comparison", "ImportReport",
    "Leaderboard", "LeaderboardEntry", "Neighbour", "ResultsFileError", "RunList", "TaskSpec",
    "TaskList", "bench", "behaves_like", "compare", "get_run", "import_results", "leaderboard",
    "list_runs", "list_tasks", "plot_leaderboard",
]

Progress = Callable[[str, int, int], None]  # (label, examples done, examples total)
KEEP_OUTPUTS_MAX = 10_000  # per-sample outputs are kept by default up to this many samples
N_BOOT_STORED = 200        # bootstrap resamples behind a stored run's stderr
TRUST_CHOICES = ("measured", "reported", "all")


def _lake_root(catalog: Catalog, lake_root: str | Path | None) -> Path:
    return Path(lake_root) if lake_root is not None else catalog.path.parent


def _trusts(trust: str) -> list[str]:
    if trust not in TRUST_CHOICES:
        raise ValueError(f"trust must be one of {TRUST_CHOICES}, not {trust!r}")
    return ["measured", "reported"] if trust == "all" else [trust]


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def json_safe(obj: Any) -> Any:
    """NaN and infinities become None, so ``--json`` output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


class _JsonRecord(Record):
    """A record whose ``to_dict()`` is strict JSON (no NaN)."""

    def to_dict(self) -> dict[str, Any]:
        return json_safe(super().to_dict())


# =========================================================================== tasks
@dataclass
class TaskList(_JsonRecord):
    """``bench --list-tasks``: every task this lake knows."""

    tasks: list[TaskSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"tasks": [t.summary() for t in self.tasks]})


def list_tasks(catalog: Catalog | None = None, lake_root: str | Path | None = None) -> TaskList:
    """Built-in tasks plus ``LAKE/tasks/*.yaml`` (from ``catalog``'s lake, or ``lake_root``)."""
    root = lake_root if lake_root is not None else (catalog.path.parent if catalog else None)
    return TaskList(_list_tasks(root))


# =========================================================================== running
@dataclass
class BenchError(_JsonRecord):
    """A model/task pair that did not run, and why (a refusal or a failure)."""

    model: str
    task: str
    error: str


@dataclass
class BenchReport(_JsonRecord):
    """What one ``bench`` call did: the stored runs, and the pairs that could not run."""

    runs: list[BenchmarkRun] = field(default_factory=list)
    errors: list[BenchError] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"runs": [r.summary() for r in self.runs],
                          "errors": [e.to_dict() for e in self.errors],
                          "duration_s": round(self.duration_s, 3)})


def environment(device: str, threads: int) -> dict[str, Any]:
    """Library versions and hardware a measured run used."""
    import importlib.metadata as md

    def ver(dist: str) -> str | None:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return None

    env: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "modellake": ver("modellake"), "torch": ver("torch"), "transformers": ver("transformers"),
        "tokenizers": ver("tokenizers"), "numpy": ver("numpy"), "safetensors": ver("safetensors"),
        "device": device, "threads": threads,
    }
    if device.startswith("cuda"):
        import torch

        env["device_name"] = torch.cuda.get_device_name(0)
    else:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                env["device_name"] = next((ln.split(":", 1)[1].strip() for ln in f
                                           if ln.startswith("model name")), platform.processor())
        except OSError:
            env["device_name"] = platform.processor() or platform.machine()
    return env


def bench(catalog: Catalog, models: Sequence[str], tasks: Sequence[str], *,
          lake_root: str | Path | None = None, seed: int = 0, repeats: int = 1,
          batch_size: int | None = None, max_length: int | None = None,
          keep_outputs: bool | None = None, device: str = "cpu", threads: int | None = None,
          head: str = "auto", verify: bool = True, engine: str = "auto",
          on_progress: Progress | None = None) -> BenchReport:
    """Run every task on every model and store each run with its provenance.

    ``models`` are lake names (``name`` or ``name@N``); ``tasks`` are task names or task YAML
    paths. Unknown names raise :class:`NotFoundError` before anything runs. A model that
    cannot do a task (card-only, adapter, GGUF without a runtime, no tokenizer, wrong head) is
    *refused*: the pair lands in ``errors`` with an actionable message and the rest still run.

    ``repeats`` runs each pair that many times (seeds ``seed``, ``seed+1``...) so that
    :func:`compare` can measure the run-to-run spread. ``head``: ``auto`` uses a model's own
    classifier head when its labels match the task's, ``probe`` always trains a linear probe,
    ``head`` refuses models without a matching head. ``keep_outputs`` (default: tasks up to
    10,000 samples) stores per-sample outputs. ``verify`` re-hashes the model's files so the
    run is tied to the weights actually evaluated. ``threads``: torch threads (default: every
    idle core; one for models under 5M parameters). ``engine``: ``auto`` computes BERT
    encoders' embeddings with the padding-free forward of :mod:`packed_bert` once it has
    matched transformers on the task's inputs; ``transformers`` always uses transformers (the
    run's ``config.runtime`` says which ran). ``on_progress(label, done, total)`` counts
    examples over the whole call.
    """
    import torch

    from modellake.tools.bench_kinds import metric_stat, run_kind, work_units
    from modellake.tools.bench_models import (ENGINES, ModelHandle, resolve_device,
                                              threads_for, torch_threads)

    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    if head not in ("auto", "probe", "head"):
        raise ValueError("head must be auto, probe or head")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
    t_start = time.perf_counter()
    root = _lake_root(catalog, lake_root)
    datas: list[TaskData] = [load_task_data(get_task(t, root)) for t in tasks]
    records: list[ModelRecord] = [catalog.get_model(m) for m in models]
    dev = resolve_device(device)
    report = BenchReport()
    total = sum(work_units(d) for d in datas) * len(records) * repeats
    done = 0

    def tick_for(label: str) -> Callable[[int], None]:
        def tick(n: int) -> None:
            nonlocal done
            done += n
            if on_progress:
                on_progress(label, min(done, total), total)
        return tick

    for record in records:
        n = threads or threads_for(record)
        with torch_threads(n) as n_threads:
            env = environment(dev, n_threads)
            handle = None
            try:
                handle = ModelHandle(record, dev, verify=verify, engine=engine)
            except TaskError as exc:
                report.errors += [BenchError(record.name, d.spec.name, str(exc)) for d in datas]
                done += sum(work_units(d) for d in datas) * repeats
                continue
            for data in datas:
                spec = data.spec
                label = f"{record.name} · {spec.name}"
                try:
                    handle.check(spec.kind)
                except TaskError as exc:
                    report.errors.append(BenchError(record.name, spec.name, str(exc)))
                    done += work_units(data) * repeats
                    continue
                bs = batch_size or spec.option("batch_size")
                ml = max_length or spec.option("max_length")
                for r in range(repeats):
                    run_seed = seed + r
                    t0 = time.perf_counter()
                    try:
                        with torch.random.fork_rng(devices=[]):
                            torch.manual_seed(run_seed)
                            res = run_kind(handle, data, batch_size=bs, max_length=ml,
                                           tick=tick_for(label), head=head, seed=run_seed)
                    except TaskError as exc:
                        report.errors.append(BenchError(record.name, spec.name, str(exc)))
                        break
                    except (RuntimeError, ValueError, MemoryError, IndexError) as exc:
                        report.errors.append(BenchError(
                            record.name, spec.name,
                            f"model {record.name} failed on task {spec.name}: "
                            f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
                        break
                    duration = time.perf_counter() - t0
                    keep = keep_outputs if keep_outputs is not None else data.n_samples <= KEEP_OUTPUTS_MAX
                    stderr: dict[str, float] = {}
                    stat = metric_stat(spec.kind, res.outputs)
                    for m in res.metrics:
                        se = st.bootstrap_se(len(res.outputs), stat, m, n_boot=N_BOOT_STORED,
                                             seed=run_seed)
                        if se is not None:
                            stderr[m] = se
                    run = BenchmarkRun(
                        model=record.name, task=spec.name, metrics=res.metrics, trust="measured",
                        model_hash=record.content_hash, dataset_hash=data.dataset_hash,
                        source=f"measured by modellake bench ({spec.origin} task {spec.path})",
                        seed=run_seed, environment=env, duration_s=round(duration, 4),
                        created_at=utcnow(), outputs=res.outputs if keep and res.outputs else None,
                        model_version=record.version, task_kind=spec.kind,
                        task_hash=data.task_hash, stderr=stderr, n_samples=data.n_samples,
                        config={"batch_size": bs, "max_length": ml, "head": head,
                                "repeat": r + 1, "repeats": repeats,
                                "task_origin": spec.origin, "task_smoke": spec.smoke,
                                "higher_is_better": spec.directions(),
                                "runtime": ("transformers GGUF loader (weights dequantized to "
                                            "float32)" if handle.gguf_file else "transformers"),
                                "stderr_method": f"bootstrap over per-sample outputs "
                                                 f"({N_BOOT_STORED} resamples)" if stderr else None,
                                **res.config})
                    runs_db.add_run(catalog, run, record.id, res.fingerprint)
                    report.runs.append(run)
            handle.close()
            del handle
            if (record.num_parameters or 0) > 50_000_000:
                gc.collect()  # free a big model before loading the next (slow on a big heap)
    if on_progress:
        on_progress("", total, total)
    report.duration_s = time.perf_counter() - t_start
    return report


# =========================================================================== runs
@dataclass
class RunList(_JsonRecord):
    """``runs``: stored runs, newest first (per-sample outputs left out)."""

    runs: list[BenchmarkRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"runs": [r.summary() for r in self.runs]})


def list_runs(catalog: Catalog, model: str | None = None, task: str | None = None,
              trust: str = "all", limit: int | None = None) -> RunList:
    """Stored runs filtered by model (``name`` or ``name@N``), task, and trust level."""
    if model:
        _ensure_known_model(catalog, model)
    return RunList(runs_db.find_runs(catalog, model=model, task=task,
                                     trust=None if trust == "all" else _trusts(trust)[0],
                                     limit=limit))


def get_run(catalog: Catalog, run_id: int) -> BenchmarkRun:
    """One run with its per-sample outputs (``to_dict()`` includes them)."""
    return runs_db.get_run(catalog, run_id)


def _ensure_known_model(catalog: Catalog, spec: str) -> None:
    try:
        catalog.get_model(spec)
    except NotFoundError:
        name = spec.rpartition("@")[0] or spec
        if not runs_db.find_runs(catalog, model=name, limit=1):
            raise


# =========================================================================== leaderboard
@dataclass
class LeaderboardEntry(_JsonRecord):
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
class Leaderboard(_JsonRecord):
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
    never averaged together; each reported run is its own entry, with its source). Measured runs count only when they used the task's current
    definition and data (``task_hash``); the others are counted in ``excluded``. Only current
    model versions are ranked unless ``current_only`` is false. ``plot`` writes a bar chart
    (error bars: std over repeated runs).
    """
    root = _lake_root(catalog, lake_root)
    spec, data = _current_task(task, root)
    task_name = spec.name if spec else task
    if spec is not None and spec.kind == "probe":
        raise TaskError(f"task {task_name} is a probe set: it has no score to rank; use "
                        f"`modellake behaves-like MODEL` to compare fingerprints")
    trusts = _trusts(trust)
    runs = [r for t in trusts for r in runs_db.find_runs(catalog, task=task_name, trust=t,
                                                          current_only=current_only)]
    excluded: dict[str, int] = {}
    if data is not None:
        stale = [r for r in runs if r.trust == "measured" and r.task_hash != data.task_hash]
        if stale:
            excluded["other_task_version"] = len(stale)
        runs = [r for r in runs if not (r.trust == "measured" and r.task_hash != data.task_hash)]
    if metric is None:
        if spec is not None and spec.primary_metric:
            metric = spec.primary_metric
        else:
            counts: dict[str, int] = defaultdict(int)
            for r in runs:
                for m in r.metrics:
                    counts[m] += 1
            if not counts:
                err = NotFoundError(f"no {'/'.join(trusts)} runs of task {task_name!r}"
                                    + ("" if spec else " (and no such task is defined here)"))
                err.hint = "see `modellake runs`, or `modellake bench --list-tasks`"
                raise err
            metric = max(sorted(counts), key=lambda m: counts[m])
    missing_metric = [r for r in runs if not _finite(r.metrics.get(metric))]
    if missing_metric:
        excluded["no_such_metric"] = len(missing_metric)
    runs = [r for r in runs if _finite(r.metrics.get(metric))]
    hib = _direction(runs, metric, spec)
    groups: dict[tuple[Any, ...], list[BenchmarkRun]] = defaultdict(list)
    for r in runs:  # measured: repeats of one model version pool; reported: one entry per source
        key = (r.model, r.model_version, r.model_hash, r.trust)
        groups[key + ((r.id,) if r.trust == "reported" else ())].append(r)
    entries = []
    for (model, version, mhash, tr, *_), rs in groups.items():
        vals = [r.metrics[metric] for r in rs]
        ses = [r.stderr[metric] for r in rs if _finite(r.stderr.get(metric))]
        entries.append(LeaderboardEntry(
            rank=0, model=model, model_version=version, model_hash=mhash, trust=tr,
            value=float(np.mean(vals)), std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
            stderr=float(np.mean(ses)) if ses else None, n_runs=len(rs),
            run_ids=sorted(r.id for r in rs if r.id is not None),
            source=rs[0].source))
    entries.sort(key=lambda e: ((-e.value if hib else e.value), e.model, e.trust))
    for i, e in enumerate(entries, 1):
        e.rank = i
    notes = []
    if len(trusts) > 1 and {e.trust for e in entries} == {"measured", "reported"}:
        notes.append("measured and reported values come from different protocols and data; "
                     "each entry is labelled with its trust level")
    if spec is not None and spec.smoke:
        notes.append(f"{task_name} is a smoke-size built-in suite: useful to tell models apart, "
                     "too small to rank them for real use")
    board = Leaderboard(task=task_name, metric=metric, higher_is_better=hib, trust=trusts,
                        task_hash=data.task_hash if data else None, entries=entries,
                        excluded=excluded, notes=notes)
    if plot is not None:
        board.plot = str(plot_leaderboard(board, plot))
    return board


def _direction(runs: list[BenchmarkRun], metric: str, spec: TaskSpec | None) -> bool:
    if spec is not None and metric in spec.metrics:
        return spec.directions()[metric]
    for r in runs:
        hib = (r.config.get("higher_is_better") or {}).get(metric)
        if isinstance(hib, bool):
            return hib
    return higher_is_better(metric)


def plot_leaderboard(board: Leaderboard, out: str | Path) -> Path:
    """A horizontal bar chart of a leaderboard (PNG/SVG/PDF by suffix; matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = board.entries
    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.45 * len(entries) + 1.2)))
    try:
        if not entries:
            ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
        else:
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
        arrow = "higher is better" if board.higher_is_better else "lower is better"
        ax.set_xlabel(f"{board.metric} ({arrow}); error bars: std over repeated runs")
        ax.set_title(f"{board.task}: {', '.join(board.trust)} runs")
        fig.tight_layout()
        fig.savefig(out, dpi=120)
    finally:
        plt.close(fig)
    return out


# =========================================================================== compare
@dataclass
class CompareRow(_JsonRecord):
    """One metric of one task, for models A and B (``diff`` = B - A)."""

    task: str
    metric: str
    higher_is_better: bool
    trust: str
    a: float | None
    b: float | None
    diff: float | None
    spread: float | None
    spread_method: str            # repeats | bootstrap | stderr | none
    exceeds_spread: bool | None
    better: str | None            # "a" | "b" | "same" (within the spread) | None (unknown)
    ci95: list[float] | None      # paired bootstrap 95% interval of B - A over the examples
    significant: bool | None      # ci95 excludes 0: the difference holds when examples are resampled
    changed_fraction: float | None  # share of examples whose output differs between A and B
    n_samples: int | None
    a_runs: list[int]
    b_runs: list[int]
    note: str = ""


@dataclass
class Comparison(_JsonRecord):
    """``compare A B``: per task and metric, the difference and whether it exceeds the spread."""

    a: str
    b: str
    a_hash: str
    b_hash: str
    same_weights: bool
    trust: list[str]
    rows: list[CompareRow] = field(default_factory=list)
    behaviour: list[dict[str, Any]] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    spread_definition: str = (
        "repeats: std of the metric over repeated runs of the same model (pooled), as the std "
        "of the difference of the two means; exceeds_spread when |diff| > 2 x spread (or > 0 "
        "when repeats are identical). bootstrap (one run each): std of the difference under a "
        "paired bootstrap over the per-sample outputs; exceeds_spread when the 95% interval "
        "excludes 0. stderr (reported runs): sqrt(se_a^2 + se_b^2); exceeds when |diff| > 1.96 x spread. "
        "Independently, `significant` says whether the paired-bootstrap 95% interval of the "
        "difference over the examples excludes 0, and `changed_fraction` how many examples' "
        "outputs differ at all.")


def _changed(kind: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    if kind == "classification":
        return a.get("pred") != b.get("pred")
    if kind == "similarity":
        return abs(float(a["pred"]) - float(b["pred"])) > 1e-6
    if "nll" in a and "nll" in b:
        return abs(float(a["nll"]) - float(b["nll"])) > 1e-6 * max(1.0, abs(float(a["nll"])))
    return a != b


def _aligned(ra: BenchmarkRun, rb: BenchmarkRun) -> tuple[list[dict], list[dict]] | None:
    if not ra.outputs or not rb.outputs:
        return None
    ib = {o.get("id"): o for o in rb.outputs}
    pairs = [(o, ib[o.get("id")]) for o in ra.outputs if o.get("id") in ib]
    if not pairs:
        return None
    return [p[0] for p in pairs], [p[1] for p in pairs]


def compare(catalog: Catalog, a: str, b: str, *, tasks: Sequence[str] | None = None,
            trust: str = "measured", n_boot: int = 1000, seed: int = 0) -> Comparison:
    """Compare two model versions task by task, metric by metric.

    Measured rows use runs of the same task definition and data (``task_hash``; the newest
    one both models share; repeated runs pool). Reported rows (``trust="reported"`` or
    ``"all"``) pair the newest reported run of each model by task name, never pooling
    sources. Measured and reported values are never compared with each other. ``behaviour``
    lists probe-set fingerprint similarities (linear CKA, RSA, output cosine).
    """
    ra, rb = catalog.get_model(a), catalog.get_model(b)
    trusts = _trusts(trust)
    cmp = Comparison(a=f"{ra.name}@{ra.version}", b=f"{rb.name}@{rb.version}",
                     a_hash=ra.content_hash, b_hash=rb.content_hash,
                     same_weights=ra.content_hash == rb.content_hash, trust=trusts)
    want = set(tasks) if tasks else None

    def by_key(rec: ModelRecord, tr: str) -> dict[tuple[str, str], list[BenchmarkRun]]:
        out: dict[tuple[str, str], list[BenchmarkRun]] = defaultdict(list)
        for r in runs_db.find_runs(catalog, model=f"{rec.name}@{rec.version}", trust=tr,
                                   with_outputs=True):
            if want is None or r.task in want:
                out[(r.task, r.task_hash if tr == "measured" else "")].append(r)
        return out

    for tr in trusts:
        ga, gb = by_key(ra, tr), by_key(rb, tr)
        tasks_a = {k[0] for k in ga}
        tasks_b = {k[0] for k in gb}
        cmp.only_a += sorted(t for t in tasks_a - tasks_b)
        cmp.only_b += sorted(t for t in tasks_b - tasks_a)
        for task in sorted(tasks_a & tasks_b):
            common = [k for k in ga if k[0] == task and k in gb]
            if not common:
                cmp.rows.append(CompareRow(task, "", True, tr, None, None, None, None, "none", None,
                                           None, None, None, None, None, [], [],
                                           note="the two models ran different versions of this "
                                           "task's data; rerun both"))
                continue
            key = max(common, key=lambda k: max(r.id or 0 for r in ga[k] + gb[k]))
            runs_a, runs_b = ga[key], gb[key]
            if tr == "reported":  # never pool reported values from different sources
                runs_a, runs_b = runs_a[:1], runs_b[:1]
            kind = runs_a[0].task_kind
            if kind == "probe":
                cmp.behaviour.append(_behaviour_row(catalog, task, runs_a, runs_b))
                continue
            newest_a, newest_b = runs_a[0], runs_b[0]
            aligned = _aligned(newest_a, newest_b)
            metrics = sorted(set(newest_a.metrics) & set(newest_b.metrics))
            for m in metrics:
                va = [r.metrics[m] for r in runs_a if _finite(r.metrics.get(m))]
                vb = [r.metrics[m] for r in runs_b if _finite(r.metrics.get(m))]
                if not va or not vb:
                    continue
                row = _compare_metric(task, m, tr, kind, runs_a, runs_b, va, vb, aligned,
                                      n_boot, seed)
                cmp.rows.append(row)
    return cmp


def _compare_metric(task: str, m: str, tr: str, kind: str, runs_a: list[BenchmarkRun],
                    runs_b: list[BenchmarkRun], va: list[float], vb: list[float],
                    aligned: tuple[list[dict], list[dict]] | None,
                    n_boot: int, seed: int) -> CompareRow:
    hib = _direction(runs_a + runs_b, m, None)
    ma, mb = float(np.mean(va)), float(np.mean(vb))
    diff = mb - ma
    ci = None
    changed = None
    boot = None
    if aligned is not None and kind in ("similarity", "classification", "perplexity",
                                        "pseudo_perplexity"):
        xa, xb = aligned
        from modellake.tools.bench_kinds import label_codes, metric_stat

        codes = label_codes(xa, xb)
        boot = st.paired_bootstrap(len(xa), metric_stat(kind, xa, codes),
                                   metric_stat(kind, xb, codes), m, n_boot=n_boot, seed=seed)
        if boot:
            ci = [boot["lo"], boot["hi"]]
        changed = sum(_changed(kind, p, q) for p, q in zip(xa, xb)) / len(xa)
    spread: float | None = None
    method = "none"
    exceeds: bool | None = None
    note = ""
    if len(va) > 1 or len(vb) > 1:
        variances = [float(np.var(v, ddof=1)) for v in (va, vb) if len(v) > 1]
        s = math.sqrt(float(np.mean(variances)))
        spread = s * math.sqrt(1 / len(va) + 1 / len(vb))
        method = "repeats"
        tol = 1e-9 * max(1.0, abs(ma), abs(mb))
        exceeds = abs(diff) > max(2 * spread, tol)
        if spread <= tol:
            note = "repeated runs gave identical values: any difference is the models'"
    elif boot is not None:
        spread, method = boot["se"], "bootstrap"
        exceeds = not (boot["lo"] <= 0.0 <= boot["hi"])
        if not exceeds and changed:
            note = (f"outputs differ on {changed:.0%} of the examples, but the difference is "
                    "within what resampling the examples gives; run with repeats to measure "
                    "run-to-run spread")
    else:
        sa = [r.stderr.get(m) for r in runs_a if _finite(r.stderr.get(m))]
        sb = [r.stderr.get(m) for r in runs_b if _finite(r.stderr.get(m))]
        if sa and sb:
            spread = math.sqrt(float(np.mean(sa)) ** 2 + float(np.mean(sb)) ** 2)
            method = "stderr"
            exceeds = abs(diff) > 1.96 * spread
    better = None
    if exceeds is not None:
        better = "same" if not exceeds else (("b" if diff > 0 else "a") if hib else
                                             ("b" if diff < 0 else "a"))
    n = runs_a[0].n_samples
    return CompareRow(task=task, metric=m, higher_is_better=hib, trust=tr, a=ma, b=mb, diff=diff,
                      spread=spread, spread_method=method, exceeds_spread=exceeds, better=better,
                      ci95=ci, significant=None if ci is None else not (ci[0] <= 0.0 <= ci[1]),
                      changed_fraction=changed, n_samples=n,
                      a_runs=[r.id for r in runs_a if r.id], b_runs=[r.id for r in runs_b if r.id],
                      note=note)


def _fp_similarity(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {"cka": st.linear_cka(x, y), "rsa": st.rsa(x, y),
            "cosine": st.mean_row_cosine(x, y) if x.shape == y.shape else None}


def _behaviour_row(catalog: Catalog, task: str, runs_a: list[BenchmarkRun],
                   runs_b: list[BenchmarkRun]) -> dict[str, Any]:
    fa = runs_db.get_fingerprint(catalog, runs_a[0].id)
    fb = runs_db.get_fingerprint(catalog, runs_b[0].id)
    row: dict[str, Any] = {"task": task, "a_run": runs_a[0].id, "b_run": runs_b[0].id}
    if fa is None or fb is None:
        return {**row, "note": "fingerprint missing"}
    sim = _fp_similarity(fa, fb)
    # run-to-run spread of a fingerprint: 1 - CKA between repeated runs of the same model
    self_d = []
    for rs in (runs_a, runs_b):
        if len(rs) > 1:
            f0, f1 = (runs_db.get_fingerprint(catalog, r.id) for r in rs[:2])
            if f0 is not None and f1 is not None:
                self_d.append(1.0 - st.linear_cka(f0, f1))
    distance = 1.0 - sim["cka"]
    row.update(sim, distance=distance, identical=bool(np.array_equal(fa, fb)),
               spread=max(self_d) if self_d else None,
               exceeds_spread=(distance > 2 * max(self_d) + 1e-12) if self_d else None)
    return row


# =========================================================================== behaves like
@dataclass
class Neighbour(_JsonRecord):
    """A model whose probe-set outputs resemble the query model's."""

    model: str
    model_version: int | None
    cka: float                 # linear CKA over the probe inputs (1 = same geometry)
    rsa: float                 # Spearman of the input-by-input cosine matrices
    cosine: float | None       # mean cosine of matching outputs (same width only)
    same_layout: bool          # same tensor names and shapes as the query model
    run_id: int | None


@dataclass
class BehavesLike(_JsonRecord):
    """``behaves-like NAME``: models ranked by how closely their fingerprints match."""

    model: str
    task: str
    task_hash: str
    method: str
    neighbours: list[Neighbour] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[BenchError] = field(default_factory=list)


def behaves_like(catalog: Catalog, name: str, *, task: str = "probe-smoke", top: int = 10,
                 lake_root: str | Path | None = None, run_missing: bool = False,
                 device: str = "cpu", threads: int | None = None,
                 on_progress: Progress | None = None) -> BehavesLike:
    """Models whose outputs on the probe set are closest to ``name``'s, best first.

    Fingerprints are compared by linear CKA over the probe inputs, so models of different
    widths and weight layouts compare. With ``run_missing`` the query model and every other
    current model with weights but no fingerprint are benchmarked on the probe set first
    (loads each model once; refusals are listed in ``errors``).
    """
    root = _lake_root(catalog, lake_root)
    spec = get_task(task, root)
    if spec.kind != "probe":
        raise TaskError(f"task {spec.name} is a {spec.kind} task, not a probe set; "
                        "pick a task of kind probe (e.g. probe-smoke)")
    data = load_task_data(spec)
    target = catalog.get_model(name)
    result = BehavesLike(model=target.name, task=spec.name, task_hash=data.task_hash,
                         method="linear CKA over the probe inputs' mean-pooled last hidden states")
    have = {r.model for r, _ in runs_db.latest_fingerprints(catalog, data.task_hash)}
    if run_missing:
        todo = [m.name for m in catalog.list_models(with_card=False)
                if m.name not in have and m.format not in ("card", "adapter")]
        if todo:
            rep = bench(catalog, todo, [spec.path], lake_root=root, device=device,
                        threads=threads, on_progress=on_progress)
            result.errors = rep.errors
    fps = runs_db.latest_fingerprints(catalog, data.task_hash)
    mine = next(((r, f) for r, f in fps if r.model == target.name), None)
    if mine is None:
        raise TaskError(f"model {target.name} has no fingerprint on probe set {spec.name} yet: "
                        f"run `modellake bench {target.name} --task {spec.name}` (or ask "
                        "behaves-like to run missing fingerprints)")
    layouts = {m.name: m.layout_hash for m in catalog.list_models(with_card=False)}
    for run, fp in fps:
        if run.model == target.name:
            continue
        sim = _fp_similarity(mine[1], fp)
        result.neighbours.append(Neighbour(
            model=run.model, model_version=run.model_version, cka=sim["cka"], rsa=sim["rsa"],
            cosine=sim["cosine"],
            same_layout=bool(layouts.get(run.model)) and layouts.get(run.model) == layouts.get(target.name),
            run_id=run.id))
    result.neighbours.sort(key=lambda n: (-(n.cka if _finite(n.cka) else -1), n.model))
    result.neighbours = result.neighbours[:top]
    with_fp = {r.model for r, _ in fps}
    result.missing = sorted(m.name for m in catalog.list_models(with_card=False)
                            if m.name not in with_fp)
    return result


# =========================================================================== import
@dataclass
class ImportReport(_JsonRecord):
    """``import-results FILE --model NAME``: the reported runs stored from one file."""

    model: str
    file: str
    format: str
    runs: list[BenchmarkRun] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"model": self.model, "file": self.file, "format": self.format,
                          "runs": [r.summary() for r in self.runs], "duplicates": self.duplicates,
                          "skipped": self.skipped, "warnings": self.warnings})


def _loose(s: str) -> str:
    return "".join(ch for ch in s.lower().rsplit("/", 1)[-1] if ch.isalnum())


def import_results(catalog: Catalog, path: str | Path, model: str, *,
                   format: str | None = None) -> ImportReport:  # noqa: A002 - CLI name
    """Store the results in an lm-evaluation-harness JSON or a model-index YAML (or a card
    with one) as ``reported`` runs of lake model ``model`` (``name`` or ``name@N``; a
    card-only model is fine). Importing the same file again stores nothing new."""
    record = catalog.get_model(model)
    parsed = parse_results_file(path, format)
    report = ImportReport(model=record.name, file=str(path), format=parsed.format,
                          skipped=parsed.skipped)
    mine = _loose(record.name)
    others = [m for m in parsed.reported_models if m and _loose(m) != mine]
    if others and len(others) == len(parsed.reported_models):
        report.warnings.append(f"the file reports results for {', '.join(sorted(set(others)))}, "
                               f"stored under lake model {record.name} as asked")
    imported_at = utcnow()
    with catalog.transaction():  # the whole file or nothing
        stored_before = {run.task for run in parsed.runs if record.id is not None and
                         runs_db.reported_exists(catalog, record.id, run.task,
                                                 run.config.get("source_sha256", ""))}
        for run in parsed.runs:
            if run.task in stored_before:
                report.duplicates += 1
                continue
            run.model = record.name
            run.model_version = record.version
            run.model_hash = record.content_hash
            run.created_at = imported_at
            run.config["imported_at"] = imported_at
            runs_db.add_run(catalog, run, record.id)
            report.runs.append(run)
    return report

