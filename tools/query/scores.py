"""Scores on a task as a fact of each model, and task names resolved from people's words.

A task is named the way people say it ("sentiment", "sentiment classification", "polarity",
"perplexity"): the name is matched against the lake's own tasks (built-in and lake tasks,
and every task that has runs, reported ones included) by their names, kinds, metrics and
descriptions, and, when no word matches, by the meaning of the words (MiniLM, no torch).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.errors import ModelLakeError, NotFoundError
from modellake.tools.rendering import round_score  # noqa: F401 - re-exported

_GENERIC = frozenset("smoke task tasks test set benchmark bench eval evaluation score scores the a "
                     "an on of for and in model models made here size sentences lines pairs "
                     "all main default plain text validation train dev shot".split())
MEANING_MIN = 0.37     # cosine (MiniLM) under which a phrase names no task
MEANING_MARGIN = 0.08  # ... and how far the best task must stand above the next one


@dataclass
class TaskInfo:
    name: str
    kind: str = ""
    description: str = ""
    metrics: list[str] = field(default_factory=list)
    runs: int = 0

    def words(self) -> set[str]:
        return _words(f"{self.name} {self.kind} {' '.join(self.metrics)}")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
            if w not in _GENERIC and not w.isdigit()}  # "4" of "4-bit" names no "[4-shot]" task


def _stem(w: str) -> str:
    return w[:6]


def lake_tasks(catalog: Catalog) -> list[TaskInfo]:
    """Every task the lake knows: the runnable ones and those with stored runs."""
    from modellake.tools.bench.tasks import list_tasks

    counts: dict[str, int] = {}
    metrics: dict[str, dict[str, None]] = {}
    for r in catalog.runs.find():
        counts[r.task] = counts.get(r.task, 0) + 1
        metrics.setdefault(r.task, {}).update(dict.fromkeys(r.metrics or {}))
    out = {t.name: TaskInfo(t.name, t.kind, t.description, list(t.metrics), counts.get(t.name, 0))
           for t in list_tasks(catalog.root) if t.kind != "probe"}
    for name, n in counts.items():
        out.setdefault(name, TaskInfo(name, runs=n, metrics=list(metrics.get(name, {}))))
    return list(out.values())


def resolve_task(catalog: Catalog, phrase: str, tasks: list[TaskInfo] | None = None,
                 with_runs: bool = True, lexical: bool = False,
                 require_runs: bool = False) -> tuple[str | None, str]:
    """(task name, how it was matched: exact | words | meaning) or (None, "").

    ``lexical``: match on the tasks' names, kinds and metrics only (for a whole question, whose
    other words would find spurious matches in the descriptions), never by meaning.
    ``require_runs``: only tasks with runs (else, when no task has runs, any task).
    """
    tasks = tasks if tasks is not None else lake_tasks(catalog)
    if require_runs or (with_runs and any(t.runs for t in tasks)):
        tasks = [t for t in tasks if t.runs]
    norm = re.sub(r"[^a-z0-9]", "", phrase.lower())
    for t in tasks:
        if re.sub(r"[^a-z0-9]", "", t.name.lower()) in (norm, norm + "smoke"):
            return t.name, "exact"
    said = re.findall(r"[a-z0-9]+", phrase.lower())
    want = {_stem(w) for w in _words(phrase)} | {_stem(a + b) for a, b in zip(said, said[1:])}  # "STS-Benchmark":
    if not want:  # the task "stsbenchmark" too
        return None, ""
    scored = []
    for t in tasks:
        name_hits = len(want & {_stem(w) for w in _words(t.name)})
        about = t.words() if lexical else t.words() | _words(t.description)
        other = len(want & {_stem(w) for w in about})
        if name_hits or other:  # the closest name first: "mmlu" is cais/mmlu, not MMLU-Pro
            extra = len({_stem(w) for w in _words(t.name)} - want)
            scored.append((name_hits * 2 + other - 0.1 * extra, t.runs, t.name))
    if scored:
        scored.sort(reverse=True)
        if len(scored) == 1 or scored[0][:1] > scored[1][:1]:
            return scored[0][2], "words"
    return (None, "") if lexical else _by_meaning(phrase, tasks)


def _by_meaning(phrase: str, tasks: list[TaskInfo]) -> tuple[str | None, str]:
    """The task whose name and description mean what ``phrase`` says, when one stands out."""
    if not tasks:
        return None, ""
    import numpy as np

    from modellake.tools.embedding.embedder import embed_query

    q = embed_query(phrase)
    best: dict[str, float] = {}
    for t in tasks:
        short = " ".join(w for w in re.split(r"[-_ ]+", t.name) if w.lower() not in _GENERIC)
        for about in (f"{short} {t.kind}", t.description):
            if about.strip():
                v = _embedded(about)
                s = float(np.dot(q, v) / (np.linalg.norm(q) * np.linalg.norm(v) + 1e-9))
                best[t.name] = max(best.get(t.name, -1.0), s)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if ranked[0][1] >= MEANING_MIN and ranked[0][1] - second >= MEANING_MARGIN:
        return ranked[0][0], "meaning"
    return None, ""


@functools.lru_cache(maxsize=256)
def _embedded(text: str) -> Any:
    """A task's name or description embedded once per process (not once per question)."""
    from modellake.tools.embedding.embedder import embed_query

    return embed_query(text)


@dataclass
class TaskScores:
    """Every current model's score on one task: measured runs first, reported ones otherwise."""

    task: str
    metric: str
    higher_is_better: bool
    values: dict[str, float] = field(default_factory=dict)
    trust: dict[str, str] = field(default_factory=dict)
    run_ids: dict[str, list[int]] = field(default_factory=dict)
    tasks: dict[str, str] = field(default_factory=dict)  # a model scored on the same data under another name
    scale: dict[str, float] = field(default_factory=dict)  # ... its numbers times this (a share, a percentage)

    def other_metrics(self, catalog: Catalog, model: str, limit: int = 3) -> dict[str, float]:
        """The other numbers of the model's run on the task ("f1" beside "exact_match")."""
        out: dict[str, float] = {}
        for rid in self.run_ids.get(model, [])[:1]:
            for k, v in (catalog.runs.get(rid, with_outputs=False).metrics or {}).items():
                if k != self.metric and isinstance(v, (int, float)) and not isinstance(v, bool) \
                        and not k.endswith(("_stderr", "stderr")) and len(out) < limit:
                    out[k] = float(v) * (self.scale.get(model, 1.0) if _PERCENT_METRICS.search(k) else 1.0)
        return out

    def text(self, v: Any) -> str:
        return "no score" if v is None else f"{self.metric} {round_score(v)}"


def task_scores(catalog: Catalog, task: str, metric: str | None = None,
                same_data: list[str] | None = None) -> TaskScores:
    """``same_data``: the lake's task names with runs, among which the tasks of the same dataset
    under another name are looked for (their scores join the board); None: this task alone."""
    from modellake.tools.bench.results import leaderboard

    board = None
    for trust in ("measured", "reported"):
        try:
            b = leaderboard(catalog, task, trust=trust, metric=metric)
        except NotFoundError:
            continue
        if board is None or (not board.values and b.entries):
            board = TaskScores(task, b.metric, b.higher_is_better)
        if b.metric != board.metric:
            continue
        for e in b.entries:
            if e.model not in board.values:
                board.values[e.model] = e.value
                board.trust[e.model] = e.trust
                board.run_ids[e.model] = list(e.run_ids)
    if board is None:
        raise NotFoundError(f"no runs on task {task!r} in this lake")
    if same_data:
        _same_data(catalog, board, same_data)
    return board


def dataset_key(name: str) -> str:
    """A task's name without separators or case ("amazon_polarity" and "Amazon-Polarity")."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_same_data(a: str, b: str) -> bool:
    """Two task names for one dataset: equal but for case and separators, or one is the other
    under a namespace ("mteb/amazon_polarity" and "amazon_polarity")."""
    ka, kb = dataset_key(a), dataset_key(b)
    return ka == kb or ("/" in a and dataset_key(a.split("/", 1)[1]) == kb) or (
        "/" in b and dataset_key(b.split("/", 1)[1]) == ka)


_PERCENT_METRICS = re.compile(r"acc|f1|exact|match|precision|recall|em$", re.I)


def _same_data(catalog: Catalog, board: TaskScores, names: list[str]) -> None:
    """Scores of models that ran the same data under another task name, on the same metric
    ("e5-small-v2 on mteb/amazon_polarity" beside "distilbert on amazon_polarity"), put on the
    board's scale (a share or a percentage); each keeps the name it was scored under."""
    others = {n for n in names if n != board.task and is_same_data(n, board.task)}
    ours = list(board.values.values())
    share = bool(ours) and all(abs(v) <= 1.0 for v in ours)
    for other in sorted(others):
        try:
            extra = task_scores(catalog, other, board.metric)
        except ModelLakeError:  # another task's scores are extra: none on this metric
            continue
        for model, v in extra.values.items():
            if model in board.values:
                continue
            scale = 1.0
            if ours and _PERCENT_METRICS.search(board.metric):
                scale = 0.01 if share and abs(v) > 1.0 else 100.0 if not share and abs(v) <= 1.0 else 1.0
            board.values[model] = v * scale
            board.scale[model] = scale
            board.trust[model] = extra.trust[model]
            board.run_ids[model] = extra.run_ids[model]
            board.tasks[model] = other
