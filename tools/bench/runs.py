"""Running benchmarks: each task on each lake model, every run stored with its provenance.

The functions behind ``modellake bench`` (and ``bench --list-tasks``). Each returns a
typed record whose ``to_dict()`` is the command's ``--json`` output.

* A task is data (see :mod:`modellake.tools.bench.tasks`): built-in smoke-size suites in
  ``tools/bench/data/tasks/``, the lake's own in ``LAKE/tasks/``, or any task YAML path.
* A run made here is ``measured``; ``reported`` runs come from
  :func:`~modellake.tools.bench.importer.import_results`. Reading stored runs back is
  :mod:`.results`; comparing them, :mod:`.compare`.
"""
from __future__ import annotations

import gc
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modellake.store.catalog import Catalog, utcnow
from modellake.store.errors import TaskError
from modellake.store.records import BenchmarkRun, ModelRecord
from modellake.tools.bench import stats as st
from modellake.tools.bench.records import JsonRecord, Progress, finite, lake_root_of
from modellake.tools.bench.results import (
    TABLE_FROM,
    bullets,
    capped_table,
    metrics_text,
    reason,
    score,
    sentence,
)
from modellake.tools.bench.tasks import TaskData, TaskSpec, get_task, load_task_data
from modellake.tools.bench.tasks import list_tasks as _list_tasks
from modellake.tools.rendering import join, plural

if TYPE_CHECKING:
    from modellake.tools.bench.kinds import KindResult
    from modellake.tools.bench.models import ModelHandle

__all__ = ["BenchError", "BenchReport", "TaskList", "bench", "environment", "list_tasks"]

KEEP_OUTPUTS_MAX = 10_000  # per-sample outputs are kept by default up to this many samples
N_BOOT_STORED = 200        # bootstrap resamples behind a stored run's stderr
BIG_MODEL_PARAMS = 50_000_000  # after a model this big, collect garbage before the next


# =========================================================================== tasks
@dataclass
class TaskList(JsonRecord):
    """``bench --list-tasks``: every task this lake knows."""

    SUMMARIZED = ("tasks",)

    tasks: list[TaskSpec] = field(default_factory=list)

    _KINDS = {"classification": "classification", "similarity": "sentence similarity",
              "perplexity": "perplexity of a causal LM",
              "pseudo_perplexity": "pseudo-perplexity of a masked LM", "probe": "probe set"}

    def summary(self) -> str:
        if not self.tasks:
            return "No benchmark task is defined."
        return f"{plural(len(self.tasks), 'benchmark task')}: {join([t.name for t in self.tasks])}."

    def text(self) -> str:
        if not self.tasks:
            return ("No benchmark task is defined here. Add a task YAML file to the lake's "
                    "tasks/ folder, or pass a task file's path to `modellake bench --task`.")
        origins = {t.origin for t in self.tasks}
        where = {"builtin": "built in", "lake": "the lake's own", "file": "from files"}
        facts = [where.get(o, o) for o in origins] if len(origins) == 1 else []
        smoke = all(t.smoke for t in self.tasks)
        if smoke:
            facts.append("smoke-size")
        lead = (f"{plural(len(self.tasks), 'benchmark task')} can run here"
                + (f", all {join(facts)}" if facts else "")
                + (" (good to tell models apart, too small to rank them for real use)" if smoke
                   else "") + ".")
        if len(self.tasks) >= TABLE_FROM:
            rows = [[t.name, self._kind(t), self._scored(t), t.description] for t in self.tasks]
            body = capped_table(["task", "kind", "scored by", "description"], rows, "task")
        else:
            body = bullets([f"{t.name}: {self._kind(t)}, {self._scored(t)}"
                            + (f". {sentence(t.description)}" if t.description else ".")
                            for t in self.tasks])
        tail = "Run one with `modellake bench MODEL --task NAME`."
        if any(t.kind == "probe" for t in self.tasks):
            tail += (" A probe set has no score: `modellake behaves-like MODEL` compares models "
                     "by their outputs on it.")
        return f"{lead}\n\n{body}\n\n{tail}"

    def _kind(self, t: TaskSpec) -> str:
        return self._KINDS.get(t.kind, t.kind or "unknown kind")

    @staticmethod
    def _scored(t: TaskSpec) -> str:
        if not t.metrics:
            return "no score"
        lower = [m for m, hib in t.directions().items() if not hib]
        return "scored by " + join(t.metrics) + (" (lower is better)" if lower else "")


def list_tasks(catalog: Catalog | None = None, lake_root: str | Path | None = None) -> TaskList:
    """Built-in tasks plus ``LAKE/tasks/*.yaml`` (from ``catalog``'s lake, or ``lake_root``)."""
    root = lake_root if lake_root is not None else (catalog.root if catalog else None)
    return TaskList(_list_tasks(root))


# =========================================================================== records
@dataclass
class BenchError(JsonRecord):
    """A model/task pair that did not run, and why (a refusal or a failure)."""

    model: str
    task: str
    error: str


@dataclass
class BenchReport(JsonRecord):
    """What one ``bench`` call did: the stored runs, and the pairs that could not run."""

    SUMMARIZED = ("runs",)

    runs: list[BenchmarkRun] = field(default_factory=list)
    errors: list[BenchError] = field(default_factory=list)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "duration_s": round(self.duration_s, 3)}

    # -- words -----------------------------------------------------------------------------
    def _pairs(self) -> dict[tuple[str, str], list[BenchmarkRun]]:
        """The runs by (model, task): repeats of one pair together."""
        out: dict[tuple[str, str], list[BenchmarkRun]] = {}
        for r in self.runs:
            out.setdefault((r.model, r.task), []).append(r)
        return out

    def _took(self) -> str:
        s = self.duration_s
        if not finite(s) or s <= 0:
            return ""
        if s < 60:
            return f" in {score(s)} s"
        return f" in {int(s // 60)} min {int(round(s % 60))} s"

    @staticmethod
    def _scores(runs: list[BenchmarkRun]) -> str:
        """One pair's scores: the run's, or over repeats the same or the mean."""
        first = runs[0]
        if first.task_kind == "probe" and not first.metrics:
            return "a fingerprint (a probe set has no score)"
        if len(runs) == 1:
            return metrics_text(first.metrics)
        names = [m for m, v in first.metrics.items() if finite(v)][:3]
        parts = []
        for m in names:
            vals = [r.metrics.get(m) for r in runs if finite(r.metrics.get(m))]
            if all(v == vals[0] for v in vals):
                parts.append(f"{m} {score(vals[0])}")
            else:
                parts.append(f"{m} {score(sum(vals) / len(vals))} on average")
        same = all(all(r.metrics.get(m) == first.metrics.get(m) for m in names) for r in runs)
        return join(parts) + (f" in each of {len(runs)} runs" if same else f" over {len(runs)} runs")

    def summary(self) -> str:
        n = len(self.errors)
        failed = f"{plural(n, 'model/task pair')} could not run" if n else ""
        if not self.runs:
            return f"Nothing stored: {failed}." if n else "Nothing ran."
        return f"Stored {plural(len(self.runs), 'run')}{self._took()}" + (
            f"; {failed}." if n else ".")

    def text(self) -> str:
        pairs = self._pairs()
        paras = []
        if not self.runs and not self.errors:
            return "Nothing ran: no model and task were given."
        if len(pairs) == 1:
            (model, task), runs = next(iter(pairs.items()))
            if runs[0].task_kind == "probe" and not runs[0].metrics:
                paras.append(f"Stored {model}'s fingerprint on the probe set {task}{self._took()}: "
                             "`modellake behaves-like` compares models by it.")
            else:
                paras.append(f"{model} scored {self._scores(runs)} on {task} (measured here, "
                             f"{plural(len(runs), 'run')} stored{self._took()}).")
        elif pairs:
            paras.append(f"Stored {plural(len(self.runs), 'new measured run')}{self._took()}: "
                         f"{plural(len({m for m, _ in pairs}), 'model')} on "
                         f"{plural(len({t for _, t in pairs}), 'task')}.")
            if len(pairs) >= TABLE_FROM:
                paras.append(capped_table(["model", "task", "scores"],
                                          [[m, t, self._scores(rs)] for (m, t), rs in pairs.items()],
                                          "result"))
            else:
                paras.append(bullets([f"{m} on {t}: {self._scores(rs)}"
                                      for (m, t), rs in pairs.items()]))
        if self.errors:
            paras.append(self._errors_text(bool(pairs)))
        return "\n\n".join(paras)

    def _errors_text(self, some_ran: bool) -> str:
        """The pairs that did not run, one line per model and reason."""
        by: dict[tuple[str, str], list[str]] = {}
        for e in self.errors:
            by.setdefault((e.model, reason(e.model, e.error)), []).append(e.task)
        lines = [(model, join(tasks), error.strip().rstrip(".") + ".")
                 for (model, error), tasks in by.items()]
        if len(lines) == 1:
            model, tasks, why = lines[0]
            head = "" if some_ran else "Nothing was stored: "
            return f"{head}{model} could not run {tasks}. {sentence(why)}"
        head = "Not run:" if some_ran else "Nothing was stored; no model could run its tasks:"
        return head + "\n" + bullets([f"{m} on {t}: {why}" for m, t, why in lines])


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
    env["device_name"] = _device_name(device)
    return env


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(0)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f
                         if ln.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor() or platform.machine()


# =========================================================================== running
@dataclass
class _Options:
    """How one ``bench`` call runs each model/task pair (checked when made)."""

    seed: int
    repeats: int
    batch_size: int | None
    max_length: int | None
    keep_outputs: bool | None
    threads: int | None
    head: str
    verify: bool
    engine: str

    def __post_init__(self) -> None:
        from modellake.tools.bench.models import ENGINES

        if self.repeats < 1:
            raise ValueError("repeats must be >= 1")
        if self.head not in ("auto", "probe", "head"):
            raise ValueError("head must be auto, probe or head")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")


class _Counter:
    """Examples done over a whole ``bench`` call, reported to ``on_progress``."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.total, self.done, self.on_progress = total, 0, on_progress

    def tick_for(self, label: str) -> Callable[[int], None]:
        def tick(n: int) -> None:
            self.done += n
            if self.on_progress:
                self.on_progress(label, min(self.done, self.total), self.total)
        return tick

    def skip(self, n: int) -> None:
        """Count ``n`` examples that will not run (a refused pair) as done, silently."""
        self.done += n

    def finish(self) -> None:
        if self.on_progress:
            self.on_progress("", self.total, self.total)


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
    :func:`~modellake.tools.bench.compare.compare` can measure the run-to-run spread.
    ``head``: ``auto`` uses a model's own classifier head when its labels match the task's,
    ``probe`` always trains a linear probe, ``head`` refuses models without a matching head.
    ``keep_outputs`` (default: tasks up to 10,000 samples) stores per-sample outputs.
    ``verify`` re-hashes the model's files so the run is tied to the weights actually
    evaluated. ``threads``: torch threads (default: every idle core; one for models under 5M
    parameters). ``engine``: ``auto`` computes BERT encoders' embeddings with the
    padding-free forward of :mod:`packed_bert` once it has matched transformers on the task's
    inputs; ``transformers`` always uses transformers (the run's ``config.runtime`` says
    which ran). ``on_progress(label, done, total)`` counts examples over the whole call.
    """
    from modellake.tools.bench.kinds import work_units
    from modellake.tools.bench.models import resolve_device

    opts = _Options(seed=seed, repeats=repeats, batch_size=batch_size, max_length=max_length,
                    keep_outputs=keep_outputs, threads=threads, head=head, verify=verify,
                    engine=engine)
    t_start = time.perf_counter()
    root = lake_root_of(catalog, lake_root)
    datas: list[TaskData] = [load_task_data(get_task(t, root)) for t in tasks]
    records: list[ModelRecord] = [catalog.get_model(m) for m in models]
    dev = resolve_device(device)
    report = BenchReport()
    counter = _Counter(sum(work_units(d) for d in datas) * len(records) * repeats, on_progress)
    for record in records:
        _bench_model(catalog, record, datas, dev, opts, counter, report)
    counter.finish()
    report.duration_s = time.perf_counter() - t_start
    return report


def _bench_model(catalog: Catalog, record: ModelRecord, datas: list[TaskData], dev: str,
                 opts: _Options, counter: _Counter, report: BenchReport) -> None:
    """Load one model once and run every task on it (a model that cannot load is refused)."""
    from modellake.tools.bench.kinds import work_units
    from modellake.tools.bench.models import ModelHandle, threads_for, torch_threads

    with torch_threads(opts.threads or threads_for(record)) as n_threads:
        env = environment(dev, n_threads)
        try:
            handle = ModelHandle(record, dev, verify=opts.verify, engine=opts.engine)
        except TaskError as exc:
            report.errors += [BenchError(record.name, d.spec.name, str(exc)) for d in datas]
            counter.skip(sum(work_units(d) for d in datas) * opts.repeats)
            return
        for data in datas:
            _bench_task(catalog, record, handle, data, env, opts, counter, report)
        handle.close()
        del handle
        if (record.num_parameters or 0) > BIG_MODEL_PARAMS:
            gc.collect()  # free a big model before loading the next (slow on a big heap)


def _bench_task(catalog: Catalog, record: ModelRecord, handle: ModelHandle, data: TaskData,
                env: dict[str, Any], opts: _Options, counter: _Counter,
                report: BenchReport) -> None:
    """Run one task on a loaded model ``repeats`` times and store each run."""
    from modellake.tools.bench.kinds import work_units

    spec = data.spec
    try:
        handle.check(spec.kind)
    except TaskError as exc:
        report.errors.append(BenchError(record.name, spec.name, str(exc)))
        counter.skip(work_units(data) * opts.repeats)
        return
    bs = opts.batch_size or spec.option("batch_size")
    ml = opts.max_length or spec.option("max_length")
    tick = counter.tick_for(f"{record.name} · {spec.name}")
    for r in range(opts.repeats):
        run_seed = opts.seed + r
        t0 = time.perf_counter()
        try:
            res = _run_seeded(handle, data, bs, ml, tick, opts.head, run_seed)
        except TaskError as exc:
            report.errors.append(BenchError(record.name, spec.name, str(exc)))
            break
        except (RuntimeError, ValueError, MemoryError, IndexError) as exc:
            report.errors.append(BenchError(
                record.name, spec.name,
                f"model {record.name} failed on task {spec.name}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"))
            break
        run = _measured_run(record, handle, data, res, env, opts, repeat=r, batch_size=bs,
                            max_length=ml, duration=time.perf_counter() - t0)
        catalog.runs.add(run, record.id, res.fingerprint)
        report.runs.append(run)


def _run_seeded(handle: ModelHandle, data: TaskData, batch_size: int, max_length: int,
                tick: Callable[[int], None], head: str, seed: int) -> KindResult:
    """One run of a task, with torch's global generator seeded and restored afterwards."""
    import torch

    from modellake.tools.bench.kinds import run_kind

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return run_kind(handle, data, batch_size=batch_size, max_length=max_length,
                        tick=tick, head=head, seed=seed)


def _bootstrap_stderr(kind: str, res: KindResult, seed: int) -> dict[str, float]:
    """Each metric's standard error, bootstrapped over the run's per-sample outputs."""
    from modellake.tools.bench.kinds import metric_stat

    stderr: dict[str, float] = {}
    stat = metric_stat(kind, res.outputs)
    for m in res.metrics:
        se = st.bootstrap_se(len(res.outputs), stat, m, n_boot=N_BOOT_STORED, seed=seed)
        if se is not None:
            stderr[m] = se
    return stderr


def _measured_run(record: ModelRecord, handle: ModelHandle, data: TaskData, res: KindResult,
                  env: dict[str, Any], opts: _Options, *, repeat: int, batch_size: int,
                  max_length: int, duration: float) -> BenchmarkRun:
    """The stored record of one measured run, with its provenance."""
    spec, run_seed = data.spec, opts.seed + repeat
    keep = opts.keep_outputs if opts.keep_outputs is not None else data.n_samples <= KEEP_OUTPUTS_MAX
    stderr = _bootstrap_stderr(spec.kind, res, run_seed)
    return BenchmarkRun(
        model=record.name, task=spec.name, metrics=res.metrics, trust="measured",
        model_hash=record.content_hash, dataset_hash=data.dataset_hash,
        source=f"measured by modellake bench ({spec.origin} task {spec.path})",
        seed=run_seed, environment=env, duration_s=round(duration, 4),
        created_at=utcnow(), outputs=res.outputs if keep and res.outputs else None,
        model_version=record.version, task_kind=spec.kind,
        task_hash=data.task_hash, stderr=stderr, n_samples=data.n_samples,
        config={"batch_size": batch_size, "max_length": max_length, "head": opts.head,
                "repeat": repeat + 1, "repeats": opts.repeats,
                "task_origin": spec.origin, "task_smoke": spec.smoke,
                "higher_is_better": spec.directions(),
                "runtime": ("transformers GGUF loader (weights dequantized to "
                            "float32)" if handle.gguf_file else "transformers"),
                "stderr_method": f"bootstrap over per-sample outputs "
                                 f"({N_BOOT_STORED} resamples)" if stderr else None,
                **res.config})
