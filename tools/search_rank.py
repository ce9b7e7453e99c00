"""Scoring pieces of search: constraint checks, results matching, rank fusion.

Constraint checks answer, per model, ``ok`` (known to satisfy), ``likely`` (the card
text says so, not its metadata), ``unknown`` (nothing says) or ``fail`` (known to
break it), with the value and where it came from, so hits can say why they matched.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from modellake.tools import search_vocab as V
from modellake.tools.search_query import Constraint, ResultsClause

OK, LIKELY, UNKNOWN, FAIL = "ok", "likely", "unknown", "fail"
HARD_FACTOR = {OK: 1.0, LIKELY: 0.9, UNKNOWN: 0.6}
SOFT_FACTOR = {OK: 1.15, LIKELY: 1.07, UNKNOWN: 1.0, FAIL: 0.9}
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
}


def facet_key(field: str, f: dict[str, Any]) -> str:
    """A hashable summary of what a constraint on ``field`` reads from facets ``f``."""
    if field == "params" and f.get("params") is None:
        names = " ".join(f.get("aliases") or []).lower()
        small = bool(re.search(r"\b(tiny|mini|small|micro|nano|base)\b|minilm", names))
        return f"none:{small}"
    return repr(tuple(f.get(k) for k in FIELD_FACETS.get(field, ()) if k != "aliases"))


def check(c: Constraint, f: dict[str, Any]) -> Check:
    """How one model's facets ``f`` stand against constraint ``c``."""
    field = c.field
    if field == "task":
        tasks = f.get("tasks") or []
        src = f.get("task_src")
        if not tasks:
            return Check(UNKNOWN)
        hit = [t for t in tasks if t in c.value]
        if not hit:
            return Check(UNKNOWN if src == "name" else FAIL, tasks[:3], src)
        exact = c.value[0] in hit
        return Check(OK if exact and src != "name" else LIKELY, hit, src)
    if field == "license":
        lics = f.get("licenses") or []
        if not lics:
            return Check(UNKNOWN)
        hit = [x for x in lics if V.license_matches(x, c.value)]
        st = (OK if f.get("license_src") == "card yaml" else LIKELY) if hit else FAIL
        return Check(st, hit or lics, f.get("license_src"))
    if field == "params":
        p, src = f.get("params"), f.get("params_src")
        if c.op == "prefer_small":
            if p is None:
                names = " ".join(f.get("aliases") or []).lower()
                if re.search(r"\b(tiny|mini|small|micro|nano|base)\b|minilm", names):
                    return Check(OK, "small by name", "card name")
                return Check(UNKNOWN)
            return Check(OK if p <= 1.5e9 else FAIL if p > 1e10 else UNKNOWN, _fmt_params(p), src)
        if p is None:
            return Check(UNKNOWN)
        v = c.value
        if c.op == "max":
            good = p <= v * 1.05
        elif c.op == "min":
            good = p >= v * 0.95
        elif c.op == "range":
            good = v[0] * 0.95 <= p <= v[1] * 1.05
        else:  # approx
            good = 0.6 * v <= p <= 1.5 * v
        if good:
            return Check(OK if src in ("weights", "card name") else LIKELY, _fmt_params(p), src)
        return Check(FAIL if src in ("weights", "card name") else UNKNOWN, _fmt_params(p), src)
    if field == "context":
        n, src = f.get("context"), f.get("context_src")
        if not n:
            return Check(UNKNOWN)
        if n >= c.value:
            return Check(OK if src in ("config", "card name") else LIKELY, f"{n // 1024}k tokens", src)
        return Check(FAIL if src in ("config", "card name") else UNKNOWN, f"{n // 1024}k tokens", src)
    if field == "format":
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
        packaged = set(strong) & {"gguf", "onnx", "mlx", "adapter"}
        if set(f.get("quant_methods") or []) & {"gptq", "awq", "exl2"}:
            packaged.add("gptq/awq")
        if want == "adapter" and (packaged - {"adapter"} or f.get("relation") in ("quantized", "merge")):
            return Check(FAIL, sorted(packaged) or f.get("relation"), "card metadata")
        if want != "adapter" and packaged:
            return Check(FAIL, sorted(packaged), "card metadata")
        return Check(UNKNOWN)
    if field == "quantization":
        methods, text = f.get("quant_methods") or [], f.get("quant_text") or []
        bits = f.get("quant_bits") or []
        qd = f.get("quantized")
        if c.op == "in":
            hit = [m for m in methods if m in c.value]
            if hit:
                return Check(OK, hit, f.get("quant_src"))
            if any(m in c.value for m in text):
                return Check(LIKELY, [m for m in text if m in c.value], "card text")
            if qd is False or methods:  # not quantized, or quantized another way
                return Check(FAIL, methods or "not quantized", f.get("quant_src") or "weights")
            return Check(UNKNOWN)
        if c.op == "bits":
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
        # any
        if qd or methods:
            return Check(OK, methods or "quantized", f.get("quant_src"))
        if text:
            return Check(LIKELY, text, "card text")
        return Check(FAIL, "not quantized", "weights") if qd is False else Check(UNKNOWN)
    if field == "language":
        langs = [x for x in f.get("languages") or []]
        real = [x for x in langs if x != "multilingual"]
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
        if hit:
            return Check(OK, hit, src)
        if "multilingual" in langs or src != "card yaml":
            return Check(UNKNOWN)
        return Check(FAIL, real[:6], src)
    if field == "library":
        libs, text = f.get("libraries") or [], f.get("libraries_text") or []
        want = c.value[0]
        if want in libs:
            return Check(OK, want, "card metadata")
        if want in text:
            return Check(LIKELY, want, "card text")
        return Check(FAIL, libs, "card metadata") if libs else Check(UNKNOWN)
    if field == "chat":
        if f.get("chat"):
            return Check(OK if f.get("chat_src") != "card text" else LIKELY, "chat/instruct",
                         f.get("chat_src"))
        return Check(UNKNOWN)
    if field == "architecture":
        archs = f.get("architectures") or []
        hit = [a for a in archs if any(w in a or a in w for w in c.value)]
        if hit:
            return Check(OK, hit, "metadata")
        return Check(FAIL, archs, "metadata") if archs else Check(UNKNOWN)
    return Check(UNKNOWN)


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


def card_results(docs: Iterable[tuple[int, str, dict[str, Any]]]) -> list[ResultRow]:
    rows = []
    for mid, _, f in docs:
        for task, ds, ds_type, metric, metric_name, value, verified in f.get("results") or []:
            rows.append(ResultRow(mid, task, ds or ds_type, metric or metric_name, float(value),
                                  verified=bool(verified)))
            if ds_type and ds_type != ds:
                rows[-1].dataset = f"{ds} ({ds_type})" if ds else ds_type
    return rows


def _norm_tokens(text: str) -> list[str]:
    toks = re.findall(r"[a-z]+|\d+", text.lower())
    out = []
    for t in toks:
        if re.fullmatch(r"(19|20)\d\d", t):
            t = t[2:]  # conll2003 ~ conll03
        out.append(t)
    return [t for t in out if t not in {"the", "dataset", "benchmark", "task", "data", "set", "of"}]


def name_matches(query: str, name: str | None) -> bool:
    if not name:
        return False
    q = _norm_tokens(query)
    n = set(_norm_tokens(name))
    return bool(q) and all(t in n or any(x.startswith(t) for x in n) for t in q)


def metric_matches(want: str | None, metric: str | None) -> bool:
    if want is None:
        return True
    if not metric:
        return False
    w = re.sub(r"[^a-z0-9@]", "", want.lower().replace("score", ""))
    m = re.sub(r"[^a-z0-9@]", "", metric.lower())
    aliases = {"acc": "accuracy", "em": "exactmatch", "ppl": "perplexity", "f1": "f1"}
    w = aliases.get(w, w)
    return m == w or m.startswith(w) or (w == "accuracy" and m == "acc")


def match_results(rows: Sequence[ResultRow], clause: ResultsClause) -> dict[int, ResultRow]:
    """Per model, its best result row that satisfies the clause."""
    best: dict[int, ResultRow] = {}
    cands = [r for r in rows if (name_matches(clause.dataset or "", r.dataset)
                                 or name_matches(clause.dataset or "", r.task))
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
            t = clause.value
            if clause.percent or (t > 1 and v <= 1):
                t = t / 100 if v <= 1 else t
            elif t <= 1 < v:
                t = t * 100
            ok = {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t}[clause.op]
            if not ok:
                continue
        prev = best.get(r.model_id)
        if prev is None or (v < prev.value if lower else v > prev.value):
            best[r.model_id] = r
    return best


# -- fusion ------------------------------------------------------------------------------
def rrf(rankings: Sequence[tuple[Sequence[int] | dict[int, int], float]],
        k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion of ranked id lists (or id -> rank maps, for ties), each weighted."""
    out: dict[int, float] = {}
    for ids, weight in rankings:
        ranks = ids.items() if isinstance(ids, dict) else ((mid, r) for r, mid in enumerate(ids))
        for mid, rank in ranks:
            out[mid] = out.get(mid, 0.0) + weight / (k + rank + 1)
    return out
