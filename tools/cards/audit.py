"""Audit a model card against the lake's evidence (``modellake card --check NAME``).

Findings, each with a severity, what the card says, what the lake found, and evidence:

* ``base_model``: the card names no base model though the weights (or its config, text or
  tags) show one; or it names one the weights contradict;
* ``base_model_relation``: the declared relation differs from the inferred one;
* ``parameters`` / ``architecture``: a size or model family the weights disagree with;
* ``score``: a claimed score that differs from the measured run on the same task;
* ``license``: a licence that differs from the parent's, or none while the parent has one;
* ``empty_section``: a heading with nothing real under it;
* ``missing``: what the Hub's card guidance expects but the card lacks
  (from :func:`modellake.tools.inspection.summarize_card`);
* ``metadata``: YAML the Hub would not accept; ``no_card``: no card at all.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.records import BenchmarkRun, CardInfo, Record
from modellake.tools.cards import claims as cc
from modellake.tools.cards import score as cs
from modellake.tools.cards.facts import (
    EvidenceLog,
    Facts,
    gather,
    higher_is_better,
    match_declared,
)
from modellake.tools.inspection import human_count, summarize_card
from modellake.tools.lineage.declared import confidence, derivation, noun, noun_of
from modellake.tools.rendering import TABLE_FROM, join, plural, table

SEVERITIES = ("error", "warning", "info")
KINDS = ("no_card", "metadata", "base_model", "base_model_relation", "parameters", "architecture",
         "score", "license", "empty_section", "missing")
PARAM_WARN = 1.25   # claimed/actual beyond this (either way, after rounding): warning
PARAM_ERROR = 2.0   # beyond this: error
SCORE_ABS_TOL = 0.01       # bounded metrics (0-1): a claim within this of the measurement agrees
SCORE_REL_TOL = 0.05       # unbounded metrics (perplexity): relative tolerance
STRONG_EDGE = 0.8          # edge confidence from which a contradicting base_model is an error
_BOUNDED = {"accuracy", "f1", "macro_f1", "spearman", "pearson", "exact_match",
            "matthews_correlation", "rouge1", "rougeL", "bleu"}


@dataclass
class CardFinding(Record):
    """One disagreement between a card and the lake."""

    kind: str
    severity: str            # error | warning | info
    message: str
    card_says: Any = None
    lake_found: Any = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    where: str | None = None  # "yaml", "text line N", "model-index", a heading


@dataclass
class BaseModelCheck:
    """What the base-model check compared: kept beside the audit (not in its ``to_dict``) so
    that ``text()`` can say that a declared base model agrees with the weights."""

    declared: list[str] = field(default_factory=list)      # the card's base_model entries
    parents: list[str] = field(default_factory=list)       # parents inferred from the weights
    relation: str | None = None                            # of the inferred edge
    confidence: float | None = None
    agreeing: list[str] = field(default_factory=list)      # declared entries naming a parent
    has_weights: bool = True
    itself: list[str] = field(default_factory=list)        # declared entries naming the model


# findings that say a claim of the card is contradicted (or missing) by the evidence
CLAIM_KINDS = ("base_model", "base_model_relation", "parameters", "architecture", "score",
               "license")


@dataclass
class CardAudit(Record):
    """``modellake card --check NAME --json``."""

    model: str
    version: int | None
    has_card: bool
    findings: list[CardFinding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)        # by severity
    by_kind: dict[str, int] = field(default_factory=dict)
    completeness: dict[str, float] = field(default_factory=dict)
    overall: float = 0.0
    checked: dict[str, int] = field(default_factory=dict)      # claims found, by kind
    has_weights: bool = True  # false for a card-only model: nothing to check the claims against
    unchecked: list[str] = field(default_factory=list)  # claims as written that nothing could check

    base_check = None  # BaseModelCheck | None, set by check_card; given in to_dict as evidence

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if isinstance(self.base_check, BaseModelCheck):  # what a base-model sentence rests on
            d["base_model_check"] = dataclasses.asdict(self.base_check)
        return d

    # -- words -----------------------------------------------------------------------------
    def summary(self) -> str:
        if not self.has_card:
            return f"{self.model} has no model card to check."
        bad = self._disagreements()
        gaps = [f for f in self.findings if f.kind in ("missing", "empty_section")]
        return (f"{self.model}'s card: "
                + (f"{plural(len(bad), 'disagreement')} with the lake" if bad else
                   "no disagreement with the lake")
                + f", {plural(len(gaps), 'gap')}, {self.overall:.0%} complete.")

    def text(self) -> str:
        if not self.has_card:
            return (f"{self.model} has no model card in the lake, so there is nothing to check "
                    f"against its weights and runs. `modellake card {self.model}` drafts one from "
                    "the lake's evidence.")
        bad = self._disagreements()
        base = [f for f in self.findings if f.kind in ("base_model", "base_model_relation")]
        if bad:
            against = join(list(dict.fromkeys(
                "the measured runs" if f.kind == "score" else "the weights" for f in bad)))
            lead = f"{self.model}'s card disagrees with {against} on {plural(len(bad), 'point')}."
        elif not self.has_weights:
            lead = (f"{self.model}'s weights are not in the lake (only its card is), so what its card "
                    "claims cannot be checked against them; nothing in the lake contradicts it.")
            if self.unchecked:
                lead += f" It states {join(self.unchecked[:3])}, which only the weights could confirm."
        else:
            runs = " and the measured runs" if self.checked.get("score") else ""
            lead = (f"{self.model}'s card agrees with the weights{runs}: nothing it claims is "
                    "contradicted.")
        first = [lead, _base_sentence(base[0], self.model) if base else self._base_confirmed(),
                 self._checked()]
        parts = [" ".join(x for x in first if x)]
        rest = [f for f in self.findings if f.kind not in ("missing", "empty_section")
                and not (base and f is base[0])]
        if rest:
            lines = [_finding_sentence(f, self.model) for f in rest]
            if len(rest) >= TABLE_FROM:
                parts.append("Also:\n\n" + table(["severity", "about", "finding"],
                                                   [[f.severity, f.kind.replace("_", " "), line]
                                                    for f, line in zip(rest, lines)]))
            else:
                parts.append("Also:\n" + "\n".join(f"- {line}" for line in lines))
        parts.append(self._gaps())
        return "\n\n".join(p for p in parts if p)

    def _disagreements(self) -> list[CardFinding]:
        """Claims of the card the evidence contradicts (not what the card leaves out)."""
        return [f for f in self.findings if f.kind in CLAIM_KINDS
                and f.severity in ("error", "warning") and f.card_says is not None]

    def _base_confirmed(self) -> str:
        """The base-model sentence when no finding is about it."""
        b = self.base_check
        if not isinstance(b, BaseModelCheck):
            return ""
        if b.agreeing:
            return (f"Its declared base model, {join(b.agreeing)}, agrees with the weights: "
                    f"{self.model} was {derivation(b.relation)} {join(b.parents)}"
                    f"{confidence(b.confidence)}.")
        if b.declared and set(b.itself) == set(b.declared):
            return (f"Its declared base model, {join(b.declared)}, cannot be checked: that name "
                    "matches this model itself, and the weights show no other parent in the lake.")
        if b.declared and not b.has_weights:
            return (f"Its declared base model, {join(b.declared)}, cannot be checked: its weights "
                    "are not in the lake.")
        if b.declared:
            return (f"Its declared base model, {join(b.declared)}, cannot be checked: the weights "
                    f"show no parent of {self.model} in the lake.")
        if b.parents:
            return ""
        return "It declares no base model, and the weights show no parent in the lake."

    def _checked(self) -> str:
        words = {"parameters": ("parameter count", "parameter counts"),
                 "architecture": ("architecture claim", "architecture claims"),
                 "score": ("score", "scores")}
        done = [plural(n, *words[k]) if k in words else f"{n} {k}"
                for k, n in self.checked.items() if n]
        if not self.checked:
            return ""
        if not done:
            return "Its text states no parameter count, architecture or score to check."
        return f"The check also covered {join(done)} in its text."

    def _gaps(self) -> str:
        lacking = [f for f in self.findings if f.kind == "missing"]
        missing = [_lacks(f) for f in lacking]
        empty = [str(f.card_says or f.where) for f in self.findings if f.kind == "empty_section"]
        complete = f"Overall the card is {self.overall:.0%} complete by the Hub's card guidance."
        if len(missing) + len(empty) >= TABLE_FROM:
            rows = ([[_lacks(f, article=False), "missing"] for f in lacking]
                    + [[e, "empty"] for e in empty])
            return complete + " What it lacks:\n\n" + table(["item", "state"], rows)
        out = []
        if missing:
            out.append(f"The card lacks {join(missing)}.")
        if empty:
            out.append(f"{plural(len(empty), 'section')} "
                       f"{'is' if len(empty) == 1 else 'are'} empty: {join(empty)}.")
        return " ".join(out + [complete])

    def finish(self) -> CardAudit:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self.findings.sort(key=lambda f: (order.get(f.severity, 9), KINDS.index(f.kind)
                                          if f.kind in KINDS else 99))
        self.counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        self.by_kind = {}
        for f in self.findings:
            self.by_kind[f.kind] = self.by_kind.get(f.kind, 0) + 1
        return self


def _lacks(f: CardFinding, article: bool = True) -> str:
    """"an intended uses section" for "the card lacks intended uses section"."""
    item = f.message.removeprefix("the card lacks ").rstrip(".")
    if article and item.endswith(" section"):
        item = ("an " if item[:1] in "aeiou" else "a ") + item
    return item


def _inferred(f: CardFinding) -> tuple[str | None, float | None]:
    """(relation, confidence) of the first inferred lineage edge a finding cites."""
    for e in f.evidence:
        data = e.get("data") or {}
        if e.get("kind") == "inferred" and data.get("relation"):
            return data.get("relation"), data.get("confidence")
    return None, None


def _conflict_kind(f: CardFinding) -> str | None:
    for e in f.evidence:
        claim = str(e.get("claim") or "")
        if e.get("source") == "lineage audit" and ": " in claim:
            return claim.rsplit(": ", 1)[1]
    return None


def _base_sentence(f: CardFinding, model: str) -> str:
    """A base-model (or base-model relation) finding, as a sentence about the model."""
    rel, conf = _inferred(f)
    parents = f.lake_found if isinstance(f.lake_found, list) else []
    shown = f"{model} was {derivation(rel)} {join(parents)}{confidence(conf)}" if parents else ""
    if f.kind == "base_model_relation":
        return (f"Its card says it is {noun_of(f.card_says)} its base model, but the weights show "
                f"{noun(f.lake_found)}" + (f": {shown}." if shown else "."))
    said = f.card_says
    if said is None:
        if parents:
            return f"It declares no base model, but the weights show {shown}."
        text = next((e["data"].get("text") for e in f.evidence if (e.get("data") or {}).get("text")),
                    None)
        if text and f.where != "yaml":
            return f"Its metadata names no base model, but its text says \"{text}\"."
        hint = str(f.lake_found or "")
        if hint.startswith("base_model (looks derived: "):
            hint = hint.removeprefix("base_model (looks derived: ").removesuffix(")")
        return (f"It declares no base model, but it looks derived from another model ({hint})."
                if hint else "It declares no base model.")
    if f.where not in (None, "yaml") and isinstance(f.lake_found, list):  # text vs YAML
        quote = next((e["data"].get("text") for e in f.evidence
                      if (e.get("data") or {}).get("text")), said)
        return (f"Its text names {said} as the base model (\"{quote}\"), but its metadata says "
                f"{join(f.lake_found)}.")
    head = f"Its declared base model, {said},"
    if f.severity == "info":
        return (f"{head} agrees with the weights as an ancestor: the direct parent inferred from "
                f"the weights is {join(parents)}.")
    if f.severity == "warning":
        return (f"{head} is not in this lake, so the weights cannot confirm it"
                + (f"; they show {shown}." if shown else "."))
    kind = _conflict_kind(f)
    if kind == "unrelated":
        return (f"{head} disagrees with the weights: the two models' weights are unrelated "
                "(independently initialized)" + (f", and they show {shown}." if shown else "."))
    if kind == "reversed":
        return (f"{head} disagrees with the weights: they show {said} was derived from {model}, "
                "not the other way round.")
    return (f"{head} disagrees with the weights, which show "
            + (f"{shown}." if shown else f"no parent of {model} in the lake."))


def _finding_sentence(f: CardFinding, model: str) -> str:
    if f.kind in ("base_model", "base_model_relation"):
        return _base_sentence(f, model)
    if f.kind == "metadata":
        return f"Its YAML metadata has a problem: {f.message.rstrip('.')}."
    msg = " ".join(f.message.split()).rstrip(".")
    return (msg[:1].upper() + msg[1:] if msg.startswith("the ") else msg) + "."


class _Audit:
    def __init__(self, facts: Facts, card: CardInfo, catalog: Catalog) -> None:
        self.catalog = catalog
        self.f = facts
        self.card = card
        self.ev = EvidenceLog()
        self.out: list[CardFinding] = []
        self.base: BaseModelCheck | None = None
        self.unchecked: list[str] = []  # claims nothing in the lake can check (no weights)

    def add(self, kind: str, severity: str, message: str, card_says: Any, lake_found: Any,
            evidence: list[Any], where: str | None = None) -> None:
        self.out.append(CardFinding(kind, severity, message, card_says, lake_found,
                                    [e.to_dict() | {"marker": e.marker} for e in evidence], where))

    # ------------------------------------------------------------------ base model
    def base_model(self) -> None:
        f, card = self.f, self.card
        edges = f.lineage.parents
        declared = list(card.base_model)
        parents = [e.parent for e in edges]
        self.base = BaseModelCheck(
            declared, parents, edges[0].relation if edges else None,
            min(e.confidence for e in edges) if edges else None,
            [d for d in declared if any(match_declared([d], p) for p in parents)],
            f.model.has_weights, [d for d in declared if match_declared([d], f.model.name)])
        if edges:
            parents = [e.parent for e in edges]
            evs = [self.ev.add("inferred", f"edge {e.parent} -> {e.child}",
                               f"{e.relation} of {e.parent}", relation=e.relation,
                               confidence=e.confidence, evidence=e.evidence) for e in edges]
            strong = max(e.confidence for e in edges) >= STRONG_EDGE
            conflicts = {c.get("declared"): c for c in f.lineage.conflicts}
            if not declared:
                self.add("base_model", "error" if strong else "warning",
                         f"the card names no base_model; the weights show "
                         f"{' + '.join(parents)} ({edges[0].relation}, confidence "
                         f"{edges[0].confidence:.2f})", None, parents, evs, "yaml")
            else:
                matched = [d for d in declared if any(match_declared([d], p) for p in parents)]
                names = self.catalog.model_names()
                for d in declared:
                    if d in matched:
                        continue
                    c = conflicts.get(d)
                    in_lake = next((n for n in names if match_declared([d], n)), None)
                    if c is not None:
                        extra = self.ev.add("inferred", "lineage audit",
                                            f"declared {d}: {c.get('kind')}",
                                            **(c.get("evidence") or {}))
                        self.add("base_model", "error",
                                 f"the card says base_model {d}; the weights show "
                                 f"{', '.join(parents)} ({c.get('message')})", d, parents,
                                 evs + [extra], "yaml")
                    elif in_lake is not None:
                        self.add("base_model", "info",
                                 f"base_model {d} is an ancestor in this lake; the direct parent "
                                 f"inferred from the weights is {', '.join(parents)}", d, parents,
                                 evs, "yaml")
                    else:
                        self.add("base_model", "warning",
                                 f"the card says base_model {d} (not in this lake); the weights "
                                 f"show {', '.join(parents)} ({edges[0].relation}, confidence "
                                 f"{edges[0].confidence:.2f})", d, parents, evs, "yaml")
                rel = (card.base_model_relation or "").lower() or None
                inferred_rel = edges[0].relation
                if rel and matched and rel != inferred_rel and not (
                        rel == "finetune" and inferred_rel in ("pruned", "duplicate")):
                    self.add("base_model_relation", "warning",
                             f"the card says base_model_relation {rel}; the weights show "
                             f"{inferred_rel}", rel, inferred_rel, evs, "yaml")
        else:
            for c in f.lineage.conflicts:
                d = c.get("declared")
                ev = self.ev.add("inferred", "lineage audit", f"declared {d}: {c.get('kind')}",
                                 **(c.get("evidence") or {}))
                self.add("base_model", "error", f"the card says base_model {d}, but "
                         f"{c.get('message')}", d, c.get("inferred_parents") or None, [ev], "yaml")
            if not declared:
                self._hinted_base()
        self._text_vs_yaml(declared)

    def _hinted_base(self) -> None:
        """No inferred parent and none declared: a base model the text names, else
        inspect's derivation hint (config, tags, text)."""
        named = [c for c in cc.base_model_claims(self.card) if c.where != "yaml"]
        if named:
            c = named[0]
            ev = self.ev.add("declared", "README.md", "base model named in the text",
                             text=c.text, where=c.where)
            self.add("base_model", "warning", f"the card names no base_model in its metadata, "
                     f"but its text says \"{c.text}\"", None, c.value, [ev], c.where)
            return
        missing = summarize_card(self.f.model).missing
        hint = next((m for m in missing if m.startswith("base_model")), None)
        if hint:
            ev = self.ev.add("declared", "model files", "derivation hint",
                             hint=hint.split("(", 1)[-1].rstrip(")"))
            self.add("base_model", "warning", f"the card names no base_model, but {hint}",
                     None, hint, [ev], "yaml")

    def _text_vs_yaml(self, declared: list[str]) -> None:
        """The text names a base model the YAML does not (only when the YAML names one)."""
        if not declared:
            return
        for claim in cc.base_model_claims(self.card):
            if claim.where == "yaml":
                continue
            if not any(match_declared([claim.value], d) or match_declared([d], claim.value)
                       for d in declared):
                ev = self.ev.add("declared", "README.md", "base model named in the text",
                                 text=claim.text, where=claim.where)
                self.add("base_model", "warning",
                         f"the text says \"{claim.text}\" but the YAML base_model is "
                         f"{', '.join(declared)}", claim.value, declared, [ev], claim.where)
                return

    # ------------------------------------------------------------------ size, family
    def parameters(self) -> int:
        i = self.f.insp
        claims = cc.parameter_claims(self.card)
        actual = i.num_parameters if i.weights_in_lake else None
        if not claims or not actual:
            self.unchecked += list(dict.fromkeys(f"{c.text} ({c.where})" for c in claims
                                                 if "size_class" not in c.detail))
            return len(claims)
        w = self.ev.add("weights", "tensor statistics", "parameter count",
                        num_parameters=actual, num_tensors=i.num_tensors)
        verdicts = []
        for c in claims:
            if c.detail.get("active"):
                continue
            slack = c.detail.get("precision", 0.0)
            lo, hi = actual - slack, actual + slack
            if lo <= c.value <= hi:
                verdicts.append((c, 1.0))
                continue
            ratio = max(c.value, 1.0) / max(actual, 1)
            verdicts.append((c, ratio))
        agree = any(r == 1.0 or 1 / PARAM_WARN <= r <= PARAM_WARN for _, r in verdicts)
        for c, r in verdicts:
            if 1 / PARAM_WARN <= r <= PARAM_WARN:
                continue
            sev = "error" if not (1 / PARAM_ERROR <= r <= PARAM_ERROR) else "warning"
            if agree:
                sev = "info"  # another claim matches: this one is likely about another model
            self.add("parameters", sev,
                     f"the card says \"{c.text}\" (~{human_count(int(c.value))}); the weights "
                     f"hold {human_count(actual)} parameters ({actual:,})", c.text, actual, [w],
                     c.where)
        return len(claims)

    def architecture(self) -> int:
        m = self.f.model
        claims = cc.architecture_claims(self.card)
        mt = (m.model_type or m.architecture or "").lower().replace("-", "_")
        if not claims or not mt or not m.has_weights:
            return len(claims)
        src = "GGUF header" if m.format == "gguf" else "config.json"
        ev = self.ev.add("declared", src, "model type", model_type=m.model_type,
                         architectures=(m.config or {}).get("architectures"))
        seen = set()
        for c in claims:
            compat = [x.replace("-", "_") for x in c.detail["compatible"]]
            if any(mt.startswith(x) or x.startswith(mt) for x in compat) or c.value in seen:
                continue
            seen.add(c.value)
            self.add("architecture", "warning",
                     f"the card says \"{c.text}\"; the weights are a {m.model_type or m.architecture} "
                     f"model", c.text, m.model_type or m.architecture, [ev], c.where)
        return len(claims)

    # ------------------------------------------------------------------ scores
    def scores(self) -> int:
        measured = self.f.measured
        others = [n for n in self.catalog.model_names() if n != self.f.model.name]
        claims = cc.score_claims(self.card, [r.task for r in measured], others)
        runs = {r.task: r for r in measured}
        reported = set()
        for c in claims:
            run = runs.get(c.detail["task"])
            if run is None:
                continue
            metric = self._metric(c.detail["metric"], run)
            if metric is None:
                continue
            key = (c.detail["task"], metric, c.value)
            if key in reported:
                continue
            reported.add(key)
            measured_v = float(run.metrics[metric])
            claimed = c.value
            if (c.detail.get("percent") or claimed > 1.0) and metric in _BOUNDED \
                    and abs(measured_v) <= 1.0:
                claimed = claimed / 100.0
            se = (run.stderr or {}).get(metric) or 0.0
            if metric in _BOUNDED:
                tol = max(SCORE_ABS_TOL, 2 * se)
            else:
                tol = max(SCORE_REL_TOL * abs(measured_v), 2 * se)
            diff = claimed - measured_v
            if abs(diff) <= tol:
                continue
            better = diff > 0 if higher_is_better(run, metric) else diff < 0
            ev = self.ev.add("measured", f"run {run.id}", f"{run.task} on {run.model}",
                             run_id=run.id, task=run.task, metrics=run.metrics,
                             stderr=run.stderr, n_samples=run.n_samples, task_hash=run.task_hash)
            self.add("score", "error" if better else "warning",
                     f"the card claims {metric} {c.value:g}{'%' if c.detail.get('percent') else ''}"
                     f" on {run.task}; run {run.id} measured {measured_v:.4g}"
                     f"{f' ± {se:.2g}' if se else ''}"
                     f" ({'inflated' if better else 'understated'} by {abs(diff):.3g})",
                     c.value, measured_v, [ev], c.where)
        return len(claims)

    @staticmethod
    def _metric(name: str, run: BenchmarkRun) -> str | None:
        keys = {cc.norm_metric(k): k for k in run.metrics}
        if name in keys:
            return keys[name]
        if name == "f1":
            f1s = [k for n, k in keys.items() if "f1" in n]
            return f1s[0] if len(f1s) == 1 else None
        return None

    # ------------------------------------------------------------------ licence
    def license(self) -> None:
        f, card = self.f, self.card
        for e in f.lineage.parents:
            parent = f.related.get(e.parent)
            if parent is None:
                continue
            plic = parent.card.license if parent.card else None
            if plic is None:
                plic = ((parent.config or {}).get("kv") or {}).get("general.license")
            if not plic:
                continue
            evs = [self.ev.add("inferred", f"edge {e.parent} -> {e.child}",
                               f"{e.relation} of {e.parent}", relation=e.relation,
                               confidence=e.confidence),
                   self.ev.add("declared", f"{e.parent}/README.md", f"license of {e.parent}",
                               license=plic)]
            if not card.license:
                self.add("license", "warning", f"the card sets no license; its parent "
                         f"{e.parent} is {plic}", None, plic, evs, "yaml")
            elif card.license.lower() != str(plic).lower():
                self.add("license", "warning", f"the card's license {card.license} differs from "
                         f"its parent {e.parent}'s ({plic}); check the parent's terms allow it",
                         card.license, plic, evs, "yaml")

    # ------------------------------------------------------------------ structure
    def structure(self, score: cs.CardScore) -> None:
        card = self.card
        if card.metadata_error:
            ev = self.ev.add("declared", "README.md", "YAML metadata", error=card.metadata_error)
            self.add("metadata", "warning", card.metadata_error, None, None, [ev], "yaml")
        for heading in score.empty_sections:
            self.add("empty_section", "info", f"section \"{heading}\" is empty (nothing but "
                     "placeholders or comments)", heading, None, [], heading)
        for item in summarize_card(self.f.model).missing:
            if item.startswith("base_model"):
                continue  # judged with the lineage above
            self.add("missing", "info", f"the card lacks {item}", None, None, [], None)


def check_card(catalog: Catalog, name: str, *, text: str | None = None,
               infer_lineage: bool = True) -> CardAudit:
    """Compare the card of ``name`` (or ``text``, a card to check instead) with the evidence."""
    from modellake.tools.formats.card_fmt import parse_card

    facts = gather(catalog, name, infer_lineage=infer_lineage)
    model = facts.model
    card = parse_card(text) if text is not None else model.card
    audit = CardAudit(model=model.name, version=model.version, has_card=card is not None,
                      has_weights=model.has_weights)
    if card is None:
        audit.findings.append(CardFinding("no_card", "error", "the model has no card (no README.md "
                                          "in the lake); draft one with `modellake card NAME`"))
        return audit.finish()
    if text is not None:
        facts.model.card = card
    a = _Audit(facts, card, catalog)
    a.base_model()
    audit.checked["parameters"] = a.parameters()
    audit.checked["architecture"] = a.architecture()
    audit.checked["score"] = a.scores()
    a.license()
    score = cs.score_card(card)
    a.structure(score)
    audit.findings = a.out
    audit.completeness = dict(score.sections)
    audit.overall = score.overall
    audit.base_check = a.base
    audit.unchecked = a.unchecked
    return audit.finish()
