"""Filters of a model query: architecture, format, size, card fields, declared base, words."""
from __future__ import annotations

import fnmatch
import re
from typing import Any


def passes(m: Any, f: dict[str, Any]) -> bool:
    """Whether model ``m`` meets every filter of a query but ``text`` and ``task``."""
    n = m.num_parameters
    card = m.card
    checks = {
        "architecture": lambda v: _arch_matches(m.architecture, m.model_type, v),
        "format": lambda v: m.format == v.lower() or (m.format == "card" and _named_format(m) == v.lower()),
        "min_parameters": lambda v: n is not None and n >= v,
        "max_parameters": lambda v: n is not None and n <= v,
        "has_card": lambda v: m.has_card == v,
        "base_model": lambda v: _declares_base(m, v),
        "license": lambda v: any(_same_word(card.license if card else None, x.strip())
                                 for x in str(v).split(",")),
        "quantized": lambda v: bool(m.quantization) == v,
    }
    known = {"architecture": bool(m.architecture or m.model_type)}  # "not bert": of a known other one
    return all(_check(check, f[k], known.get(k, True)) for k, check in checks.items() if f.get(k) not in (None, ""))


def negation(value: Any) -> tuple[bool, Any]:
    """(negated, value) of a filter: a text value written ``"not X"`` is (True, "X")."""
    if isinstance(value, str) and value.lower().startswith("not ") and value[4:].strip():
        return True, value[4:].strip()
    return False, value


def _check(check: Any, value: Any, known: bool = True) -> bool:
    """One filter; a negated one (:func:`negation`) keeps the models that fail it (and whose
    value is known)."""
    negated, value = negation(value)
    return known and not check(value) if negated else check(value)


def _named_format(m: Any) -> str | None:
    """The format a card-only model's name says its weights have ("...-GGUF")."""
    from modellake.tools.model_view import name_facts

    return name_facts(m.name).get("format")


def _same_word(value: str | None, wanted: str) -> bool:
    norm = lambda x: re.sub(r"[^a-z0-9]", "", x.lower())  # noqa: E731
    if wanted.lower() in ("none", "missing", "unknown"):
        return not value
    if "*" in wanted:  # a family: "gpl*" is gpl-2.0 and gpl-3.0, "*-nc-*" every non-commercial one
        return bool(value) and fnmatch.fnmatch(value.lower(), wanted.lower())
    return bool(value) and norm(value) == norm(wanted)


def text_hits(m: Any, text: str) -> list[str]:
    """The words of ``text`` found in a model's name, card metadata or card text."""
    card = m.card
    fields = [m.name, m.architecture or ""]
    if card is not None:
        fields += [card.pipeline_tag or "", " ".join(card.tags), " ".join(card.datasets),
                   card.library_name or "", card.text[:20000]]
    hay = " ".join(fields).lower().replace("-", " ").replace("_", " ")
    words = [w for w in WORD.findall(text.lower().replace("-", " ")) if w not in STOP]
    return [w for w in dict.fromkeys(words) if re.search(rf"\b{re.escape(w[:6])}", hay)]


_HEAD_TASKS = (("ForCausalLM", "text-generation"), ("LMHeadModel", "text-generation"),
               ("ForSequenceClassification", "text-classification"),
               ("ForTokenClassification", "token-classification"),
               ("ForQuestionAnswering", "question-answering"), ("ForMaskedLM", "fill-mask"))


def task_of(m: Any) -> str | None:
    """The model's task: what its card says (pipeline tag), else what its weights' head says
    (``LlamaForCausalLM``: text-generation; a GGUF file holds a language model)."""
    if m.card is not None and m.card.pipeline_tag:
        return m.card.pipeline_tag
    for arch in (m.config or {}).get("architectures") or []:
        for suffix, task in _HEAD_TASKS:
            if str(arch).endswith(suffix):
                return task
    if m.format == "gguf" and m.architecture and not re.search(r"bert|t5|clip|whisper|embed", m.architecture, re.I):
        return "text-generation"
    return None


def declared_bases(m: Any) -> list[str]:
    bases = list(m.card.base_model) if m.card else []
    return bases + ([m.adapter_base] if m.adapter_base and m.adapter_base not in bases else [])


def _declares_base(m: Any, wanted: str) -> bool:
    if wanted.lower() in ("any", "none"):  # declares one at all / declares none
        return bool(declared_bases(m)) == (wanted.lower() == "any")
    w = wanted.split("@")[0].lower()
    return any(b.lower() == w or b.lower().split("/")[-1] == w.split("/")[-1]
               for b in declared_bases(m))


def _arch_matches(arch: str | None, model_type: str | None, wanted: str) -> bool:
    w = re.sub(r"[^a-z0-9]", "", wanted.lower())
    for value in (arch, model_type):
        v = re.sub(r"[^a-z0-9]", "", (value or "").lower())
        if v and (v == w or v.startswith(w) or w.startswith(v)):
            return True
    return False


WORD = re.compile(r"[a-z0-9]+")
STOP = frozenset("the a an of on in to for and or is are was what which does do did its it "
                  "this that with by from about say says card model models tell me how".split())
