"""The words that describe each model of the lake, so that people can point at a model without
its name: "the 8-bit copy", "the smollm gguf", "its topic fine-tune", "the pruned one".

A model is described by the parts of its name (and their stems: "smollm" for "smollm2"), its
format and architecture, what its weights or name say of its quantization ("int8", "8bit",
"q4"), and, read from the version graph only when asked, how it was derived from its parent
("quantized", "fine-tune", "pruned", "merge").
"""
from __future__ import annotations

import re
from typing import Any

from modellake.store.records import ModelRecord

# how people say each derivation, normalised (see :func:`norm`)
DERIVATION_WORDS: dict[str, frozenset[str]] = {
    "quantized": frozenset({"quantized", "quantised", "quant", "quantization", "quantisation"}),
    "finetune": frozenset({"finetune", "finetuned", "ft", "tuned", "tune"}),
    "pruned": frozenset({"pruned", "prune", "sparse"}),
    "merge": frozenset({"merge", "merged"}),
    "adapter": frozenset({"adapter", "lora"}),
    "duplicate": frozenset({"duplicate", "clone"}),
}
DERIVED = frozenset().union(*DERIVATION_WORDS.values())


def norm(word: str) -> str:
    """"8-bit" -> "8bit", "Fine-Tuned" -> "finetuned", "int_8" -> "int8"."""
    return re.sub(r"[^a-z0-9]", "", word.lower())


def name_parts(name: str) -> set[str]:
    """The parts of a model's name and their stems: "smollm2-135m-instruct" gives smollm2,
    smollm, 135m, instruct."""
    parts: set[str] = set()
    for p in re.split(r"[-_/.\s]+", name.lower()):
        if not p:
            continue
        parts.add(p)
        stem = re.match(r"[a-z]{4,}", p)
        if stem:
            parts.add(stem.group(0))
    return parts


def _bits(text: str) -> set[str]:
    """"int8" / "Q8_0" / "4bit" -> the words for its width: 8bit, int8, q8."""
    out: set[str] = set()
    for m in re.finditer(r"(?:int|q|(?<![a-z0-9]))([2-8])(?:[-_ ]?bits?|_[a-z0-9_]+|\b)", text.lower()):
        n = m.group(1)
        out |= {f"{n}bit", f"int{n}", f"q{n}"}
    return out


def model_words(m: ModelRecord) -> set[str]:
    """The words of a model's own record (no lineage): name parts, format, architecture,
    quantization."""
    words = name_parts(m.name) | {norm(x) for x in (m.format, m.architecture, m.model_type) if x and x != "card"}
    if m.architecture:
        words |= name_parts(m.architecture)
    quant = " ".join(x for x in (m.quantization, m.name.split("/")[-1]) if x)
    bits = _bits(quant)
    if m.quantization or bits:
        words |= bits | DERIVATION_WORDS["quantized"]
    return words


def derivation_words(catalog: Any) -> dict[str, set[str]]:
    """model -> the words of how the version graph says it was derived from its parent, for
    every model the graph derives from another (its keys)."""
    from modellake.tools.lineage import infer_lineage

    out: dict[str, set[str]] = {}
    for e in infer_lineage(catalog).edges:
        out.setdefault(e.child, set()).update(DERIVATION_WORDS.get(e.relation, ()))
    return out
