"""What search keeps per lake and process: documents, facets, descent, result rows, verdicts.

Rebuilt when the index moves on (a new sync, signature or side-table version); shared by
:mod:`.engine` (model search) and :mod:`.runs` (run search).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from modellake.tools.search.families import members
from modellake.tools.search.family import LineageGraph, inferred_edges
from modellake.tools.search.index import Handle
from modellake.tools.search.rank import Check, ResultRow, card_results, card_text_results, check, facet_key

log = logging.getLogger(__name__)
ResultSource = Any  # Callable[[Handle, list[tuple[int, str, dict]]], Iterable[ResultRow]]


def _card_source(h: Handle, docs: list[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    return card_results(docs)


def _card_text_source(h: Handle, docs: list[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    return card_text_results(docs)


def _run_source(h: Handle, docs: list[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    """Benchmark runs stored in the catalog: measured by ``modellake bench``, imported from
    evaluation files, or a card's model-index stored at ingest (``run (reported, card)``)."""
    ids = {name: mid for mid, name, _ in docs}
    rows = []
    try:
        runs = h.catalog.runs.find(current_only=True)
    except Exception:  # noqa: BLE001 - an optional source must not break search
        log.debug("benchmark runs unavailable", exc_info=True)
        return []
    tasks = _task_descriptions(h)
    for run in runs:
        mid = ids.get(run.model)
        if mid is None:
            continue
        cfg = run.config or {}
        source = ("run (reported, card)" if cfg.get("from_card") else f"run ({run.trust})")
        about = run_about(run.task, cfg, tasks.get(run.task))
        for metric, value in (run.metrics or {}).items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            rows.append(ResultRow(mid, run.task, run.task, metric, v,
                                  source=source, verified=run.trust == "measured",
                                  when=run.created_at or None, run_id=run.id, about=about))
    return rows


def run_about(task: str, config: dict[str, Any], description: str | None) -> str:
    """What a run measured, in words: the task, the dataset and task type a card or an
    evaluation file names, the description of a task of the lake."""
    ds = config.get("dataset")
    parts = [task, description or "", str(config.get("task_name") or config.get("task_type") or "")]
    if isinstance(ds, dict):
        parts.append(" ".join(str(ds.get(k) or "") for k in ("name", "type", "config")))
    parts.append(" ".join(str(config.get(k) or "") for k in ("dataset_path", "dataset_name")))
    return " ".join(" ".join(p.split()) for p in parts if p and p.strip())[:400]


def _task_descriptions(h: Handle) -> dict[str, str]:
    """The lake's benchmark tasks (built-in and its own) by name: their descriptions."""
    try:
        from modellake.tools.bench.tasks import list_tasks

        return {t.name: t.description for t in list_tasks(h.lake.root)}
    except Exception:  # noqa: BLE001 - an optional source must not break search
        log.debug("task descriptions unavailable", exc_info=True)
        return {}


# Where result rows come from; a benchmark module may append its own source.
RESULT_SOURCES: list[ResultSource] = [_card_source, _card_text_source, _run_source]


@dataclass
class LakeState:
    key: tuple[Any, ...]
    docs: list[tuple[int, str, dict[str, Any]]]
    by_id: dict[int, tuple[str, dict[str, Any]]]
    graph: LineageGraph
    names: dict[int, str]
    _results: list[ResultRow] | None = None
    _groups: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _verdicts: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _df: dict[str, int] = field(default_factory=dict)
    _families: dict[str, set[int]] | None = None
    memo: dict[str, Any] = field(default_factory=dict)  # other things derived once per state

    def family_members(self) -> dict[str, set[int]]:
        """Family key -> the lake models in it (built once; see :mod:`.families`)."""
        if self._families is None:
            self._families = members(self.graph, self.docs)
        return self._families

    def groups(self, fld: str) -> dict[str, list[int]]:
        """Models grouped by the facets a constraint on ``fld`` reads (built once)."""
        g = self._groups.get(fld)
        if g is None:
            g = {}
            for mid, (_, f) in self.by_id.items():
                g.setdefault(facet_key(fld, f), []).append(mid)
            self._groups[fld] = g
        return g

    def df(self, h: Handle, term: str) -> int:
        """Document frequency of a query term (cached)."""
        n = self._df.get(term)
        if n is None:
            if len(self._df) > 4096:
                self._df.clear()
            n = self._df[term] = h.text.doc_frequency(term)
        return n

    def verdicts(self, c: Any) -> Verdicts:
        """Constraint ``c`` judged for every model: one check per facet group (cached)."""
        key = (c.field, c.op, repr(c.value), c.hard, c.source)
        v = self._verdicts.get(key)
        if v is None:
            v = Verdicts({}, {})
            for mids in self.groups(c.field).values():
                ck = check(c, self.by_id[mids[0]][1])
                v.by_status.setdefault(ck.status, set()).update(mids)
                for mid in mids:
                    v.check[mid] = ck
            if len(self._verdicts) > 64:
                self._verdicts.clear()
            self._verdicts[key] = v
        return v


@dataclass
class Verdicts:
    check: dict[int, Check]
    by_status: dict[str, set[int]]


_states: dict[str, LakeState] = {}
_state_lock = threading.Lock()


def lake_state(h: Handle) -> LakeState:
    key = (h.text.state("synced_event"), h.text.state("signature"),
           h.text.side_tables_version())
    path = str(h.lake.root.resolve())
    with _state_lock:
        st = _states.get(path)
        if st is not None and st.key == key:
            return st
    docs = h.text.docs_facets()
    graph = LineageGraph(docs, inferred_edges(h.catalog))
    st = LakeState(key, docs, {mid: (name, f) for mid, name, f in docs}, graph,
                {mid: name for mid, name, _ in docs})
    with _state_lock:
        _states[path] = st
    return st


def result_rows(h: Handle, st: LakeState) -> list[ResultRow]:
    if st._results is None:
        rows: list[ResultRow] = []
        for src in RESULT_SOURCES:
            rows.extend(src(h, st.docs))
        st._results = rows
    return st._results
