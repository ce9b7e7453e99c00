"""Questions of several parts: "how big is X and what license?", "is X a fine-tune? and of
what?", "X's card says its base is Y. legit?".

The whole question is planned first; its clauses are planned in turn (each sees the models of
the one before, so "what's it built on?" is about the model the first part named) and replace
the whole plan when it leaves a part out. A clause that asks nothing ("the openpipe merge
lists openhermes as a base.") is context; pasted passages are no clause at all.
"""
from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from modellake.agent.planner import chain
from modellake.agent.planner.compose import (
    QUERY,
    Context,
    Plan,
    card_calls,
    last_ranking,
    not_done,
    plan,
    question_words,
)
from modellake.agent.planner.cover import cover
from modellake.agent.planner.reading import Reading, pasted_out

# "how big is X and what's its license", "what is X built on? and its license?": parts
_SPLIT = re.compile(r"[?.]\s+(?=\S)|;\s*|\s*(?:->|→|=>)\s*|,?\s+(?:and|also|plus)\s+(?=(?:what|what's|whats|"
                    r"which|how|who|where|when|is|are|does|do|did|can|has|have|was|were|if so)\b"
                    r"(?!\s*(?:ones?)?\s*[?.!]*\s*$))|"  # "how many and which?": one question
                    r",\s+(?=(?:and\s+)?(?:if so|then)\b)|"
                    r"\s(?:--|[-\u2013\u2014])\s(?=(?:and\s+|so\s+)?(?:is|are|does|do|did|what|what's|which|how|who|was|"
                    r"were|has|have|can)\b)|"
                    r",?\s+and\s+(?=(?:of|among|from) (?:those|them|these)\b)|"
                    r",?\s+or\s+(?=(?:a|an|any)\s+(?:parent|base model|children|"
                    r"child|ancestors?)\b)|,\s+(?=(?:what|which|how|who|whose|does|do|did|is|"
                    r"are|was|has|have)\b)", re.I)


_ASKS = re.compile(r"^(?:what|what's|whats|which|how|who|whose|where|when|why|is|are|does|do|did|"
                   r"can|could|has|have|was|were|will|should|list|show|find|give|tell|compare|"
                   r"draft|check|rank|name|and|its|their)\b", re.I)


_STATES = re.compile(r"\b(?:says?|said|claims?|states?|reads|writes|wrote)\b", re.I)  # "the card says Z, how...?"
_WH = re.compile(r"\b(?:what|what's|which|how|who|whose|where|when|why)\b", re.I)


def _clauses(text: str) -> tuple[list[str], list[str]]:
    """(every clause, the clauses that ask something): a clause that asks nothing ("the
    openpipe merge lists openhermes as a base.") is context."""
    text = _SELECTING_COLON.sub(r"\1. ", text)  # "For the model with the largest files: what's its ...?"
    parts, asked, start = [], [], 0
    for m in [*_SPLIT.finditer(text), None]:
        end = m.start() if m else len(text)
        clause = text[start:end].strip(" ,.")
        qualifies = not _asks(clause) and re.fullmatch(r",\s+", m.group(0)) and not _STATES.search(clause) \
            if m is not None else False
        if m is not None and (qualifies or (
                re.fullmatch(r"\s(?:--|[-\u2013\u2014])\s", m.group(0)) and not _SELECTS.search(clause))):
            continue  # "Of X's children, which one ...": the words before the comma qualify the rest
        if clause.strip("?"):
            parts.append(clause.rstrip("?").strip())
            if _asks(clause) or (m is not None and "?" in m.group(0)):
                asked.append(parts[-1])
        start = m.end() if m else len(text)
    return parts, asked


_SELECTING_COLON = re.compile(r"^([^:?]*?\b(?:largest|smallest|best|worst|biggest|most|least|top|highest|lowest|"
                              r"newest|oldest)\b[^:?]*):\s+(?=(?:what|what's|whats|which|how|who|is|are|does|do|did|"
                              r"can)\b)", re.I)


# an order after the model it is about: "X - trace it back to its root", "X: go up to its parent"
_ORDER = re.compile(r"(?:^|\s[-:–]\s*|:\s*)(?:please\s+|now\s+)?(?:trace|follow|walk|go|start|take|find|look|"
                    r"get|pull)\b", re.I)


# a clause before a dash that finds a model for the rest to ask about ("the model with the best
# sts score - is it related to X?", "go up one from X - what license ..."); any other clause
# before a dash is the subject of what follows ("X vs Y on sts - is the gap real?")
_SELECTS = re.compile(r"\b(?:best|worst|largest|smallest|biggest|cheapest|lightest|heaviest|most|least|top|"
                      r"highest|lowest|newest|oldest)\b|^\s*(?:go|step|move|walk) up\b|^\s*(?:which|who)\b",
                      re.I)


def _asks(clause: str) -> bool:
    return bool(_ASKS.match(clause) or _WH.search(clause) or clause.endswith("?") or _ORDER.search(clause))


def _asks_by_words(r: Reading) -> bool:
    return bool(r.facts or r.aspects or r.rank or r.count) and not re.search(
        r"\b(?:says?|said|claims?|lists?|states?|reads|wrote|writes)\b", r.low)


def plan_question(text: str, read: Callable[[str], Reading], ctx: Context) -> Plan:
    """The plan of a whole question, or of its parts in turn when the whole plan leaves one of
    them out (each part sees the models of the one before: "what's it built on?"); a statement
    before one short question ("X's card says its base is Y. legit?") is its context. A change
    the question orders and the plan does not make is said ("I did not delete anything")."""
    read = _read_once(read)
    p = _plan_question(text, read, ctx)
    p.note = p.note or not_done(read(text), ctx, p)
    if not p.note:  # a question with an order in it: its names may be the order's, not asked about
        p = cover(read(text), ctx, p)
    p.ranked = last_ranking(ctx.prev)
    return p


_PICK = re.compile(r"\bthe (smaller|bigger|larger|deeper|shallower|better|worse)(?: one)? of (?:the two|"
                   r"these two|those two|them|both|the pair)\b", re.I)


_MADE_ONE = re.compile(r"\b(?:(?:take|pick|grab|for)\s+)?the one (?:that|which) (?:was|is|got|has been) "
                       r"(fine-?tuned|pruned|merged)\b", re.I)


_PICK_ONE = re.compile(r"\bthe (smaller|bigger|larger|deeper|shallower|better|worse) (?:one|model)\b", re.I)


def _picked(text: str, read: Callable[[str], Reading], ctx: Context) -> Plan | None:
    """"does the smaller of the two tie its embeddings?": which one, then the question of it
    ("the smaller one" too, after an answer that named two models)."""
    m = _PICK.search(text) or _MADE_ONE.search(text)
    if m is None and ctx.prev is not None and len(ctx.prev.selection) == 2 and not read(text).names:
        m = _PICK_ONE.search(text)
    if m is None or ctx.prev is None:
        return None
    which = f"which of the two is {m.group(1).lower()}" if m.re is not _MADE_ONE else f"which of them was {m.group(1)}"
    rest = re.sub(r"^\W+", "", text[m.end():])
    rest = f"{text[:m.start()]}it{text[m.end():]}" if text[:m.start()].strip() else rest
    return chain.start([which, rest], read, ctx)


def _plan_question(text: str, read: Callable[[str], Reading], ctx: Context) -> Plan:
    picked = _picked(text, read, ctx)
    if picked is not None:
        return picked
    whole_reading = read(text)
    clauses, asked = _clauses(pasted_out(text))  # a pasted passage is no clause of the question
    formal = list(asked)
    if len(clauses) > 1:  # "X arch breakdown: layers, hidden size": a fragment asks by its words
        asked = [c for c in clauses if c in asked or _asks_by_words(read(c))]
    if len(asked) == 1 and len(clauses) > 1:  # "are X and Y related? the card says so"
        one = read(asked[0])
        if not one.names and whole_reading.names and len(one.content_words) <= 3:
            one.names = list(whole_reading.names)  # "X's card says its base is Y. legit?"
            one.text = text
            if one.relation is None and not (one.scored or one.facts or one.aspects or one.rank):
                # "X says it's built on Y. is that true?": the relation stated
                one.relation, one.relation_of = whole_reading.relation, whole_reading.relation_of
                one.low = whole_reading.low
        if one.names or not whole_reading.names:
            p = plan(one, ctx)
            if p.kind not in ("reply", "refusal", "clarify"):
                return p
    whole = plan(whole_reading, ctx)
    lead = next((i for i, c in enumerate(asked) if c in formal or read(c).rank or read(c).count), 0)
    # "I've got X. Whose copy is it, ...": from the first part that asks ("the cheapest LLM - ..." asks)
    steps = asked[lead:]
    if clauses and clauses[0] not in formal and clauses[0] not in steps and _sets_up(read(clauses[0])):
        steps = [clauses[0], *steps]  # "X was fine-tuned from something. Does that something ...?"
    if steps and clauses and clauses[0] not in steps and _NEED.search(clauses[0]) and _BARE_WHICH.match(steps[0]):
        steps = [f"{clauses[0]}: {steps[0]}", *steps[1:]]  # "I need a reranker for X. which one should I use?"
    chained = chain.start(steps, read, ctx, whole)  # a later part asks about what an earlier one finds
    if chained is not None:
        return chained
    later = [read(t) for t in steps[1:]]
    shows_score = any(str(s).startswith("score:") for s in (whole.query or {}).get("show", []))
    if later and steps and (read(steps[0]).relation or shows_score) and whole.kind == "query" and \
            chain.attached(whole, [r for r in later if chain.points_back(r)]):
        return whole  # "go up one from X - what license does that model's card give?": one query shows it
    parts = asked if 2 <= len(asked) <= 3 else []
    if not parts or whole.then or _of_each_named(whole, whole_reading, [read(t) for t in parts]):
        return whole
    subs: list[Plan] = []
    prev = ctx.prev
    specific = []
    for t in parts:
        rt = read(t)
        inherited = not rt.names and len(whole_reading.names) >= 2 and _of_the_named(rt)
        if inherited:
            rt.names = list(whole_reading.names)  # "X vs Y. same arch? which is better": of X and Y
        p = plan(rt, replace(ctx, prev=prev, same_question=True))
        if subs and re.search(_ABOUT_IT, rt.low):  # "the smallest file, what does the card say about it?"
            topic = question_words(read(parts[len(subs) - 1]))
            for c in p.calls:
                info = ctx.tools.get(c.tool)
                if info is not None and "topic" in info.parameters.get("properties", {}) and not c.args.get("topic"):
                    c.args["topic"] = topic
        if _lake_wide_search(p, ctx) and not rt.names and len(whole_reading.names) == 1:
            p = _of_the_one_named(rt, whole_reading.names[0], ctx) or p  # "X: ..., what settings do they
            # recommend?": X's card, not a search of the lake
        if p.kind in ("reply", "refusal", "clarify") or p.then or not p.calls:
            return whole
        specific.append(bool(rt.relation or rt.facts or rt.aspects or rt.rank or rt.count or
                             rt.scored or rt.listing) or p.calls[0].tool != QUERY or (
            inherited and bool({"show", "rank_by"} & set(p.calls[0].args))))
        subs.append(p)
        prev = Plan(p.kind, calls=p.calls[:1], models=p.models or (prev.models if prev else []), question=t,
                    selection=p.models or (prev.selection if prev else []), task=p.task)
    uncovered = [p for p in subs if whole.kind in ("reply", "refusal", "clarify") or not _covers(whole, p)]
    if not uncovered:
        return whole  # "how big is X and what license": one call asks both
    if any(_covers(whole, p) and not _covers(p, whole) for p in subs) and \
            not all(p.models for p in uncovered):
        return whole  # "X's size, and how many of those are zeros": the whole asked more
    if not all(specific):
        return whole  # "..., and how many of those are zeros": a part too vague to plan alone
    models = list(dict.fromkeys(m for p in subs for m in p.models))
    return Plan("parts", [c for p in subs for c in p.calls], question=text, models=models,
                task=next((p.task for p in subs if p.task), None), recent=whole.recent,
                parts=[p.to_dict() for p in subs])


_ABOUT_IT = r"\bcards?\b.{0,30}\b(?:say|says|said|state|mention|tell)s?\b.{0,20}\babout (?:it|that|this|them)\b"


def _of_each_named(whole: Plan, r: Reading, parts: list[Reading]) -> bool:
    """"walk the chain A -> B -> C: what license does each one have?": one query shows the fact of each
    (and every part asks no more than it shows)."""
    q = whole.query
    if not (q and len(q.get("names") or []) >= 2 and q.get("show") and len(whole.calls) == 1 and re.search(
            r"\beach\b|\bevery one\b|\ball (?:three|four|of them)\b", r.low)):
        return False
    shown = set(q["show"])
    return not any(p.relation or ({*p.facts, *p.aspects} - {"has_card"} - shown) or re.search(
        r"\b(?:base|parents?|derived|lineage)\b", p.low) for p in parts)


def _of_the_named(r: Reading) -> bool:
    """A part that names no model and points at none, asking what the two or more models the
    question names have ("same arch?", "who wins sts"): of them, not of the lake."""
    return not (r.it or r.them or r.that_one or r.other or r.ordinal is not None or r.relation or r.listing
                or r.count or r.filters or re.search(r"\b(?:that|this|those|these)\b", r.low)) and \
        len(r.content_words) <= 4 and bool(
        r.comparative or r.rank or r.facts or r.aspects or r.scored or re.search(
            r"\b(?:same|who|which|better|wins?|differ\w*)\b", r.low))


def _lake_wide_search(p: Plan, ctx: Context) -> bool:
    """Whether a plan searches the whole lake (a tool that reads a need and needs no model)."""
    return any(not ctx.tools[c.tool].needs and "query" in ctx.tools[c.tool].parameters.get("properties", {})
               for c in p.calls if c.tool in ctx.tools)


def _of_the_one_named(r: Reading, name: str, ctx: Context) -> Plan | None:
    """A part that names no model, in a question about one model: what that model's card says."""
    if name not in ctx.lake.with_card and name not in ctx.lake.card_only:
        return None
    r.names = [name]
    calls = card_calls(r, ctx, [name])
    return Plan("tool", calls, question=r.text, models=[name]) if calls else None


_NEED = re.compile(r"\b(?:i|we) (?:need|want|am looking|'m looking|are looking|'re looking|have to pick)\b|"
                   r"\blooking for\b", re.I)
_BARE_WHICH = re.compile(r"^\s*(?:so\s+|ok(?:ay)?,?\s+)?(?:which|what)(?: one| model)?\s+(?:should|would|do|can|"
                         r"to)\b|^\s*(?:any|what do you) (?:suggestions?|recommend\w*)", re.I)


def _sets_up(r: Reading) -> bool:
    """A statement that names a model's relative without naming it ("X was fine-tuned from
    something", "X has a parent"), for the next part to ask about."""
    return bool(r.names and r.relation and re.search(
        r"\b(?:something|someone|some (?:model|checkpoint|base)|another (?:model|checkpoint)|an? "
        r"(?:parent|base|child|model|checkpoint)|a few|several|some)\b", r.low)) or bool(
        r.rank and not r.names and re.search(r"\b(?:the|whatever|whichever) (?:model|one|checkpoint)\b|"
                                             r"\bwhatever is\b", r.low))  # "for the model with the largest files: ..."


def _read_once(read: Callable[[str], Reading]) -> Callable[[str], Reading]:
    """``read`` that reads each clause once; every call gets its own copy, since planning
    rebinds a reading's fields ("family" -> no relation)."""
    once = functools.lru_cache(maxsize=None)(read)
    return lambda text: copy.copy(once(text))


def _covers(whole: Plan, part: Plan) -> bool:
    """Whether each call of ``part`` is asked by a call of ``whole`` (same tool, same arguments
    or more of them: ``about=["parameters", "license"]`` covers ``about=["license"]``)."""
    def within(a: dict[str, Any], b: dict[str, Any]) -> bool:  # b shows more, filters no more
        return set(b) - set(a) <= {"show", "about"} and all(
            k in b and (v == b[k] or isinstance(v, list) and isinstance(b[k], list)
                        and set(map(str, v)) <= set(map(str, b[k]))) for k, v in a.items())
    return all(any(c.tool == w.tool and within(c.args, w.args) for w in whole.calls)
               for c in part.calls)
