"""The Runs tab: every benchmark run in one table, a run's provenance, leaderboards, comparisons.

    page = runs_tab(h, names)   # inside ``with gr.Tabs():``; h is a ``Handlers``

A table of every stored run (sortable by a header click, searchable, filtered by model, task
and trust), filled when the tab is built and, with every picker, again whenever the tab is
opened or Refresh is pressed. Clicking a row shows that run's provenance as a list. Below: a task's leaderboard
with its chart (``/leaderboard``) and two models side by side (``/compare``), as before.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import gradio as gr

from modellake.store.records import BenchmarkRun
from modellake.tools.rendering import join, plural, round_score
from modellake.ui.handlers import clicked_row, esc

RUN_COLUMNS = ["model", "task", "metric", "value", "trust", "time (UTC)", "run id"]
RUN_TYPES = ["str", "str", "str", "number", "str", "str", "number"]
BOARD_COLUMNS = ["rank", "model", "version", "trust", "value", "std", "runs"]
TRUSTS = ["all", "measured", "reported"]
SHOWN_SEEDS = 12  # the per-seed list names at most this many runs


@dataclass
class RunsPage:
    """The Runs tab's components that app.py may refresh (model pickers) or wire further."""

    model_filter: gr.Dropdown  # choices: "" (every model) and the lake's model names
    model_a: gr.Dropdown
    model_b: gr.Dropdown
    task_filter: gr.Dropdown
    board_task: gr.Dropdown
    table: gr.Dataframe
    refresh: gr.Button


# =========================================================================== words
def _num(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return round_score(v) if math.isfinite(v) else "no value"
    return str(v)


def _code(text: Any) -> str:
    return "`" + str(text).replace("`", "'") + "`"


def _words(v: Any) -> str:
    """Any stored value as plain words: nested mappings as "key value, ...", lists joined."""
    if isinstance(v, dict):
        return ", ".join(f"{_label(k)} {_words(x)}" for k, x in v.items() if x not in (None, "", [], {}))
    if isinstance(v, (list, tuple)):
        return join([_words(x) for x in v])
    return esc(_num(v))


def _label(key: str) -> str:
    return esc(str(key).replace("_", " "))


def when(created_at: str | None) -> str:
    """"2026-01-05 14:03:07" (UTC) from a stored ISO time."""
    t = _parse_time(created_at)
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else (created_at or "")[:19]


def _parse_time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """"11 ms", "2.7 s", "12.5 s", "3 min 5 s", "2 h 4 min"."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def one_line(text: str) -> str:
    """An error as one "⚠️ ..." line."""
    text = " ".join(str(text).replace("⚠️", "").split())
    return f"⚠️ {text}"


# =========================================================================== the table
def main_metric(run: BenchmarkRun, primary: str | None) -> str | None:
    """The metric a run is listed by: its task's primary metric, else its first numeric one."""
    if primary and primary in run.metrics:
        return primary
    return next((k for k, v in run.metrics.items() if isinstance(v, (int, float))), None)


def run_row(run: BenchmarkRun, primary: str | None) -> list[Any]:
    metric = main_metric(run, primary)
    value = run.metrics.get(metric) if metric else None
    value = float(f"{value:.4g}") if isinstance(value, (int, float)) and math.isfinite(value) else None
    model = f"{run.model}@{run.model_version}" if (run.model_version or 1) > 1 else run.model
    return [model, run.task, metric or "-", value, run.trust, when(run.created_at), run.id]


def runs_note(runs: list[BenchmarkRun]) -> str:
    if not runs:
        return ("No runs match. Measure one with `modellake bench MODEL --task TASK`, or import "
                "reported results with `modellake import-results FILE --model MODEL`.")
    n_m = sum(r.trust == "measured" for r in runs)
    models, tasks = {r.model for r in runs}, {r.task for r in runs}
    return (f"{plural(len(runs), 'run')} of {plural(len(models), 'model')} on "
            f"{plural(len(tasks), 'task')}: {n_m} measured here, {len(runs) - n_m} reported. "
            "Click a row for its provenance; sort or filter a column with its ⋮ menu.")


# =========================================================================== provenance
def provenance(run: BenchmarkRun, seeds: list[BenchmarkRun], spec: Any = None) -> str:
    """A run's provenance as a Markdown list (whatever the record holds); ``spec``: its task's
    current definition, if the lake has one."""
    primary = spec.primary_metric if spec else None
    head = (f"### Run {run.id}: {esc(run.model)} on {esc(run.task)}\n"
            f"{'Measured here' if run.trust == 'measured' else 'Reported (not measured here)'}"
            f" · {esc(run.source or 'no source recorded')}")
    lines = (_score_lines(run) + _model_lines(run) + _data_lines(run, spec) + _how_lines(run)
             + _env_lines(run) + _time_lines(run) + _seed_lines(run, seeds, primary))
    return head + "\n\n" + "\n".join(f"- {ln}" for ln in lines if ln)


def _score_lines(run: BenchmarkRun) -> list[str]:
    scores = [f"{esc(k)} **{_num(v)}**" + (f" ± {_num(run.stderr[k])}" if k in run.stderr else "")
              for k, v in run.metrics.items()]
    method = run.config.get("stderr_method")
    return [("**Scores**: " + ", ".join(scores)) if scores else "**Scores**: none (a fingerprint run)",
            f"**Standard error** (±): {esc(method)}" if method and run.stderr else ""]


def _model_lines(run: BenchmarkRun) -> list[str]:
    version = f" version {run.model_version}" if run.model_version is not None else ""
    hashed = f", weights sha256 {_code(run.model_hash)}" if run.model_hash else ""
    named = run.config.get("reported_model")
    also = f" (named {esc(named)} in the source)" if named and named != run.model else ""
    return [f"**Model**: {esc(run.model)}{version}{hashed}{also}"]


def _data_lines(run: BenchmarkRun, spec: Any) -> list[str]:
    ds = run.config.get("dataset") or (f"{Path(spec.data).name} (data of the {spec.origin} task)" if spec else None)
    kind = f" ({esc(run.task_kind.replace('_', ' '))})" if run.task_kind else ""
    smoke = ", a smoke-size built-in suite" if run.config.get("task_smoke") else ""
    out = [f"**Task**: {esc(run.task)}{kind}{smoke}"
           + (f", {plural(run.n_samples, 'sample')}" if run.n_samples else "")]
    if ds:
        out.append(f"**Dataset**: {_words(ds)}")
    if run.dataset_hash:
        out.append(f"**Dataset hash**: {_code(run.dataset_hash)}")
    if run.task_hash:
        out.append(f"**Task hash** (data and definition): {_code(run.task_hash)}")
    return out


_SHOWN_ELSEWHERE = {"stderr_method", "evaluated_at", "dataset", "reported_model", "runtime", "higher_is_better",
                    "task_smoke", "repeat", "repeats", "path", "file", "source_sha256", "from_card"}


def _how_lines(run: BenchmarkRun) -> list[str]:
    c = run.config
    out = []
    if run.seed is not None:
        many = isinstance(c.get("repeats"), int) and c["repeats"] > 1
        rep = f" (repeat {c.get('repeat')} of {c['repeats']})" if many else ""
        out.append(f"**Seed**: {run.seed}{rep}")
    if c.get("runtime"):
        out.append(f"**Engine**: {esc(c['runtime'])}")
    settings = {k: v for k, v in c.items() if k not in _SHOWN_ELSEWHERE and v not in (None, "", [], {})}
    if settings:
        out.append("**Settings**: " + "; ".join(f"{_label(k)}: {_words(v)}" for k, v in settings.items()))
    if c.get("path") or c.get("file"):
        sha = f", sha256 {_code(c['source_sha256'])}" if c.get("source_sha256") else ""
        out.append(f"**Source file**: {_code(c.get('path') or c.get('file'))}{sha}")
    if run.trust == "measured":
        version = f"@{run.model_version}" if run.model_version else ""
        out.append("**Command** (to rerun it): " + _code(
            f"modellake bench {run.model}{version} --task {run.task} --seed {run.seed or 0}"))
    return out


def _env_lines(run: BenchmarkRun) -> list[str]:
    env = {k: v for k, v in run.environment.items() if v not in (None, "")}
    hw = [env.pop(k) for k in ("device", "device_name") if k in env]
    threads = env.pop("threads", None)
    out = []
    if hw or threads:
        hw = list(dict.fromkeys(str(x) for x in hw))
        out.append("**Hardware**: " + esc(hw[0] + (f" ({', '.join(hw[1:])})" if hw[1:] else ""))
                   + (f", {plural(int(threads), 'thread')}" if threads else ""))
    if env:
        out.append("**Versions**: " + ", ".join(f"{_label(k)} {_words(v)}" for k, v in env.items()))
    return out


def _time_lines(run: BenchmarkRun) -> list[str]:
    end = _parse_time(run.created_at)
    if run.trust != "measured":
        evaluated = run.config.get("evaluated_at")
        return ([f"**Evaluated**: {esc(evaluated)}"] if evaluated else []) + (
            [f"**Imported**: {when(run.created_at)} UTC"] if run.created_at else [])
    if end is None or run.duration_s is None:
        return [f"**Finished**: {when(run.created_at)} UTC"] if run.created_at else []
    start = end - timedelta(seconds=run.duration_s)
    return [f"**Started**: {start:%Y-%m-%d %H:%M:%S} UTC, **finished**: {end:%Y-%m-%d %H:%M:%S} UTC "
            f"(took {duration(run.duration_s)})"]


def _seed_lines(run: BenchmarkRun, seeds: list[BenchmarkRun], primary: str | None) -> list[str]:
    metric = main_metric(run, primary)
    vals = [(r, r.metrics.get(metric)) for r in sorted(seeds, key=lambda r: (r.seed or 0, r.id or 0))]
    vals = [(r, v) for r, v in vals if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(vals) < 2 or metric is None:
        return []
    shown = [f"seed {r.seed}: {_num(v)}" + (" (this run)" if r.id == run.id else "")
             for r, v in vals[:SHOWN_SEEDS]]
    more = f" and {len(vals) - SHOWN_SEEDS} more" if len(vals) > SHOWN_SEEDS else ""
    xs = [v for _, v in vals]
    mean = sum(xs) / len(xs)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return [f"**Per-seed {esc(metric)}** (this model version, task and data): "
            + "; ".join(shown) + more + f"; mean {_num(mean)}, std {_num(std)}"]


# =========================================================================== callbacks
class RunsView:
    """The tab's callbacks over one app's ``Handlers`` (each call opens its own catalog)."""

    def __init__(self, h: Any) -> None:
        self.h = h

    def _specs(self, cat: Any) -> dict[str, Any]:
        """Task name -> its definition (``TaskSpec``), for the lake's tasks."""
        from modellake.tools.bench import list_tasks

        try:
            return {t.name: t for t in list_tasks(cat).tasks}
        except Exception:  # noqa: BLE001 - a broken task file: list runs by their first metric
            return {}

    def task_choices(self) -> list[str]:
        """Tasks with runs (newest first), then the other defined tasks."""
        with self.h.catalog() as cat:
            ran = [r.task for r in cat.runs.find()]
            defined = list(self._specs(cat))
        return list(dict.fromkeys([*ran, *defined]))

    def _board_default(self) -> str | None:
        """The first task with a scored run (else the first defined task)."""
        with self.h.catalog() as cat:
            ran = [r.task for r in cat.runs.find() if r.metrics]
            defined = list(self._specs(cat))
        return next(iter([*ran, *defined]), None)

    def table(self, model: str = "", task: str = "", trust: str = "all") -> tuple[list[list[Any]], str]:
        """Stored benchmark runs matching a model, a task and a trust level (measured, reported or
        all; empty: any), as table rows and a one-line note (an error is the note)."""
        from modellake.tools.bench import list_runs

        try:
            with self.h.catalog() as cat:
                runs = list_runs(cat, model=model or None, task=task or None, trust=trust or "all").runs
                specs = self._specs(cat)
        except Exception as exc:  # noqa: BLE001
            return [], one_line(exc)
        return [run_row(r, getattr(specs.get(r.task), "primary_metric", None)) for r in runs], runs_note(runs)

    def details(self, run_id: int) -> str:
        """A benchmark run's provenance (Markdown), by run id."""
        try:
            rid = int(run_id)
            with self.h.catalog() as cat:
                run = cat.runs.get(rid, with_outputs=False)
                seeds = self._seeds(cat, run)
                spec = self._specs(cat).get(run.task)
        except (TypeError, ValueError):
            return one_line(f"{run_id!s} is not a run id")
        except Exception as exc:  # noqa: BLE001
            return one_line(exc)
        return provenance(run, seeds, spec)

    @staticmethod
    def _seeds(cat: Any, run: BenchmarkRun) -> list[BenchmarkRun]:
        """The measured runs of the same model version, task and data (its repeats)."""
        if run.trust != "measured" or run.model_version is None or not run.task_hash:
            return []
        return cat.runs.find(model=f"{run.model}@{run.model_version}", task=run.task,
                             trust="measured", task_hash=run.task_hash)

    def select(self, evt: gr.SelectData, rows: Any) -> str:
        """The clicked row's provenance (the row as shown, sorted or not)."""
        row = clicked_row(evt, rows)
        return self.details(row[-1]) if row else "Click a run to see its provenance."

    def board(self, task: str, trust: str = "all"):
        """The leaderboard (rows, chart path, note) through ``Handlers.leaderboard``."""
        rows, plot, note = self.h.leaderboard(task, trust or "all")
        if str(note).startswith("⚠️"):
            return [], None, one_line(note)
        rows = [[_rounded(v) for v in r] for r in rows]
        return rows, plot, re.sub(r"^1 models", "1 model", str(note))

    def refresh(self, model: str, task: str, trust: str):
        """The table and every picker, re-read from the lake."""
        rows, note = self.table(model, task, trust)
        names = self.h.model_names()
        tasks = self.task_choices()
        return (rows, note, gr.update(choices=["", *names]), gr.update(choices=["", *tasks]),
                gr.update(choices=tasks), gr.update(choices=names), gr.update(choices=names))


def _rounded(v: Any) -> Any:
    return float(f"{v:.4g}") if isinstance(v, float) and math.isfinite(v) else v


# =========================================================================== layout
def runs_tab(h: Any, names: list[str]) -> RunsPage:
    """The "Runs" tab (call inside ``with gr.Tabs():``); ``names``: the lake's model names."""
    view = RunsView(h)
    tasks = view.task_choices()
    with gr.Tab("Runs", id="runs") as tab:
        table, note, filters, refresh = _runs_table(view, names, tasks)
        info = gr.Markdown("Click a run to see its provenance.", elem_id="run-provenance")
        table.select(view.select, table, info, api_visibility="private")
        board_task = _board(view, tasks)
        model_a, model_b = _compare(h, names)
    outs = [table, note, filters[0], filters[1], board_task, model_a, model_b]
    refresh.click(view.refresh, filters, outs, api_visibility="private")
    tab.select(view.refresh, filters, outs, api_visibility="private")  # fresh each time it is opened
    return RunsPage(model_filter=filters[0], model_a=model_a, model_b=model_b,
                    task_filter=filters[1], board_task=board_task, table=table, refresh=refresh)


def _runs_table(view: RunsView, names: list[str], tasks: list[str]):
    with gr.Row():
        model = gr.Dropdown(["", *names], value="", label="Model (empty: all)", allow_custom_value=True,
                            elem_id="runs-model-filter")
        task = gr.Dropdown(["", *tasks], value="", label="Task (empty: all)", allow_custom_value=True)
        trust = gr.Radio(TRUSTS, value="all", label="Trust")
        refresh = gr.Button("Refresh", scale=0)
    rows, text = view.table()
    note = gr.Markdown(text)
    table = gr.Dataframe(rows, headers=RUN_COLUMNS, datatype=RUN_TYPES, interactive=False,
                         show_search="filter", label="Runs",
                         elem_id="runs-table", max_height=420)
    filters = [model, task, trust]
    for f in filters:
        f.change(view.table, filters, [table, note], api_visibility="private")
    gr.api(view.table, api_name="runs")
    gr.api(view.details, api_name="run")
    return table, note, filters, refresh


def _board(view: RunsView, tasks: list[str]) -> gr.Dropdown:
    gr.Markdown("### Leaderboard")
    first = view._board_default()
    rows, plot, text = view.board(first, "all") if first else ([], None, "No tasks are defined.")
    with gr.Row():
        task = gr.Dropdown(tasks, value=first, label="Task", allow_custom_value=True)
        trust = gr.Radio(["measured", "reported", "all"], value="all", label="Trust")
        show = gr.Button("Leaderboard", scale=0)
    note = gr.Markdown(text)
    board = gr.Dataframe(rows, headers=BOARD_COLUMNS, interactive=False)
    plot_img = gr.Image(plot, label="Leaderboard", type="filepath")
    outs = [board, plot_img, note]
    show.click(view.board, [task, trust], outs, api_name="leaderboard")
    for c in (task, trust):
        c.change(view.board, [task, trust], outs, api_visibility="private")
    return task


def _compare(h: Any, names: list[str]):
    gr.Markdown("### Compare two models")
    with gr.Row():
        a = gr.Dropdown(names, value=None, label="Model A", allow_custom_value=True)  # not the first
        b = gr.Dropdown(names, value=None, label="Model B", allow_custom_value=True)  # model twice
        go = gr.Button("Compare", scale=0)
    out = gr.Markdown()
    go.click(h.compare, [a, b], out, api_name="compare")
    return a, b
