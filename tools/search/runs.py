"""Searching results themselves: "what did we measure on sentiment last week".

Every result row the lake knows (a card's model-index, and measured benchmark runs once a
source provides them: ``modellake.tools.search.engine.RESULT_SOURCES``) is a small document:
model, task, dataset, metric, value, when, how (its source). ``search_runs`` matches the
query's words and task phrases against those fields and keeps the rows inside a time
window the query states ("today", "yesterday", "last week", "last 3 days", "since
2026-05-01"); "measured" / "we ran" keeps measured runs only.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.lake import Lake
from modellake.tools.search import vocab as V
from modellake.tools.search.hits import SearchHit, SearchResult
from modellake.tools.search.index import Progress, catch_up, open_lake
from modellake.tools.search.query import content_terms
from modellake.tools.search.rank import ResultRow
from modellake.tools.search.state import lake_state, result_rows

_WINDOWS = [
    (r"\btoday\b", 1), (r"\byesterday\b", 2), (r"\b(?:last|past|this) week\b", 7),
    (r"\b(?:last|past|this) month\b", 31), (r"\b(?:last|past|this) year\b", 366),
]
_RUN_WORDS = re.compile(r"\b(measured|measure|we ran|ran|runs?|evaluated|benchmarked)\b", re.I)


def time_window(query: str, now: datetime | None = None) -> tuple[datetime | None, str]:
    """(earliest time, query without the time phrase) from "last week", "since 2026-05-01"..."""
    now = now or datetime.now(UTC)
    m = re.search(r"\bsince (\d{4}-\d{2}-\d{2})\b", query)
    if m:
        return (datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC),
                query.replace(m.group(0), " "))
    m = re.search(r"\b(?:last|past|in the last) (\d+) (day|week|month)s?\b", query, re.I)
    if m:
        days = int(m.group(1)) * {"day": 1, "week": 7, "month": 31}[m.group(2).lower()]
        return now - timedelta(days=days), query.replace(m.group(0), " ")
    for pat, days in _WINDOWS:
        m = re.search(pat, query, re.I)
        if m:
            return now - timedelta(days=days), query.replace(m.group(0), " ")
    return None, query


_ASKS_RUNS = re.compile(r"\bwhat (?:did|have) we (?:measure|measured|run|ran|evaluate|evaluated|"
                        r"benchmark|benchmarked|test|tested)\b|\bwhich runs\b|\bwhat runs\b", re.I)
_RESULT_WORDS = re.compile(V.RESULT_WORDS, re.I)


def is_runs_query(query: str) -> bool:
    """A question about results themselves ("what did we measure on sentiment last week"),
    not about which model fits a need: ``search`` hands these to ``search_runs``."""
    if _ASKS_RUNS.search(query):
        return True
    since, _ = time_window(query)
    return since is not None and bool(_RESULT_WORDS.search(query))


def _when(row: ResultRow) -> datetime | None:
    if not row.when:
        return None
    try:
        t = datetime.fromisoformat(str(row.when).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def search_runs(lake: Lake | Catalog | str | Path, query: str, k: int = 10,
                now: datetime | None = None, wait: bool = False,
                progress: Progress | None = None) -> SearchResult:
    """Result rows (reported and measured) that match ``query``, newest and best-matching first.

    Hits are models; each ``why`` holds the matching rows (task, dataset, metric, value,
    when, source, run id).
    """
    since, rest = time_window(query, now)
    runs_only = bool(_RUN_WORDS.search(rest))
    rest = _RUN_WORDS.sub(" ", rest)
    tasks = {t for pat, t, _ in V.TASK_PHRASES if re.search(pat, rest.lower())}
    terms = [t for t in content_terms(rest) if t not in {"did", "we", "on", "what", "which"}]
    with open_lake(lake) as h:
        behind = catch_up(h, wait, progress)
        st = lake_state(h)
        scored: list[tuple[float, datetime, ResultRow]] = []
        for r in result_rows(h, st):
            when = _when(r)
            if since is not None and (when is None or when < since):
                continue
            if runs_only and r.source != "run (measured)":
                continue
            what = " ".join(str(x) for x in (r.task, r.dataset, r.metric, r.source) if x).lower()
            who = str(st.by_id.get(r.model_id, ("",))[0]).lower()
            # a word naming the task or dataset outweighs the same word in a model's name
            score = sum(2.0 if t in what else 1.0 if t in who else 0.0 for t in terms)
            if r.task and V.normalize_task(r.task) in tasks:
                score += 2.0
            if terms and score == 0:
                continue
            scored.append((score, when or datetime.min.replace(tzinfo=UTC), r))
        scored.sort(key=lambda x: (-x[0], -x[1].timestamp()))
        hits: dict[int, SearchHit] = {}
        for score, _, r in scored:
            if r.model_id not in hits:
                if len(hits) >= k:
                    continue
                hits[r.model_id] = SearchHit(st.by_id[r.model_id][0], score, [])
            if len(hits[r.model_id].why) < 5:
                hits[r.model_id].why.append(_row(r))
        query_info: dict[str, Any] = {"runs": True, "since": since.isoformat() if since else None,
                                      "measured_only": runs_only, "terms": terms,
                                      "tasks": sorted(tasks)}
        res = SearchResult(list(hits.values()), query_info, len(scored))
        return res.behind_by(*behind)


def _row(r: ResultRow) -> dict[str, Any]:
    return {"kind": "result", "task": r.task, "dataset": r.dataset, "metric": r.metric,
            "value": r.value, "when": r.when, "source": r.source, "verified": r.verified,
            "run_id": r.run_id}
