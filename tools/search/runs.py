"""Searching results themselves: "what did we measure on polarity last week".

Every stored result (a run measured by ``modellake bench``, an imported evaluation file, a
card's model-index stored at ingest) is a document: what it measured in words (task,
dataset, the task's description, what the benchmark is about: ``data/benchmarks.json``),
its metrics, model, how it was obtained and when. The document's embedding is kept in the
vector index (``result_docs``, one vector per distinct description), so "how well do our
models spot named entities" finds the CoNLL-2003 F1 rows by meaning.

``search_runs`` reads from the question, besides what was measured:

* a time window: "today", "yesterday", "this week", "in the last two weeks", "since
  2026-05-01", "before 2026-05-01", "on 2026-05-01", "older than a month", "more than two
  months old";
* how the result was obtained: "we measured", "our own" (measured here), "from the model
  cards" (a card's model-index), "lm-eval harness" / "imported" (evaluation files),
  "reported" (cards and files), each possibly ruled out ("not numbers copied from cards");
* the models: a lake model named (by any of its names), a family ("the Llama 3 models"),
  merges or quantized copies.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.lake import Lake
from modellake.tools.embedding import embedder as embed
from modellake.tools.search import vocab as V
from modellake.tools.search.families import mentions as family_mentions
from modellake.tools.search.families import models_in
from modellake.tools.search.family import tokens
from modellake.tools.search.glossary import about, benchmarks_in
from modellake.tools.search.hits import SearchHit, SearchResult
from modellake.tools.search.index import Handle, Progress, catch_up, open_lake
from modellake.tools.search.query import content_terms
from modellake.tools.search.rank import ResultRow
from modellake.tools.search.state import LakeState, lake_state, result_rows

MAX_ROWS_PER_HIT = 8
RARE_NAME_WORD = 3  # a word of a name that at most this many models have names it alone ("zephyr")
KEEP_BELOW_BEST = 0.3  # rows scoring within this of the best row are kept
MIN_SIMILARITY = 0.3
LEXICAL_BONUS = 0.25  # per share of the question's words a row's description contains
BENCHMARK_BONUS = 0.3  # the question names the benchmark the row is on
DATASET_BONUS = 0.2  # the question names the row's dataset as stored ("squad_v2", not just "squad")

# -- time ---------------------------------------------------------------------------------
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                 "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
                 "couple of": 2, "few": 3, "a few": 3, "several": 3}
_N = (r"(\d+|a few|a couple of|couple of|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
      r"twelve|few|several)")
_UNIT_DAYS = {"day": 1, "week": 7, "fortnight": 14, "month": 31, "year": 366}
_DATE = r"(\d{4}-\d{2}-\d{2})"
_WINDOWS = [
    (r"\btoday\b|\bthis morning\b", 1), (r"\byesterday\b", 2), (r"\b(?:last|past|this) week\b", 7),
    (r"\b(?:last|past|this) fortnight\b", 14), (r"\b(?:last|past|this) month\b", 31),
    (r"\b(?:last|past|this) year\b", 366), (r"\brecently\b|\brecent\b|\blately\b", 14),
]


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word.lower(), 1)


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Window:
    since: datetime | None = None
    until: datetime | None = None

    def holds(self, when: datetime | None) -> bool:
        if self.since is None and self.until is None:
            return True
        if when is None:
            return False
        return (self.since is None or when >= self.since) and (self.until is None or when < self.until)


def read_window(query: str, now: datetime | None = None) -> tuple[Window, str]:
    """The time window a question states, and the question without it."""
    now = now or datetime.now(UTC)
    rules: list[tuple[str, Any]] = [
        (rf"\b(?:since|after|from) {_DATE}\b", lambda m: Window(since=_date(m.group(1)))),
        (rf"\b(?:before|until|till|up to|prior to) {_DATE}\b", lambda m: Window(until=_date(m.group(1)))),
        (rf"\bon {_DATE}\b", lambda m: Window(_date(m.group(1)), _date(m.group(1)) + timedelta(days=1))),
        (rf"\b(?:older than|more than|over|at least) {_N} (day|week|fortnight|month|year)s?(?: old| ago)?\b",
         lambda m: Window(until=now - timedelta(days=_count(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]))),
        (rf"\b(?:in the |within the |over the |during the )?(?:last|past|previous) {_N} "
         rf"(day|week|fortnight|month|year)s?\b",
         lambda m: Window(since=now - timedelta(days=_count(m.group(1)) * _UNIT_DAYS[m.group(2).lower()]))),
        (rf"\b{_N} (day|week|fortnight|month|year)s? ago\b",
         lambda m: Window(since=now - timedelta(days=(_count(m.group(1)) + 1) * _UNIT_DAYS[m.group(2).lower()]))),
    ]
    for pat, make in rules:
        m = re.search(pat, query, re.I)
        if m:
            return make(m), query.replace(m.group(0), " ")
    for pat, days in _WINDOWS:
        m = re.search(pat, query, re.I)
        if m:
            return Window(since=now - timedelta(days=days)), query.replace(m.group(0), " ")
    return Window(), query


# -- how a result was obtained ------------------------------------------------------------
SOURCES = ("measured", "card", "imported")
_SOURCE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (r"\b(?:we|i|you|us) (?:measure|measured|ran|run|benchmark|benchmarked|evaluate|evaluated|test|tested|"
     r"score|scored)\b|\bmeasured\b|\bmeasurements?\b|"
     r"\bour own\b|\bourselves\b|\bin[- ]house\b|\bby us\b|\bhere in the lake\b|\bmodellake bench\b",
     ("measured",)),
    (r"\b(?:model[- ]?)?cards?\b|\bmodel[- ]index\b|\bself[- ]reported\b|\bclaimed\b|\bthe authors\b",
     ("card",)),
    (r"\blm[- ]?eval(?:uation)?(?:[- ]harness)?\b|\beval(?:uation)? harness\b|\bimported\b|"
     r"\bresult files?\b|\bevaluation files?\b", ("imported",)),
    (r"\breported\b|\bpublished\b|\bofficial\b", ("card", "imported")),
]
_NEGATED = re.compile(r"(?:\bnot|\bno|\brather than|\binstead of|\bexcept|\bexcluding|\bwithout|\bnor)"
                      r"(?:\s+\w+){0,3}\s*$", re.I)


def read_sources(query: str) -> tuple[set[str] | None, str]:
    """Which kinds of result the question keeps (None: all), and the question without the words."""
    wanted: set[str] = set()
    ruled_out: set[str] = set()
    for pat, kinds in _SOURCE_WORDS:
        for m in re.finditer(pat, query, re.I):
            if _NEGATED.search(query[max(0, m.start() - 30):m.start()]):
                ruled_out.update(kinds)
            else:
                wanted.update(kinds)
            query = query.replace(m.group(0), " ")
    if not wanted and not ruled_out:
        return None, query
    return (wanted or set(SOURCES)) - ruled_out, query


def source_of(row: ResultRow) -> str:
    src = row.source or ""
    if "measured" in src:
        return "measured"
    if "card" in src:
        return "card"
    return "imported"


# -- which models -------------------------------------------------------------------------
_GENERIC = {"model", "models", "base", "the", "hf", "v", "version", "checkpoint", "all", "of", "for"}


def _has(tok: str, words: set[str]) -> bool:
    return tok in words or any(len(tok) >= 3 and len(w) >= 3 and (w.startswith(tok) or tok.startswith(w))
                               for w in words)


def named_models(st: LakeState, query: str, task_words: frozenset[str] = frozenset(),
                 rare_names: bool = True) -> tuple[set[int], list[str]]:
    """The lake models the question names (best-matching names only), and the names' words.
    A name counts when most of its words are in the question, or one word that few models'
    names have and no result's description uses ("zephyr", not "polarity")."""
    words = set(tokens(query))
    best: tuple[float, int] = (0.0, 0)
    found: dict[int, tuple[float, int]] = {}
    matched_words: dict[int, list[str]] = {}
    for mid, cores in st.graph.alias_cores.items():
        for core in cores:
            toks = [t for t in core if t not in _GENERIC]
            sizes = [t for t in toks if re.fullmatch(r"\d+(?:\.\d+)?[bm]", t)]
            alpha = [t for t in toks if t not in sizes and not re.search(r"\d", t)]
            nums = [t for t in toks if t not in sizes and t not in alpha]
            if not alpha or any(t not in words for t in sizes if _mentions_size(words)):
                continue
            hit = [t for t in alpha if _has(t, words)]
            rare = rare_names and any(len(t) >= 4 and len(st.graph.core_postings.get(t, ())) <= RARE_NAME_WORD
                                      and t not in task_words for t in hit)
            said = [t for t in nums if _has(t, words)]
            if len(said) < len(nums) and not (rare or (len(hit) >= 2 and len(hit) * 3 >= len(alpha) * 2)):
                continue  # a version left out ("Beyonder's results", "the bge reranker") when the words name it
            share = (len(hit) + len(said) + sum(t in words for t in sizes)) / len(toks)
            if not hit or (len(hit) * 3 < len(alpha) * 2 and not rare):
                continue
            score = (round(share, 3), len(hit) + len(said))
            if score > found.get(mid, (0.0, 0)):
                found[mid] = score
                matched_words[mid] = hit + said + [t for t in sizes if t in words]
            best = max(best, score)
    chosen = {mid for mid, sc in found.items() if sc == best}
    return chosen, sorted({w for mid in chosen for w in matched_words[mid]})


def _mentions_size(words: set[str]) -> bool:
    return any(re.fullmatch(r"\d+(?:\.\d+)?[bm]", w) for w in words)


# -- what was measured, by meaning ----------------------------------------------------------
_described: dict[str, str] = {}


def describe(row: ResultRow) -> str:
    """The words a result is searched by: what it measured (its task, dataset, description),
    what its benchmark is about and what its kind of task is for (a Hub pipeline tag)."""
    what = " ".join(x for x in (row.about or row.task or "", row.dataset if row.dataset != row.task else "")
                    if x)
    out = _described.get(what)
    if out is None:
        if len(_described) > 50_000:
            _described.clear()
        out = _described[what] = _describe(what)
    return out


def _describe(what: str) -> str:
    tag = _task_tag(what)
    need = task_needs().get(tag, "") if tag else ""
    return " ".join([what, *about(what, 2), need])[:600]


def _task_tag(text: str) -> str | None:
    """The Hub pipeline tag a result's words name ("Token Classification", "summarization")."""
    low = re.sub(r"[\s_]+", "-", text.lower())
    tags = task_needs()
    return next((t for t in sorted(tags, key=len, reverse=True) if t in low), None)


_task_needs: dict[str, str] | None = None


def task_needs() -> dict[str, str]:
    """Pipeline tag -> what people use it for, in words (the first need of ``data/needs.json``)."""
    global _task_needs
    if _task_needs is None:
        from modellake.tools.search.needs import all_needs

        out: dict[str, str] = {}
        for n in all_needs():
            out.setdefault(n.task, n.need)
        _task_needs = out
    return _task_needs


def _doc_id(text: str) -> str:
    return "r" + hashlib.sha1(f"{embed.name()}\n{text}".encode()).hexdigest()[:24]


def doc_vectors(h: Handle, texts: list[str], progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Embeddings of result descriptions: stored ones from the vector index, the others
    embedded now and stored (one vector per distinct text; ``progress`` gets ``("results",
    done, total)`` when there are many: a lake indexed before results were)."""
    return _doc_vectors(h, texts, progress)[0]


def _doc_vectors(h: Handle, texts: list[str], progress: Progress | None) -> tuple[dict[str, np.ndarray], int]:
    """(:func:`doc_vectors`, how many of them were embedded now)."""
    want = {_doc_id(t): t for t in dict.fromkeys(texts)}
    got: dict[str, np.ndarray] = {}
    vectors = h.vectors
    if vectors is not None:
        try:
            got = vectors.result_vectors(list(want))
        except Exception:  # noqa: BLE001 - embed instead
            got = {}
    missing = [i for i in want if i not in got]
    step = 64
    for start in range(0, len(missing), step):
        if progress and len(missing) > step:
            progress("results", start, len(missing))
        part = missing[start:start + step]
        vecs = embed.embed([want[i] for i in part])
        got.update(zip(part, vecs))
        if vectors is not None:
            try:
                vectors.add_results(part, vecs)
            except Exception:  # noqa: BLE001 - the next search embeds them again
                pass
    if progress and len(missing) > step:
        progress("results", len(missing), len(missing))
    return {want[i]: got[i] for i in want}, len(missing)


def sync_result_docs(h: Handle, progress: Progress | None = None) -> int:
    """Embed the descriptions of stored results the vector index lacks (after an ingest,
    a bench run or an import); returns how many were embedded. ``progress`` gets
    ``("results", done, total)``."""
    texts = sorted({describe(r) for r in _run_rows(h, lake_state(h))})
    return _doc_vectors(h, texts, progress)[1] if texts else 0


# -- the search -----------------------------------------------------------------------------
_FILLER = {"s", "did", "we", "on", "what", "which", "results", "result", "numbers", "number", "scores",
           "score", "scored", "runs", "run", "figures", "evaluations", "evaluation", "evaluated",
           "benchmarks", "benchmark", "benchmarked", "performance", "performed", "do", "does",
           "have", "has", "our", "my", "models", "model", "how", "well", "good", "show", "me",
           "any", "all", "there", "are", "is", "were", "was", "added", "came", "come", "in",
           "stored", "recorded", "got", "get", "gets", "from", "their", "its", "list", "tell",
           "about", "ran", "measure", "measured", "much", "by", "at", "for", "of", "the", "a",
           "an", "that", "with", "and", "or", "than", "to", "older", "new", "newest", "latest",
           "old", "days", "weeks", "months", "ago", "copied", "not", "base", "fine-tune", "fine-tuned",
           "import", "imported", "file", "files",
           "finetune", "tuned", "version", "variant", "checkpoint", "rather", "here", "instead",
           "elsewhere", "comes", "been", "being", "ones", "one"}


@dataclass
class RunsQuestion:
    window: Window
    sources: set[str] | None
    models: set[int] | None
    model_words: list[str]
    words: list[str]
    benchmarks: set[str] = field(default_factory=set)
    said: str = ""  # the question, lower case (a dataset named as stored: "squad_v2")


def read_question(h: Handle, st: LakeState, query: str, now: datetime | None = None,
                  names: bool = True) -> RunsQuestion:
    """What a question about results asks: when, how obtained, of which models (unless
    ``names`` is off: the models are known), about what."""
    window, rest = read_window(query, now)
    sources, rest = read_sources(rest)
    models: set[int] = set()
    model_words: list[str] = []
    if names:
        related, rest = _relation(st, rest)
        models, model_words = named_models(st, rest, _described_words(h, st), rare_names=related is None)
        models |= related or set()
        if not models:
            models = _families(st, rest)
    named = set(model_words) | _GENERIC
    words = [t for t in content_terms(rest) if t.lower() not in _FILLER
             and not all(x in named or _has(x, set(model_words)) for x in tokens(t))]
    return RunsQuestion(window, sources, models or None, model_words, words, benchmarks_in(rest, question=True),
                        query.lower())


def _described_words(h: Handle, st: LakeState) -> frozenset[str]:
    """Every word the lake's result descriptions use (kept with the lake state)."""
    words = st.memo.get("result_words")
    if words is None:
        words = st.memo["result_words"] = frozenset(w for r in _run_rows(h, st) for w in tokens(describe(r)))
    return words


_RELATION_WORDS = [(r"\bmerg(?:e|ed|es|ing)\b", "merge"), (r"\bquanti[sz](?:ed|ations?)\b", "quantized"),
                   (r"\badapters?\b|\blora\b", "adapter"), (r"\bpruned\b", "pruned")]


def _relation(st: LakeState, text: str) -> tuple[set[int] | None, str]:
    """The models of a relation the question names ("the merged models"), and the question
    without the word (so that "merged" does not name a model called "...-merge")."""
    out: set[int] | None = None
    for pat, rel in _RELATION_WORDS:
        pat = rf"(?<![\w-])(?:{pat})(?![\w-])"  # "minilm-pruned" is a name, not "the pruned models"
        if re.search(pat, text, re.I):
            out = (out or set()) | {mid for mid, r in st.graph.relation.items() if r == rel}
            text = re.sub(pat, " ", text, flags=re.I)
    return out, text


def _families(st: LakeState, text: str) -> set[int]:
    fams = st.family_members()
    return set().union(*(models_in(m, fams) for m in family_mentions(text) if not m.negated))


def _run_rows(h: Handle, st: LakeState) -> list[ResultRow]:
    """Stored results (runs with an id, or rows a run source gives), not a card's own table
    numbers: those describe models, not evaluations the lake keeps."""
    return [r for r in result_rows(h, st) if r.run_id is not None or (r.source or "").startswith("run")]


def _when(row: ResultRow) -> datetime | None:
    if not row.when:
        return None
    try:
        t = datetime.fromisoformat(str(row.when).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _score_rows(h: Handle, rows: list[ResultRow], q: RunsQuestion,
                progress: Progress | None = None) -> dict[int, float]:
    """Each row's match to what the question asks about (index into ``rows``)."""
    if not q.words and not q.benchmarks:
        return {i: 0.0 for i in range(len(rows))}
    texts = [describe(r) for r in rows]
    vecs = doc_vectors(h, texts, progress)
    qvec = embed.embed_query(" ".join(q.words) or " ".join(q.benchmarks))
    want = {t.lower() for t in q.words}
    named = {i: _dataset_named(r, q.said) for i, r in enumerate(rows)}
    longest = max(named.values(), default=0)
    scores = {}
    for i, (r, text) in enumerate(zip(rows, texts)):
        sim = float(vecs[text] @ qvec)
        have = set(tokens(f"{text} {r.metric or ''}"))
        lex = sum(any(_has(t, {w}) for w in have) for t in want) / len(want) if want else 0.0
        bench = BENCHMARK_BONUS if q.benchmarks & benchmarks_in(text) else 0.0
        exact = DATASET_BONUS if longest and named[i] == longest else 0.0
        scores[i] = sim + LEXICAL_BONUS * lex + bench + exact
    return scores


def _dataset_named(r: ResultRow, said: str) -> int:
    """How long a name of the row's dataset the question says as stored ("squad_v2": 8; the
    longest wins over "squad" said in "the squad model"); 0 when it says none."""
    best = 0
    for name in {x.split("/")[0].lower() for x in (r.dataset, r.task) if x}:
        if len(name) >= 3:
            pat = r"[-_ ]?".join(re.escape(p) for p in re.split(r"[-_ ]+", name) if p)
            if re.search(rf"(?<![\w-]){pat}(?![\w-])", said):
                best = max(best, len(name))
    return best


def _kept(rows: list[ResultRow], scores: dict[int, float], q: RunsQuestion) -> list[int]:
    """The rows that answer: on a benchmark the question names, when it names one the lake
    has; else those about as close to what it asks as the closest; every row when it asks
    about nothing in particular ("what came in today")."""
    if not (q.words or q.benchmarks):
        return list(scores)
    if q.models and not q.benchmarks and not _words_describe_runs(rows, q):
        return list(scores)  # "results for the Italian Llama 3 fine-tune": its words describe the model
    if q.benchmarks:
        named = [i for i in scores if q.benchmarks & benchmarks_in(describe(rows[i]))]
        if named:
            return named
    top = max(scores.values(), default=0.0)
    return [i for i, s in scores.items() if s >= top - KEEP_BELOW_BEST and s >= MIN_SIMILARITY]


def _words_describe_runs(rows: list[ResultRow], q: RunsQuestion) -> bool:
    """Whether a word the question leaves (the models' names aside) is a word of one of the
    rows' descriptions: it then asks about some of their results, not all of them."""
    want = {t.lower() for t in q.words}
    return any(any(_has(t, set(tokens(f"{describe(r)} {r.metric or ''}"))) for t in want) for r in rows)


def search_runs(lake: Lake | Catalog | str | Path, query: str, k: int = 10,
                now: datetime | None = None, wait: bool = False,
                progress: Progress | None = None) -> SearchResult:
    """Stored results (measured, imported, from cards) that answer ``query``: best-matching,
    then newest first, grouped by model.

    Hits are models; each ``why`` holds the matching rows (task, dataset, metric, value,
    when, source, run id).
    """
    with open_lake(lake) as h:
        behind = catch_up(h, wait, progress)
        st = lake_state(h)
        q = read_question(h, st, query, now)
        rows = [r for r in _run_rows(h, st)
                if q.window.holds(_when(r)) and (q.sources is None or source_of(r) in q.sources)
                and (q.models is None or r.model_id in q.models) and r.model_id in st.by_id]
        scores = _score_rows(h, rows, q, progress=progress) if rows else {}
        keep = _kept(rows, scores, q)
        keep.sort(key=lambda i: (-round(scores[i], 2), -(_when(rows[i]) or datetime.min.replace(tzinfo=UTC))
                                 .timestamp()))
        hits: dict[int, SearchHit] = {}
        for i in keep:
            r = rows[i]
            if r.model_id not in hits:
                if len(hits) >= k:
                    continue
                hits[r.model_id] = SearchHit(st.by_id[r.model_id][0], round(scores[i], 4), [])
            if len(hits[r.model_id].why) < MAX_ROWS_PER_HIT:
                hits[r.model_id].why.append(_row(r))
        info: dict[str, Any] = {
            "runs": True, "since": q.window.since.isoformat() if q.window.since else None,
            "until": q.window.until.isoformat() if q.window.until else None,
            "sources": sorted(q.sources) if q.sources is not None else None,
            "measured_only": q.sources == {"measured"}, "terms": q.words,
            "models": sorted(st.names[m] for m in q.models) if q.models else [],
            "benchmarks": sorted(q.benchmarks)}
        res = SearchResult(list(hits.values()), info, len(keep))
        return res.behind_by(*behind)


def _row(r: ResultRow) -> dict[str, Any]:
    return {"kind": "result", "task": r.task, "dataset": r.dataset, "metric": r.metric,
            "value": r.value, "when": r.when, "source": r.source, "verified": r.verified,
            "run_id": r.run_id}


# -- which questions are about results ----------------------------------------------------
_ASKS_RUNS = re.compile(
    r"\bwhat (?:did|have|has) (?:we|i|it|they|\S+) (?:measure|measured|run|ran|evaluate|evaluated|benchmark|"
    r"benchmarked|test|tested|score|scored|get|got)\b|\bwhich (?:runs|results|evaluations|benchmarks|numbers|"
    r"scores|figures)\b|\bwhat (?:runs|results|numbers|scores|figures|evaluations)\b|"
    r"\b(?:runs|results|numbers|scores|figures|evaluations|measurements)\b(?!\s+(?:at least |above |over |"
    r"north of |more than )?\d).{0,40}\b(?:for|of|on|from|we)\b|"  # "scores 80 or more on": a threshold
    r"\bhow (?:well|good) (?:do|does|did|are|is) (?:our|the|my) models?\b|\bperformance of\b|"
    r"\b(?:measured|reported)\b.{0,30}\b(?:today|yesterday|week|month|days?|since|before)\b|"
    r"\bhow (?:did|does|do|has|have) (?:\S+\s+){1,5}(?:do|done|perform|performed|fare|fared|score|scored)\b|"
    r"\bevals?\b.{0,30}\b(?:for|of|on|reported)\b|\b(?:eval|evaluation|benchmark) (?:numbers|results|scores|"
    r"figures)\b", re.I)
_RESULT_WORDS = re.compile(V.RESULT_WORDS, re.I)
_MODEL_NEED = re.compile(r"\b(?:find|recommend|suggest|need|want|looking for|search for|pick|choose)\b|"
                         r"\b(?:a|an) (?:\w+ ){0,3}model (?:for|that|which|to)\b", re.I)


_RESULT_NOUNS = re.compile(
    r"\b(?:scores|figures|numbers|results|evaluations)\b(?=\s+(?:for|of|on|from|in|we|reported|added|"
    r"older|that|measured|copied|published)\b|\s*[?.!]?\s*$)|\bour (?:own )?(?:measurements|runs)\b|"
    r"\bwhat (?:did|does|do) .{1,60}\b(?:score|get|reach|achieve)\b", re.I)
# a request that starts by saying what to do is a need ("predict sales from past figures")
_TASK_VERB = re.compile(r"^\s*(?:please\s+)?(?:regress|predict|convert|classify|detect|translate|generate|find|"
                        r"summari[sz]e|transcribe|extract|tag|answer|turn|make|tell|read|write|pull|sort|route|"
                        r"flag|identify|recogni[sz]e|spot|estimate|segment|caption|forecast|embed|search|rank|"
                        r"rerank|build|serve|run|deploy|fine-tune|train|chat|help|recommend|suggest|i need|"
                        r"i want|i'm looking|looking for)\b", re.I)


def is_runs_query(query: str) -> bool:
    """A question about results themselves ("what did we measure on sentiment last week",
    "GSM8K scores from lm-eval runs"), not about which model fits a need ("a model for
    sentiment", "NER with F1 above 0.9": a threshold or "best on" ranks models): ``search``
    hands these to ``search_runs``."""
    if _MODEL_NEED.search(query) or _TASK_VERB.search(query):
        return False
    if _ASKS_RUNS.search(query):
        return True
    from modellake.tools.search.query import parse_query

    if parse_query(query).results is not None:
        return False
    if _RESULT_NOUNS.search(query):
        return True
    window, _ = read_window(query)
    return (window.since is not None or window.until is not None) and bool(_RESULT_WORDS.search(query))


_HOW_MADE = re.compile(r"\b(?:fine-?tuned|finetuned|trained|built|based|derived|distilled|quanti[sz]ed|"
                       r"adapted)\b", re.I)  # "a model fine-tuned on CoNLL-2003" describes a model


def asks_results_of(h: Handle, query: str) -> bool:
    """"Meta's Llama 3 8B base model on ARC, GSM8K and HellaSwag": a model of the lake named with
    benchmarks, and no need to fill, no threshold: a question about its results."""
    if (_MODEL_NEED.search(query) or _TASK_VERB.search(query) or _HOW_MADE.search(query)
            or not benchmarks_in(query, question=True)):
        return False
    from modellake.tools.search.query import parse_query

    if parse_query(query).results is not None:
        return False
    st = lake_state(h)
    models, _ = named_models(st, query, _described_words(h, st), rare_names=False)
    return bool(models)


ATTACH_MIN = 0.55  # a model hit shows a stored result whose description matches the query this well
ATTACH_PER_HIT = 3


def attach_results(h: Handle, st: LakeState, query: str, hits: list[SearchHit]) -> None:
    """Beside a model search's hits, the stored results of those models that answer the
    question ("which models pick the most plausible continuation of a scene": their
    HellaSwag runs), best first."""
    if not hits:
        return
    by_name = {name: mid for mid, name in st.names.items()}
    ids = {hit.name: by_name[hit.name] for hit in hits if hit.name in by_name}
    wanted = set(ids.values())
    rows = [r for r in _run_rows(h, st) if r.model_id in wanted]
    if not rows:
        return
    q = read_question(h, st, query, names=False)
    if not (q.words or q.benchmarks):
        return
    scores = _score_rows(h, rows, q)
    named = {i for i in scores if q.benchmarks & benchmarks_in(describe(rows[i]))}
    for hit in hits:
        mid = ids.get(hit.name)
        mine = sorted((i for i in scores if rows[i].model_id == mid and (i in named or scores[i] >= ATTACH_MIN)),
                      key=lambda i: -scores[i])
        seen = {(w.get("task"), w.get("metric")) for w in hit.why if w.get("kind") == "result"}
        found = []
        for i in mine:
            r = rows[i]
            if (r.task, r.metric) in seen or len(seen) >= ATTACH_PER_HIT + len(named):
                continue
            seen.add((r.task, r.metric))
            found.append(_row(r))
        hit.why[:0] = found  # what the question asked about comes before why the model matched
