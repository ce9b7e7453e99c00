"""Stored runs read back: list them, fetch one, rank models on a task (and plot the ranking).

The functions behind ``modellake runs`` and ``leaderboard``. Views default to measured runs
and always show the trust level; measured and reported values are never averaged together,
and measured runs rank only on the task's current definition and data (``task_hash``).
"""
from __future__ import annotations

import fnmatch
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError, TaskError
from modellake.store.records import BenchmarkRun
from modellake.tools.bench.records import JsonRecord, finite, lake_root_of, metric_direction, trust_levels
from modellake.tools.bench.tasks import TaskData, TaskSpec, get_task, load_task_data
from modellake.tools.rendering import TABLE_FROM, join, plural, table

__all__ = ["Leaderboard", "LeaderboardEntry", "RunList", "get_run", "leaderboard", "list_runs",
           "plot_leaderboard"]


# =========================================================================== words
# How benchmark records write numbers and runs for people (shared by the bench records).
MAX_ROWS = 30  # a table lists at most this many rows, then says how many more there are


def score(v: Any) -> str:
    """A score as people read it: three significant digits (0.95, 0.825, 12.3)."""
    from modellake.tools.rendering import round_score

    return round_score(float(v)) if finite(v) else "no value"


def gap(d: Any) -> str:
    """The size of a difference between two scores, in words when it is tiny."""
    if not finite(d):
        return "an unknown amount"
    d = abs(float(d))
    return "less than 0.0001" if 0 < d < 1e-4 else score(d)


def same_value(x: Any, y: Any) -> bool:
    """Two scores that are equal (a tie), allowing for float noise."""
    return finite(x) and finite(y) and math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-12)


def metrics_text(metrics: dict[str, Any], limit: int = 3, kind: str = "") -> str:
    """"accuracy 0.95 and macro_f1 0.95" (the first ``limit`` numeric metrics)."""
    if kind == "probe" and not metrics:
        return "a fingerprint (a probe set has no score)"
    shown = [f"{k} {score(v)}" for k, v in metrics.items() if finite(v)][:limit]
    return join(shown) if shown else "no numeric score"


def sentence(text: str, names: Sequence[str] = ()) -> str:
    """``text`` as a sentence: capital first letter (unless it starts with one of ``names``,
    or with what looks like a model or task name), one full stop."""
    text = text.strip()
    if not text:
        return ""
    named = any(text.startswith(n + " ") for n in names if n)
    if not named and re.match(r"[a-z]+(?![\w@/.-])", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def day(created_at: str | None) -> str:
    return (created_at or "")[:10]


def trust_words(trusts: Sequence[str]) -> str:
    """"measured here", "reported", "3 measured here and 2 reported" for a list of trust levels."""
    n_m, n_r = sum(t == "measured" for t in trusts), sum(t == "reported" for t in trusts)
    if n_m and n_r:
        return f"{n_m} measured here and {n_r} reported"
    if n_r:
        return "all reported" if n_r > 1 else "reported"
    return "all measured here" if n_m > 1 else "measured here"


def capped_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], what: str = "row") -> str:
    """A Markdown table of at most ``MAX_ROWS`` rows, saying how many were left out."""
    out = table(columns, rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        out += f"\n\n{plural(len(rows) - MAX_ROWS, 'more ' + what)} not shown."
    return out


def shell_arg(word: str) -> str:
    """``word`` as it must be typed in a shell command (quoted when it has spaces or brackets)."""
    return word if re.fullmatch(r"[\w./@:+-]+", word) else '"' + word.replace('"', '\\"') + '"'


def named(items: Sequence[str], most: int = 8) -> str:
    """"a, b and c", or past ``most`` items "a, b, c, d, e and 12 more"."""
    if len(items) <= most:
        return join(items)
    return ", ".join(items[:5]) + f" and {len(items) - 5} more"


def reason(model: str, error: str) -> str:
    """Why a model could not run, without the model's name repeated in front."""
    return error.removeprefix(f"model {model}: ").strip()


def bullets(lines: Sequence[str]) -> str:
    return "\n".join(f"- {ln}" for ln in lines)


# =========================================================================== runs
@dataclass
class RunList(JsonRecord):
    """``runs``: stored runs, newest first (per-sample outputs left out)."""

    SUMMARIZED = ("runs",)

    runs: list[BenchmarkRun] = field(default_factory=list)
    # what list_runs was asked for (model, task, trust): words for text(), not part of to_dict()
    asked: ClassVar[dict[str, str]] = {}

    def _scope(self) -> tuple[str, str]:
        model, task = self.asked.get("model"), self.asked.get("task")
        trust = self.asked.get("trust")
        kind = f"{trust} " if trust in ("measured", "reported") else ""
        if task and "*" in task:
            task = f"the tasks matching {task}"
        where = (f" for {model} on {task}" if model and task else f" for {model}" if model
                 else f" on {task}" if task else "")
        return kind, where

    def summary(self) -> str:
        kind, where = self._scope()
        if not self.runs:
            return f"No {kind}runs stored{where}."
        return f"{plural(len(self.runs), kind + 'run')} stored{where}."

    def text(self) -> str:
        kind, where = self._scope()
        runs = self.runs
        if not runs:
            return f"No {kind}runs are stored{where} yet. " + self._next_step()
        if self.asked.get("order"):
            return self._ranked_text(runs, where)
        models = list(dict.fromkeys(r.model for r in runs))
        tasks = list(dict.fromkeys(r.task for r in runs))
        if len(runs) > 1 and len(models) == 1 and not self.asked.get("model"):
            where = f" for {models[0]}" + where
        if len(runs) > 1 and len(tasks) == 1 and not self.asked.get("task"):
            where += f" on {tasks[0]}"
        days = {day(r.created_at) for r in runs}
        when = f", all on {next(iter(days))}" if len(days) == 1 and "" not in days else ""
        if len(runs) == 1:
            r = runs[0]
            who = "" if self.asked.get("model") else f"{r.model} scored "
            on = "" if self.asked.get("task") else f" on {r.task}"
            extra = ", ".join(x for x in (trust_words([r.trust]), day(r.created_at)) if x)
            return (f"One {kind}run is stored{where}: {who}"
                    f"{metrics_text(r.metrics, kind=r.task_kind)}{on} ({extra}).")
        counts = " on ".join(x for x in (
            "" if self.asked.get("model") or len(models) == 1 else plural(len(models), "model"),
            "" if self.asked.get("task") or len(tasks) == 1 else plural(len(tasks), "task")) if x)
        trusts = "" if kind else trust_words([r.trust for r in runs])
        facts = ", ".join(x for x in (counts, trusts) if x) + when
        lead = f"{plural(len(runs), kind + 'run')} are stored{where} ({facts}). Newest first:"
        cols = [c for c, keep in (("model", len(models) > 1), ("task", len(tasks) > 1),
                                  ("scores", True), ("trust", len({r.trust for r in runs}) > 1),
                                  ("when", not when)) if keep]
        if len(runs) >= TABLE_FROM:
            rows = [[self._cell(r, c) for c in cols] for r in runs]
            return lead + "\n\n" + capped_table(cols, rows, "run")
        lines = []
        for r in runs:
            head = " on ".join(x for x in (r.model if "model" in cols else "",
                                            r.task if "task" in cols else "") if x)
            extra = [x for x in (r.trust if "trust" in cols else "",
                                 day(r.created_at) if "when" in cols else "") if x]
            lines.append((f"{head}: " if head else "") + metrics_text(r.metrics, kind=r.task_kind)
                         + (f" ({', '.join(extra)})" if extra else ""))
        return lead + "\n" + bullets(lines)

    def _ranked_text(self, runs: list[BenchmarkRun], where: str) -> str:
        """"The highest f1 result stored for X is f1 91.84, on squad (reported, X). Then: ..."."""
        metric = self.asked.get("rank_by")
        word = "lowest" if self.asked.get("order") in ("worst", "lowest") else "highest"

        def shown(r: BenchmarkRun) -> str:
            key = metric or next(iter(r.metrics))
            return f"{key} {score(r.metrics.get(key))}"

        first, rest = runs[0], runs[1:6]
        who = "" if self.asked.get("model") else f", {first.model}"
        lead = (f"The {word}{f' {metric}' if metric else ''} result stored{where} is {shown(first)}, "
                f"on {first.task} ({first.trust}{who}).")
        if not rest:
            return lead
        return lead + " Then: " + "; ".join(f"{shown(r)} on {r.task}" for r in rest) + (
            f" (of {plural(len(runs), 'run')})." if len(runs) > 6 else ".")

    @staticmethod
    def _cell(r: BenchmarkRun, col: str) -> str:
        return {"model": r.model, "task": r.task, "scores": metrics_text(r.metrics, kind=r.task_kind),
                "trust": r.trust, "when": day(r.created_at)}[col]

    def _next_step(self) -> str:
        model, task = self.asked.get("model"), self.asked.get("task")
        if self.asked.get("trust") == "reported":
            return (f"Import a card's or a harness's results with `modellake import-results FILE "
                    f"--model {shell_arg(model or 'MODEL')}`.")
        if model or task:
            return (f"Run `modellake bench {shell_arg(model or 'MODEL')} --task "
                    f"{shell_arg(task or 'TASK')}`"
                    + ("" if task else " (`modellake bench --list-tasks` lists the tasks)") + ".")
        return ("Run `modellake bench MODEL --task TASK` to measure one "
                "(`modellake bench --list-tasks` lists the tasks).")


def list_runs(catalog: Catalog, model: str | None = None, task: str | None = None,
              trust: str = "all", limit: int | None = None, rank_by: str | None = None,
              order: str | None = None) -> RunList:
    """Stored runs filtered by model (``name`` or ``name@N``), task, and trust level.

    ``task`` may be a pattern with ``*`` ("*sts*": every task whose name has "sts"; task names keep
    their brackets: "ai2_arc [25-shot]"). ``order`` ("best" /
    "worst") ranks the runs by their score instead of by date: on metric ``rank_by`` when given
    (runs without it are left out), else on each run's first metric ("which of X's reported
    results is highest", "X's best task by ndcg_at_10").
    """
    if model:
        _ensure_known_model(catalog, model)
    pattern = task if task and "*" in task else None
    runs = catalog.runs.find(model=model, task=None if pattern else task,
                             trust=None if trust == "all" else trust_levels(trust)[0],
                             limit=None if order or pattern else limit)
    if pattern:
        runs = [r for r in runs if fnmatch.fnmatch(r.task.lower(), pattern.lower())]
        runs = runs if order else runs[:limit or None]
    if order:
        runs = _ranked_runs(runs, rank_by, order)[:limit or None]
    result = RunList(runs)
    result.asked = {k: v for k, v in (("model", model), ("task", task), ("trust", trust),
                                      ("rank_by", rank_by), ("order", order)) if v}
    return result


def _ranked_runs(runs: list[BenchmarkRun], metric: str | None, order: str) -> list[BenchmarkRun]:
    """Runs best first (``order`` best / highest) or worst first, each on ``metric`` or its own
    first metric, in the metric's own direction."""
    scored = []
    for r in runs:
        key = metric if metric else next(iter(r.metrics or {}), None)
        value = (r.metrics or {}).get(key) if key else None
        if isinstance(value, (int, float)) and finite(value):
            hib = metric_direction([r], key, None)
            scored.append(((value if hib else -value), r))
    best_first = order not in ("worst", "lowest")
    scored.sort(key=lambda x: x[0], reverse=best_first)
    return [r for _, r in scored]


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

    # -- words -----------------------------------------------------------------------------
    def _label(self, e: LeaderboardEntry) -> str:
        """The entry's model, with its version when the board holds several of that model."""
        same = {x.model_version for x in self.entries if x.model == e.model}
        return f"{e.model}@{e.model_version}" if len(same) > 1 and e.model_version else e.model

    def _value(self, v: float) -> str:
        return f"{self.metric} {score(v)}"

    def _best(self, entries: list[LeaderboardEntry]) -> list[LeaderboardEntry]:
        """The entries that tie for first among ``entries``."""
        return [e for e in entries if same_value(e.value, entries[0].value)] if entries else []

    def _winner_sentence(self, entries: list[LeaderboardEntry]) -> str:
        """The best of ``entries``, or the ones that tie for best, with the value."""
        best = self._best(entries)
        names = [self._label(e) for e in best]
        value = self._value(best[0].value) + ("" if self.higher_is_better else " (lower is better)")
        if len(best) == 1:
            return f"{names[0]} is best on {self.task}, with {value}."
        if len(best) == len(entries):
            every = "Both" if len(best) == 2 else f"All {len(best)}"
            return f"{every} models tie on {self.task} at {value}: {join(names)}."
        return f"{len(best)} models tie for best on {self.task} at {value}: {join(names)}."

    @staticmethod
    def _places(entries: list[LeaderboardEntry]) -> list[int]:
        """Each entry's place, tied entries sharing one (1, 1, 1, 4...)."""
        places: list[int] = []
        for i, e in enumerate(entries):
            tied = i and same_value(e.value, entries[i - 1].value)
            places.append(places[-1] if tied else i + 1)
        return places

    def summary(self) -> str:
        if not self.entries:
            return f"No {join(self.trust, 'or')} runs of {self.task} to rank."
        measured = [e for e in self.entries if e.trust == "measured"]
        if measured and len(measured) < len(self.entries):
            best = self._best(measured)
            return (f"Best measured on {self.task}: {join([self._label(e) for e in best])} "
                    f"({self._value(best[0].value)}), besides reported results.")
        best = self._best(self.entries)
        if len(best) > 1:
            return (f"{len(best)} models tie for best on {self.task} at "
                    f"{self._value(best[0].value)}.")
        return f"Best on {self.task}: {self._label(best[0])} ({self._value(best[0].value)})."

    def text(self) -> str:
        if not self.entries:
            return self._empty_text()
        measured = [e for e in self.entries if e.trust == "measured"]
        reported = [e for e in self.entries if e.trust == "reported"]
        if measured and reported:
            lead = self._mixed_lead(measured, reported)
        else:
            lead = self._winner_sentence(self.entries)
        paras = [lead, self._ranking()] + self._after()
        return "\n\n".join(p for p in paras if p)

    def _mixed_lead(self, measured: list[LeaderboardEntry], reported: list[LeaderboardEntry]) -> str:
        """The best measured and the best reported entries, never ranked against each other."""
        parts = []
        for kind, entries in (("results measured here", measured), ("reported results", reported)):
            best = self._best(entries)
            tie = f"{len(best)} models tie " if len(best) > 1 else ""
            parts.append(f"{tie}{join([self._label(e) for e in best])} among {kind} "
                         f"({self._value(best[0].value)})")
        lower = " (lower is better)" if not self.higher_is_better else ""
        return (f"Best on {self.task}{lower}: {parts[0]}, and {parts[1]}. The two kinds come "
                "from different protocols and data, so they are ranked apart.")

    def _ranking(self) -> str:
        """The whole ranking: a table when long or mixed, else one sentence for the rest.
        Measured and reported entries are ranked apart (measured first)."""
        mixed = len({e.trust for e in self.entries}) > 1
        entries: list[LeaderboardEntry] = []
        places: list[int] = []
        for tr in ("measured", "reported"):
            group = [e for e in self.entries if e.trust == tr]
            entries += group
            places += self._places(group)
        repeats = any(e.n_runs > 1 for e in entries)
        if len(entries) >= TABLE_FROM or mixed:
            cols = ["#", "model", self.metric] + (["runs"] if repeats else []) + (
                ["trust"] if mixed else [])
            rows = [[p, self._label(e), score(e.value)] + ([e.n_runs] if repeats else [])
                    + ([e.trust] if mixed else []) for p, e in zip(places, entries)]
            return capped_table(cols, rows, "model")
        rest = entries[len(self._best(entries)):]
        if not rest:
            return ""
        items = [f"{self._label(e)} ({score(e.value)})" for e in rest]
        head = "Then " if len(self._best(entries)) == 1 else "The others: "
        text = head + join(items) + "."
        if repeats:
            text += " Values of models with repeated runs are the mean over their runs."
        return text

    def _after(self) -> list[str]:
        out = []
        left = self._excluded_text()
        if left:
            out.append(left)
        mixed = len({e.trust for e in self.entries}) > 1  # the lead said so already
        notes = [sentence(n, [self.task]) for n in self.notes
                 if n and not (mixed and n.startswith("measured and reported values"))]
        if notes:
            out.append(" ".join(notes))
        if self.plot:
            out.append(f"The chart is written to {self.plot}.")
        return out

    def _excluded_text(self) -> str:
        parts = []
        stale = self.excluded.get("other_task_version", 0)
        if stale:
            parts.append(f"{plural(stale, 'run')} on an older version of {self.task}'s data or "
                         f"definition {'was' if stale == 1 else 'were'} left out (rerun "
                         f"{'it' if stale == 1 else 'them'} to rank {'it' if stale == 1 else 'them'})")
        nometric = self.excluded.get("no_such_metric", 0)
        if nometric:
            parts.append(f"{plural(nometric, 'run')} without a value for {self.metric} "
                         f"{'was' if nometric == 1 else 'were'} left out")
        known = {"other_task_version", "no_such_metric"}
        other = sum(n for k, n in self.excluded.items() if k not in known)
        if other:
            parts.append(f"{plural(other, 'other run')} {'was' if other == 1 else 'were'} left out")
        return sentence("; ".join(parts)) if parts else ""

    def _empty_text(self) -> str:
        kinds = join(self.trust, "or")
        text = f"No {kinds} runs of {self.task} can be ranked yet, so there is no best model."
        left = self._excluded_text()
        if left:
            text += " " + left
        if "measured" in self.trust:
            text += f" Run `modellake bench MODEL --task {shell_arg(self.task)}` to measure one."
        else:
            text += (" Import reported results with `modellake import-results FILE --model "
                     "MODEL`.")
        return text


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
