"""Declared vs inferred lineage: what cards and configs say, checked against the weights.

Declarations come from a card's ``base_model`` (and ``base_model_relation``), a
PEFT adapter's ``base_model_name_or_path`` and a GGUF file's
``general.base_model.*`` keys. Declared names are often Hub ids
("sentence-transformers/all-MiniLM-L6-v2"); they are matched to lake names
leniently: the exact name, else the last path component, case-insensitive.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import LineageEdge, ModelRecord, Record

_RELATIONS = {"finetune": "finetune", "fine-tune": "finetune", "adapter": "adapter",
              "quantized": "quantized", "quantization": "quantized", "merge": "merge",
              "merged": "merge", "pruned": "pruned"}


@dataclass
class Declaration(Record):
    """One parent a model's metadata names."""

    model: str
    declared: str                # the name as written
    relation: str | None         # declared relation, normalized, if any
    source: str                  # card.base_model | adapter_config | gguf.general.base_model
    matched: str | None = None   # the lake model it names, if any


@dataclass
class Conflict(Record):
    """A declaration the weights contradict, with the numbers that show it."""

    model: str
    declared: str
    kind: str                    # wrong_parent | unrelated | reversed | relation
    message: str
    inferred_parents: list[str] = field(default_factory=list)
    declared_relation: str | None = None
    inferred_relation: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditReport(Record):
    """``modellake lineage --audit``: agreements, conflicts, and what nobody declared."""

    agreements: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    undocumented: list[dict[str, Any]] = field(default_factory=list)
    external: list[dict[str, Any]] = field(default_factory=list)


def _norm(name: str) -> str:
    return name.strip().lower()


def name_matcher(names: list[str]) -> Callable[[str], str | None]:
    """Lenient lookup of a declared name among lake names."""
    exact = {_norm(n): n for n in names}
    tail: dict[str, list[str]] = {}
    for n in names:
        tail.setdefault(_norm(n).rstrip("/").rsplit("/", 1)[-1], []).append(n)

    def match(declared: str) -> str | None:
        d = _norm(declared).rstrip("/")
        if d in exact:
            return exact[d]
        last = d.rsplit("/", 1)[-1]
        if last in exact:
            return exact[last]
        hits = tail.get(last, [])
        return hits[0] if len(hits) == 1 else None

    return match


def declarations(record: ModelRecord, match: Callable[[str], str | None]) -> list[Declaration]:
    """Every parent the record's metadata declares."""
    out: list[Declaration] = []
    card = record.card
    if card is not None:
        rel = _RELATIONS.get(_norm(card.base_model_relation or ""))
        for base in card.base_model:
            out.append(Declaration(record.name, base, rel, "card.base_model"))
    if record.adapter_base:
        out.append(Declaration(record.name, record.adapter_base, "adapter", "adapter_config"))
    kv = (record.config or {}).get("kv", {}) if record.format == "gguf" else {}
    count = kv.get("general.base_model.count") or 0
    for i in range(int(count) if isinstance(count, int) else 0):
        name = kv.get(f"general.base_model.{i}.repo_url") or kv.get(f"general.base_model.{i}.name")
        if isinstance(name, str):
            out.append(Declaration(record.name, name.removeprefix("https://huggingface.co/"),
                                   "quantized", "gguf.general.base_model"))
    seen = set()
    unique = []
    for d in out:
        d.matched = match(d.declared)
        if (d.declared, d.source) not in seen:
            seen.add((d.declared, d.source))
            unique.append(d)
    return unique


@dataclass
class _View:
    """The inferred graph, indexed for the audit."""

    parents: dict[str, list[LineageEdge]]
    ancestors: Callable[[str], set[str]]
    descendants: Callable[[str], set[str]]
    family_of: dict[str, int]


def _judge(d: Declaration, view: _View, pair_evidence: Callable[[str, str], dict[str, Any]],
           report: AuditReport) -> None:
    """File one declaration (with a matched lake model) as agreement or conflict."""
    edges = view.parents.get(d.model, [])
    inferred = [e.parent for e in edges]
    rel = edges[0].relation if edges else None
    base = {"model": d.model, "declared": d.declared, "source": d.source}
    m = d.matched
    if m in inferred:
        if d.relation and rel and d.relation != rel:
            report.conflicts.append(Conflict(
                d.model, d.declared, "relation",
                f"{d.model}: declared {d.relation} of {m}, but the weights show {rel}",
                inferred, d.relation, rel, next(e.evidence for e in edges if e.parent == m)))
        else:
            report.agreements.append(dict(base, parent=m, relation=rel))
        return
    if m in view.ancestors(d.model):
        report.agreements.append(dict(base, parent=m, relation=rel, note="declared an ancestor; "
                                      f"direct parent inferred: {', '.join(inferred)}"))
        return
    ev = pair_evidence(m, d.model)
    if m in view.descendants(d.model):
        kind, msg = "reversed", f"{d.model}: declares {m} as its base, but the weights show " \
                                f"{m} derived from {d.model}"
    elif view.family_of.get(m) != view.family_of.get(d.model):
        kind, msg = "unrelated", f"{d.model}: declares {m} as its base, but their weights are " \
                                 "unrelated (independent initializations)"
    else:
        kind, msg = "wrong_parent", f"{d.model}: declares {m} as its base, but the weights " \
                                    f"point to {', '.join(inferred) or 'no parent'}"
    if inferred:
        ev["inferred_parent_distance"] = edges[0].evidence.get("distance")
    report.conflicts.append(Conflict(d.model, d.declared, kind, msg, inferred, d.relation, rel, ev))


def audit(records: list[ModelRecord], edges: list[LineageEdge], families: list[list[str]],
          pair_evidence: Callable[[str, str], dict[str, Any]]) -> AuditReport:
    """Compare every declaration with the inferred edges.

    ``pair_evidence(a, b)``: numbers comparing two models' weights (may be empty).
    """
    names = [r.name for r in records]
    match = name_matcher(names)
    parents: dict[str, list[LineageEdge]] = {}
    children: dict[str, list[str]] = {}
    for e in edges:
        parents.setdefault(e.child, []).append(e)
        children.setdefault(e.parent, []).append(e.child)

    def walk(start: str, step: Callable[[str], list[str]]) -> set[str]:
        out, stack = set(), [start]
        while stack:
            for n in step(stack.pop()):
                if n not in out:
                    out.add(n)
                    stack.append(n)
        return out

    view = _View(parents, lambda n: walk(n, lambda x: [e.parent for e in parents.get(x, [])]),
                 lambda n: walk(n, lambda x: children.get(x, [])),
                 {n: i for i, fam in enumerate(families) for n in fam})
    report = AuditReport()
    for r in records:
        decl = declarations(r, match)
        for d in decl:
            if d.matched is None:
                report.external.append({"model": r.name, "declared": d.declared, "source": d.source,
                                        "inferred_parents": [e.parent for e in parents.get(r.name, [])]})
            elif d.matched != r.name:
                _judge(d, view, pair_evidence, report)
        if not decl and r.name in parents:
            es = parents[r.name]
            report.undocumented.append({"model": r.name, "has_card": r.card is not None,
                                        "inferred_parents": [e.parent for e in es],
                                        "relation": es[0].relation,
                                        "confidence": min(e.confidence for e in es)})
    return report
