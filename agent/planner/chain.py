"""Questions whose later parts ask about what an earlier part found, run part by part.

"Is there anything quantized in here, and what was it made from?": the second part's "it" is
the model the first part finds, known only once the first part's results are in. A chain runs
the first part, reads the models its results name (the part's *selection*, its *focus*: the
one model it was about), and plans the next part as a follow-up to that answer, so "it",
"its parent", "them", "the second one", "the winner" and a task left unsaid resolve as they
would in the next turn of a conversation. Each part may take its own second round (a part
that compares a model with its parent). The answer gives each part in turn.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from modellake.agent.planner.compose import PAIR_FACTS, Call, Context, Plan, focus, plan, second_round
from modellake.agent.planner.reading import Reading

MAX_PARTS = 5
MAX_ROUNDS = 6  # model calls a chain may take before its answer (the agent's limit is 8)
_DEEP = re.compile(r"\bgrand|\broot\b|\boriginal\b|\b(?:two|2|three|3) (?:levels?|generations?|steps?|hops?)\b")
_UNPLANNED = ("reply", "refusal", "clarify")
_ONE = re.compile(r"\bwhich (?:one|model)\b")


def points_back(r: Reading) -> bool:
    """Whether a part of a question points at what an earlier part found ("it", "that
    parent", "them", "the second one", "the winner")."""
    if r.names and not (r.it and (r.relation or re.search(r"\b(?:compared? (?:to|with)|against|versus|vs\.?|than)\b",
                                                           r.low))):  # "... - is it related to X?": it, found
        return False  # "... and what's its accuracy compared to X?": "its" is what the part before found
    return bool(r.it or r.them or r.that_one or r.other or r.ordinal is not None or re.search(
        r"\b(?:the|that|this) (?:winner|one|parent|base|child|model|root|something|checkpoint)\b|\bif so\b",
        r.low))


def _elliptical(r: Reading) -> bool:
    """A part that names no model and asks a fact ("and how much got zeroed?"): after a part
    that selects one ("which child was pruned"), it is about the one found."""
    return not r.names and bool(r.aspects or r.facts) and not (r.listing or r.rank or r.count or r.filters)


def found_later(p: Plan) -> bool:
    """Whether a part's models are known only from its results (a relation, a ranking, a
    filter, a search), not from the names the question gave."""
    q = p.query
    if p.kind == "pair":  # "how are X and Y related?": the two named
        return False
    if q is not None:  # a count answers a number: "them" after it is the same query's models
        return bool(q.get("relation") or q.get("rank_by") or q.get("derivation") or "names" not in q) and \
            not q.get("count_only")
    return bool(p.then) or not p.models


def start(parts: list[str], read: Callable[[str], Reading], ctx: Context,
          whole: Plan | None = None) -> Plan | None:
    """A chain over ``parts`` when a later part points back at what an earlier one finds;
    None when the parts can be planned at once (or the whole question's one lake query
    attaches what the later parts ask to the models it selects)."""
    if not 2 <= len(parts) <= MAX_PARTS:
        return None
    readings = [read(t) for t in parts]
    selects = bool(re.match(r"\s*(?:which|who)\b", readings[0].low)) or bool(readings[0].rank) or bool(
        readings[0].asks_need and not readings[0].names)  # "anything for forecasting? license ok?": the match's
    later = [r for r in readings[1:] if points_back(r) or (selects and _elliptical(r)) or _scoped(r)]
    if not later or (whole is not None and (attached(whole, later) or _beside_parent(whole, later))):
        return None
    first = plan(readings[0], ctx)
    if first.kind in _UNPLANNED or not first.calls or not found_later(first):
        return None
    return Plan("chain", list(first.calls), question=" ".join(parts), models=list(first.models),
                task=first.task, recent=first.recent, parts=[_part(first, parts[0])],
                pending=list(parts[1:]))


_WHICH_OF = re.compile(r"^\s*(?:and\s+|but\s+|then\s+)?(which|who)"
                       r"(?= (?:is|one|are|model|ones|has|have|does|scores?)\b)")


def _scoped(r: Reading) -> bool:
    """"..., which ones have runs and which is best on sts": a later part that ranks, names no
    model and asks "which": among the models the part before found."""
    return bool(r.rank) and not r.names and bool(_WHICH_OF.match(r.low))


def _beside_parent(whole: Plan, later: list[Reading]) -> bool:
    """"X: what's its base, is the base in the lake, same license?": the whole question sets X
    beside its parent on the facts the later parts ask, which is all they ask."""
    asked = {f for r in later for f in [*r.facts, *r.aspects]} - {"has_card", "base_model"}
    return whole.then == "pair_with_parent" and asked <= set(PAIR_FACTS) and not any(
        r.rank or r.names or (r.relation and r.relation != "parents") for r in later)


def attached(whole: Plan, later: list[Reading]) -> bool:
    """Whether ``whole`` is one lake query that already shows each fact the later parts ask."""
    q = whole.query
    if q is None or len(whole.calls) != 1 or not q.get("show"):
        return False
    asked = {f for r in later for f in [*r.facts, *r.aspects] if f != "has_card"}
    if q.get("relation") in ("ancestors", "descendants") and _DEEP.search(whole.question.lower()) and \
            any(r.it for r in later):
        return False  # "two levels up from X: ... its license?": one of the relatives, found first
    scored = any(str(s).startswith("score:") for s in q["show"])  # "... and what's their sts-smoke score?"
    asks_score = any(r.scored for r in later)
    return (bool(asked) or (scored and asks_score)) and asked <= set(q["show"]) and \
        not any(r.relation or r.rank for r in later) and (scored or not asks_score)


def _part(p: Plan, text: str) -> dict[str, Any]:
    d = p.to_dict()
    d["question"], d["rounds"] = text, 1
    return d


def advance(chain: Plan, rounds: list[list[Any]], ctx: Context,
            read: Callable[[str], Reading]) -> list[Call]:
    """The next round of ``chain`` (updated in place) given the outcomes of every round so
    far (``rounds``, one list a round); [] when the chain is done."""
    last = Plan.from_dict(chain.parts[-1])
    if len(rounds) >= MAX_ROUNDS:
        return []
    if last.then and chain.parts[-1].get("rounds", 1) == 1:
        calls = second_round(last, [o.data for o in rounds[-1]], _with_prev(ctx, chain, -2),
                             read(last.then_question or last.question))
        if calls:
            chain.parts[-1]["calls"] += [dataclasses.asdict(c) for c in calls]
            chain.parts[-1]["rounds"], chain.parts[-1]["last_round"] = 2, len(calls)
            return calls
    subject = _subject(chain)
    while chain.pending:
        text = _as_found(last, chain.pending.pop(0))
        if _scoped(read(text)):
            text = _WHICH_OF.sub(r"\1 of them", text, count=1)
        if chain.task:  # "what does that parent get on the same task?": the task the chain is about
            text = re.sub(r"\b(?:on|for|in|at) the same (?:task|benchmark|test|set)\b", f"on {chain.task}", text)
        prev = _found(last, _part_outcomes(chain, rounds), chain.task, text)
        if subject and re.search(r"\bits?\b", text.lower()):
            prev.focus = subject  # "X - who's its parent, how sparse is it, and did it lose vs that parent?"
            text = re.sub(r"\b(?:that|the|its) (parent|base)(?: model)?\b(?! of)", rf"{subject}'s \1", text,
                          flags=re.I)
        r = read(text)
        sub = plan(r, dataclasses.replace(ctx, prev=prev, same_question=True))
        if len(prev.selection) >= 2 and (sub.kind in _UNPLANNED or not sub.calls or (
                r.relation and not r.names)):
            sub = _each(r, prev, ctx)  # "what was it made from?", "their parents?" after several
        if sub.kind in _UNPLANNED or not sub.calls:
            continue  # a part that cannot be planned ("if so"): the others are still answered
        sub.question = text
        chain.parts.append(_part(sub, text))
        chain.models = list(dict.fromkeys([*chain.models, *sub.models]))
        chain.task = chain.task or sub.task
        return list(sub.calls)
    return []


# "who's its parent", "what was it fine-tuned from": "it" is the model whose origin is asked
_ITS_ORIGIN = r"\bits (?:parent|base|grand\w*|ancestors?|origin)\b|\b(?:was|is|were) it\b.{0,30}\b(?:from|on|of)\b"


def _subject(chain: Plan) -> str | None:
    """The model a whole question stays about: the one its first part names and calls "its"
    while asking for its parent ("the pruned MiniLM - who's its parent, ..."), so later parts'
    "it" is that model and "that parent" the parent found."""
    for d in chain.parts:  # "the worst on T: what was it fine-tuned from, and what labels does its head
        part = Plan.from_dict(d)  # output?": the worst, whose parent a part asked
        if not re.search(_ITS_ORIGIN, part.question.lower()):
            continue
        for c in part.calls:
            if c.args.get("relation") in ("parents", "ancestors") and isinstance(c.args.get("of"), str):
                return c.args["of"]
    return None


def _as_found(part: Plan, text: str) -> str:
    """"what license does the root carry?" after a part that found the root: that root, the one
    found, not the roots of the lake."""
    if (part.query or {}).get("relation") not in ("ancestors", "parents", "roots"):
        return text
    return re.sub(r"\bthe (root|parent|base)(?: model)?\b(?! of)", r"that \1", text, flags=re.I)


def _each(r: Reading, prev: Plan, ctx: Context) -> Plan:
    """A part about "it" when the part before found several models: asked of each in turn."""
    subs = []
    for name in prev.selection[:3]:
        one = dataclasses.replace(prev, selection=[name], focus=name, models=[name], listed=[])
        sub = plan(r, dataclasses.replace(ctx, prev=one, same_question=True))
        if sub.kind in _UNPLANNED or not sub.calls or sub.then:
            return sub
        subs.append(sub)
    return Plan("parts", [c for s in subs for c in s.calls], question=r.text,
                models=list(prev.selection[:3]), parts=[s.to_dict() for s in subs])


def _part_outcomes(chain: Plan, rounds: list[list[Any]]) -> list[Any]:
    """The outcomes of the chain's last part in its last round (a part of two rounds ends on
    what its second round found: "the worst on T - what was it fine-tuned from")."""
    flat = [o for r in rounds for o in r]
    n = chain.parts[-1].get("last_round") or len(chain.parts[-1].get("calls", []))
    return flat[len(flat) - n:] if n else []


def _found(part: Plan, outcomes: list[Any], task: str | None, next_text: str) -> Plan:
    """The earlier part as the answer before a follow-up: the models its results named."""
    from modellake.agent.planner.answer import selection

    found = selection(outcomes, part)
    q = part.query or {}
    if found and q.get("relation") == "ancestors" and _DEEP.search(f"{part.question} {next_text}".lower()):
        rows = [r for o in outcomes if isinstance(o.data, dict) for r in o.data.get("rows", [])
                if isinstance(r, dict) and r.get("in_lake", True)]
        if rows:  # "X's root ... what does that model's card say": the farthest ancestor
            found = [max(rows, key=lambda r: r.get("depth") or 0)["name"]]
    if len(found) > 1 and _ONE.search(part.question.lower()) and re.search(r"\bits?\b", next_text.lower()):
        found = found[:1]  # "which one reports results, and what's its top score?": the one picked
    calls = part.calls[len(part.calls) - len(outcomes):] if outcomes else part.calls
    prev = Plan(part.kind, calls=calls[:1], models=part.models, question=part.question,
                selection=found, task=part.task or task, recent=part.recent,
                listed=found if len(found) >= 2 else [])
    prev.focus = focus(prev)
    return prev


def _with_prev(ctx: Context, chain: Plan, index: int) -> Context:
    """The context a part was planned in (its second round reads the task before it)."""
    if len(chain.parts) + index < 0:
        return ctx
    before = Plan.from_dict(chain.parts[index])
    return dataclasses.replace(ctx, prev=Plan(before.kind, models=before.models, task=before.task),
                               same_question=True)


def last_focus(chain: Plan, outcomes: list[Any]) -> str | None:
    """The one model the chain's last part was about ("it" in the next question)."""
    from modellake.agent.planner.answer import selection

    if not chain.parts:
        return None
    last = Plan.from_dict(chain.parts[-1])
    n = len(last.calls)
    last.selection = selection(outcomes[len(outcomes) - n:] if n else [], last)
    return focus(last, chained=True)
