"""Choosing a declared tool for a question, and filling its arguments from the question.

Everything here reads the tools' declarations (name, schema, words, example questions,
whether it changes the lake); no tool is named in this module. A tool's score is the MiniLM
similarity of the question (model names masked as X, Y) to its example questions, plus a
bonus when one of its words is in the question (longer phrases weigh more), minus a penalty
when the question names fewer models than the tool needs.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.agent.planner.reading import Reading

Embedder = Callable[[list[str]], np.ndarray]
WORD_BONUS = 0.25        # a declared word in the question
PHRASE_BONUS = 0.1       # ... per extra word of a longer phrase
VALUE_BONUS = 0.1        # a word for one of its arguments' values
MISSING_MODEL = 0.3      # per model the tool needs and the question does not name
MIN_SCORE = 0.45         # below this, no tool answers the question
EXAMPLE_MIN = 0.62       # ... and this, when none of its words is in the question

MODEL_PARAMS = ("name", "model", "a", "b", "parent", "child", "of", "models", "names", "old",
                "model_a", "model_b", "spec")
TEXT_PARAMS = ("query", "text", "need", "question", "topic", "q")


@dataclass
class ToolInfo:
    """A tool as bound to the chat model: schema and declaration."""

    name: str
    description: str
    parameters: dict[str, Any]
    mutating: bool = False
    words: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    needs: int = 0
    values: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    weights: bool = False  # reads the models' weights (no use on a card-only model)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ToolInfo:
        meta = spec.get("x-modellake") or {}
        desc = spec.get("description", "")
        return cls(spec["name"], desc, spec.get("parameters", {}),
                   bool(meta.get("mutating", False)),
                   list(meta.get("words", [])), list(meta.get("examples", [])) or [desc[:200]],
                   int(meta.get("needs", 0)), dict(meta.get("values", {})), bool(meta.get("weights", False)))


@dataclass
class Scored:
    tool: ToolInfo
    score: float
    hit: str | None  # the longest declared word found


def word_hit(low: str, words: list[str]) -> str | None:
    hits = [w for w in words if re.search(rf"(?<![\w-]){re.escape(w.lower())}(?![\w-])", low)]
    return max(hits, key=lambda w: len(w.split())) if hits else None


def score_tools(r: Reading, tools: list[ToolInfo], embedder: Embedder, have: int) -> list[Scored]:
    """Every tool, best first (mutating tools only with their word as the user's own verb)."""
    text = r.low
    examples = [e for t in tools for e in t.examples]
    if not examples:
        return []
    vecs = vectors([text] + examples, embedder)
    sims = vecs[1:] @ vecs[0]
    out, i = [], 0
    for t in tools:
        s = float(np.max(sims[i:i + len(t.examples)]))
        i += len(t.examples)
        hit = word_hit(text, t.words)
        if t.mutating and not (hit and imperative(text, hit)):
            continue
        value_hit = None if t.mutating else word_hit(
            text, [w for vals in t.values.values() for ws in vals.values() for w in ws])
        if value_hit:  # a value of an argument ("license") says more than a generic word
            s += VALUE_BONUS
        hit = max((h for h in (hit, value_hit) if h), key=lambda h: len(h.split()), default=None)
        if hit:
            s += WORD_BONUS + PHRASE_BONUS * (len(hit.split()) - 1)
        s -= MISSING_MODEL * max(0, t.needs - have)
        out.append(Scored(t, s, hit))
    out.sort(key=lambda x: -x.score)
    return out


def imperative(low: str, verb: str) -> bool:
    """Whether ``verb`` is what the user asks to be done ("delete x", "please rename ...")."""
    v = re.escape(verb.lower())
    return re.search(rf"^\s*(?:please\s+)?{v}\b|\b(?:can|could|would|will) you (?:please )?{v}\b|"
                     rf"\bplease {v}\b|\b(?:i want|i'd like|i need|want) (?:you )?to {v}\b|"
                     rf"\bgo ahead and {v}\b", low) is not None


def fill_args(t: ToolInfo, r: Reading, models: list[str],
              task: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The tool's arguments from its schema and the question; returns (args, missing)."""
    props: dict[str, Any] = t.parameters.get("properties", {})
    queue, args = list(models), {}
    reads_words = any(n in TEXT_PARAMS for n in props)
    required = set(t.parameters.get("required", []))
    for name, ps in props.items():
        if reads_words and name not in required and name not in MODEL_PARAMS and \
                name not in TEXT_PARAMS and name not in ("k", "top", "limit"):
            continue  # a search reads its constraints from the user's words
        value = _value(name, ps, r, models, queue, task, t.values.get(name))
        if value not in (None, [], ""):
            args[name] = value
    missing = [p for p in t.parameters.get("required", []) if p not in args]
    return args, missing


def _value(name: str, ps: dict[str, Any], r: Reading, models: list[str], queue: list[str],
           task: str | None, values: dict[str, list[str]] | None) -> Any:
    typ = ps.get("type")
    if name in MODEL_PARAMS or (typ == "string" and "model" in name and "type" not in name):
        if typ == "array":
            return list(models)
        return queue.pop(0) if queue else None
    if name == "topic":
        return topic_of(r)
    if name in TEXT_PARAMS:
        return r.text
    if name in ("task", "tasks"):
        if task is None:
            return None
        return [task] if typ == "array" else task
    if name in ("k", "top", "top_k", "limit", "n"):
        return r.top
    if name in r.filters and typ in ("string", "integer", "boolean", "number", None):
        return r.filters[name]
    if values:
        chosen = [v for v, words in values.items() if v in r.aspects or any(
            re.search(rf"\b{re.escape(w)}\b", r.low) for w in words)]
        return chosen if typ == "array" else (chosen[0] if chosen else None)
    enum = ps.get("enum") or (ps.get("items") or {}).get("enum")
    if enum:
        hits = [e for e in enum if isinstance(e, str) and re.search(rf"\b{re.escape(e.lower())}\b", r.low)]
        return hits if typ == "array" else (hits[0] if hits else None)
    return None


_TOPIC_STOP = frozenset("""say says said according card cards readme documentation mention mentions
state states write written text about does did do the a an quote read section sections describe
explain explains x y z it its please anything something there s me show give any passage where who
why when they were was is are what how of in on to for and or model models tell summarize
summary using regarding concerning really""".split())


def topic_of(r: Reading) -> str | None:
    """What a question about a card's text is about: its words minus those that point at the card."""
    named = {p for n in r.names for p in re.split(r"[^a-z0-9]+", n.lower()) if p}
    words = [w for w in re.findall(r"[a-z][a-z'-]+|\d+(?:\.\d+)?[kmbt]\b", r.low)  # "72b": a size the card may say
             if w not in _TOPIC_STOP and w.split("'")[0] not in ("x", "y", "z", "it") and w not in named]
    return " ".join(words) or None


# -- embeddings -------------------------------------------------------------------------------
_cache: dict[str, np.ndarray] = {}
_lock = threading.Lock()
_CACHE_MAX = 4096


def default_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2 through ONNX (no torch at question time)."""
    from modellake.tools.embedding.embedder import embed, embed_query

    def run(texts: list[str]) -> np.ndarray:
        if len(texts) > 4:
            return embed(texts)
        return np.stack([embed_query(t) for t in texts])

    return run


def vectors(texts: list[str], embedder: Embedder) -> np.ndarray:
    """Embeddings through a bounded cache (tool examples stay; old questions go)."""
    wanted = list(dict.fromkeys(texts))
    with _lock:
        found = {t: _cache.pop(t) for t in wanted if t in _cache}
        _cache.update(found)
    missing = [t for t in wanted if t not in found]
    if missing:
        new = {t: np.asarray(v, dtype=np.float32) for t, v in zip(missing, embedder(missing))}
        found.update(new)
        with _lock:
            _cache.update(new)
            for k in list(_cache)[:max(0, len(_cache) - _CACHE_MAX)]:
                del _cache[k]
    return np.stack([found[t] for t in texts])
