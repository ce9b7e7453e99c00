"""Search the lake: by need, by constraint, by lineage, by results, by weights.

    search(lake, "small Apache-2.0 chat model under 3B parameters", k=10)
    search(lake, "fine-tunes of mistralai/Mistral-7B-v0.1")
    search(lake, "NER with F1 above 0.9 on CoNLL-2003")
    similar(lake, "my-bert", k=5)
    sync_index(lake)   # after ingest / rm / rename (search calls it too, when needed)
    reindex(lake)      # rebuild from the catalog (unchanged chunk texts keep their vectors)

``lake`` is a ``Lake``, an open ``Catalog`` (borrowed, not closed) or a lake directory.
``search_runs`` (in ``search_runs``) searches the result rows themselves.

How a query is answered (``search``):

1. ``parse_query`` reads constraints (task, license, parameters, context length, format,
   quantization, language, library, architecture, chat), a lineage clause ("derived from
   X", "adapters on top of X", "direct fine-tunes of X (not merges)") and a results clause
   ("F1 above 0.9 on D", "best on D") out of the text; flags add strict constraints.
2. Candidates: every indexed model, minus those that break a hard constraint, restricted
   to the lineage target's descendants (declared, stated in card text, inferred by
   ``modellake lineage``, or implied by a name; then, lower, cards that merely name the
   target) and to models with matching results.
   Unknown values: a model whose card does not say (a card-only model without a parameter
   count, a pipeline tag, a language...) is kept but ranked lower and flagged ``unknown``,
   except for licenses (no stated license is no license to use it) and for constraints
   given as flags (``task=``, ``max_params=``...), which are strict. A model without a stated
   language counts as likely English.
3. Ranking of what is left by the remaining words: BM25 over the catalog's FTS5 index
   (name, title, metadata, card text) and MiniLM cosine over card chunks in Chroma (a
   model scores by its best chunk), fused with reciprocal rank fusion; lineage depth and
   result values join the fusion when the query has them. Soft constraints and values only
   the card text states (``likely``) scale the fused score.
4. Each hit says why: the best card passage, matched terms, constraint values and their
   source, the lineage path, the result row.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store import fts
from modellake.store.catalog import Catalog
from modellake.store.lake import Lake
from modellake.store.records import Record
from modellake.tools import embed
from modellake.tools.search_index import (
    Handle,
    IndexReport,
    needs_sync,
    open_lake,
    reindex,
    sync,
    sync_index,
)
from modellake.tools.search_lineage import (
    Descent,
    LineageGraph,
    core_of,
    inferred_edges,
)
from modellake.tools.search_query import content_terms, parse_query
from modellake.tools.search_rank import (
    FAIL,
    HARD_FACTOR,
    LOWER_IS_BETTER,
    SOFT_FACTOR,
    UNKNOWN,
    Check,
    ResultRow,
    card_results,
    check,
    facet_key,
    match_results,
    rrf,
)

log = logging.getLogger(__name__)

__all__ = ["SearchHit", "SearchResult", "search", "similar", "sync_index", "reindex",
           "IndexReport", "parse_query", "RESULT_SOURCES"]

DENSE_CHUNKS = 200  # nearest chunks fetched per query
LEXICAL_DOCS = 200  # BM25 documents fetched per query
COMMON_TERM = 0.5  # lexical search skips terms found in more than this share of documents
DENSE_MIN_MODELS = 20  # fewer candidates than this among the nearest chunks: look further
FILTERED_DENSE_MAX = 300  # a candidate set up to this size is searched on its own chunks
EXACT_SKETCH_MAX = 5000  # up to this many sketches of one layout: exact scan, else Chroma ANN
MENTION_FACTOR = 0.35  # lineage: a model that only names the target in its card
PASSAGE_MIN_SIM = 0.3  # a best chunk less similar than this explains nothing
LEX_WEIGHT = 1.0  # reciprocal rank fusion weights of the two text rankings
DENSE_WEIGHT = 1.0


@dataclass
class SearchHit(Record):
    """One model that answers the query, and why."""

    name: str
    score: float
    why: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 4), "why": self.why}


@dataclass
class SearchResult(Record):
    hits: list[SearchHit]
    query: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"hits": [h.to_dict() for h in self.hits], "query": self.query,
                "candidates": self.candidates}

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hits]


# -- state cached per process ----------------------------------------------------------
ResultSource = Any  # Callable[[Handle, list[tuple[int, str, dict]]], Iterable[ResultRow]]


def _card_source(h: Handle, docs: list[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    return card_results(docs)


def _run_source(h: Handle, docs: list[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    """Benchmark runs stored in the catalog (``modellake bench``, imported results)."""
    try:
        from modellake.store.runs import find_runs
    except ImportError:
        return []
    ids = {name: mid for mid, name, _ in docs}
    rows = []
    try:
        runs = find_runs(h.catalog, current_only=True)
    except Exception:  # noqa: BLE001 - an optional source must not break search
        log.debug("benchmark runs unavailable", exc_info=True)
        return []
    for run in runs:
        mid = ids.get(run.model)
        if mid is None:
            continue
        for metric, value in (run.metrics or {}).items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            rows.append(ResultRow(mid, run.task, run.task, metric, v,
                                  source=f"run ({run.trust})", verified=run.trust == "measured",
                                  when=run.created_at or None, run_id=run.id))
    return rows


# Where result rows come from; a benchmark module may append its own source.
RESULT_SOURCES: list[ResultSource] = [_card_source, _run_source]


@dataclass
class _State:
    key: tuple[Any, ...]
    docs: list[tuple[int, str, dict[str, Any]]]
    by_id: dict[int, tuple[str, dict[str, Any]]]
    graph: LineageGraph
    names: dict[int, str]
    _results: list[ResultRow] | None = None
    _groups: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _verdicts: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _df: dict[str, int] = field(default_factory=dict)

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
            n = self._df[term] = fts.doc_frequency(h.conn, term)
        return n

    def verdicts(self, c: Any) -> "_Verdicts":
        """Constraint ``c`` judged for every model: one check per facet group (cached)."""
        key = (c.field, c.op, repr(c.value), c.hard, c.source)
        v = self._verdicts.get(key)
        if v is None:
            v = _Verdicts({}, {})
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
class _Verdicts:
    check: dict[int, Check]
    by_status: dict[str, set[int]]


_states: dict[str, _State] = {}
_state_lock = threading.Lock()


def _state(h: Handle) -> _State:
    key = (fts.state(h.conn, "synced_event"), fts.state(h.conn, "signature"),
           fts.side_tables_version(h.conn))
    path = str(h.lake.root.resolve())
    with _state_lock:
        st = _states.get(path)
        if st is not None and st.key == key:
            return st
    docs = fts.docs_facets(h.conn)
    graph = LineageGraph(docs, inferred_edges(h.catalog))
    st = _State(key, docs, {mid: (name, f) for mid, name, f in docs}, graph,
                {mid: name for mid, name, _ in docs})
    with _state_lock:
        _states[path] = st
    return st


def _results(h: Handle, st: _State) -> list[ResultRow]:
    if st._results is None:
        rows: list[ResultRow] = []
        for src in RESULT_SOURCES:
            rows.extend(src(h, st.docs))
        st._results = rows
    return st._results


# -- text retrieval ----------------------------------------------------------------------
def _lexical(h: Handle, st: "_State", text: str, allowed: set[int] | None) -> list[int]:
    terms = content_terms(text)
    # a term in most documents barely moves BM25 but makes FTS5 score them all: leave it out
    n = max(1, len(st.by_id))
    rare = [t for t in terms if st.df(h, t) <= COMMON_TERM * n]
    match = fts.match_expression(rare or terms)
    if not match:
        return []
    # FTS5 scores every matching document anyway; filtering in SQL (rowid IN ...) is far slower
    # than fetching more and filtering here
    hits = fts.lexical(h.conn, match, LEXICAL_DOCS if allowed is None else LEXICAL_DOCS * 5)
    return [mid for mid, _ in hits if allowed is None or mid in allowed][:LEXICAL_DOCS]


def _dense(h: Handle, qvec: np.ndarray, allowed: set[int] | None,
           ) -> tuple[list[int], dict[int, tuple[str, float]]]:
    """Models by their best chunk's cosine similarity; and that chunk per model.

    With a candidate set: nearest chunks of all models, filtered; when too few candidates
    show up, more chunks, or (a small set) the nearest chunks among its models only.
    """
    hits = h.vectors.query_chunks(qvec, DENSE_CHUNKS)
    if allowed is not None:
        inside = [x for x in hits if x[1] in allowed]
        if len({m for _, m, _ in inside}) < min(len(allowed), DENSE_MIN_MODELS):
            if len(allowed) <= FILTERED_DENSE_MAX:
                inside = h.vectors.query_chunks(qvec, DENSE_CHUNKS,
                                                chunk_ids=fts.chunk_ids_of(h.conn, sorted(allowed)))
            else:
                inside = [x for x in h.vectors.query_chunks(qvec, DENSE_CHUNKS * 5) if x[1] in allowed]
        hits = inside
    best: dict[int, tuple[str, float]] = {}
    for cid, mid, sim in hits:
        if mid not in best or sim > best[mid][1]:
            best[mid] = (cid, sim)
    order = sorted(best, key=lambda m: -best[m][1])
    return order, best


def _mentions(h: Handle, target: str, st: _State, skip: set[int], relations: list[str] | None,
              exclude: list[str]) -> list[int]:
    """Models whose card text names every word of the target (not already descendants)."""
    core = core_of(target)
    if not core:
        return []
    match = " AND ".join(f'"{t}"' for t in core)
    out = []
    for mid in fts.matching(h.conn, match, 500):
        if mid in skip or mid not in st.by_id:
            continue
        rel = st.graph.relation.get(mid)
        if rel in exclude or (relations and rel not in relations):
            continue
        out.append(mid)
    return out


def _term_hits(h: Handle, mid: int, f: dict[str, Any], terms: list[str],
               snippet: bool = True) -> dict[str, Any]:
    """Which query terms a hit's name and metadata contain, and (unless a passage already
    explains the hit) a card-text snippet with them."""
    out: dict[str, Any] = {}
    fields = {"name": " ".join(f.get("aliases") or []),
              "meta": " ".join([*(f.get("tags") or []), *(f.get("datasets") or []),
                                *(f.get("tasks") or []), *(f.get("libraries") or [])])}
    for col, value in fields.items():
        low = value.lower()
        found = [t for t in terms if re.search(rf"(?<![a-z0-9]){re.escape(t)}", low)]
        if found:
            out[col] = found
    text = fts.snippet(h.conn, mid, fts.match_expression(terms)) if snippet else None
    if text:
        out["card"] = text
    return out


# -- explanations ------------------------------------------------------------------------
def _passage(texts: dict[str, tuple[int, str, str]], cid: str, sim: float,
             title: str = "") -> dict[str, Any]:
    got = texts.get(cid)
    if got is None:
        return {"kind": "passage", "chunk": cid, "similarity": round(sim, 3)}
    _, section, text = got
    local = section.split(" > ", 1)[1] if " > " in section else section
    for prefix in (f"{local}: ", f"{title}. "):
        if prefix.strip(" :.") and text.startswith(prefix):
            text = text[len(prefix):]
            break
    return {"kind": "passage", "section": section, "text": text[:300], "similarity": round(sim, 3)}


def _lineage_why(d: Descent, names: dict[int, str], target: str) -> dict[str, Any]:
    path: list[str] = []
    for s in d.path:
        if not path:
            path.append(s.parent)
        path.append(names.get(s.child, str(s.child)))
    return {"kind": "lineage", "target": target, "path": path, "depth": d.depth,
            "relations": [s.relation for s in d.path], "sources": [s.source for s in d.path]}


def _result_why(r: ResultRow) -> dict[str, Any]:
    return {"kind": "result", "task": r.task, "dataset": r.dataset, "metric": r.metric,
            "value": r.value, "source": r.source, "verified": r.verified, "when": r.when}


# -- search ------------------------------------------------------------------------------
def search(lake: Lake | Catalog | str | Path, query: str, k: int = 10, *, task: str | None = None,
           license: str | None = None, max_params: float | str | None = None,  # noqa: A002
           format: str | None = None, language: str | None = None,  # noqa: A002
           library: str | None = None, architecture: str | None = None,
           quantization: str | None = None, min_params: float | str | None = None,
           mode: str = "fused", sync_first: bool = True) -> SearchResult:
    """The ``k`` models that best answer ``query`` (see the module docstring).

    ``mode``: ``fused`` (default), or the baselines ``lexical`` (BM25 alone) and
    ``dense`` (MiniLM alone), which take the raw query and no constraints from its text.
    ``lake``: a ``Lake``, an open ``Catalog`` (borrowed, not closed) or a lake directory.
    """
    from modellake.tools.search_runs import is_runs_query, search_runs

    if mode == "fused" and is_runs_query(query):
        return search_runs(lake, query, k)
    with open_lake(lake) as h:
        if sync_first and needs_sync(h):
            sync(h)
        return _search(h, query, k, mode=mode, flags=dict(
            task=task, license=license, max_params=max_params, format=format, language=language,
            library=library, architecture=architecture, quantization=quantization,
            min_params=min_params))


def _search(h: Handle, query: str, k: int, *, mode: str, flags: dict[str, Any]) -> SearchResult:
    st = _state(h)
    parsed = parse_query(query, parse=(mode == "fused"), **flags)
    universe = st.by_id
    names = st.names
    extra_factor: dict[int, float] = {}
    allowed: set[int] | None = None
    why_extra: dict[int, list[dict[str, Any]]] = {}
    rankings: list[tuple[list[int], float]] = []

    # 1. hard constraints exclude (set operations over facet groups); soft ones and unknown
    # values scale the score of the models that get scored
    verdicts = [(c, st.verdicts(c)) for c in parsed.constraints]
    unknown_hard: set[int] = set()
    if any(c.hard for c in parsed.constraints):
        allowed = set(universe)
        for c, v in verdicts:
            if c.hard:
                allowed -= v.by_status.get(FAIL, set())
                if c.strict:
                    allowed -= v.by_status.get(UNKNOWN, set())
                else:
                    unknown_hard |= v.by_status.get(UNKNOWN, set())

    def factor(mid: int) -> float:
        out = extra_factor.get(mid, 1.0)
        for c, v in verdicts:
            status = v.check[mid].status
            out *= HARD_FACTOR.get(status, 1.0) if c.hard else SOFT_FACTOR[status]
        return out

    text = parsed.rank_text if mode == "fused" else parsed.text
    # 2. lineage
    lineage_note = None
    lineage_desc: dict[int, Descent] = {}
    if parsed.lineage is not None:
        lc = parsed.lineage
        res = st.graph.resolve(lc.target)
        desc = st.graph.descendants(res, lc.relations, lc.exclude_relations,
                                    max_depth=1 if lc.direct else 8) if (res.keys or res.exact) else {}
        if not res.keys and not desc:
            lineage_note = f"no model or base model in the lake matches {lc.target!r}; searched as text"
            text = f"{text} {lc.target}".strip()
        else:
            # models whose card names the target but no known edge leads to them: kept, lower
            mentions = _mentions(h, lc.target, st, set(desc) | res.exact, lc.relations,
                                 lc.exclude_relations)
            within = set(desc) | set(mentions)
            allowed = within if allowed is None else allowed & within
            order = sorted(desc, key=lambda m: (desc[m].depth, desc[m].rank, names.get(m, "")))
            rankings.append((order, 0.6 if content_terms(text) else 1.0))
            lineage_desc = desc
            for mid in mentions:
                extra_factor[mid] = MENTION_FACTOR
                why_extra.setdefault(mid, []).append(
                    {"kind": "lineage", "target": lc.target, "path": [], "mentions_target": True,
                     "note": "the card names the target, but no declared or inferred edge is known"})

    # 3. results
    if parsed.results is not None:
        matched = match_results(_results(h, st), parsed.results)
        if not matched:
            text = f"{text} {parsed.results.dataset or ''}".strip()
            lineage_note = (lineage_note or "") + f" no result rows match {parsed.results.text!r}"
        else:
            allowed = set(matched) if allowed is None else allowed & set(matched)
            lower = any(LOWER_IS_BETTER.search(r.metric or "") for r in matched.values())
            order = sorted(matched, key=lambda m: (matched[m].value if lower else -matched[m].value))
            rankings.append((order, 1.0))
            for mid, r in matched.items():
                why_extra.setdefault(mid, []).append(_result_why(r))

    # 4. text: lexical + dense, fused
    best_chunk: dict[int, tuple[str, float]] = {}
    lex: list[int] = []
    dense: list[int] = []
    terms = content_terms(text)
    if terms and (allowed is None or allowed):
        if mode in ("fused", "lexical"):
            lex = _lexical(h, st, text, allowed)
        if mode in ("fused", "dense"):
            qvec = embed.embed_query(text)
            dense, best_chunk = _dense(h, qvec, allowed)
        if mode == "lexical":
            rankings = [(lex, 1.0)]
        elif mode == "dense":
            rankings = [(dense, 1.0)]
        else:
            rankings += [(lex, LEX_WEIGHT), (dense, DENSE_WEIGHT)]
    fused = rrf(rankings)
    if allowed is not None:
        fused = {mid: sc for mid, sc in fused.items() if mid in allowed}
        if mode == "fused" and len(fused) < k:
            # a constraint-only match still counts, below any text match, unless nothing
            # known about it matches the query at all
            for mid in (allowed if not terms else allowed - unknown_hard):
                fused.setdefault(mid, 0.0)
    scores = {mid: (sc + 1e-4) * factor(mid) for mid, sc in fused.items()}
    ranked = sorted(scores, key=lambda m: (-scores[m], names.get(m, "")))

    hits: list[SearchHit] = []
    term_list = terms[:12]
    top = ranked[:k]
    shown = {mid: best_chunk[mid] for mid in top
             if mid in best_chunk and best_chunk[mid][1] >= PASSAGE_MIN_SIM}
    texts = fts.chunks(h.conn, [cid for cid, _ in shown.values()])
    lex_set = set(lex)
    for mid in top:
        name, f = universe[mid]
        why: list[dict[str, Any]] = []
        if mid in shown:
            why.append(_passage(texts, *shown[mid], title=f.get("title", "")))
        if mid in lex_set and term_list:
            matched = _term_hits(h, mid, f, term_list, snippet=mid not in shown)
            if matched:
                why.append({"kind": "terms", **matched})
        if mid in lineage_desc and parsed.lineage is not None:
            why.append(_lineage_why(lineage_desc[mid], names, parsed.lineage.target))
        why.extend(why_extra.get(mid, []))
        for c, v in verdicts:
            ck = v.check[mid]
            if ck.status == UNKNOWN and not c.hard:
                continue
            why.append({"kind": "constraint", "field": c.field, "wanted": c.text or c.value,
                        "value": ck.value, "source": ck.source, "status": ck.status,
                        "hard": c.hard})
        hits.append(SearchHit(name=name, score=scores[mid], why=why, version=f.get("version")))
    qd = parsed.to_dict()
    qd["mode"] = mode
    if lineage_note:
        qd["note"] = lineage_note.strip()
    return SearchResult(hits=hits, query=qd, candidates=len(allowed) if allowed is not None
                        else len(universe))


# -- similar -----------------------------------------------------------------------------
def similar(lake: Lake | Catalog | str | Path, name: str, k: int = 10,
            sync_first: bool = True) -> SearchResult:
    """Models nearest to ``name``: by weight sketch when it has weights, else by card.

    Weight sketches are comparable only within one tensor layout, so weight neighbours are
    the model's family (same ``layout_hash``): ranked by relative L2 distance
    ``||a - b|| / ||a||`` of the sketches (an exact scan up to ``EXACT_SKETCH_MAX`` family
    members, Chroma's ANN beyond), each marked ``family`` with its distance and cosine. A
    model without weights (card only) gets the models whose card chunks are nearest.
    """
    with open_lake(lake) as h:
        if sync_first and needs_sync(h):
            sync(h)
        st = _state(h)
        target = h.catalog.get_model(name)
        mid = target.id
        names = st.names
        sketch = h.catalog.sketch(mid) if mid is not None else None
        hits: list[SearchHit] = []
        basis = "card"
        if sketch is not None and sketch.vector:
            basis = "weights"
            family = h.catalog.sketches(sketch.layout_hash)
            family.pop(target.name, None)
            a = np.nan_to_num(np.asarray(sketch.vector, np.float32))
            if len(family) > EXACT_SKETCH_MAX:
                near = h.vectors.query_sketches(a, sketch.layout_hash, k + 1)
                cands = {names[m]: h.catalog.sketch(m) for m, _ in near if m in names and m != mid}
                family = {n: s for n, s in cands.items() if s is not None}
            an = float(np.linalg.norm(a)) or 1.0
            scored = []
            for other, sk in family.items():
                b = np.nan_to_num(np.asarray(sk.vector, np.float32))
                if b.shape != a.shape:
                    continue
                rel = float(np.linalg.norm(a - b)) / an
                cos = float(a @ b / (an * (float(np.linalg.norm(b)) or 1.0)))
                scored.append((rel, cos, other))
            scored.sort()
            for rel, cos, other in scored[:k]:
                why = [{"kind": "weights", "family": True, "layout_hash": sketch.layout_hash,
                        "relative_l2": round(rel, 6), "cosine": round(cos, 6)}]
                omid = next((m for m, n in names.items() if n == other), None)
                if omid is not None:
                    why += _relation_why(st, mid, omid, names)
                hits.append(SearchHit(other, 1.0 / (1.0 + rel), why))
        else:
            chunks = fts.model_chunks(h.conn, mid) if mid is not None else []
            vecs = h.vectors.chunk_vectors([c[0] for c in chunks]) if chunks else {}
            if vecs:
                centre = np.mean(list(vecs.values()), axis=0)
                centre /= np.linalg.norm(centre) or 1.0
                hits_raw = h.vectors.query_chunks(centre, DENSE_CHUNKS)
                best: dict[int, tuple[str, float]] = {}
                for cid, m, sim in hits_raw:
                    if m != mid and (m not in best or sim > best[m][1]):
                        best[m] = (cid, sim)
                for m in sorted(best, key=lambda x: -best[x][1])[:k]:
                    if m not in names:
                        continue
                    texts = fts.chunks(h.conn, [best[m][0]])
                    why = [_passage(texts, *best[m], title=st.by_id[m][1].get("title", ""))]
                    why += _relation_why(st, mid, m, names)
                    hits.append(SearchHit(names[m], best[m][1], why))
        return SearchResult(hits=hits, query={"similar_to": target.name, "basis": basis},
                            candidates=len(hits))


def _relation_why(st: _State, a: int, b: int, names: dict[int, str]) -> list[dict[str, Any]]:
    """A declared lineage link between two lake models, either way, if any."""
    out = []
    for x, y in ((a, b), (b, a)):
        for step in st.graph.ancestors(y):
            keys = st.graph.model_keys.get(x, set())
            if step.parent.lower() in keys or step.parent.lower().rsplit("/", 1)[-1] in keys:
                out.append({"kind": "lineage", "path": [names.get(x, str(x)), names.get(y, str(y))],
                            "relations": [step.relation], "sources": [step.source]})
                break
    return out

