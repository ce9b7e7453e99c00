"""The answer of a model query, written the way a person would say it.

The direct answer comes first: a count, the winner (or the models that tie for it), the
relation of each model to the model asked about. Long lists become a table. Evidence (run
ids, lineage confidence) stays in the structured data, where citations read it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import Record
from modellake.tools.query.facts import SIZE_FACTS
from modellake.tools.query.filters import negation
from modellake.tools.query.relations import NOUNS, VERBS, from_card
from modellake.tools.rendering import TABLE_FROM, join, plural, table

LIST_NAMES = 12  # a plain list names at most this many models before "and N more"
_ADJ = {"finetune": "fine-tuned", "quantized": "quantized", "pruned": "pruned", "merge": "merged",
        "adapter": "adapter", "duplicate": "copied"}
_GROUPS_SHOWN = 12  # groups named in a count by a fact, the largest first
_NAMED_WITHOUT = 6  # models without the ranked fact named one by one, at most
_COMPARATIVE = {"largest": "larger", "smallest": "smaller", "deepest": "deeper",
                "newest": "newer", "oldest": "older", "widest": "wider", "longest": "longer",
                "most": "more", "most complete": "more complete"}


@dataclass
class Row(Record):
    """One selected model and what the query attached to it."""

    name: str
    version: int | None = None
    in_lake: bool = True
    depth: int | None = None
    relation: str | None = None
    via: str | None = None
    confidence: float | None = None
    source: str | None = None
    also_via: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    place: int | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)  # the runs behind its scores
    detail: str | None = None  # what the step from its relative did ("50% ... set to zero")
    card_only: bool = False  # in the lake by its card alone (no weights to compare)



@dataclass
class ModelQuery(Record):
    """What :func:`query_models` found: the rows, how they were chosen and ranked."""

    total_in_lake: int = 0
    count: int = 0
    rows: list[Row] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    relation: str | None = None
    about: str | None = None
    task: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)
    ranked_by: str | None = None
    high_first: bool = True
    ranked_word: str | None = None
    order: str = "best"
    without: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    card_figures: list[str] = field(default_factory=list)  # a model with no run: its card's table, in sentences
    count_only: bool = False
    task_scored: bool = False
    declared: list[str] = field(default_factory=list)  # base models the card of ``about`` names
    named: bool = False  # the models were named (a comparison), not found by filters
    ranked_total: int = 0  # models with a value to rank by, before keeping the top places
    derivation: str | None = None  # only relatives derived this way (finetune, quantized...)
    other_derivations: list[dict[str, Any]] = field(default_factory=list)  # relatives it left out
    others: list[str] = field(default_factory=list)  # the rest of the lake, when a split asks it
    unknown_size: list[str] = field(default_factory=list)  # would match, but their size is unknown
    place_of: str | None = None  # the model whose place in the ranking the answer gives first
    other_end: dict[str, Any] = field(default_factory=dict)  # the last place of a ranking cut short
    same_as: str | None = None  # only models sharing ``same`` (fact label -> value) with this one
    same: dict[str, str] = field(default_factory=dict)
    grouped_by: str | None = None  # the fact the rows are counted by
    groups: dict[str, list[str]] = field(default_factory=dict)  # its value -> the models with it
    score_bounds: dict[str, Any] = field(default_factory=dict)  # task, metric, min, max of a score filter
    left_out: list[str] = field(default_factory=list)  # models named but not matching the filters
    about_shown: dict[str, str] = field(default_factory=dict)  # the relation's subject, on the facts shown

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["edges"] = self.edges()
        return d

    def edges(self) -> list[dict[str, Any]]:
        """The lineage edges behind a relation answer (evidence for citations)."""
        if not self.relation or self.relation == "roots":
            return []
        up = self.relation in ("parents", "ancestors")
        out = []
        for r in self.rows:
            for via in [r.via] + r.also_via:
                if not via or r.relation in (None, "family", "root"):
                    continue
                parent, child = (r.name, via) if up else (via, r.name)
                out.append({"parent": parent, "child": child, "relation": r.relation,
                            "confidence": r.confidence, "source": r.source})
        return out

    # -- words -----------------------------------------------------------------------------
    def selection(self) -> str:
        """What the rows are, in words ("descendants of X with at most 50M parameters")."""
        parts = []
        if self.relation == "roots":
            parts.append("root models (derived from no other model in the lake)")
        elif self.relation:
            how = _ADJ.get(self.derivation or "", self.derivation or "")
            parts.append(f"{how + ' ' if how else ''}{self.relation} of {self.about}")
        f = self.filters
        arch, fmt = (negation(f[k]) if f.get(k) else None for k in ("architecture", "format"))
        if arch:
            parts.append(f"of another architecture than {arch[1]}" if arch[0] else f"of architecture {arch[1]}")
        if fmt:
            parts.append(("with weights in the lake" if fmt[1] == "card" else f"not stored as {fmt[1]}")
                         if fmt[0] else "card-only (no weights)" if fmt[1] == "card" else f"stored as {fmt[1]}")
        if f.get("quantization"):
            parts.append(f"quantized as {f['quantization']}")
        elif f.get("quantized") is not None:
            parts.append("quantized" if f["quantized"] else "not quantized")
        if f.get("license"):
            parts.append(_license_phrase([x.strip() for x in str(f["license"]).split(",")]))
        if f.get("exclude"):
            parts.append(f"other than {join(f['exclude'])}")
        if f.get("has_weights") is not None:
            parts.append("with weights in the lake" if f["has_weights"] else "card-only (no weights)")
        if f.get("has_runs") is not None:
            parts.append("with stored benchmark runs" if f["has_runs"] else "with no stored benchmark runs")
        if f.get("has_card") is not None:
            parts.append("with a model card" if f["has_card"] else "without a model card")
        if f.get("min_parameters") is not None:
            parts.append(f"with at least {_count(f['min_parameters'])} parameters")
        if f.get("max_parameters") is not None:
            parts.append(f"with at most {_count(f['max_parameters'])} parameters")
        if self.derivation and not self.relation:
            parts.insert(0, "derived from another model in the lake" if self.derivation == "any" else
                         f"{_ADJ.get(self.derivation, self.derivation)} from another model")  # the verb's own
        if f.get("base_model") in ("any", "none", "lake"):
            parts.append({"any": "whose card declares a base model", "none": "whose card declares no base model",
                          "lake": "whose card declares a base model that is in the lake too"}[f["base_model"]])
        elif f.get("base_model"):
            parts.append(f"whose card declares {f['base_model']} as its base model")
        if f.get("text"):
            parts.append(f"mentioning \"{f['text']}\"")
        if self.same_as:
            what = join([f"{k} ({v})" for k, v in self.same.items()])
            parts.append(f"with the same {what} as {self.same_as}")
        b = self.score_bounds
        if b:
            bound = join([x for x in (f"at least {b['min']:g}" if b.get("min") is not None else "",
                                      f"at most {b['max']:g}" if b.get("max") is not None else "") if x])
            parts.append(f"scoring {bound} ({b['metric']}) on {b['task']}")
        elif self.task:
            scored = any(b["task"] == self.task for b in self.boards.values()) or self.task_scored
            parts.append(f"scored on {self.task}" if scored else f"for {self.task}")
        return " ".join(parts)

    def summary(self) -> str:
        return self.text().split("\n", 1)[0]

    def text(self) -> str:
        if self.grouped_by:
            body = self._group_text()
        elif self.count_only:
            body = self._count_text()
        elif self.ranked_by and self.rows and all(r.place == 1 for r in self.rows):
            body = self._winner_text()
        elif self.ranked_by:
            body = self._place_text() + self._ranking_text()
        elif self.relation:
            body = self._relation_text() + self._about_text()
        else:
            body = self._list_text() + self._left_out_text()
        notes = [n[0].upper() + n[1:] + "." for n in self.notes]
        return "\n\n".join([body] + ([" ".join(notes)] if notes else []) +
                           ([" ".join(self.card_figures)] if self.card_figures else []))

    # -- the kinds of answer ------------------------------------------------------------
    def _group_text(self) -> str:
        fact = self.columns.get(self.grouped_by or "", self.grouped_by or "")
        sel = self.selection()
        whose = (f"the {self.count} {sel}" if self.relation else f"the {plural(self.count, 'model')} {sel}") \
            if sel else f"the lake's {plural(self.count, 'model')}"  # "the 3 children of X"
        if not self.groups:
            return f"No model {sel or 'in the lake'} to count by {fact}."
        if self.count == 1:  # one model: no groups to speak of
            (value, names), = self.groups.items()
            return f"{names[0]}, the one model {sel or 'in the lake'}, has {fact} {value}."
        if len(self.groups) == 1:
            (value, _), = self.groups.items()
            return f"All {whose} have {fact} {value}."
        lead = f"By {fact}, {whose} come in {plural(len(self.groups), 'group')}: "
        shown = list(self.groups.items())[:_GROUPS_SHOWN]
        rest = list(self.groups.items())[_GROUPS_SHOWN:]
        parts = [f"{value} {len(names)}" for value, names in shown]
        if rest:
            sizes = sorted({len(names) for _, names in rest})
            parts.append(f"{plural(len(rest), 'more group')} of {sizes[0]}" +
                         (f" to {sizes[-1]}" if len(sizes) > 1 else "") + f" model{'s' * (sizes[-1] > 1)} each")
        lines = [f"- {value}: {len(names)} ({self._names(names)})" for value, names in shown]
        return lead + join(parts) + ".\n\n" + "\n".join(lines)

    def _left_out_text(self) -> str:
        """" enc-grand does not.": the models a question named that the filters left out."""
        if not self.left_out or not self.named:
            return ""
        n = len(self.left_out)
        return f" {self._names(self.left_out)} do{'es' if n == 1 else ''} not."

    def _count_text(self) -> str:
        sel = self.selection()
        names = self._names([r.name for r in self.rows])
        if not sel:
            return f"The lake holds {plural(self.count, 'model')}" + (f": {names}." if names else ".")
        if not self.rows:
            return (f"None of the lake's {plural(self.total_in_lake, 'model')} "
                    f"{_predicate(sel, 1)}: the count is 0.")
        if self.others:  # "how many have weights (vs just a card)?": the other side too
            rest = ("card-only (no weights)" if self.filters.get("has_weights") else "with weights in the lake")
            n = len(self.others)
            tail = (f" The other model is {rest}: " if n == 1 else f" The other {n} models are {rest}: ") \
                + f"{self._names(self.others)}."
            return f"{plural(self.count, 'model')} {_predicate(sel, self.count)}: {names}.{tail}"
        if self.relation == "family" and not self.filters:  # the model itself counts too
            return (f"{self.about}'s family has {plural(self.count + 1, 'model')}, {self.about} "
                    f"included: {self.about} and {names}.")
        return f"{plural(self.count, 'model')} {_predicate(sel, self.count)}: {names}." + self._left_out_text()

    def _winner_text(self) -> str:
        key = self.ranked_by or ""
        winners = self.rows
        value = winners[0].shown.get(key, "")
        board = self.boards.get(key)
        if board:
            value = f"{board['metric']} {value}"
        scope = self._scope()
        word = self.ranked_word or "top"
        if self.named and len(winners) == self.ranked_total and len(winners) > 1:
            where = f" on {self.boards[key]['task']}" if key in self.boards else ""
            lead = f"{join([w.name for w in winners])} tie{where}, at {value}."
        elif len(winners) == 1 and (word in ("most", "fewest") or (
                key not in SIZE_FACTS and key not in self.boards)):  # "the model with the most
            # results", "the model with the largest vocabulary size"
            lead = (f"The model {scope} with the {word} {self.columns.get(key, key)} is "
                    f"{winners[0].name}, with {value}.")
            others = [c for c in self.columns if c != key]
            if others:  # "... and what's its license?"
                lead += " " + self._more(winners[0], others)
        elif len(winners) == 1:
            lead = f"The {word} model {scope} is {winners[0].name}, with {value}."
            others = [c for c in self.columns if c != key]
            if others:
                lead += " " + self._more(winners[0], others)
        elif word in ("most", "fewest"):  # "2 models tie for the most children in the lake, with 3 each"
            lead = (f"{len(winners)} models tie for the {word} {self.columns.get(key, key)} {scope}, with "
                    f"{value} each: {join([w.name for w in winners])}.")
        else:
            lead = (f"{len(winners)} models tie for {word} {scope}, at {value}: "
                    f"{join([w.name for w in winners])}.")
        others = [c for c in self.columns if c != key]
        if len(winners) > 1 and others:  # "... which of those ship a card, and under what license?"
            more = {w.name: self._more(w, others) for w in winners[:8]}
            lead += " " + " ".join(f"{n}: {m[:1].lower()}{m[1:]}" for n, m in more.items() if m)
        return lead + self._gap_text(winners) + self._without_text()

    def _gap_text(self, winners: list[Row]) -> str:
        """" That is 0.175 behind the best, X (0.451).": where the worst of a ranking stands."""
        end, key = self.other_end, self.ranked_by or ""
        if not end or not winners or not isinstance(winners[0].values.get(key), (int, float)):
            return ""
        gap = abs(float(winners[0].values[key]) - float(end["value"]))
        if key not in self.boards or gap == 0:
            return ""
        if self.ranked_word != "worst":  # a winner's lead over the last is not news
            return ""
        return f" That is {gap:.3g} behind the best, {join(end['names'])} ({end['shown']})."

    def _scope(self) -> str:
        """"on sentiment-smoke among the descendants of X", "in the lake"."""
        board = self.boards.get(self.ranked_by or "")
        sel = self.selection()
        among = (f"among the {sel}" if self.relation else f"among the models {sel}") if sel else (
            "" if board else "in the lake")
        return " ".join(x for x in (f"on {board['task']}" if board else "", among) if x)

    def _ranking_text(self) -> str:
        key = self.ranked_by or ""
        if not self.rows:
            return f"No model {self._scope_short()} has a value for {self.columns.get(key, key)}."
        direction = f"{self.ranked_word} first"
        head = f"Ranked by {self.columns.get(key, key)}, {direction}"
        sel = self.selection()
        if key in self.boards:
            ranked_on = self.boards[key]["task"]
            sel = sel.replace(f" scored on {ranked_on}", "").replace(f"scored on {ranked_on}", "").strip()
            head = f"Ranked by {self.columns[key]}, {direction}: {plural(len(self.rows), 'model')}"
            head += f" {sel}" if sel else ""
        else:
            head += f" ({sel})" if sel else ""
        if len(self.rows) == 2 and not self.boards:
            a, b = self.rows
            if a.values[key] == b.values[key]:
                return f"{a.name} and {b.name} are the same: {a.shown[key]} each."
            comp = {"largest": "larger", "smallest": "smaller", "newest": "newer",
                    "oldest": "older", "deepest": "deeper", "shallowest": "shallower"}
            return (f"{a.name} is {comp.get(self.ranked_word or '', 'first')} ({a.shown[key]}) "
                    f"than {b.name} ({b.shown[key]}).")
        if len(self.rows) == 2 and key in self.boards and self.named and all(
                isinstance(r.values.get(key), (int, float)) for r in self.rows):
            a, b = self.rows  # "X vs Y on T, which is better?": the better one, and by how much
            metric, task = self.boards[key]["metric"], self.boards[key]["task"]
            if a.values[key] == b.values[key]:
                return f"On {task}, {a.name} and {b.name} are level: {metric} {a.shown[key]} each."
            av, bv = _same_decimals(a.shown[key], b.shown[key])
            return (f"On {task}, {a.name} is {'worse' if self.ranked_word == 'worst' else 'better'}"
                    f" than {b.name}: {metric} {av} against {bv}, a gap of "
                    f"{_gap(a.values[key], b.values[key])}.")
        cols = [k for k in self.columns if k != key]
        if len(self.rows) >= TABLE_FROM or cols:
            rows = [[r.place, r.name, r.shown.get(key)] + [r.shown.get(c) for c in cols]
                    for r in self.rows]
            return (head + ":\n\n" + table(["#", "model", self.columns.get(key, key)]
                                           + [self.columns[c] for c in cols], rows)
                    + ("\n\n" + self._without_text().strip() if self.without else ""))
        unit = self.boards[key]["metric"] + " " if key in self.boards else ""
        items = [f"{r.place}. {r.name} ({unit}{r.shown.get(key)})" for r in self.rows]
        return head + ": " + "; ".join(items) + "." + self._without_text()

    def _place_text(self) -> str:
        """"minilm-paraphrase places 6th of 7 on sentiment-smoke (tied with X, last), with 0.825."""""
        me = next((r for r in self.rows if r.name == self.place_of), None)
        if self.place_of is None:
            return ""
        if me is None or me.place is None:
            return f"{self.place_of} has no {self.columns.get(self.ranked_by or '', 'value')} to rank by.\n\n"
        tied = [r.name for r in self.rows if r.place == me.place and r.name != me.name]
        last = max(r.place or 0 for r in self.rows) == me.place
        notes = ([f"tied with {join(tied)}"] if tied else []) + (["first"] if me.place == 1 else
                                                                 ["last"] if last else [])
        board = self.boards.get(self.ranked_by or "")
        where = f" on {board['task']}" if board else ""
        value = f"{board['metric']} {me.shown.get(self.ranked_by or '')}" if board else me.shown.get(
            self.ranked_by or "")
        return (f"{me.name} places {_ordinal(me.place)} of {len(self.rows)}{where}"
                f"{' (' + ', '.join(notes) + ')' if notes else ''}, with {value}.\n\n")

    def _scope_short(self) -> str:
        sel = self.selection()
        return f"among the {sel}" if sel else "in the lake"

    def _without_text(self) -> str:
        if not self.without:
            return ""
        key = self.ranked_by or ""
        what = "a score" if key.startswith("score:") else f"a known {self.columns.get(key, key)}"
        what = what[2:] if what.startswith("a ") else what
        if len(self.without) > _NAMED_WITHOUT:  # most of the lake: a count, not a list of names
            return f" The {plural(len(self.without), 'other model')} {self._scope_short()} have no {what}."
        return f" {plural(len(self.without), 'other model')} ({self._names(self.without)}) " \
               f"{'has' if len(self.without) == 1 else 'have'} no {what}."

    def _about_text(self) -> str:
        """" enc-grand itself: license unknown.": the model the relation is about, on the facts shown."""
        if not self.about_shown or not self.rows:
            return ""
        return f" {self.about} itself: " + ", ".join(f"{self.columns.get(k, k)} {v}"
                                                     for k, v in self.about_shown.items()) + "."

    def _relation_text(self) -> str:
        rel, x, rows = self.relation, self.about, self.rows
        cols = list(self.columns)
        if rel == "roots":
            return (f"{plural(len(rows), 'root model')} (derived from no other model in the lake): "
                    f"{self._names([r.name for r in rows])}.")
        if not rows and self.derivation and rel in ("parents", "ancestors") and self.other_derivations:
            o = self.other_derivations[0]  # "is X a fine-tune of Y?": no, pruned
            how = ("its card says so" if from_card(o.get("source")) else "inferred from the weights" + (
                f", confidence {o['confidence']:.2f}" if isinstance(o.get("confidence"), float) else ""))
            same = [d["name"] for d in self.other_derivations if d["relation"] == o["relation"]]
            detail = f": {o['detail']}" if o.get("detail") and len(same) == 1 else ""
            return (f"No: {x} is not {NOUNS.get(self.derivation, self.derivation)} of another model in "
                    f"the lake; it was {VERBS.get(o['relation'], 'derived from')} {join(same)} ({how}){detail}.")
        if not rows and self.derivation and rel in ("children", "descendants"):
            return (f"No model in the lake was {VERBS.get(self.derivation, 'derived from')} {x}"
                    f"{' (directly)' if rel == 'children' else ''}.")
        if not rows:
            return _no_relatives(rel or "", x or "", self.selection_filters())
        if rel == "parents":
            return self._parents_text(x or "", rows, cols) + self._declared_text(rows)
        if rel == "ancestors":
            return self._ancestors_text(x or "", rows, cols)
        lead = {"children": f"{plural(len(rows), 'model')} {'was' if len(rows) == 1 else 'were'} "
                            f"derived directly from {x}",
                "descendants": f"{plural(len(rows), 'model')} {'derives' if len(rows) == 1 else 'derive'}"
                               f" from {x}",
                "siblings": f"{x} shares a parent with {plural(len(rows), 'model')}",
                "family": f"{x}'s family has {plural(len(rows) + 1, 'model')}, {x} included; "
                          f"the {plural(len(rows), 'other')}"}[rel or "family"]
        if self.filters:
            lead += f" ({self.selection_filters()})"
        if len(rows) >= TABLE_FROM:
            data = [[r.name, NOUNS.get(r.relation or "", r.relation), r.via, _gen(r.depth, False)]
                    + [r.shown.get(c) for c in cols] for r in rows]
            return lead + ":\n\n" + table(["model", "derivation", "from", "generation"]
                                          + [self.columns[c] for c in cols], data)
        return lead + ": " + "; ".join(self._relative(r, rel or "", cols) for r in rows) + "."

    def _unknown_size(self) -> str:
        """The models a size bound left out only because their size is not known."""
        if not self.unknown_size:
            return ""
        n = len(self.unknown_size)
        return (f" {plural(n, 'model')} could not be checked: {'its' if n == 1 else 'their'} parameter "
                f"count is not known (only {'its card is' if n == 1 else 'their cards are'} stored): "
                f"{self._names(self.unknown_size)}.")

    def selection_filters(self) -> str:
        saved, self.relation = self.relation, None
        try:
            return self.selection()
        finally:
            self.relation = saved

    def _relative(self, r: Row, rel: str, cols: list[str]) -> str:
        if from_card(r.source):
            facts = f", {self._facts(r, cols)}" if cols else ""
            return f"{r.name} (its card says so; not confirmed by the weights{facts})"
        if rel == "family" and r.relation in ("ancestor", "family"):  # above it, or beside it
            noun = f"{'an ancestor' if (r.depth or 0) > 1 else 'the parent'} of {r.via}" \
                if r.relation == "ancestor" else f"a relative of {r.via}, by a shared ancestor"
            return f"{r.name} ({', '.join([noun, *([self._facts(r, cols)] if cols else [])])})"
        noun = NOUNS.get(r.relation or "", "derived")
        parents = join([r.via or ""] + r.also_via)
        bits = [noun + (f" of {parents}" if rel in ("siblings", "family") or (r.depth or 0) > 1
                        or r.also_via else "")]
        if (r.depth or 0) > 1 and rel != "siblings":
            bits.append(_gen(r.depth, up=False))
        if cols:
            bits.append(self._facts(r, cols))
        return f"{r.name} ({', '.join(bits)})"

    def _declared_text(self, rows: list[Row]) -> str:
        """Whether the card's declared base model agrees with the parents the weights show."""
        if not self.declared or all(from_card(r.source) for r in rows):
            return ""
        inferred = {r.name.lower() for r in rows} | {r.name.split("/")[-1].lower() for r in rows}
        agree = [d for d in self.declared if d.lower() in inferred or d.split("/")[-1].lower() in inferred]
        if agree:
            return f" Its card agrees: it declares {join(agree)} as its base model."
        return (f" Its card declares {join(self.declared)} as its base model instead, which does not match "
                "the weights.")

    def _ancestors_text(self, x: str, rows: list[Row], cols: list[str]) -> str:
        """"X was merged from A and B; A was fine-tuned from C." (one clause per child)."""
        by_child: dict[str, list[Row]] = {}
        for r in rows:
            by_child.setdefault(r.via or x, []).append(r)
        clauses = []
        for child, parents in by_child.items():
            rel = parents[0].relation or ""
            names = join([p.name + (f" ({self._facts(p, cols)})" if cols else "") for p in parents])
            clauses.append(f"{child} was {VERBS.get(rel, 'derived from')} {names}")
        return (f"{x} descends from {plural(len(rows), 'model')} (inferred from the weights): "
                + "; ".join(clauses) + ".")

    def _parents_text(self, x: str, rows: list[Row], cols: list[str]) -> str:
        facts = {r.name: f" ({self._facts(r, cols)})" if cols else "" for r in rows}
        if all(from_card(r.source) for r in rows):
            names = join([r.name + facts[r.name] for r in rows])
            rel = rows[0].relation
            how = f" ({x} being {NOUNS[rel]} of it)" if rel in NOUNS and rel != "declared" else ""
            says = (f"{x}'s card declares no base model in its metadata, but its text names {names} as its base"
                    if rows[0].source == "card text" else f"{x}'s card declares {names} as its base model")
            absent = [r.name for r in rows if not r.in_lake]
            tail = (f" {join(absent)} {'is' if len(absent) == 1 else 'are'} not in the lake, so the "
                    "weights cannot confirm it." if absent else
                    f" Only the card of {join([r.name for r in rows])} is in the lake, not its weights, so the "
                    "weights cannot confirm it." if all(r.card_only for r in rows) else
                    " The weights do not show it.")
            return f"{says}{how}.{tail}"
        if len(rows) > 1 and all(r.relation == "merge" for r in rows):
            mix = next((r.detail for r in rows if r.detail), None)
            return (f"{x} is a merge of {join([r.name + facts[r.name] for r in rows])} (inferred "
                    f"from the weights{_conf(rows)})" + (f": {mix}." if mix else "."))
        parts = [f"{VERBS.get(r.relation or '', 'derived from')} {r.name}{facts[r.name]}" for r in rows]
        did = [r.detail for r in rows if r.detail]
        return (f"{x} was {join(parts)} (inferred from the weights{_conf(rows)})"
                + (f": {join(did)}." if did else "."))

    def _list_text(self) -> str:
        rows, cols, sel = self.rows, list(self.columns), self.selection()
        if not rows:
            return (f"No model in the lake matches: none of its "
                    f"{plural(self.total_in_lake, 'model')} {_predicate(sel, 1)}." + self._unknown_size())
        if cols and len(rows) == 2 and self.named:
            return self._pair_text(rows[0], rows[1], cols)
        if cols and len(rows) > 2 and self.named:
            return self._several_text(rows, cols)
        if cols and len(rows) < TABLE_FROM:
            if len(rows) == 1:
                r = rows[0]
                return f"{r.name}: {self._facts(r, cols)}."
            lead = f"{plural(len(rows), 'model')} {_predicate(sel, len(rows))}:\n\n" if sel else ""
            return lead + "\n".join(f"- {r.name}: {self._facts(r, cols)}" for r in rows)
        if cols:
            return (f"{plural(len(rows), 'model')}{' ' + sel if sel else ''}:\n\n"
                    + table(["model"] + [self.columns[c] for c in cols],
                            [[r.name] + [r.shown.get(c) for c in cols] for r in rows]))
        lead = f"{plural(len(rows), 'model')} {_predicate(sel, len(rows))}" if sel \
            else f"The lake holds {plural(len(rows), 'model')}"
        if self.named and not sel:
            return f"{plural(len(rows), 'model')}: {self._names([r.name for r in rows])}."
        if self.derivation and not self.relation:  # "X (quantized from Y)"
            return f"{lead}: " + "; ".join(
                f"{r.name} ({VERBS.get(r.relation or '', 'derived from')} {join([r.via] + r.also_via)})"
                for r in rows) + "."
        return f"{lead}: {self._names([r.name for r in rows])}."

    def _pair_text(self, a: Row, b: Row, cols: list[str]) -> str:
        """Two models side by side: what differs, in sentences, then what they share."""
        from modellake.tools.query.facts import get_fact

        said, same, neither = [], [], []
        one_sided = [c for c in cols if c in self.boards and (a.values.get(c) is None) != (b.values.get(c) is None)]
        if len(one_sided) > 2:  # dozens of results only one card reports: counted, not listed
            for has, lacks in ((a, b), (b, a)):
                mine = [c for c in one_sided if has.values.get(c) is not None]
                if mine:
                    tasks = join([self.boards[c]["task"] for c in mine[:3]] + (
                        [f"{len(mine) - 3} more"] if len(mine) > 3 else []))
                    said.append(f"{has.name} has {plural(len(mine), 'score')} {lacks.name} has not ({tasks}).")
            cols = [c for c in cols if c not in one_sided]
        for c in cols:
            va, vb = a.values.get(c), b.values.get(c)
            label = self.columns[c]
            if va is None and vb is None:
                neither.append(f"score on {self.boards[c]['task']}" if c in self.boards else label)
                continue
            if va == vb and c == "has_card":
                said.append(f"Both {a.name} and {b.name} have a model card." if va else
                            f"Neither {a.name} nor {b.name} has a model card.")
                continue
            if va == vb:
                same.append(f"{label} {a.shown[c]}" if not _self_labelled(a.shown[c]) or c in
                            self.boards or re.fullmatch(r"[\d,.]+", a.shown[c]) else a.shown[c])
                continue
            fact = get_fact(c)
            board = self.boards.get(c)
            if va is None or vb is None:
                has, lacks = (a, b) if vb is None else (b, a)
                none = f"no score on {board['task']}" if board else f"no known {label}"
                if c == "license":
                    said.append(f"{has.name} declares the license {has.shown[c]}; {lacks.name} "
                                "declares none.")
                else:
                    shown = has.shown[c] if re.match(r"[\d.,]+\w* [a-z ]{4,}$", has.shown[c]) and not board \
                        else f"{label} {has.shown[c]}"  # "9 reported results", not "87.3 MiB"
                    shared = any(a.values.get(k) is not None and b.values.get(k) is not None for k in self.boards)
                    said.append(f"{has.name} has {shown}; {lacks.name} has {none}" + (
                        "." if not board else f", so the lake cannot tell how the two compare on {board['task']}."
                        if shared else ": the two share no benchmark, so their scores cannot be compared yet."))
            elif board:
                hib = board["higher_is_better"]
                win, lose = (a, b) if (va > vb) == hib else (b, a)
                wv, lv = win.shown[c], lose.shown[c]
                if wv == lv:  # equal once rounded: the digits that differ, and how little
                    wv, lv = f"{win.values[c]:.4g}", f"{lose.values[c]:.4g}"
                    said.append(f"On {board['task']}, {win.name} and {lose.name} are practically "
                                f"the same ({board['metric']} {wv} against {lv}, a difference of "
                                f"{abs(va - vb):.1g}).")
                    continue
                word = "better" if win is a else "worse"  # the model asked about first
                av, bv = _same_decimals(*((wv, lv) if win is a else (lv, wv)))
                gap = _gap(va, vb)
                small = abs(va - vb) < SMALL_GAP * max(abs(va), abs(vb))  # "0.810 against 0.806": barely
                said.append(f"On {board['task']}, {a.name} scores {'barely ' if small else ''}{word} than {b.name} "
                            f"({board['metric']} {av} against {bv}, a gap of {gap}"
                            f"{f', under {SMALL_GAP:.0%}' if small else ''}).")
            elif fact is not None and fact.numeric and abs(va - vb) <= 0.01 * max(abs(va), abs(vb)):
                big, small = (a, b) if va > vb else (b, a)
                share = abs(va - vb) / max(abs(small.values[c]), 1)
                more = (f"; {big.name} is {share:.2%} {_COMPARATIVE.get(fact.more, 'larger')}"
                        if share >= 0.00005 else "")
                shown = a.shown[c] if a.shown[c] == b.shown[c] else f"{a.shown[c]} and {b.shown[c]}"
                said.append(f"{a.name} and {b.name} have about the same {label} ({shown}{more}).")
            elif fact is not None and fact.numeric and c not in SIZE_FACTS:  # a configuration number
                big, small = (a, b) if va > vb else (b, a)
                if fact.name == "card_completeness":
                    said.append(f"{big.name} has the more complete card ({big.shown[c]}) than {small.name} "
                                f"({small.shown[c]}), by the Hub's card guidance.")
                    continue
                said.append(f"{big.name} has the {_COMPARATIVE.get(fact.more, 'larger')} {label}: "
                            f"{big.shown[c]} against {small.shown[c]} for {small.name}.")
            elif fact is not None and fact.numeric:
                big, small = (a, b) if va > vb else (b, a)
                word = _COMPARATIVE.get(fact.more, "larger")
                times = f", about {big.values[c] / small.values[c]:.1f}x" if small.values[c] else ""
                said.append(f"{big.name} is {word} ({big.shown[c]}) than {small.name} "
                            f"({small.shown[c]}{times}).")
            elif c == "quantization":  # "X is a quantized copy of Y (stored as float); Y is not quantized."
                said.append("; ".join(f"{m.name} is not quantized" if m.shown[c] == "none stored" else
                                      f"{m.name} is {m.shown[c]}" if m.shown[c].startswith("a ") else
                                      f"{m.name} is quantized as {m.shown[c]}" for m in (a, b)) + ".")
            else:
                if max(len(a.shown[c]), len(b.shown[c])) > SENTENCE:  # sentences: quoted after each name
                    said.append(f"{label.capitalize()}: {a.name}: {_quoted(a.shown[c])}; "
                                f"{b.name}: {_quoted(b.shown[c])}.")
                else:
                    said.append(f"{label.capitalize()} differs: {a.shown[c]} for {a.name}; {b.shown[c]} for {b.name}.")
        if same:
            said.append(f"{a.name} and {b.name} have the same {join(same)}.")
        if neither:
            said.append(f"Neither {a.name} nor {b.name} has a known value for {join(neither, 'or')}"
                        f"{' (their cards do not state it)' if len(neither) == 1 and not self.boards else ''}.")
        return " ".join(said) or f"{a.name} and {b.name} do not differ in what the lake knows."

    def _several_text(self, rows: list[Row], cols: list[str]) -> str:
        """Several named models side by side: what they all share in one sentence, the best on
        each task (ties as ties), then a table of what differs."""
        same = [c for c in cols if rows[0].values.get(c) is not None
                and all(r.values.get(c) == rows[0].values.get(c) for r in rows)]
        vary = [c for c in cols if c not in same and any(r.values.get(c) is not None for r in rows)]
        said = []
        if same:
            shared = [rows[0].shown[c] if _self_labelled(rows[0].shown[c]) and c not in self.boards
                      else f"{self.columns[c]} {rows[0].shown[c]}" for c in same]
            said.append(f"All {len(rows)} have the same {join(shared)}.")
        for c in vary:
            board = self.boards.get(c)
            scored = [r for r in rows if r.values.get(c) is not None]
            if board and len(scored) >= 2:
                top = (max if board["higher_is_better"] else min)(r.values[c] for r in scored)
                best = [r.name for r in scored if r.values[c] == top]
                tie = " (a tie)" if len(best) > 1 else ""
                said.append(f"Best on {board['task']}: {join(best)}{tie}, {board['metric']} "
                            f"{next(r for r in scored if r.name == best[0]).shown[c]}.")
        summed = []
        for c in vary:  # "6 layers for all-MiniLM-L6-v2, ... (7 models); 18 layers for gemma-3-270m"
            if c in self.boards:
                continue
            groups: dict[str, list[str]] = {}
            for r in rows:
                if r.values.get(c) is not None:
                    groups.setdefault(r.shown[c], []).append(r.name)
            if 2 <= len(groups) <= 3:
                label = self.columns[c]
                line = "; ".join(f"{v if _self_labelled(v) else f'{label} {v}'} for {self._names(ns)}"
                                 + (f" ({len(ns)} models)" if len(ns) > 2 else "")
                                 for v, ns in sorted(groups.items(), key=lambda g: -len(g[1])))
                unknown = [r.name for r in rows if r.values.get(c) is None]
                none = "no license declared" if c == "license" else f"no known {label}"
                line += (f"; {none} for {self._names(unknown)}" if unknown else "") + "."
                said.append(line[:1].upper() + line[1:])
                summed.append(c)
        boards = [c for c in cols if c in self.boards]
        unscored = [r.name for r in rows if boards and all(r.values.get(c) is None for c in boards)]
        if unscored:
            said.append(f"{join(unscored)} {'has' if len(unscored) == 1 else 'have'} no benchmark runs on "
                        f"{'this task' if len(boards) == 1 else 'these tasks'}.")
        if not vary or (said and set(vary) <= set(summed)):
            return " ".join(said) or "They do not differ in what the lake knows."
        grid = table(["model"] + [self.columns[c] for c in vary],
                     [[r.name] + [r.shown.get(c) if r.values.get(c) is not None else "-" for c in vary]
                      for r in rows])
        return (" ".join(said) + "\n\nWhere they differ:\n\n" if said else "") + grid

    def _more(self, r: Row, cols: list[str]) -> str:
        """"It has no score on sentiment-smoke." / "Its license is mit." for the other columns."""
        bits = []
        for c in cols:
            board = self.boards.get(c)
            if r.values.get(c) is None:
                bits.append(f"it has no score on {board['task']}" if board else
                            f"its {self.columns[c]} is unknown")
            elif c == "quantization" and r.shown[c] == "none stored":
                bits.append("it is not quantized (its files store full-precision weights)")
            elif r.shown[c].endswith(("parameters", "layers")):
                bits.append(f"it has {r.shown[c]}")  # "it has 22.7M parameters"
            else:
                bits.append(f"its {self.columns[c]} is {r.shown[c]}")
        return (join(bits)[0].upper() + join(bits)[1:] + ".") if bits else ""

    def _facts(self, r: Row, cols: list[str]) -> str:
        """"22.7M parameters, license mit, accuracy on sentiment-smoke 0.95"."""
        out = []
        for c in cols:
            v = r.shown.get(c)
            if v is None:
                continue
            if c in self.boards and r.values.get(c) is None:
                out.append(f"no score on {self.boards[c]['task']}")
                continue
            if len(v) > SENTENCE and " " in v and c not in self.boards:  # a sentence: quoted
                out.append(f"{self.columns[c]}: {_quoted(v)}")
                continue
            out.append(v if _self_labelled(v) and c not in self.boards else f"{self.columns[c]} {v}")
        return ", ".join(out)

    @staticmethod
    def _names(names: list[str]) -> str:
        if len(names) <= LIST_NAMES:
            return join(names)
        return ", ".join(names[:LIST_NAMES]) + f" and {len(names) - LIST_NAMES} more"


SMALL_GAP = 0.01  # a score gap under this share of the score is "barely" one
SENTENCE = 40  # a value longer than this is a sentence (a card's own words): quoted


def _quoted(text: str) -> str:
    return f"\u201c{text.rstrip('.')}\u201d"


def _gap(a: float, b: float) -> str:
    """The difference of two scores to the digits they are read at (0.125, 3.4)."""
    d = abs(a - b)
    return f"{d:.3g}" if d < 1 else f"{d:.1f}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _license_phrase(ids: list[str]) -> str:
    """"under the mit license", "under any gpl license", "under a non-commercial license",
    "under a license among apache-2.0, mit"."""
    if ids == ["none"]:
        return "without a license"
    nc = [i for i in ids if "*" in i and ("nc" in re.split(r"[-*]", i) or "noncommercial" in i)]
    words = list(dict.fromkeys(["non-commercial"] * bool(nc) + [
        i.strip("*-") + (" (any version)" if "*" in i else "") for i in ids if i not in nc]))
    if len(words) == 1:
        w = words[0]
        return ("under a non-commercial license" if w == "non-commercial" else
                f"under any {w.split(' ')[0]} license" if "*" in ids[0] else f"under the {w} license")
    return f"under a license among {', '.join(words[:6])}" + ("..." if len(words) > 6 else "")


def _same_decimals(x: str, y: str) -> tuple[str, str]:
    """"0.810" against "0.806", not "0.81" against "0.806": two plain numbers read alike."""
    if not (re.fullmatch(r"-?\d+(?:\.\d+)?", x) and re.fullmatch(r"-?\d+(?:\.\d+)?", y)):
        return x, y
    places = max(len(v.partition(".")[2]) for v in (x, y))
    return f"{float(x):.{places}f}", f"{float(y):.{places}f}"


def _predicate(sel: str, n: int) -> str:
    """"are stored as gguf", "have a model card", "lack a model card" (one: "is", "has", "lacks")."""
    if sel.startswith("with "):
        return ("has " if n == 1 else "have ") + sel[5:]
    if sel.startswith("without "):
        return ("lacks " if n == 1 else "lack ") + sel[8:]
    if sel.startswith("whose card declares "):
        return ("declares " if n == 1 else "declare ") + (sel[20:] + " in its card" if n == 1 else
                                                           sel[20:].replace(" its ", " their ") + " in their cards")
    return ("is " if n == 1 else "are ") + sel


def _count(n: Any) -> str:
    from modellake.tools.inspection import human_count

    return human_count(int(n)) or str(n)


def _gen(depth: int | None, up: bool) -> str:
    d = depth or 1
    if d == 1:
        return "parent" if up else "child"
    if d == 2:
        return "grandparent" if up else "grandchild"
    return f"{d} generations {'up' if up else 'down'}"


def _conf(rows: list[Row]) -> str:
    c = [r.confidence for r in rows if r.confidence is not None]
    return f", confidence {min(c):.2f}" if c else ""


def _no_relatives(rel: str, x: str, filters: str) -> str:
    scope = f" {filters}" if filters else ""
    return {"parents": f"The weights show no parent of {x} in the lake: it is the root of its "
                       "family, and its card declares no base model.",
            "ancestors": f"{x} descends from no other model in the lake (by its weights).",
            "children": f"No model{scope} in the lake was derived directly from {x}.",
            "descendants": f"No model{scope} in the lake derives from {x}.",
            "siblings": f"{x} shares its parent with no other model{scope} in the lake.",
            "family": f"{x} is unrelated to every other model{scope} in the lake: the weights show no "
                      "parent or child of it (a family of its own)."}.get(rel, "No model matches.")


def _self_labelled(text: str) -> bool:
    return any(text.endswith(w) for w in ("parameters", "layers", "card")) or text[:1].isdigit() \
        or text.startswith(("a ", "an "))
