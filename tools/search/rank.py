"""Scoring pieces of search: constraint checks, results matching, rank fusion.

Constraint checks answer, per model, ``ok`` (known to satisfy), ``likely`` (the card
text says so, not its metadata), ``unknown`` (nothing says) or ``fail`` (known to
break it), with the value and where it came from, so hits can say why they matched.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from modellake.tools.search import vocab as V
from modellake.tools.search.query import Constraint, ResultsClause

OK, LIKELY, UNKNOWN, FAIL = "ok", "likely", "unknown", "fail"
HARD_FACTOR = {OK: 1.0, LIKELY: 0.9, UNKNOWN: 0.6}
SPECIFIC_LANGUAGES = 10  # a model of more languages than this is not specific to one of them
SOFT_FACTOR = {OK: 1.15, LIKELY: 1.07, UNKNOWN: 1.0, FAIL: 0.9}
RULED_OUT_WORD = 0.5  # a model whose name or tags carry a word the query rules out ("other than PPO")
RRF_K = 60
LOWER_IS_BETTER = re.compile(r"wer|cer|loss|perplexity|ppl|mae|mse|rmse|error|fid", re.I)


@dataclass
class Check:
    status: str
    value: Any = None
    source: str | None = None


def _fmt_params(n: float) -> str:
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


# the facets each kind of constraint reads: models equal on them get the same verdict
FIELD_FACETS: dict[str, tuple[str, ...]] = {
    "task": ("tasks", "task_src"),
    "license": ("licenses", "license_src"),
    "params": ("params", "params_src", "aliases"),
    "context": ("context", "context_src"),
    "format": ("has_weights", "format", "formats", "formats_text", "quant_methods", "relation"),
    "quantization": ("quant_methods", "quant_text", "quant_bits", "quantized", "quant_src"),
    "language": ("languages", "language_src"),
    "library": ("libraries", "libraries_text"),
    "architecture": ("architectures",),
    "chat": ("chat", "chat_src"),
    "words": ("aliases", "tags"),
    "relation": ("relation", "bases", "has_weights", "quantized"),
}


_SMALL_NAME = re.compile(r"\b(tiny|mini|small|micro|nano|base)\b|minilm")


def _check_words(c: Constraint, f: dict[str, Any]) -> Check:
    """A model whose names or tags carry a word the query rules out ("other than PPO")."""
    have = {t for x in [*(f.get("aliases") or []), *(f.get("tags") or [])]
            for t in re.findall(r"[a-z][a-z0-9]+", str(x).lower())}
    hit = [w for w in c.value if w in have]
    return Check(FAIL, hit, "names") if hit else Check(UNKNOWN)


def facet_key(field: str, f: dict[str, Any]) -> str:
    """A hashable summary of what a constraint on ``field`` reads from facets ``f``."""
    if field == "params" and f.get("params") is None:
        names = " ".join(f.get("aliases") or []).lower()
        small = bool(_SMALL_NAME.search(names))
        return f"none:{small}"
    return repr(tuple(f.get(k) for k in FIELD_FACETS.get(field, ()) if k != "aliases"))


def check(c: Constraint, f: dict[str, Any]) -> Check:
    """How one model's facets ``f`` stand against constraint ``c``."""
    checker = CHECKERS.get(c.field)
    if checker is None:
        return Check(UNKNOWN)
    if c.op == "not" and c.field not in ("language", "words"):
        return _negated(checker(dataclasses.replace(c, op="is" if c.field == "chat" else "in"), f))
    return checker(c, f)


def _negated(ck: Check) -> Check:
    """A ruled-out value: a model known to have it fails, one known not to passes."""
    if ck.status in (OK, LIKELY):
        return Check(FAIL if ck.status == OK else UNKNOWN, ck.value, ck.source)
    return Check(OK, ck.value, ck.source) if ck.status == FAIL else ck


def _check_task(c: Constraint, f: dict[str, Any]) -> Check:
    tasks = f.get("tasks") or []
    src = f.get("task_src")
    if not tasks:
        return Check(UNKNOWN)
    hit = [t for t in tasks if t in c.value]
    if not hit:
        return Check(UNKNOWN if src == "name" else FAIL, tasks[:3], src)
    exact = c.value[0] in hit
    return Check(OK if exact and src != "name" else LIKELY, hit, src)


def _check_license(c: Constraint, f: dict[str, Any]) -> Check:
    lics = f.get("licenses") or []
    if not lics:
        return Check(UNKNOWN)
    hit = [x for x in lics if V.license_matches(x, c.value)]
    st = (OK if f.get("license_src") == "card yaml" else LIKELY) if hit else FAIL
    return Check(st, hit or lics, f.get("license_src"))


def _check_params(c: Constraint, f: dict[str, Any]) -> Check:
    p, src = f.get("params"), f.get("params_src")
    if c.op == "prefer_small":
        return _prefer_small(f, p, src)
    if p is None:
        return Check(UNKNOWN)
    if _params_within(c, p):
        return Check(OK if src in ("weights", "card name") else LIKELY, _fmt_params(p), src)
    return Check(FAIL if src in ("weights", "card name") else UNKNOWN, _fmt_params(p), src)


def _prefer_small(f: dict[str, Any], p: float | None, src: str | None) -> Check:
    """Small: up to 1.5B parameters, or (no count known) a small name."""
    if p is None:
        names = " ".join(f.get("aliases") or []).lower()
        if _SMALL_NAME.search(names):
            return Check(OK, "small by name", "card name")
        return Check(UNKNOWN)
    return Check(OK if p <= 1.5e9 else FAIL if p > 1e10 else UNKNOWN, _fmt_params(p), src)


def _params_within(c: Constraint, p: float) -> bool:
    """Whether parameter count ``p`` meets a max/min/range/approx bound (with some slack)."""
    v = c.value
    if c.op == "max":
        return p <= v * 1.05
    if c.op == "min":
        return p >= v * 0.95
    if c.op == "range":
        return v[0] * 0.95 <= p <= v[1] * 1.05
    return 0.6 * v <= p <= 1.5 * v  # approx


def _check_context(c: Constraint, f: dict[str, Any]) -> Check:
    n, src = f.get("context"), f.get("context_src")
    if not n:
        return Check(UNKNOWN)
    if n >= c.value:
        return Check(OK if src in ("config", "card name") else LIKELY, f"{n // 1024}k tokens", src)
    return Check(FAIL if src in ("config", "card name") else UNKNOWN, f"{n // 1024}k tokens", src)


def _check_format(c: Constraint, f: dict[str, Any]) -> Check:
    want = c.value[0]
    strong, text = f.get("formats") or [], f.get("formats_text") or []
    if f.get("has_weights"):
        fmt = f.get("format")
        if want == fmt or want in strong:
            return Check(OK, fmt, "weights")
        return Check(FAIL, fmt, "weights")
    if want in strong:
        return Check(OK, want, "card metadata")
    if want in text:
        return Check(LIKELY, want, "card text")
    return _packaged_otherwise(want, f, strong)


def _packaged_otherwise(want: str, f: dict[str, Any], strong: list[str]) -> Check:
    """A card-only model whose metadata names another packaging (GGUF, ONNX, GPTQ...) than
    ``want`` fails; one that names none is unknown."""
    packaged = set(strong) & {"gguf", "onnx", "mlx", "adapter"}
    if set(f.get("quant_methods") or []) & {"gptq", "awq", "exl2"}:
        packaged.add("gptq/awq")
    if want == "adapter" and (packaged - {"adapter"} or f.get("relation") in ("quantized", "merge")):
        return Check(FAIL, sorted(packaged) or f.get("relation"), "card metadata")
    if want != "adapter" and packaged:
        return Check(FAIL, sorted(packaged), "card metadata")
    return Check(UNKNOWN)


def _check_quantization(c: Constraint, f: dict[str, Any]) -> Check:
    if c.op == "in":
        return _quant_method(c, f)
    if c.op == "bits":
        return _quant_bits(c, f)
    return _quant_any(f)


def _quant_method(c: Constraint, f: dict[str, Any]) -> Check:
    """Quantized with one of the methods ``c.value`` (gptq, awq...)."""
    methods, text = f.get("quant_methods") or [], f.get("quant_text") or []
    hit = [m for m in methods if m in c.value]
    if hit:
        return Check(OK, hit, f.get("quant_src"))
    if any(m in c.value for m in text):
        return Check(LIKELY, [m for m in text if m in c.value], "card text")
    if f.get("quantized") is False or methods:  # not quantized, or quantized another way
        return Check(FAIL, methods or "not quantized", f.get("quant_src") or "weights")
    return Check(UNKNOWN)


def _quant_bits(c: Constraint, f: dict[str, Any]) -> Check:
    """Quantized to one of the bit widths ``c.value``."""
    methods, bits, qd = f.get("quant_methods") or [], f.get("quant_bits") or [], f.get("quantized")
    hit = [b for b in bits if b in c.value or any(abs(b - x) < 0.5 for x in c.value)]
    if hit and (qd or methods):
        return Check(OK, [f"{b:g}-bit" for b in hit], f.get("quant_src"))
    if hit:
        return Check(LIKELY, [f"{b:g}-bit" for b in hit], "card text")
    if qd is False:
        return Check(FAIL, "not quantized", "weights")
    if qd and bits:
        return Check(FAIL, [f"{b:g}-bit" for b in bits], f.get("quant_src"))
    return Check(UNKNOWN)


def _quant_any(f: dict[str, Any]) -> Check:
    """Quantized at all."""
    methods, text, qd = f.get("quant_methods") or [], f.get("quant_text") or [], f.get("quantized")
    if qd or methods:
        return Check(OK, methods or "quantized", f.get("quant_src"))
    if text:
        return Check(LIKELY, text, "card text")
    return Check(FAIL, "not quantized", "weights") if qd is False else Check(UNKNOWN)


def _check_language(c: Constraint, f: dict[str, Any]) -> Check:
    langs = [x for x in f.get("languages") or []]
    real = [x for x in langs if x != "multilingual"]
    if c.op == "monolingual":  # "no multilingual models": one language (two for a translation pair)
        if "multilingual" in langs or len(real) > 2:
            return Check(FAIL, f"{len(real)} languages" if real else "multilingual", "card yaml")
        return Check(OK, real, "card yaml") if real else Check(UNKNOWN)
    if c.op == "multilingual":
        if len(real) >= 3 or "multilingual" in langs:
            return Check(OK, f"{len(real)} languages" if real else "multilingual", "card yaml")
        return Check(FAIL, real, "card yaml") if len(real) == 1 else Check(UNKNOWN)
    if not real:
        if c.op == "in" and "en" in c.value:
            return Check(LIKELY, "en (no language stated: cards without one are mostly English)",
                         None)
        return Check(UNKNOWN)
    if c.op == "not":
        if set(real) <= set(c.value):
            return Check(FAIL, real, "card yaml")
        return Check(OK, [x for x in real if x not in c.value][:6], "card yaml")
    src = f.get("language_src") or "card yaml"
    hit = [x for x in real if x in c.value]
    if hit and len(hit) < len(c.value) and not c.any_of:  # some of those named together: below all
        return Check(LIKELY, f"{', '.join(hit)} (not {', '.join(x for x in c.value if x not in hit)})", src)
    if hit and len(real) > SPECIFIC_LANGUAGES and (len(c.value) == 1 or c.any_of):
        # one of many: a model built for the language asked is likelier what the user wants
        return Check(LIKELY, f"{', '.join(hit)} (one of {len(real)} languages)", src)
    if hit:
        return Check(OK, hit, src)
    if "multilingual" in langs or src != "card yaml":
        return Check(UNKNOWN)
    return Check(FAIL, real[:6], src)


def _check_library(c: Constraint, f: dict[str, Any]) -> Check:
    libs, text = f.get("libraries") or [], f.get("libraries_text") or []
    want = c.value[0]
    if want in libs:
        return Check(OK, want, "card metadata")
    if want in text:
        return Check(LIKELY, want, "card text")
    return Check(FAIL, libs, "card metadata") if libs else Check(UNKNOWN)


def _check_chat(c: Constraint, f: dict[str, Any]) -> Check:
    if f.get("chat"):
        return Check(OK if f.get("chat_src") != "card text" else LIKELY, "chat/instruct",
                     f.get("chat_src"))
    return Check(UNKNOWN)


def _check_architecture(c: Constraint, f: dict[str, Any]) -> Check:
    archs = f.get("architectures") or []
    hit = [a for a in archs if any(w in a or a in w for w in c.value)]
    if hit:
        return Check(OK, hit, "metadata")
    return Check(FAIL, archs, "metadata") if archs else Check(UNKNOWN)


# one checker per constraint field (the fields of FIELD_FACETS)
def _check_relation(c: Constraint, f: dict[str, Any]) -> Check:
    """How the model derives from its base: merge, quantized, adapter, finetune; "base" for a
    card that declares no base model (an original, as far as the card tells)."""
    rel = f.get("relation")
    if not f.get("bases"):
        if f.get("has_weights") and rel == "finetune":
            # weights without a declared base: whether they are quantized, the weights tell; how
            # else the model was made, the lineage graph knows and facets do not
            quantized = f.get("quantized")
            if set(c.value) == {"quantized"} and quantized is not None:
                return Check(OK if quantized else FAIL, "quantized" if quantized else "not quantized", "weights")
            return Check(UNKNOWN)
        rel = "base" if rel == "finetune" else rel
    return Check(OK if rel in c.value else FAIL, rel, "card")


CHECKERS: dict[str, Callable[[Constraint, dict[str, Any]], Check]] = {
    "words": _check_words,
    "task": _check_task,
    "license": _check_license,
    "params": _check_params,
    "context": _check_context,
    "format": _check_format,
    "quantization": _check_quantization,
    "language": _check_language,
    "library": _check_library,
    "architecture": _check_architecture,
    "chat": _check_chat,
    "relation": _check_relation,
}


# -- results -----------------------------------------------------------------------------
@dataclass
class ResultRow:
    """One reported or measured result of one model (from a card's model-index or a run)."""

    model_id: int
    task: str | None
    dataset: str | None
    metric: str | None
    value: float
    source: str = "card model-index"
    verified: bool = False
    when: str | None = None
    run_id: int | None = None
    passage: str | None = None  # the card's words a number was read from (tables, sentences)
    about: str | None = None  # what a stored run measured, in words (its task, dataset, description)


def card_results(docs: Iterable[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    rows = []
    for mid, _, f in docs:
        for task, ds, ds_type, metric, metric_name, value, verified in f.get("results") or []:
            rows.append(ResultRow(mid, task, ds or ds_type, metric or metric_name, float(value),
                                  verified=bool(verified)))
            if ds_type and ds_type != ds:
                rows[-1].dataset = f"{ds} ({ds_type})" if ds else ds_type
    return rows


def card_text_results(docs: Iterable[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    """Numbers cards report outside their model-index (tables, sentences), with the passage."""
    rows = []
    for mid, _, f in docs:
        for ds, metric, value, where, passage in f.get("reported") or []:
            rows.append(ResultRow(mid, None, ds, metric, float(value), source=f"card {where}",
                                  passage=passage))
    return rows


def _norm_tokens(text: str) -> list[str]:
    text = text.lower()
    for pat, canon in V.BENCHMARK_ALIASES:
        text = pat.sub(canon, text)
    toks = re.findall(r"[a-z]+|\d+", text)
    out = []
    for t in toks:
        if re.fullmatch(r"(19|20)\d\d", t):
            t = t[2:]  # conll2003 ~ conll03
        out.append(t)
    return [t for t in out if t not in {"the", "dataset", "benchmark", "task", "data", "set", "of", "leaderboard"}]


def name_matches(query: str, name: str | None) -> bool:
    """Every word of ``query`` is in ``name`` (benchmarks by their usual spellings); a
    "5-shot" the name does not state is not held against it."""
    if not name:
        return False
    q = _norm_tokens(query)
    n = set(_norm_tokens(name))
    if "shot" in q and "shot" not in n:
        i = q.index("shot")
        q = q[:max(0, i - 1)] + q[i + 1:]
    return bool(q) and all(t in n or any(x.startswith(t) for x in n) for t in q)


def metric_matches(want: str | None, metric: str | None) -> bool:
    if want is None:
        return True
    if not metric:
        return False
    w = re.sub(r"[^a-z0-9@]", "", want.lower().replace("score", ""))
    m = re.sub(r"[^a-z0-9@]", "", metric.lower())
    aliases = {"acc": "accuracy", "em": "exactmatch", "ppl": "perplexity", "f1": "f1", "f": "f1",
               "fmeasure": "f1", "f1measure": "f1", "worderrorrate": "wer", "charactererrorrate": "cer"}
    w = aliases.get(w, w)
    m = "f1" + m[len("fscore"):] if m.startswith("fscore") else aliases.get(m, m)  # "f_score": F1
    return m == w or m.startswith(w) or (w == "accuracy" and m == "acc")


def _on_scale(t: float, v: float, percent: bool) -> float:
    """A threshold on the scale of a value: 85 or 85% against 0.87 is 0.85; 0.9 against 91.2 is 90."""
    if percent or (t > 1 and v <= 1):
        return t / 100 if v <= 1 else t
    return t * 100 if t <= 1 < v else t


def match_results(rows: Sequence[ResultRow], clause: ResultsClause,
                  failing: set[int] | None = None) -> dict[int, ResultRow]:
    """Per model, its best result row that satisfies the clause; ``failing`` (when given)
    collects the models with rows on the clause's dataset and metric that all miss it."""
    best: dict[int, ResultRow] = {}
    cands = [r for r in rows if (clause.dataset is None or name_matches(clause.dataset, r.dataset)
                                 or name_matches(clause.dataset, r.task))
             and metric_matches(clause.metric, r.metric)]
    if clause.op == "best" and clause.metric is None and cands:
        counts: dict[str, int] = {}
        for r in cands:
            counts[(r.metric or "").lower()] = counts.get((r.metric or "").lower(), 0) + 1
        top = max(counts, key=lambda m: (counts[m], m in ("accuracy", "f1")))
        cands = [r for r in cands if (r.metric or "").lower() == top]
    for r in cands:
        lower = bool(LOWER_IS_BETTER.search(r.metric or ""))
        v = r.value
        if clause.op not in (None, "best") and clause.value is not None:
            t, hi = (_on_scale(x, v, clause.percent) for x in (clause.value, clause.upper or 0.0))
            ok = {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t, "between": t <= v <= hi}[clause.op]
            if not ok:
                if failing is not None:
                    failing.add(r.model_id)
                continue
        prev = best.get(r.model_id)
        if prev is None or (v < prev.value if lower else v > prev.value):
            best[r.model_id] = r
    if failing is not None:
        failing -= set(best)
    return best


# -- fusion ------------------------------------------------------------------------------
def rrf(rankings: Sequence[tuple[Sequence[int] | dict[int, float], float]],
        k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of ranked id lists (or id -> rank maps, for ties), each weighted."""
    out: dict[int, float] = {}
    for ids, weight in rankings:
        ranks = ids.items() if isinstance(ids, dict) else ((mid, r) for r, mid in enumerate(ids))
        for mid, rank in ranks:
            out[mid] = out.get(mid, 0.0) + weight / (k + rank + 1)
    return out
