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
from modellake.tools.rendering import TABLE_FROM, join, plural, table

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

    def summary(self) -> str:
        return self.text()

    def text(self) -> str:
        """"minilm-x declares foo as its base model, but the weights point to bar instead"."""
        head = f"{self.model} declares {self.declared} as its base model"
        shown = (f"it was {derivation(self.inferred_relation)} {join(self.inferred_parents)}"
                 if self.inferred_parents else "")
        if self.kind == "relation":
            return (f"{self.model} declares it is {noun_of(self.declared_relation)} {self.declared}, "
                    f"but the weights show {shown or 'another derivation'}.")
        if self.kind == "reversed":
            return (f"{head}, but the weights show the opposite: {self.declared} was derived "
                    f"from {self.model}.")
        if self.kind == "unrelated":
            return (f"{head}, but their weights are unrelated (independently initialized)"
                    + (f"; the weights show {shown} instead." if shown else "."))
        if self.kind == "wrong_parent":
            return (f"{head}, but the weights show {shown} instead." if shown else
                    f"{head}, but the weights show no parent of it in the lake.")
        return _sentence(self.message)


@dataclass
class AuditReport(Record):
    """``modellake lineage --audit``: agreements, conflicts, and what nobody declared."""

    agreements: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    undocumented: list[dict[str, Any]] = field(default_factory=list)
    external: list[dict[str, Any]] = field(default_factory=list)
    unchecked: list[dict[str, Any]] = field(default_factory=list)  # card-only models' declarations

    def summary(self) -> str:
        return self._lead() + "."

    def _lead(self) -> str:
        """"1 declared base model agrees with the weights and none conflicts with them; ..."."""
        agree, conf, undoc = self.agreements, self.conflicts, self.undocumented
        if not (agree or conf or undoc or self.external):
            if self.unchecked:  # a lake of cards: what they declare, which no weights can check
                n = len({u["model"] for u in self.unchecked})
                return (f"{plural(n, 'card-only model')} {'declares' if n == 1 else 'declare'} a base model, "
                        "which the lake cannot check: their weights are not in it")
            return ("No model in the lake declares a base model, and the weights show no derived "
                    "model whose card should name one")
        lead = (f"{plural(len(agree), 'declared base model') if agree else 'No declared base model'} "
                f"{'agree' if len(agree) > 1 else 'agrees'} with the weights and "
                f"{len(conf) or 'none'} {'conflicts' if len(conf) < 2 else 'conflict'} with them")
        if undoc:
            lead += (f"; {plural(len(undoc), 'model')} derived from another model in the lake "
                     f"{'declares' if len(undoc) == 1 else 'declare'} no base model")
        return lead

    def text(self) -> str:
        agree, conf, undoc = self.agreements, self.conflicts, self.undocumented
        parts = [self._lead() + "."]
        if conf:
            parts.append(_listing("Conflicts", [c.text() for c in conf],
                                  ["model", "declares", "the weights show"],
                                  [[c.model, c.declared, _shown(c)] for c in conf]))
        if agree:
            parts.append(_listing("Agreements", [_agreement(a) for a in agree],
                                  ["model", "declares", "the weights show"],
                                  [[a["model"], a["declared"], f"{derivation(a.get('relation'))} "
                                    f"{a.get('parent')}"] for a in agree]))
        if undoc:
            parts.append(_listing("Undocumented (no base model declared)",
                                  [_undocumented(u) for u in undoc],
                                  ["model", "the weights show", "card"],
                                  [[u["model"], f"{derivation(u.get('relation'))} "
                                    f"{join(u.get('inferred_parents') or [])}",
                                    "yes" if u.get("has_card") else "none"] for u in undoc]))
        if self.external:
            parts.append(_listing("Declared base models that are not in the lake",
                                  [_external(x) for x in self.external],
                                  ["model", "declares", "parent in the weights"],
                                  [[x["model"], x["declared"],
                                    join(x.get("inferred_parents") or []) or "none"]
                                   for x in self.external]))
        if self.unchecked:
            parts.append(_listing("Declared by cards alone (no weights to check them against)",
                                  [f"{u['model']} declares {u['declared']}"
                                   + (" (in the lake)" if u.get("in_lake") else "") for u in self.unchecked],
                                  ["model", "declares", "in the lake"],
                                  [[u["model"], u["declared"], "yes" if u.get("in_lake") else "no"]
                                   for u in self.unchecked]))
        return "\n\n".join(parts)


# ----------------------------------------------------------------- words

def derivation(relation: str | None) -> str:
    """"fine-tuned from" for ``finetune`` (the words of ``tools/lineage/words.py``)."""
    from modellake.tools.lineage.words import VERBS

    return VERBS.get(relation or "", "derived from")


def noun(relation: str | None) -> str:
    """"a fine-tune" for ``finetune``."""
    from modellake.tools.lineage.words import NOUNS

    return NOUNS.get(relation or "", "a derivative")


def noun_of(relation: str | None) -> str:
    """"a fine-tune of", "an adapter on": what a child is, before its parent's name."""
    return noun(relation) + (" on" if relation == "adapter" else " of")


def confidence(value: Any) -> str:
    """" (confidence 0.99)", or nothing when there is no number."""
    return f" (confidence {value:.2f})" if isinstance(value, (int, float)) else ""


def _sentence(text: str) -> str:
    """A message as a sentence (it starts with a model name: its case is kept)."""
    return " ".join(str(text).split()).rstrip(".") + "."


def _source(model: str, source: str | None) -> str:
    return {"adapter_config": f"{model}'s adapter config",
            "gguf.general.base_model": f"{model}'s GGUF header"}.get(source or "", f"{model}'s card")


def _shown(c: Conflict) -> str:
    if c.kind == "reversed":
        return f"{c.declared} derived from {c.model}"
    if c.kind == "unrelated" and not c.inferred_parents:
        return "unrelated weights"
    return (f"{derivation(c.inferred_relation)} {join(c.inferred_parents)}" if c.inferred_parents
            else "no parent in the lake")


def _agreement(a: dict[str, Any]) -> str:
    said = f"{_source(a['model'], a.get('source'))} names {a['declared']}"
    note = str(a.get("note") or "")
    if "direct parent inferred:" in note:
        direct = note.split("direct parent inferred:", 1)[1].strip()
        return (f"{said}, an ancestor in the weights; its direct parent is {direct}.")
    return f"{said}, and the weights show it was {derivation(a.get('relation'))} {a.get('parent')}."


def _undocumented(u: dict[str, Any]) -> str:
    why = "its card names no base model" if u.get("has_card") else "it has no card"
    return (f"{u['model']} was {derivation(u.get('relation'))} "
            f"{join(u.get('inferred_parents') or [])}{confidence(u.get('confidence'))}, but {why}.")


def _external(x: dict[str, Any]) -> str:
    parents = x.get("inferred_parents") or []
    return (f"{_source(x['model'], x.get('source'))} names {x['declared']}, which is not in the lake"
            + (f"; the weights show {join(parents)} as its parent." if parents else
               "; the weights show no parent in the lake."))


def _listing(title: str, lines: list[str], columns: list[str], rows: list[list[Any]]) -> str:
    """A titled list of sentences, or a table when it is long."""
    if len(lines) >= TABLE_FROM:
        return f"{title}:\n\n" + table(columns, rows)
    return f"{title}:\n" + "\n".join(f"- {line}" for line in lines)


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
