"""What a plan leaves out of the question it answers, asked after all.

A question of several clauses names models, a task and facts; the planner's rules answer the
clauses they recognise and may drop the rest ("X vs Y on MMLU - and which is smaller?" planned
as the scores alone). This pass compares the finished plan with the whole question's reading and
adds one lake query for what no call touches: a model the question names that no call is about,
a task it names on which no call reads scores, a fact (license, size, ...) that no call shows.
It only adds calls; what the rules planned stays as it is.
"""
from __future__ import annotations

import re
from typing import Any

from modellake.agent.planner.compose import PAIR_FACTS, QUERY, Call, Context, Plan, score_of, task_of
from modellake.agent.planner.reading import Reading

_MODEL_ARGS = ("name", "names", "of", "a", "b", "model", "models", "same_as", "place_of", "base_model")
_COVERED_KINDS = ("tool", "query", "compare", "parts", "pair")
_SEVERAL = re.compile(r"[?;]\s*\S|,|\band\b|\balso\b|\bplus\b|\+")  # a question of more than one clause


def cover(r: Reading, ctx: Context, p: Plan) -> Plan:
    """``p`` with a lake query for what the question asks and no call touches (see the module)."""
    if p.kind not in _COVERED_KINDS or not p.calls or QUERY not in ctx.tools or not _SEVERAL.search(r.low) or \
            p.then or r.count or r.listing or r.group_by:
        return p
    about = _models_of(p.calls)
    models = [m for m in r.names if m in ctx.lake.names]
    missing = [m for m in models if m not in about]
    task = task_of(r, ctx)
    scored = bool(task and (r.scored or r.comparative or r.rank)) and not any(
        task in _text(c.args) for c in p.calls)
    facts = [f for f in dict.fromkeys(r.facts) if f in PAIR_FACTS and f not in ("base_model", "has_card")
             and not any(f in _shown(c.args) for c in p.calls)]
    if not models or not (missing or scored or facts):
        return p
    show = [score_of(r, ctx, task)] if task and (scored or missing) else []
    show += facts if facts else [f for f in r.facts if f in PAIR_FACTS and missing]
    if not show:
        return p
    who = models if (scored or facts) else missing
    p.calls = [*p.calls, Call(QUERY, {"names": who[:6], "show": list(dict.fromkeys(show))})]
    if p.kind == "parts":  # the added call answers as one more part
        p.parts = [*p.parts, Plan("query", p.calls[-1:], question=r.text, models=who[:6]).to_dict()]
    return p


def _models_of(calls: list[Call]) -> set[str]:
    out: set[str] = set()
    for c in calls:
        for k in _MODEL_ARGS:
            v = c.args.get(k)
            if isinstance(v, str):
                out.add(v)
            elif isinstance(v, list):
                out.update(x for x in v if isinstance(x, str))
    return out


def _shown(args: dict[str, Any]) -> set[str]:
    return {str(x) for k in ("show", "about") for x in (args.get(k) or [])} | {str(args.get("rank_by", ""))}


def _text(args: dict[str, Any]) -> str:
    return " ".join(str(v) for v in args.values())
