"""What a search returns: the models that answer, each with why.

A :class:`SearchResult` answers three kinds of question, told apart by its ``query``: a
search (``search``), the models nearest one model (``similar``: ``query["similar_to"]``) and
stored results themselves (``search_runs``: ``query["runs"]``). Each renders itself
(``summary()``, ``text()``): the best matches first, each with a short reason in words.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import Record
from modellake.tools.rendering import TABLE_FROM, join, plural, table

MAX_ROWS = 30  # a table lists at most this many models
REASONS = 3  # reasons given per hit (a reason against it is always added)


@dataclass
class SearchHit(Record):
    """One model that answers the query, and why."""

    name: str
    score: float
    why: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None
    card_only: bool = False  # only its card is in the lake, not its weights

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 4), "why": self.why,
                **({"card_only": True} if self.card_only else {})}

    def reasons(self, limit: int = REASONS) -> list[str]:
        """Why this model matched, in words: the strongest reasons first, then any against it."""
        ranked = sorted((w for w in self.why if isinstance(w, dict)), key=_why_rank)
        pro = [(w, t) for w in ranked if not _against(w) for t in [why_text(w)] if t]
        if any(not _generated(w) for w, _ in pro):  # the index's own summary says little more
            pro = [(w, t) for w, t in pro if not _generated(w)]
        con = [t for w in ranked if _against(w) for t in [why_text(w)] if t]
        return list(dict.fromkeys(t for _, t in pro))[:limit] + list(dict.fromkeys(con))[:1]

    def summary(self) -> str:
        why = self.reasons()
        return self.name + (f": {'; '.join(why)}" if why else "")

    def text(self) -> str:
        return self.summary() + "."


STALE = -1  # ``indexed`` for an index that must be rebuilt (an older version's, another vector index's)


def behind_note(behind: int, indexed: int) -> str:
    """What a person is told when ``behind`` models are not in the search index yet."""
    if indexed < 0:  # ``STALE``: an index an older version built, or a lake moved to another vector index
        return (f"{behind} model{'s are' if behind != 1 else ' is'} not in the search index as it now stands "
                "(it was built by an older version of modellake, or for another vector index); answering "
                "from what it holds (run `modellake reindex` to rebuild it)")
    plural = "s are" if behind != 1 else " is"
    return (f"{behind} model{plural} not in the search index yet; answering from the {indexed} "
            "indexed (run `modellake reindex`, or search with --wait)")


@dataclass
class SearchResult(Record):
    hits: list[SearchHit]
    query: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0
    behind: int = 0  # models in the catalog that the index did not cover for this answer
    note: str = ""  # what a person should know about this answer (e.g. the index is behind)

    def to_dict(self) -> dict[str, Any]:
        out = {"hits": [h.to_dict() for h in self.hits], "query": self.query,
               "candidates": self.candidates}
        if self.note:
            out.update(index_behind=self.behind, note=self.note)
        return out

    def behind_by(self, behind: int, indexed: int) -> SearchResult:
        """This result, noting the ``behind`` models that the index does not cover yet."""
        if behind:
            self.behind, self.note = behind, behind_note(behind, indexed)
        return self

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hits]

    # -- words -----------------------------------------------------------------------------
    def _kind(self) -> str:
        if "similar_to" in self.query:
            return "similar"
        return "runs" if self.query.get("runs") else "search"

    def _top(self) -> list[SearchHit]:
        """The hits that tie for first."""
        if not self.hits:
            return []
        first = self.hits[0].score
        return [h for h in self.hits if math.isclose(h.score, first, rel_tol=1e-9, abs_tol=1e-12)]

    def summary(self) -> str:
        kind, n = self._kind(), len(self.hits)
        if kind == "similar":
            target = self.query.get("similar_to", "the model")
            if not n:
                return f"No model is near {target}."
            if n > 3:
                return f"Nearest to {target}: {', '.join(self.names[:3])} and {n - 3} more."
            return f"Nearest to {target}: {join(self.names)}."
        if kind == "runs":
            return (f"Stored results of {plural(n, 'model')} match." if n else
                    "No stored result matches.")
        if not n:
            return "No model matches."
        top = self._top()
        if len(top) > 1:
            return f"{len(top)} models match equally well: {join([h.name for h in top])}."
        return f"Best match: {top[0].name}" + (f" (of {n})." if n > 1 else ".")

    def text(self) -> str:
        kind = self._kind()
        body = (self._similar_text() if kind == "similar" else
                self._runs_text() if kind == "runs" else self._search_text())
        if self.note:
            body += "\n\n" + _sentence(self.note)
        return body

    # -- search ------------------------------------------------------------------------------
    def _search_text(self) -> str:
        q = self.query
        understood = _understood(q)
        paras = []
        if not self.hits:
            if understood:
                lead = (f"No model in the lake matches the query. {understood} Try loosening or "
                        "dropping one of these conditions.")
            else:
                lead = "No model in the lake matches the query."
            return lead + (f" {_sentence(q['note'])}" if q.get("note") else "")
        top = self._top()
        if len(top) > 1:
            if len(top) == len(self.hits):
                lead = f"{len(top)} models match equally well: {join([h.name for h in top])}."
            else:
                lead = (f"{len(top)} models match equally well at the top: "
                        f"{join([h.name for h in top])}.")
        else:
            lead = f"The best match is {top[0].name}" + (f": {_reasons_text(top[0])}."
                                                         if top[0].reasons() else ".")
            if top[0].card_only:
                lead += " It is a card-only entry: its weights are not in the lake."
        if understood:
            lead += " " + understood
        shown = self._shown()
        if len(shown) > 1 and not (len(top) == len(shown) and len(top) < TABLE_FROM):
            lead += f" {plural(len(shown), 'model')} match in all, best first."
        paras.append(lead)
        listing = self._listing(shown, skip=1 if len(top) == 1 else 0)
        if listing:
            paras.append(listing)
        if len(shown) < len(self.hits):
            paras.append(f"The other {plural(len(self.hits) - len(shown), 'model')} fit nothing "
                         "the query asks for.")
        if q.get("note"):
            paras.append(_sentence(q["note"]))
        return "\n\n".join(paras)

    def _shown(self) -> list[SearchHit]:
        """The hits worth listing: when the best one has reasons, those that have some."""
        if self.hits and self.hits[0].reasons():
            return [h for h in self.hits if h.reasons()]
        return list(self.hits)

    def _listing(self, hits: list[SearchHit], skip: int) -> str:
        """The hits as a table when long, else the ones after the lead as a list."""
        if len(hits) >= TABLE_FROM:
            rows = [[i, h.name, "; ".join(h.reasons()) or "-"]
                    for i, h in enumerate(hits[:MAX_ROWS], 1)]
            out = table(["#", "model", "why"], rows)
            if len(hits) > MAX_ROWS:
                out += f"\n\n{plural(len(hits) - MAX_ROWS, 'more model')} not shown."
            return out
        rest = hits[skip:]
        if skip == 0 and len(self._top()) == len(hits):
            rest = [h for h in rest if h.reasons()]
        return "\n".join(f"- {h.summary()}" for h in rest)

    # -- similar -----------------------------------------------------------------------------
    def _similar_text(self) -> str:
        target = self.query.get("similar_to", "the model")
        basis = self.query.get("basis", "weights")
        if not self.hits:
            if basis == "weights":
                return (f"No other model in the lake has the same tensor layout as {target}, so "
                        "none can be compared with it by weights.")
            return f"No other model's card reads like {target}'s."
        how = ("by weights (among the models with its tensor layout)" if basis == "weights"
               else "by card text (it has no weights to compare)")
        top = self._top()
        if len(top) > 1:
            lead = (f"{join([h.name for h in top])} are equally near {target} {how}"
                    + (f": {_similar_reason(top[0], target)}." if _similar_reason(top[0], target)
                       else "."))
        else:
            reason = _similar_reason(top[0], target)
            lead = f"{top[0].name} is the nearest to {target} {how}" + (
                f": {reason}." if reason else ".")
        rest = self.hits[len(top):]
        if not rest:
            return lead
        if len(self.hits) >= TABLE_FROM:
            rows = [[i, h.name, _similar_reason(h, target) or "-"]
                    for i, h in enumerate(self.hits[:MAX_ROWS], 1)]
            return lead + "\n\n" + table(["#", "model", "how near"], rows)
        return lead + "\n\nThen, nearest first:\n" + "\n".join(
            f"- {h.name}" + (f": {r}" if (r := _similar_reason(h, target)) else "") for h in rest)

    # -- results -------------------------------------------------------------------------------
    def _runs_text(self) -> str:
        q = self.query
        about = join([f'"{t}"' for t in q.get("terms") or []]) or join(q.get("benchmarks") or [])
        what = _KINDS_OF_RESULTS.get(tuple(q.get("sources") or ()),
                                     "measured results" if q.get("measured_only") else "results")
        scope = ((f" matching {about}" if about else "")
                 + (f" of {join(q['models'])}" if q.get("models") and len(q["models"]) <= 3 else "")
                 + (f" since {str(q['since'])[:10]}" if q.get("since") else "")
                 + (f" before {str(q['until'])[:10]}" if q.get("until") else ""))
        if not self.hits:
            return (f"No stored {what} match{scope.replace(' matching', '', 1)}. `modellake runs` "
                    "lists every stored run, and `modellake bench --list-tasks` the tasks that "
                    "can run.")
        groups: list[tuple[str, str, list[dict[str, Any]]]] = []
        for h in self.hits:
            by: dict[str, list[dict[str, Any]]] = {}
            for w in h.why:
                if isinstance(w, dict) and w.get("kind") == "result":
                    by.setdefault(str(w.get("task") or w.get("dataset") or "a task"), []).append(w)
            groups += [(h.name, task, rows) for task, rows in by.items()]
        lead = (f"{plural(len(self.hits), 'model')} {'has' if len(self.hits) == 1 else 'have'} "
                f"stored {what}{scope}, best matching and newest first.")
        if len(groups) >= TABLE_FROM:
            rows = [[m, t, _values(rs), _how(rs[0]), _day(rs[0].get("when"))] for m, t, rs in groups]
            out = lead + "\n\n" + table(["model", "task", "results", "how", "when"], rows[:MAX_ROWS])
            if len(rows) > MAX_ROWS:
                out += f"\n\n{plural(len(rows) - MAX_ROWS, 'more row')} not shown."
            return out
        return lead + "\n" + "\n".join(
            f"- {m} on {t}: {_values(rs)} ({', '.join(x for x in (_how(rs[0]), _day(rs[0].get('when'))) if x)})"
            for m, t, rs in groups)


_KINDS_OF_RESULTS = {("measured",): "measured results", ("card",): "results from model cards",
                     ("imported",): "imported results", ("card", "imported"): "reported results",
                     ("card", "measured"): "measured and card results",
                     ("imported", "measured"): "measured and imported results"}


# -- words for the reasons -------------------------------------------------------------------
_NOUNS = {"finetune": "a fine-tune", "adapter": "an adapter", "quantized": "a quantized copy",
          "pruned": "a pruned copy", "merge": "a merge", "duplicate": "a copy"}
_PLURALS = {"finetune": "fine-tunes", "adapter": "adapters", "quantized": "quantized copies",
            "pruned": "pruned copies", "merge": "merges", "duplicate": "copies"}
_ORDER = {"lineage": 0, "result": 1, "maker": 2, "constraint": 2, "terms": 3, "weights": 4, "passage": 5}


def _why_rank(w: dict[str, Any]) -> tuple[int, int]:
    kind = w.get("kind", "")
    hard = 0 if w.get("hard") else 1
    summary = 1 if kind == "passage" and w.get("section") == "(summary)" else 0
    return (_ORDER.get(kind, 9), hard + summary)


def _reasons_text(h: SearchHit) -> str:
    """A hit's reasons as one phrase: "22.7M parameters and X, but its task is Y"."""
    why = h.reasons()
    pro = [t for t in why if not t.startswith("but ")]
    con = [t for t in why if t.startswith("but ")]
    return ", ".join(x for x in (join(pro), join(con)) if x)


def _generated(w: dict[str, Any]) -> bool:
    """A passage from the summary the index writes from metadata, not from the card's text."""
    return w.get("kind") == "passage" and w.get("section") == "(summary)"


def _against(w: dict[str, Any]) -> bool:
    return w.get("kind") == "constraint" and w.get("status") in ("fail", "unknown")


def _score(v: Any) -> str:
    from modellake.tools.rendering import round_score

    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    return round_score(float(v)) if ok else "no value"


def _sentence(text: str) -> str:
    text = str(text).strip()
    if not text:
        return ""
    if re.match(r"[a-z]+(?![\w@/.-])", text):
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _clip(text: str, n: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"


def _listed(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return join([str(x) for x in v if x is not None])
    return "" if v is None else str(v)


def _constraint_value(field: str, v: Any) -> str:
    """A constraint's value for one model, as a phrase: "22.7M parameters", "license mit"."""
    value = _listed(v)
    if field == "params":
        return "small by its name" if value == "small by name" else f"{value} parameters"
    if field == "language" and value.startswith("en ("):
        return "likely English (its card states no language)"
    if field == "chat":
        return "a chat model"
    if field == "quantization":
        return value if value in ("quantized", "not quantized") else f"quantized ({value})"
    if field == "context":
        return f"context {value}"
    if field == "relation":
        return _MADE.get(value, f"made as: {value}") if value else ""
    return f"{field} {value}" if value else ""


# how a model was made (the relation constraint's values), as a reader says it
_MADE = {"finetune": "a fine-tune", "merge": "a merge", "quantized": "a quantized copy",
         "not quantized": "not quantized (by its weights)", "adapter": "an adapter",
         "base": "an original (its card names no base model)", "pruned": "a pruned copy"}


def _failed(field: str, v: Any, phrase: str) -> str:
    """A value that breaks the wanted condition: "its task is text-generation"."""
    value = _listed(v)
    if field == "params":
        return f"it has {value} parameters"
    if field in ("task", "license", "language", "format", "library", "architecture"):
        return f"its {field} is {value}" if value else f"its {field} does not match"
    return phrase


def why_text(w: dict[str, Any]) -> str:
    """One reason a model matched, in words (empty when it says nothing worth reading)."""
    kind = w.get("kind")
    if kind == "passage":
        text = w.get("text")
        if not text:
            return ""
        section = str(w.get("section") or "")
        local = section.split(" > ", 1)[1] if " > " in section else section
        # the summary chunk is the lake's own digest of what it read (names, metadata, the card's
        # opening words), not a quote of the card
        where = ("what the lake read of it" if local == "(summary)" else
                 "its card" if not local else f"its card ({local})")
        return f'{where}: "{_clip(text)}"'
    if kind == "terms":
        words = sorted({str(x) for k in ("name", "meta") for x in (w.get(k) or [])})
        places = [p for k, p in (("name", "name"), ("meta", "tags")) if w.get(k)]
        if words:
            return f"{join([chr(34) + x + chr(34) for x in words])} in its {join(places)}"
        return f'its card mentions it: "{_clip(w["card"])}"' if w.get("card") else ""
    if kind == "constraint":
        field, status = str(w.get("field") or "a condition"), w.get("status")
        if status == "unknown":
            if field == "relation":
                return "but how it was made is not stated"
            return f"but its {'parameter count' if field == 'params' else field} is not stated"
        value = _constraint_value(field, w.get("value"))
        if not value:
            return ""
        if status == "fail":
            return "but " + _failed(field, w.get("value"), value)
        return value + (" (by its card text)" if status == "likely" and w.get("source") == "card text"
                        else "")
    if kind == "lineage":
        return _lineage_text(w)
    if kind == "maker":
        return f"made by {w.get('maker')}"
    if kind == "result":
        where = w.get("dataset") or w.get("task") or "a task"
        return f"{w.get('metric') or 'score'} {_score(w.get('value'))} on {where} ({_how(w)})"
    if kind == "weights":
        rel = w.get("relative_l2")
        return ("same tensor layout" + (f", weights {_pct(rel)} apart"
                                        if isinstance(rel, (int, float)) else ""))
    return ""


def _lineage_text(w: dict[str, Any]) -> str:
    if w.get("mentions_target"):
        return f"its card names {w.get('target')}, though no known lineage leads to it"
    path = [str(x) for x in w.get("path") or []]
    rels = [str(x) for x in w.get("relations") or []]
    if len(path) < 2:
        return ""
    sources = [str(x) for x in w.get("sources") or []]
    how = ("inferred from the weights" if sources and all(s == "inferred" for s in sources)
           else "declared in its card" if sources and all(s != "inferred" for s in sources) else "")
    if len(path) == 2:
        return (f"{_NOUNS.get(rels[0] if rels else '', 'derived from')} of {path[0]}"
                .replace("derived from of", "derived from") + (f" ({how})" if how else ""))
    return f"derived from {path[0]} through {join(path[1:-1])}" + (f" ({how})" if how else "")


def _similar_reason(h: SearchHit, target: str) -> str:
    """How near a neighbour is, and how it is related to the target."""
    parts = []
    for w in h.why:
        if not isinstance(w, dict):
            continue
        if w.get("kind") == "weights" and isinstance(w.get("relative_l2"), (int, float)):
            parts.append(f"weights {_pct(w['relative_l2'])} apart")
        elif w.get("kind") == "passage" and w.get("text"):
            parts.append(why_text(w))
        elif w.get("kind") == "lineage":
            # the step named is the top of the declared chain, not necessarily a direct edge
            path = [str(x) for x in w.get("path") or []]
            if len(path) == 2:
                parts.append(f"descends from {path[0]}" if path[1] == h.name else
                             f"{path[1]} descends from it")
    return "; ".join(parts)


def _pct(rel: float) -> str:
    return f"{_score(rel * 100)}%"


def _how(w: dict[str, Any]) -> str:
    src = str(w.get("source") or "")
    if src.startswith("run (measured"):
        return "measured here"
    if src == "run (reported, card)":
        return "from its card"
    if src.startswith("run"):
        return "reported"
    if "model-index" in src:
        return "reported in its card" + (", verified" if w.get("verified") else "")
    if src in ("card table", "card text"):
        where = "a table of its card" if src == "card table" else "its card's text"
        passage = " ".join(str(w.get("passage") or "").split())
        return f"reported in {where}" + (f": \"{passage[:120]}\"" if passage else "")
    return src or "reported"


def _day(when: Any) -> str:
    return str(when)[:10] if when else ""


def _values(rows: list[dict[str, Any]]) -> str:
    return join([f"{r.get('metric') or 'score'} {_score(r.get('value'))}" for r in rows])


def _understood(q: dict[str, Any]) -> str:
    """The conditions read from a query, in words ("Required: ...; preferred: ...")."""
    hard, soft = [], []
    for c in q.get("constraints") or []:
        if isinstance(c, dict):
            (hard if c.get("hard") else soft).append(_condition(c))
    lin, res = q.get("lineage"), q.get("results")
    only, ranked = [], ""
    if isinstance(lin, dict) and lin.get("target"):
        rels = [_PLURALS.get(r, r) for r in lin.get("relations") or []]
        kinds = join(rels, "or") if rels else "descendants"
        excl = [_PLURALS.get(r, r) for r in lin.get("exclude_relations") or []]
        only.append(f"{'direct ' if lin.get('direct') else ''}{kinds} of {lin['target']}"
                    + (f", not {join(excl, 'or')}" if excl else ""))
    if isinstance(res, dict) and (res.get("text") or res.get("dataset")):
        if res.get("op") == "best" or not res.get("op"):
            only.append(f"models with results on {res.get('dataset') or res.get('text')}")
            ranked = ", ranked by those results"
        else:
            only.append(f"models with {res.get('text')}")
    parts = []
    if only:
        parts.append("only " + join(only) + f" count{ranked}")
    if hard:
        parts.append("required " + join([x for x in hard if x]))
    if soft:
        parts.append("preferred " + join([x for x in soft if x]))
    mode = q.get("mode")
    if mode in ("lexical", "dense"):
        parts.append("ranked by " + ("keywords" if mode == "lexical" else "meaning") + " alone")
    return f"Read from the query: {'; '.join(parts)}." if parts else ""


def _condition(c: dict[str, Any]) -> str:
    """One condition of a query in words, in the query's own words where it has them."""
    field, op, value, text = c.get("field"), c.get("op"), c.get("value"), str(c.get("text") or "")
    if field == "task":
        first = value[0] if isinstance(value, list) and value else value
        if c.get("source") == "need":
            return f'a {first} model (the need read as "{text}")'
        return (f"a {first} model" + (f' (from "{text}")' if text and text.lower() != str(first)
                                      and not text.startswith("--") else ""))
    if field == "params" and op == "prefer_small":
        return "a small model"
    if field == "chat":
        return "a chat model"
    if field == "language" and op == "multilingual":
        return "multilingual"
    if field == "language" and op == "monolingual":
        return "one language, not multilingual"
    if text and not text.startswith("--"):
        return {"license": f"license {text}", "language": f"language {text}",
                "library": f"library {text}", "architecture": f"architecture {text}",
                "format": f"format {text}"}.get(str(field), text)
    return f"{field} {_listed(value)}".strip()
