"""Search the lake: by need, by constraint, by lineage, by results, by weights.

    search(lake, "small Apache-2.0 chat model under 3B parameters", k=10)
    search(lake, "fine-tunes of mistralai/Mistral-7B-v0.1")
    search(lake, "NER with F1 above 0.9 on CoNLL-2003")
    similar(lake, "my-bert", k=5)
    sync_index(lake)   # after ingest / rm / rename (search calls it too, when needed)
    reindex(lake)      # rebuild from the catalog (unchanged chunk texts keep their vectors)

``lake`` is a ``Lake``, an open ``Catalog`` (borrowed, not closed) or a lake directory.
``search_runs`` (in :mod:`.runs`) searches the result rows themselves.

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
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.fts import match_expression
from modellake.store.lake import Lake
from modellake.store.records import ModelRecord, WeightSketch
from modellake.tools.embedding import embedder as embed
from modellake.tools.search import vocab as V
from modellake.tools.search.families import is_maker, maker_label, models_in, unversioned
from modellake.tools.search.family import (
    Descent,
    core_of,
)
from modellake.tools.search.hits import SearchHit, SearchResult
from modellake.tools.search.index import Handle, Progress, catch_up, open_lake
from modellake.tools.search.needs import closest_method, closest_need
from modellake.tools.search.query import (
    Constraint,
    LineageClause,
    ParsedQuery,
    ResultsClause,
    content_terms,
    parse_query,
)
from modellake.tools.search.rank import (
    FAIL,
    HARD_FACTOR,
    LIKELY,
    LOWER_IS_BETTER,
    OK,
    RULED_OUT_WORD,
    SOFT_FACTOR,
    UNKNOWN,
    ResultRow,
    match_results,
    rrf,
)
from modellake.tools.search.runs import asks_results_of, attach_results, is_runs_query, search_runs
from modellake.tools.search.state import LakeState, Verdicts, lake_state, result_rows

log = logging.getLogger(__name__)


DENSE_CHUNKS = 200  # nearest chunks fetched per query
LEXICAL_DOCS = 200  # BM25 documents fetched per query
COVERAGE_DOCS = 3  # the best lexical documents whose coverage of the query sets its weight
FULL_COVERAGE = 0.7  # from this share of the query's IDF in one document, full lexical weight
MIN_LEX_CONFIDENCE = 0.25
RESULTS_WEIGHT = 2.0  # the ranking by the value of the result a query asks about, against LEX_WEIGHT
NEED_WEIGHT = 0.5  # the lexical ranking by the card words of the need a query describes, against LEX_WEIGHT
METHOD_WEIGHT = 1.0  # ... of how the model it describes was made (the words are the method's own names)
NEED_FACTOR = {OK: 1.1, LIKELY: 1.05, UNKNOWN: 1.0, FAIL: 1.0}  # a task read from the need is a guess:
# models of that task rank a little higher, no model lower (a reranker's card may say
# text-classification, sentence-similarity or text-ranking)
NEED_RANK_MARGIN = 0.05  # a need this far ahead of other tasks' needs ranks its task's models on their own
NEED_RANK_WEIGHT = 1.0
NEED_RANK_MAX = 10  # ... when at most this many models have that task (text-classification says little)
NEED_MIN_WORDS = 3  # a need is read from a query of at least this many content words
COMMON_TERM = 0.5  # lexical search skips terms found in more than this share of documents
DENSE_MIN_MODELS = 20  # fewer candidates than this among the nearest chunks: look further
FILTERED_DENSE_MAX = 300  # a candidate set up to this size is searched on its own chunks
EXACT_SKETCH_MAX = 5000  # up to this many sketches of one layout: exact scan, else Chroma ANN
FAMILY_TEXT_FACTOR = 0.35  # a named family: a model whose card only names it (no name or base says so)
FAMILY_FEW = 10  # ... considered while the lake knows fewer members than this
MAKER_FACTOR = 1.6  # a maker named as wanted: its models rank first, the others stay
MENTION_FACTOR = 0.35  # lineage: a model that only names the target in its card
PASSAGE_MIN_SIM = 0.3  # a best chunk less similar than this explains nothing
LEX_WEIGHT = 1.0  # reciprocal rank fusion weights of the two text rankings
DENSE_WEIGHT = 1.0
DESCRIBED_DENSE = 3.0  # a query that only describes (no constraint, family, lineage or result): dense leads
DENSE_RANK_GAP = 0.003  # in the fusion, a model this much less similar than the first is one rank lower
LEX_RANK_GAP = 0.005  # the same for BM25, as a share of the best score
GAP_MIN_WORDS = 3  # score gaps count from this many content words (as NEED_MIN_WORDS)
RANK_GAP_CAP = 40  # at most this many ranks lower than its plain rank


# -- text retrieval ----------------------------------------------------------------------
def _lexical(h: Handle, st: LakeState, text: str, allowed: set[int] | None) -> list[tuple[int, float]]:
    """``(model id, BM25 score)``, best first."""
    terms = content_terms(text)
    match = match_expression(_telling(h, st, terms) or terms)
    if not match:
        return []
    # FTS5 scores every matching document anyway; filtering in SQL (rowid IN ...) is far slower
    # than fetching more and filtering here
    hits = h.text.lexical(match, LEXICAL_DOCS if allowed is None else LEXICAL_DOCS * 5)
    return [(mid, s) for mid, s in hits if allowed is None or mid in allowed][:LEXICAL_DOCS]


def _telling(h: Handle, st: LakeState, terms: list[str]) -> list[str]:
    """The terms lexical search uses: one in most documents barely moves BM25 but makes FTS5
    score them all, so it is left out."""
    n = max(1, len(st.by_id))
    return [t for t in terms if st.df(h, t) <= COMMON_TERM * n]


def _lexical_confidence(h: Handle, st: LakeState, terms: list[str], top: list[int]) -> float:
    """How much the lexical ranking is worth for these words: the share of the query's
    information (IDF) that its best documents contain. Keywords ("SDXL LoRA art style") are
    found together in one card; a need told in plain words ("guess how far from the camera
    every pixel is") matches only incidental words, which dense similarity reads better."""
    n = max(1, len(st.by_id))
    idf = {t: math.log((n + 1) / (st.df(h, t) + 0.5)) for t in dict.fromkeys(_telling(h, st, terms))}
    total = sum(idf.values())
    if not top or total <= 0:
        return 1.0
    covered = {mid: 0.0 for mid in top}
    for t, w in idf.items():
        for mid, _ in h.text.lexical(match_expression([t]), len(top), model_ids=top):
            covered[mid] += w
    share = max(covered.values()) / total
    return min(1.0, max(MIN_LEX_CONFIDENCE, share / FULL_COVERAGE))


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
                                                chunk_ids=h.text.chunk_ids_of(sorted(allowed)))
            else:
                inside = [x for x in h.vectors.query_chunks(qvec, DENSE_CHUNKS * 5) if x[1] in allowed]
        hits = inside
    best: dict[int, tuple[str, float]] = {}
    for cid, mid, sim in hits:
        if mid not in best or sim > best[mid][1]:
            best[mid] = (cid, sim)
    order = sorted(best, key=lambda m: -best[m][1])
    return order, best


def _mentions(h: Handle, target: str, st: LakeState, skip: set[int], relations: list[str] | None,
              exclude: list[str]) -> list[int]:
    """Models whose card text names every word of the target (not already descendants)."""
    core = core_of(target)
    if not core:
        return []
    match = " AND ".join(f'"{t}"' for t in core)
    out = []
    for mid in h.text.matching(match, 500):
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
    text = h.text.snippet(mid, match_expression(terms)) if snippet else None
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
            "value": r.value, "source": r.source, "verified": r.verified, "when": r.when,
            **({"passage": r.passage} if r.passage else {})}


# -- search ------------------------------------------------------------------------------
def search(lake: Lake | Catalog | str | Path, query: str, k: int = 10, *, task: str | None = None,
           license: str | None = None, max_params: float | str | None = None,  # noqa: A002
           format: str | None = None, language: str | None = None,  # noqa: A002
           library: str | None = None, architecture: str | None = None,
           quantization: str | None = None, min_params: float | str | None = None,
           mode: str = "fused", sync_first: bool = True, wait: bool = False,
           progress: Progress | None = None) -> SearchResult:
    """The ``k`` models that best answer ``query`` (see the module docstring).

    ``mode``: ``fused`` (default), or the baselines ``lexical`` (BM25 alone) and
    ``dense`` (MiniLM alone), which take the raw query and no constraints from its text.
    ``lake``: a ``Lake``, an open ``Catalog`` (borrowed, not closed) or a lake directory.
    The index is kept up to date by ``ingest``; models added without it are left out of the
    answer, which says how many (``wait=True`` indexes them first, reporting to ``progress``).
    """
    if mode == "fused" and is_runs_query(query):
        return search_runs(lake, query, k, wait=wait, progress=progress)
    with open_lake(lake) as h:
        if mode == "fused" and asks_results_of(h, query):
            return search_runs(h.catalog, query, k, wait=wait, progress=progress)
        behind = catch_up(h, wait, progress) if sync_first else (0, 0)
        res = _search(h, query, k, mode=mode, flags=dict(
            task=task, license=license, max_params=max_params, format=format, language=language,
            library=library, architecture=architecture, quantization=quantization,
            min_params=min_params))
        return res.behind_by(*behind)


@dataclass
class _Answer:
    """What the steps of answering one query work out, as they go."""

    parsed: ParsedQuery
    mode: str
    text: str  # the words left to rank by
    verdicts: list[tuple[Constraint, Verdicts]] = field(default_factory=list)
    allowed: set[int] | None = None  # the candidates; None: every model
    unknown_hard: set[int] = field(default_factory=set)  # unknown on a (non-strict) hard constraint
    rankings: list[tuple[list[int], float]] = field(default_factory=list)  # weighted, for fusion
    extra_factor: dict[int, float] = field(default_factory=dict)  # score factors besides verdicts
    why_extra: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    lineage_desc: dict[int, Descent] = field(default_factory=dict)
    note: str | None = None
    lexical: list[int] = field(default_factory=list)  # the BM25 ranking
    best_chunk: dict[int, tuple[str, float]] = field(default_factory=dict)  # per model: (chunk, cosine)
    qvec: np.ndarray | None = None  # the embedding of ``qvec_text``
    qvec_text: str = ""
    expand: str = ""  # card words of the need the query describes (lexical ranking only)
    method_terms: str = ""  # card words of how the model it describes was made (likewise)
    fusion: dict[str, Any] = field(default_factory=dict)  # the text rankings' weights, as used
    need_task: str | None = None  # the task a need clearly describes: its models form a ranking of their own

    def narrow(self, ids: set[int]) -> None:
        """Keep only the candidates among ``ids``."""
        self.allowed = ids if self.allowed is None else self.allowed & ids

    def factor(self, mid: int) -> float:
        """What constraint verdicts (and lineage mentions) multiply a model's score by."""
        out = self.extra_factor.get(mid, 1.0)
        for c, v in self.verdicts:
            status = v.check[mid].status
            if c.field == "words":
                out *= RULED_OUT_WORD if status == FAIL else 1.0
            else:
                out *= HARD_FACTOR.get(status, 1.0) if c.hard else (
                    NEED_FACTOR if c.source == "need" else SOFT_FACTOR)[status]
        return out


def _search(h: Handle, query: str, k: int, *, mode: str, flags: dict[str, Any]) -> SearchResult:
    st = lake_state(h)
    parsed = parse_query(query, parse=(mode == "fused"), **flags)
    a = _Answer(parsed, mode, parsed.rank_text if mode == "fused" else parsed.text)
    if mode == "fused":
        _read_need(a)
    _apply_constraints(st, a, h)
    family_covers = _restrict_to_families(h, st, a)
    if parsed.lineage is not None:
        _restrict_to_lineage(h, st, parsed.lineage, a, narrow=not family_covers)
    if parsed.results is not None:
        _restrict_to_results(h, st, parsed.results, a)
    terms = content_terms(a.text)
    _rank_text(h, st, a, terms)
    scores = _fused_scores(a, k, terms)
    ranked = sorted(scores, key=lambda m: (-scores[m], st.names.get(m, "")))
    hits = _hits(h, st, a, ranked[:k], scores, terms[:12])
    if mode == "fused" and parsed.results is None:
        attach_results(h, st, query, hits)
    qd = parsed.to_dict()
    qd["mode"] = mode
    if a.note:
        qd["note"] = a.note.strip()
    if a.fusion:
        qd["fusion"] = a.fusion
    return SearchResult(hits=hits, query=qd, candidates=len(a.allowed) if a.allowed is not None
                        else len(st.by_id))


def _read_need(a: _Answer) -> None:
    """The need the words describe, by meaning (:mod:`.needs`): a soft task when the query
    names none, and the words cards use for it, for the lexical ranking."""
    if len(content_terms(a.text)) < NEED_MIN_WORDS:
        return  # a few keywords: the lexical and dense rankings read them as they are
    a.qvec, a.qvec_text = embed.embed_query(a.text), a.text
    _read_method(a)
    need = closest_need(embed.embed_query(f"{a.text}, {a.parsed.situation}") if a.parsed.situation else a.qvec)
    if need is None:
        return
    a.expand = need.terms
    if not any(c.field == "task" for c in a.parsed.constraints):
        group = [need.task] + sorted(V.task_group(need.task) - {need.task})
        a.parsed.constraints.append(Constraint("task", "in", group, hard=False, source="need",
                                               text=need.need))
        if need.margin >= NEED_RANK_MARGIN:
            a.need_task = need.task


def _read_method(a: _Answer) -> None:
    """How the model the words describe was made (:func:`.needs.closest_method`): the words
    cards use for it, and its relation to a parent as a preference."""
    method = closest_method(a.qvec)
    if method is None:
        return
    a.method_terms = method.terms
    if method.task and not any(c.field == "relation" for c in a.parsed.constraints):
        a.parsed.constraints.append(Constraint("relation", "in", [method.task], hard=False, source="need",
                                               text=method.need))


def _saying(h: Handle, phrases: list[str], limit: int = 100_000) -> set[int]:
    """Models whose card text has any of the phrases (as phrases, stemmed)."""
    words = [" ".join(re.findall(r"[a-z0-9]+", p.lower())) for p in phrases if p]
    match = " OR ".join(f'"{w}"' for w in dict.fromkeys(words) if w)
    return set(h.text.matching(match, limit)) if match else set()


def _apply_constraints(st: LakeState, a: _Answer, h: Handle | None = None) -> None:
    """Hard constraints exclude (set operations over facet groups); soft ones and
    unknown values scale the score of the models that get scored (``_Answer.factor``)."""
    constraints = a.parsed.constraints
    a.verdicts = [(c, st.verdicts(c)) for c in constraints]
    if not any(c.hard for c in constraints):
        return
    a.allowed = set(st.by_id)
    for c, v in a.verdicts:
        if c.hard:
            a.allowed -= v.by_status.get(FAIL, set())
            unknown = v.by_status.get(UNKNOWN, set())
            if c.strict:
                a.allowed -= unknown
            elif c.field == "task" and c.op == "in" and h is not None:
                silent = unknown - _saying(h, [c.text, *(t.replace("-", " ") for t in c.value[:1])])
                a.allowed -= silent  # a task it does not state and its card never names: not this
                a.unknown_hard |= unknown - silent
            else:
                a.unknown_hard |= unknown


def _restrict_to_families(h: Handle, st: LakeState, a: _Answer) -> bool:
    """Models of the families the query names (when the lake has any), none of those it rules
    out. True when a named family covers the query's lineage target ("Code Llama
    descendants": the family, by any of its members' names and bases, not only declared edges)."""
    fams = st.family_members()
    covers = False
    named: set[int] = set()
    maybe: set[int] = set()
    wanted: list[str] = []  # how the query names the families it keeps to
    for m in a.parsed.families:
        ids = models_in(m, fams)
        if m.negated:
            a.allowed = (set(st.by_id) if a.allowed is None else a.allowed) - ids
            continue
        if is_maker(m):  # "Microsoft's small models": theirs first; a maker's name is too often
            for mid in ids:  # only whose base or whose checkpoint is meant to keep to it
                a.extra_factor[mid] = a.extra_factor.get(mid, 1.0) * MAKER_FACTOR
                a.why_extra.setdefault(mid, []).append({"kind": "maker", "maker": maker_label(m)})
            continue
        at = a.parsed.raw.find(m.text)
        after = a.parsed.raw[at + len(m.text):][:8].lower() if at >= 0 else ""
        if re.match(r"[- ]?(?:based|style|like|sized|compatible)\b", after):
            continue  # "a BERT-style encoder": a description, not a family to keep to
        named |= ids
        maybe |= unversioned(m, fams)
        wanted.append(m.text)
        lc = a.parsed.lineage
        covers = covers or bool(ids and lc is not None and _names_only(lc.target, m.text))
    if named or maybe:
        for mid in maybe - named:  # of the group, family unknown: kept, below the known members
            a.extra_factor[mid] = a.extra_factor.get(mid, 1.0) * HARD_FACTOR[UNKNOWN]
        # few known members: a card that names the family may be one (with enough, a card naming
        # it in passing is not), kept lower still
        said = set().union(*(_naming(h, t) for t in wanted)) if len(named | maybe) < FAMILY_FEW else set()
        for mid in said - named - maybe:
            a.extra_factor[mid] = a.extra_factor.get(mid, 1.0) * FAMILY_TEXT_FACTOR
        a.narrow(named | maybe | said)
    return covers


def _names_only(target: str, family: str) -> bool:
    """The lineage target is the family's name ("Code Llama"), not one model of it
    ("mistralai/Mistral-7B-v0.1", "Meta Llama 3 8B")."""
    rest = re.sub(re.escape(family), " ", target, flags=re.I)
    return not re.search(r"/|\d|[a-z]{3,}", re.sub(r"\b(?:the|a|an|models?|family|original|series|"
                                                   r"meta|google|microsoft|base)\b", " ", rest, flags=re.I))


def _restrict_to_lineage(h: Handle, st: LakeState, lc: LineageClause, a: _Answer,
                         narrow: bool = True) -> None:
    """Only the target's descendants (ranked by depth), then, lower, models whose
    card names the target; a target the lake does not know becomes words to search."""
    res = st.graph.resolve(lc.target)
    desc = st.graph.descendants(res, lc.relations, lc.exclude_relations,
                                max_depth=1 if lc.direct else 8) if (res.keys or res.exact) else {}
    if not res.keys and not desc:
        a.note = f"no model or base model in the lake matches {lc.target!r}; searched as text"
        a.text = f"{a.text} {lc.target}".strip()
        return
    # models whose card names the target but no known edge leads to them: kept, lower
    mentions = _mentions(h, lc.target, st, set(desc) | res.exact, lc.relations,
                         lc.exclude_relations)
    if narrow:
        a.narrow(set(desc) | set(mentions))
    names = st.names
    order = sorted(desc, key=lambda m: (desc[m].depth, desc[m].rank, names.get(m, "")))
    a.rankings.append((order, 0.6 if content_terms(a.text) else 1.0))
    a.lineage_desc = desc
    for mid in mentions:
        a.extra_factor[mid] = MENTION_FACTOR
        a.why_extra.setdefault(mid, []).append(
            {"kind": "lineage", "target": lc.target, "path": [], "mentions_target": True,
             "note": "the card names the target, but no declared or inferred edge is known"})


def _restrict_to_results(h: Handle, st: LakeState, clause: ResultsClause, a: _Answer) -> None:
    """Only models with a matching result row, ranked by its value; no matching
    row at all makes the dataset words to search."""
    failing: set[int] = set()
    matched = match_results(result_rows(h, st), clause, failing)
    if not matched:
        a.text = f"{a.text} {clause.dataset or ''}".strip()
        a.note = (a.note or "") + f" no result rows match {clause.text!r}"
        return
    if clause.op == "best":
        a.narrow(set(matched))
    else:  # a threshold: models known to meet it, and, lower, those whose card names the
        # benchmark but whose number on it was not read; those known to miss it go
        unread = _naming(h, clause.dataset) - failing - set(matched) if clause.dataset else set()
        a.narrow(set(matched) | unread)
        for mid in unread:
            a.extra_factor[mid] = a.extra_factor.get(mid, 1.0) * HARD_FACTOR[UNKNOWN]
        a.text = f"{a.text} {clause.dataset or ''}".strip()  # its words rank the cards naming it
    lower = any(LOWER_IS_BETTER.search(r.metric or "") for r in matched.values())
    order = sorted(matched, key=lambda m: (matched[m].value if lower else -matched[m].value))
    a.rankings.append((order, RESULTS_WEIGHT))
    for mid, r in matched.items():
        a.why_extra.setdefault(mid, []).append(_result_why(r))


def _naming(h: Handle, dataset: str) -> set[int]:
    """Models whose card text names a benchmark ("CoNLL-2003" also as "conll2003")."""
    words = [w for w in re.findall(r"[a-z0-9]+", re.sub(r"\([^)]*\)", " ", dataset.lower()))
             if w not in ("the", "benchmark", "dataset", "test", "shot")]
    if not words:
        return set()
    return _saying(h, [" ".join(words), "".join(words)], limit=5000)


def _rank_text(h: Handle, st: LakeState, a: _Answer, terms: list[str]) -> None:
    """The lexical and dense rankings of the words left (one of them alone in the
    baseline modes)."""
    if not terms or (a.allowed is not None and not a.allowed):
        return
    dense: list[int] = []
    lex_weight = LEX_WEIGHT
    # the gaps between scores say how well a model fits words that describe something; between
    # the scores of a few keywords ("chat model") they say little
    gaps = len(terms) >= GAP_MIN_WORDS
    lex_ranks: dict[int, float] = {}
    if a.mode in ("fused", "lexical"):
        scored = _lexical(h, st, a.text, a.allowed)
        a.lexical, lex_ranks = [mid for mid, _ in scored], _gap_ranks(scored, LEX_RANK_GAP * gaps, relative=True)
        if a.mode == "fused":
            lex_weight *= _lexical_confidence(h, st, terms, a.lexical[:COVERAGE_DOCS])
        for words, weight in ((a.expand, NEED_WEIGHT), (a.method_terms, METHOD_WEIGHT)):
            if a.mode == "fused" and words:
                ranks = _gap_ranks(_lexical(h, st, words, a.allowed), LEX_RANK_GAP * gaps, relative=True)
                a.rankings.append((ranks, LEX_WEIGHT * weight))
    if a.mode in ("fused", "dense"):
        qvec = a.qvec if a.qvec is not None and a.qvec_text == a.text else embed.embed_query(a.text)
        dense, a.best_chunk = _dense(h, qvec, a.allowed)
    if a.mode == "lexical":
        a.rankings = [(a.lexical, 1.0)]
    elif a.mode == "dense":
        a.rankings = [(dense, 1.0)]
    else:
        sims = [(mid, a.best_chunk[mid][1]) for mid in dense]
        described = gaps and not (a.parsed.lineage or a.parsed.results or a.parsed.families or any(
            c.source != "need" for c in a.parsed.constraints))
        dense_weight = DENSE_WEIGHT * (DESCRIBED_DENSE if described else 1.0)
        a.rankings += [(lex_ranks, lex_weight), (_gap_ranks(sims, DENSE_RANK_GAP * gaps), dense_weight)]
        if a.need_task:  # the models built for what the words describe, nearest first
            of_task = st.verdicts(Constraint("task", "in", [a.need_task], hard=False)).by_status.get(OK, set())
            order = [mid for mid in dense if mid in of_task] + sorted(
                (of_task - set(dense)) & (a.allowed if a.allowed is not None else of_task))
            if order and len(of_task) <= NEED_RANK_MAX:  # a task few models have: built for it, not just able
                a.rankings.append(({mid: float(i) for i, mid in enumerate(order)}, NEED_RANK_WEIGHT))
        a.fusion = {"lexical": round(lex_weight, 3), "dense": dense_weight, "score_gaps": gaps}


def _gap_ranks(scored: list[tuple[int, float]], gap: float, relative: bool = False) -> dict[int, float]:
    """A ranking (best first) as ranks that keep the score gaps: a model well ahead of the
    next stays well ahead in the fusion. With plain ranks the first and the eighth count
    nearly the same, and models that two noisy rankings both place mid-list overtook a clear
    first. ``gap``: the score difference (the share of the best score, when ``relative``)
    worth one rank; 0: plain ranks."""
    top = scored[0][1] if scored else 0.0
    if gap <= 0 or (relative and top <= 0):
        return {mid: float(rank) for rank, (mid, _) in enumerate(scored)}
    return {mid: max(float(rank), min(rank + RANK_GAP_CAP, (top - s) / (top if relative else 1.0) / gap))
            for rank, (mid, s) in enumerate(scored)}


def _fused_scores(a: _Answer, k: int, terms: list[str]) -> dict[int, float]:
    """Reciprocal rank fusion of the rankings over the candidates, scaled by constraint
    verdicts; constraint-only matches fill up to ``k``."""
    fused = rrf(a.rankings)
    if a.allowed is not None:
        fused = {mid: sc for mid, sc in fused.items() if mid in a.allowed}
        if a.mode == "fused" and len(fused) < k:
            # a constraint-only match still counts, below any text match, unless nothing
            # known about it matches the query at all
            for mid in (a.allowed if not terms else a.allowed - a.unknown_hard):
                fused.setdefault(mid, 0.0)
    return {mid: (sc + 1e-4) * a.factor(mid) for mid, sc in fused.items()}


def _hits(h: Handle, st: LakeState, a: _Answer, top: list[int], scores: dict[int, float],
          term_list: list[str]) -> list[SearchHit]:
    """The top models, each with why it matched."""
    shown = {mid: a.best_chunk[mid] for mid in top
             if mid in a.best_chunk and a.best_chunk[mid][1] >= PASSAGE_MIN_SIM}
    texts = h.text.chunks([cid for cid, _ in shown.values()])
    lex_set = set(a.lexical)
    hits: list[SearchHit] = []
    for mid in top:
        if mid not in st.by_id:  # indexed by a writer whose documents this reader cannot see
            continue
        name, f = st.by_id[mid]
        why: list[dict[str, Any]] = []
        if mid in shown:
            why.append(_passage(texts, *shown[mid], title=f.get("title", "")))
        if mid in lex_set and term_list:
            matched = _term_hits(h, mid, f, term_list, snippet=mid not in shown)
            if matched:
                why.append({"kind": "terms", **matched})
        if mid in a.lineage_desc and a.parsed.lineage is not None:
            why.append(_lineage_why(a.lineage_desc[mid], st.names, a.parsed.lineage.target))
        why.extend(a.why_extra.get(mid, []))
        why.extend(_constraint_whys(a.verdicts, mid))
        hits.append(SearchHit(name=name, score=scores[mid], why=why, version=f.get("version"),
                              card_only=f.get("has_weights") is False))
    return hits


def _constraint_whys(verdicts: list[tuple[Constraint, Verdicts]], mid: int) -> list[dict[str, Any]]:
    """Each constraint's value for one model and where it came from (soft unknowns left out)."""
    out = []
    for c, v in verdicts:
        ck = v.check[mid]
        if (ck.status == UNKNOWN and not c.hard) or (c.source == "need" and ck.status == FAIL):
            continue
        out.append({"kind": "constraint", "field": c.field, "wanted": c.text or c.value,
                    "value": ck.value, "source": ck.source, "status": ck.status,
                    "hard": c.hard})
    return out


# -- similar -----------------------------------------------------------------------------
def similar(lake: Lake | Catalog | str | Path, name: str, k: int = 10,
            sync_first: bool = True, wait: bool = False) -> SearchResult:
    """Models nearest to ``name``: by weight sketch when it has weights, else by card.

    Weight sketches are comparable only within one tensor layout, so weight neighbours are
    the model's family (same ``layout_hash``): ranked by relative L2 distance
    ``||a - b|| / ||a||`` of the sketches (an exact scan up to ``EXACT_SKETCH_MAX`` family
    members, Chroma's ANN beyond), each marked ``family`` with its distance and cosine. A
    model without weights (card only) gets the models whose card chunks are nearest.
    """
    with open_lake(lake) as h:
        behind = catch_up(h, wait) if sync_first else (0, 0)
        st = lake_state(h)
        target = h.catalog.get_model(name)
        mid = target.id
        sketch = h.catalog.sketch(mid) if mid is not None else None
        if sketch is not None and sketch.vector:
            basis, hits = "weights", _weight_neighbours(h, st, target, sketch, k)
        else:
            basis, hits = "card", _card_neighbours(h, st, mid, k)
        res = SearchResult(hits=hits, query={"similar_to": target.name, "basis": basis},
                           candidates=len(hits))
        return res.behind_by(*behind)


def _weight_neighbours(h: Handle, st: LakeState, target: ModelRecord, sketch: WeightSketch,
                       k: int) -> list[SearchHit]:
    """The ``k`` members of the target's layout family nearest by sketch distance."""
    names = st.names
    a = np.nan_to_num(np.asarray(sketch.vector, np.float32))
    family = _sketch_family(h, st, target, sketch, a, k)
    hits: list[SearchHit] = []
    for rel, cos, other in _by_distance(a, family)[:k]:
        why = [{"kind": "weights", "family": True, "layout_hash": sketch.layout_hash,
                "relative_l2": round(rel, 6), "cosine": round(cos, 6)}]
        omid = next((m for m, n in names.items() if n == other), None)
        if omid is not None:
            why += _relation_why(st, target.id, omid, names)
        hits.append(SearchHit(other, 1.0 / (1.0 + rel), why))
    return hits


def _sketch_family(h: Handle, st: LakeState, target: ModelRecord, sketch: WeightSketch,
                   a: np.ndarray, k: int) -> dict[str, WeightSketch]:
    """The sketches of the target's layout family by name, the target left out: all of
    them up to ``EXACT_SKETCH_MAX``, else the nearest ``k + 1`` by Chroma's ANN."""
    family = h.catalog.sketches(sketch.layout_hash)
    family.pop(target.name, None)
    if len(family) > EXACT_SKETCH_MAX:
        names = st.names
        near = h.vectors.query_sketches(a, sketch.layout_hash, k + 1)
        cands = {names[m]: h.catalog.sketch(m) for m, _ in near if m in names and m != target.id}
        family = {n: s for n, s in cands.items() if s is not None}
    return family


def _by_distance(a: np.ndarray, family: dict[str, WeightSketch]) -> list[tuple[float, float, str]]:
    """(relative L2 distance, cosine, name) of each sketch shaped like ``a``, nearest first."""
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
    return scored


def _card_neighbours(h: Handle, st: LakeState, mid: int | None, k: int) -> list[SearchHit]:
    """The models whose best card chunk is nearest the centre of the target's card chunks."""
    chunks = h.text.model_chunks(mid) if mid is not None else []
    vecs = h.vectors.chunk_vectors([c[0] for c in chunks]) if chunks else {}
    if not vecs:
        return []
    centre = np.mean(list(vecs.values()), axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    best: dict[int, tuple[str, float]] = {}
    for cid, m, sim in h.vectors.query_chunks(centre, DENSE_CHUNKS):
        if m != mid and (m not in best or sim > best[m][1]):
            best[m] = (cid, sim)
    names = st.names
    hits: list[SearchHit] = []
    for m in sorted(best, key=lambda x: -best[x][1])[:k]:
        if m not in names:
            continue
        texts = h.text.chunks([best[m][0]])
        why = [_passage(texts, *best[m], title=st.by_id[m][1].get("title", ""))]
        why += _relation_why(st, mid, m, names)
        hits.append(SearchHit(names[m], best[m][1], why))
    return hits


def _relation_why(st: LakeState, a: int, b: int, names: dict[int, str]) -> list[dict[str, Any]]:
    """A declared lineage link between two lake models, either way, if any: the whole chain
    when it runs through other models ("derived from enc-base through enc-sentiment")."""
    out = []
    for x, y in ((a, b), (b, a)):
        chain = st.graph.ancestors(y)
        keys = st.graph.model_keys.get(x, set())
        for i, step in enumerate(chain):
            if step.parent.lower() in keys or step.parent.lower().rsplit("/", 1)[-1] in keys:
                steps = list(reversed(chain[:i + 1]))  # from x down to y
                out.append({"kind": "lineage", "path": [names.get(x, str(x))] + [names.get(s.child, str(s.child))
                                                                                 for s in steps],
                            "relations": [s.relation for s in steps], "sources": [s.source for s in steps]})
                break
    return out

