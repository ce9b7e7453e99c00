"""The answer of the offline backend: the results' own words, opened by the direct answer.

Each tool result renders itself (``text()``, carried to the chat model as the tool message's
artifact); this module only puts them in order, opens with the one sentence a plan of
several steps needs (how two models are related; which parent a model was compared with),
says plainly what failed, and writes the replies given without tools.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modellake.agent.planner.compose import Plan
from modellake.tools.query.relations import NOUNS, VERBS, from_card
from modellake.tools.rendering import join, plural


@dataclass
class Outcome:
    tool: str
    args: dict[str, Any]
    data: Any              # the result as the model saw it (parsed JSON), None on error
    text: str | None       # the result in its own words
    error: str | None = None


def write(plan: Plan, outcomes: list[Outcome], names: list[str], tasks: list[str]) -> str:
    if plan.note and (plan.kind == "refusal" or plan.reply == "off-topic"):
        return plan.note  # the order not carried out was all the question asked
    body = _once(_write(plan, outcomes, names, tasks))
    return f"{plan.note}\n\n{body}" if plan.note and body else plan.note or body


def _once(text: str) -> str:
    """The answer with a paragraph said twice said once (two parts of a question can end on
    the same fact: "who's its parent ... and vs that parent?")."""
    seen: set[str] = set()
    out = []
    for para in text.split("\n\n"):
        key = para.strip()
        if key and key in seen:
            continue
        seen.add(key)
        out.append(para)
    return "\n\n".join(out)


def _write(plan: Plan, outcomes: list[Outcome], names: list[str], tasks: list[str]) -> str:
    if plan.kind == "reply":
        return refusal(names, tasks) if plan.reply == "off-topic" else plan.reply or ""
    if plan.kind == "clarify":  # a question back; the models it names were read from the lake
        return plan.reply or ""
    if plan.kind in ("parts", "chain"):  # each part answered in turn, from its own results
        texts, i = [], 0
        for part in (Plan.from_dict(d) for d in plan.parts):
            texts.append(_write(part, outcomes[i:i + len(part.calls)], names, tasks))
            i += len(part.calls)
        return "\n\n".join(dict.fromkeys(t for t in texts if t))
    ok = [o for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    parts: list[str] = []
    if plan.kind == "refusal":
        held = [r["name"] for o in ok if isinstance(o.data, dict)
                for r in o.data.get("rows", []) if isinstance(r, dict) and "name" in r]
        return refusal(held or names, tasks)
    if plan.kind == "unknown" and failed:  # what the lake holds of it besides: a query that found nothing says nothing
        ok = [o for o in ok if not (isinstance(o.data, dict) and "rows" in o.data and not o.data["rows"])]
        return "\n\n".join([_unknown(plan.models[0], failed[0].error or "")] + _texts(ok))
    if plan.kind == "pair" and len(ok) == 2:
        parts.append(pair_sentence(plan, ok[0].data, ok[1].data))
    elif plan.kind == "compare":
        shown, (b_up, a_up) = _compared(outcomes)
        plain = Plan(plan.kind, models=plan.models)  # not a yes/no: no "Yes:" before it
        related = pair_sentence(plain, b_up.data, a_up.data) if b_up and a_up else ""
        asked = re.search(r"\b(?:relat\w*|lineage|family)\b", plan.question.lower())
        parts += ([related] if related and (asked or _related(plan, b_up, a_up)) else []) + _texts(
            [o for o in shown if o.error is None])
        failed = [o for o in shown if o.error is not None]
    elif plan.then == "grandchildren" and ok:
        parts.append(_grandchildren(plan, ok))
    elif plan.then == "each_relative" and len(ok) > 1:
        texts = _texts(ok)
        parts += [texts[0], f"How each differs from {plan.models[0]}, by its weights:"] + texts[1:]
    else:
        parts += _texts(ok)
        if plan.then == "pair_with_parent" and len(outcomes) == 1 and ok:
            parts.append(_nothing_to_compare(ok[0].data))
    parts.append(_ratio(plan.question, ok))
    if failed:
        parts.append(_failure(failed, bool(ok)))
    return "\n\n".join(p for p in parts if p).strip() or "The tools returned nothing to answer with."


_TIMES = re.compile(r"\bhow many times\b|\b(?:by )?what factor\b|\bratio\b|\bhow many x\b|"
                    r"\btimes (?:more|bigger|larger|smaller|as)\b")


_HOW_MUCH = re.compile(r"\bhow much\b|\bhow many points\b|\bwhat(?:'s| is) the (?:gap|difference)\b")


def _ratio(question: str, ok: list[Outcome]) -> str:
    """"by what factor?": how many times the larger of two compared values is the smaller;
    "how much did it give up?": how far apart two scores are."""
    times, much = _TIMES.search(question.lower()), _HOW_MUCH.search(question.lower())
    if not (times or much):
        return ""
    for o in ok:
        rows = o.data.get("rows", []) if o.tool == "query_models" and isinstance(o.data, dict) else []
        if len(rows) != 2:
            continue
        a, b = (r.get("values") or {} for r in rows)
        col = next((c for c in (o.data.get("columns") or {}) if _positive(a.get(c)) and _positive(b.get(c))), None)
        if col is None:
            continue
        (big, vb), (small, vs) = sorted(((r["name"], r["values"][col]) for r in rows), key=lambda t: -t[1])
        label = (o.data.get("columns") or {}).get(col, col)
        if times:
            return f"{big} has {vb / vs:.3g}x the {label} of {small} ({vb:,} against {vs:,})."
        if col.startswith("score:"):  # a gap between two scores, not between two counts
            return f"The gap: {round(vb - vs, 4):g} {label} ({big} {vb:g}, {small} {vs:g})."
    return ""


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def _grandchildren(plan: Plan, ok: list[Outcome]) -> str:
    """The children of the model's children, each by its parent ("2 models derive from ...")."""
    found = [o for o in ok[1:] if isinstance(o.data, dict) and o.data.get("rows")]
    if not found:
        return f"No model in the lake is two generations below {plan.models[0]}: " + (
            ok[0].text or "it has no children.")
    names = [row["name"] for o in found for row in o.data["rows"] if isinstance(row, dict) and "name" in row]
    return (f"Two generations below {plan.models[0]} ({plural(len(names), 'grandchild', 'grandchildren')}): "
            f"{join(names)}.\n\n" + "\n\n".join(_texts(found)))


def _compared(outcomes: list[Outcome]) -> tuple[list[Outcome], tuple[Outcome | None, Outcome | None]]:
    """A comparison's shown results, and the two ancestries read last (None when they failed)."""
    ups = [o if o.error is None else None for o in outcomes[-2:]]
    return outcomes[:-2], (ups[0], ups[1]) if len(ups) == 2 else (None, None)


def _related(plan: Plan, b_up: Outcome | None, a_up: Outcome | None) -> bool:
    """Whether one of the two compared models derives from the other or they share an ancestor."""
    if b_up is None or a_up is None:
        return False
    a, b = plan.models[:2]
    up_b = {r.get("name") for r in (b_up.data or {}).get("rows", [])}
    up_a = {r.get("name") for r in (a_up.data or {}).get("rows", [])}
    return a in up_b or b in up_a or bool(up_a & up_b)


def _nothing_to_compare(data: Any) -> str:
    """Why a "did it cost accuracy" question stops at the parent: no parent in the lake."""
    rows = (data or {}).get("rows", []) if isinstance(data, dict) else []
    absent = [r["name"] for r in rows if isinstance(r, dict) and not r.get("in_lake", True)]
    if rows and len(absent) == len(rows):
        return (f"So the lake cannot say what the change cost: {join(absent)} "
                f"{'is' if len(absent) == 1 else 'are'} not in the lake, so there are no scores "
                "of both to compare.")
    if not rows:
        return "So the lake has nothing to compare it with: no parent of it is in the lake."
    return ""


def _texts(outcomes: list[Outcome]) -> list[str]:
    if len(outcomes) > 1:  # a card that says nothing about what another result already answered
        outcomes = [o for o in outcomes if not _found_nothing(o)] or outcomes[:1]
    seen: list[str] = []
    for o in outcomes:
        t = (o.text or "").strip()
        if t and t not in seen:
            seen.append(t)
    return seen


def _found_nothing(o: Outcome) -> bool:
    """A card read for a topic it does not mention."""
    return o.tool == "read_card" and isinstance(o.data, dict) and bool(o.data.get("topic")) and \
        o.data.get("topic_found") is False


def _unknown(name: str, error: str) -> str:
    """"X is not in the lake." and the names the lake finds close to it."""
    near = re.search(r"did you mean ([^?]+)\?", error)
    tail = f" Did you mean {join([n.strip() for n in near.group(1).split(',')], 'or')}?" if near \
        else " Ask \"which models are in the lake?\" to see what is."
    return f"{name} is not in the lake: there is no model named {name} here.{tail}"


def _failure(failed: list[Outcome], partial: bool) -> str:
    first = _clean(failed[0].error or "")
    if partial:
        return f"(One step failed: {first})"
    if "changes the lake" in first:  # the policy refused a change
        return f"Nothing was changed: {first}"
    return f"I could not answer that: {first}"


def _clean(error: str) -> str:
    return re.sub(r"\s+", " ", error.replace("``", "")).strip()[:400]


# -- how two models are related -------------------------------------------------------------
def pair_sentence(plan: Plan, b_ancestors: Any, a_ancestors: Any) -> str:
    """Whether and how ``a`` and ``b`` (the plan's models) are related, from both ancestries."""
    a, b = plan.models[:2]
    up_b = {r["name"]: r for r in (b_ancestors or {}).get("rows", [])}
    up_a = {r["name"]: r for r in (a_ancestors or {}).get("rows", [])}
    yes_no = re.match(r"\s*(?:is|was|are|were|did|does|do|has|have|can)\b", plan.question.lower()) or re.search(
        r"\b(?:related|relatives|siblings|connected|linked)(?: at all| in any way| somehow)?\s*\?\s*$",
        plan.question.lower())
    if a in up_b:
        return _descends(b, a, up_b, yes_no is not None, plan.question)
    if b in up_a:
        return _descends(a, b, up_a, yes_no is not None, plan.question)
    common = [n for n in up_b if n in up_a]
    asks_kin = re.search(r"\b(?:siblings?|sisters?|related|relatives?|family|cousins?|share)\b",
                         plan.question.lower()) is not None
    if common:
        c = common[0]
        depths = (up_a[c]["depth"], up_b[c]["depth"])
        kin = {(1, 1): "siblings", (2, 2): "cousins"}.get(depths, "relatives")
        lead = ("Yes: " if asks_kin else "No: ") if yes_no else ""
        if yes_no and asks_kin and kin == "cousins" and re.search(r"\bsiblings?\b", plan.question.lower()):
            lead = "Not siblings, cousins: "
        are = f"they are {kin}: both" if kin != "relatives" else "they are related: both"
        return _sentence(lead, f"neither of {a} and {b} derives from the other; {are} descend "
                               f"from {c} ({_chain(a, c, up_a)}; {_chain(b, c, up_b)}).")
    lead = "No: " if yes_no else ""
    roots = [_origin(m, ups) for m, ups in ((a, up_a), (b, up_b))]
    return _sentence(lead, f"by their weights, {a} and {b} are not related: neither derives from the "
                           f"other and they share no ancestor in the lake ({'; '.join(roots)}).")


def _sentence(lead: str, rest: str) -> str:
    """``rest`` after a lead ("No: by their weights..."), or opening the sentence itself."""
    return lead + rest if lead else rest[:1].upper() + rest[1:]


def _origin(model: str, ups: dict[str, dict[str, Any]]) -> str:
    """"X descends from R" (the root of its family), or what its card names, or no parent."""
    if not ups:
        return f"{model} has no parent in the lake"
    root, row = max(ups.items(), key=lambda kv: kv[1].get("depth") or 0)
    if from_card(row.get("source")):
        return f"{model}'s card names {root} as its base"
    return f"{model} descends from {root}"


def _descends(child: str, parent: str, ups: dict[str, dict[str, Any]], yes_no: bool,
              question: str) -> str:
    chain = _chain(child, parent, ups)
    row = ups[parent]
    direct = row["depth"] == 1
    asked = _asked_kind(question)
    kind = row.get("relation") or ""
    how = ("its card says so; the weights in the lake cannot confirm it" if from_card(row.get("source"))
           else f"inferred from the weights{_conf(row)}")
    if yes_no and asked and direct and asked != kind and kind != "declared":
        detail = f": {row['detail']}" if row.get("detail") else ""
        return (f"Not quite: {child} was {VERBS.get(kind, 'derived from')} {parent}, which makes it "
                f"{NOUNS.get(kind, 'a derivative')}, not {NOUNS.get(asked, asked)} ({how}){detail}.")
    if not direct and re.search(r"\bdirect(?:ly)?\b|\bimmediate\b", question.lower()):
        return f"{'No, ' if yes_no else ''}not directly: {chain} ({how})."
    if not direct:  # "how is X related to Y?": X is Y's grandchild
        gen = {2: "grandchild", 3: "great-grandchild"}.get(row["depth"], "descendant")
        lead = "Yes: " if yes_no else ""
        return f"{lead}{child} is {parent}'s {gen}, {row['depth']} steps down: {chain} ({how})."
    lead = "Yes: " if yes_no else ""
    detail = row.get("detail")  # "30% of the weights of its 37 changed tensors set to zero"
    return f"{lead}{chain} ({how})" + (f": {detail}." if detail else ".")


def _chain(child: str, ancestor: str, ups: dict[str, dict[str, Any]]) -> str:
    """"c was quantized from b, which was fine-tuned from a"; a merge names all its parents."""
    merged = [n for n, r in ups.items() if r.get("via") == child and r.get("relation") == "merge"]
    if len(merged) > 1:
        rest = [_chain(p, ancestor, ups) for p in merged if p != ancestor and _reaches(p, ancestor, ups)]
        return f"{child} was merged from {join(merged)}" + ("; " + "; ".join(rest) if rest else "")
    return _single_chain(child, ancestor, ups)


def _reaches(node: str, ancestor: str, ups: dict[str, dict[str, Any]]) -> bool:
    """Whether ``ancestor`` is above ``node`` in the ancestry ``ups``."""
    seen, frontier = set(), [node]
    while frontier:
        n = frontier.pop()
        for name, r in ups.items():
            if r.get("via") == n and name not in seen:
                if name == ancestor:
                    return True
                seen.add(name)
                frontier.append(name)
    return False


def _single_chain(child: str, ancestor: str, ups: dict[str, dict[str, Any]]) -> str:
    """"c was quantized from b, which was fine-tuned from a"."""
    steps, node, guard = [], ancestor, 0
    while node != child and node in ups and guard < 12:
        row = ups[node]
        steps.append((row.get("via") or child, row.get("relation") or "", node))
        node = row.get("via") or child
        guard += 1
    steps.reverse()
    if not steps:
        return f"{child} derives from {ancestor}"
    first = f"{steps[0][0]} was {VERBS.get(steps[0][1], 'derived from')} {steps[0][2]}"
    rest = [f"which was {VERBS.get(rel, 'derived from')} {p}" for _, rel, p in steps[1:]]
    return ", ".join([first] + rest)


def _asked_kind(question: str) -> str | None:
    from modellake.tools.query.relations import KIND_WORDS

    for kind, rx in KIND_WORDS.items():
        if re.search(rx, question.lower()):
            return kind
    return None


def _conf(row: dict[str, Any]) -> str:
    c = row.get("confidence")
    return f", confidence {c:.2f}" if isinstance(c, (int, float)) else ""


# -- without tools -------------------------------------------------------------------------------
def refusal(names: list[str], tasks: list[str]) -> str:
    """One sentence, then three questions this lake can answer."""
    from modellake.tools.query.examples import example_questions

    examples = example_questions(names, tasks)
    return ("I can't answer that: I answer questions about the models in this lake. "
            "You could ask, for example:\n" + "\n".join(f"- {e}" for e in examples))


def selection(outcomes: list[Outcome], plan: Plan | None = None) -> list[str]:
    """The models an answer named, in order (what "them" and "the second one" point at)."""
    if plan is not None and plan.kind == "compare":
        outcomes = _compared(outcomes)[0]
    if plan is not None and plan.kind in ("parts", "chain"):
        out, i = [], 0
        for part in (Plan.from_dict(d) for d in plan.parts):
            out += [n for n in selection(outcomes[i:i + len(part.calls)], part) if n not in out]
            i += len(part.calls)
        return out
    if plan is not None and plan.kind == "pair" and len(plan.models) == 2:
        return list(plan.models)  # "how are X and Y related? ... and what's each for?": the two asked about
    if plan is not None and plan.then == "grandchildren" and len(outcomes) > 1:
        outcomes = outcomes[1:]  # the children of the children, not the children
    out: list[str] = []
    for o in outcomes:
        d = o.data if isinstance(o.data, dict) else {}
        for key in ("conflicts", "rows", "hits", "models", "entries", "neighbours", "results"):
            for item in d.get(key, []) if isinstance(d.get(key), list) else []:
                if isinstance(item, dict) and item.get("in_lake", True):
                    n = item.get("name") or item.get("model")
                    if isinstance(n, str) and n not in out:
                        out.append(n)
        if not out and isinstance(d.get("name"), str):
            out.append(d["name"])
    return out
