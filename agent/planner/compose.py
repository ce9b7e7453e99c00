"""From a reading of the question to a plan: the tool calls of each round, or a reply.

The lake's typed operations are composed here: *select* models (named, filtered, or by
lineage relation), *attach* facts, *rank* or *count* them (one ``query_models`` call); a
question about two models' relation reads both ancestries; "did X lose accuracy" finds X's
parent first, then asks the question again about the pair. Every other question goes to the
declared tool that fits it best (:mod:`.route`), with arguments filled from its schema.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from modellake.agent.planner import route
from modellake.agent.planner.describe import owners_and_roots
from modellake.agent.planner.reading import (
    SCORE_HIGH,
    SCORE_LOW,
    SCORE_WORDS,
    SIZE_HIGH,
    SIZE_LOW,
    TASK_STOP,
    TOP_OF,
    Reading,
    adjacent_swap,
)
from modellake.tools.query.facts import CONFIG_FACTS
from modellake.tools.rendering import join

QUERY = "query_models"
_CARD_SAYS = r"\bcards?\b.{0,40}\b(?:say|says|said|state|states|mention|mentions|tell)\b"


@dataclass
class Call:
    tool: str
    args: dict[str, Any]


@dataclass
class Plan:
    """What the offline backend decided for one question (kept with the answer for follow-ups)."""

    kind: str                                  # query | pair | compare | tool | then | reply
    calls: list[Call] = field(default_factory=list)
    reply: str | None = None
    then: str | None = None                    # a second round: "pair_with_parent" | "each_child"
    then_question: str | None = None           # the question the second round answers
    models: list[str] = field(default_factory=list)
    question: str = ""
    selection: list[str] = field(default_factory=list)  # models the answer named (set later)
    task: str | None = None  # the benchmark task the question was about
    recent: list[str] = field(default_factory=list)  # models the last questions were about
    parts: list[dict[str, Any]] = field(default_factory=list)  # a question of several parts
    focus: str | None = None  # the one model the answer was about ("it" in the next question)
    listed: list[str] = field(default_factory=list)  # the last list of models an answer gave
    pending: list[str] = field(default_factory=list)  # parts of a chain still to plan
    note: str | None = None  # said before the answer ("I did not delete anything: ...")
    ranked: list[str] = field(default_factory=list)  # the last ranking an answer gave ("in last place")

    @property
    def query(self) -> dict[str, Any] | None:
        """The lake query the plan opened with, if it did (what a follow-up may rerun)."""
        return self.calls[0].args if self.calls and self.calls[0].tool == QUERY else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["calls"] = [Call(**c) for c in d.get("calls", [])]
        return cls(**d)


@dataclass
class Lake:
    """What the planner knows of the lake without calling a tool."""

    names: list[str]
    tasks_with_scores: list[str]
    resolve_task: Any  # phrase -> task name or None
    metrics: dict[str, tuple[str, ...]] = field(default_factory=dict)  # task -> its metrics
    card_only: frozenset[str] = frozenset()  # models of which only the card is in the lake
    derived: Callable[[], frozenset[str]] = frozenset  # the models the version graph derives from another
    with_card: frozenset[str] = frozenset()  # models whose card has text to read (weights or not)


@dataclass
class Context:
    tools: dict[str, route.ToolInfo]
    lake: Lake
    embedder: route.Embedder
    prev: Plan | None = None
    task_of: dict[tuple[Any, ...], str | None] = field(default_factory=dict)  # tasks read, by reading
    read: Callable[[str], Reading] | None = None  # reads a part of the question (second rounds)
    same_question: bool = False  # planning a later part of one question: its task carries over


def plan(r: Reading, ctx: Context) -> Plan:
    p = _with_card_passages(r, ctx, _parents_card(r, ctx, _subject_facts(r, _plan(r, ctx))))
    hit = None if p.note else _unmade_change(r, ctx, p)
    if hit:  # "Delete every model without a card, then tell me how many are left": what is asked, answered
        rest = _and_then_asked(r, ctx, p.models or r.names, hit) if _in_own_words(r, hit) else None
        p = rest or p
        p.note = p.note or _not_done_said(hit)
    earlier = ctx.prev.recent if ctx.prev is not None else []
    p.recent = [m for m in earlier if m not in p.models][-5:] + p.models[:3]
    return p


_IS_IT_SO = re.compile(r"^\s*(?:so|but|and|ok(?:ay)?|hm+|really)?[,\s]*(?:is|was|are) (?:that|this|it|they) (?:\w+ )?"
                       r"(?:right|true|correct|accurate|legit|so|sure)\s*[?!.]*\s*$")


def _plan(r: Reading, ctx: Context) -> Plan:
    prev = ctx.prev
    if "parameters" in r.facts and "bytes" not in r.facts and any(_named_quantized(m) for m in r.names) and \
            re.search(r"\b(?:smaller|bigger|larger|lighter|save[sd]?|saving)\b", r.low):
        r.facts.append("bytes")  # "is the int8 copy actually smaller?": its files too, not only its parameters
    if prev is not None and not r.names and prev.calls and prev.kind in ("tool", "query", "then") and \
            _IS_IT_SO.match(r.low):  # "is that actually right?": the evidence of the last answer again
        return Plan.from_dict({**prev.to_dict(), "question": r.text, "recent": []})
    models = _models(r, ctx.prev)
    if "list_runs" in ctx.tools and re.search(r"\bhow many (?:\w+ ){0,2}(?:runs|evaluations)\b",
                                              r.low):  # "how many benchmark runs ..."
        return Plan("tool", [Call("list_runs", {"model": models[0]} if len(models) == 1 else {})],
                    question=r.text, models=models[:1])
    if "list_runs" in ctx.tools and len(models) == 1 and re.search(_RUNS_OF_ONE, r.low) and not (
            r.rank or r.relation or _task(r, ctx)):  # "got any benchmark numbers for it?": its runs
        return Plan("tool", [Call("list_runs", {"model": models[0]})], question=r.text, models=models)
    besides = _besides(r, models)
    if besides and QUERY in ctx.tools:  # "any quantized models besides X?": the lake, X left out
        p = _query_plan(r, ctx, [])
        if p.calls and p.calls[0].tool == QUERY and not p.calls[0].args.get("relation"):
            p.calls[0].args["exclude"] = besides
            return p
    for rule in RULES:
        p = rule(r, ctx, models)
        if p is not None:
            return p
    if QUERY in ctx.tools and _is_query(r, models, ctx):
        return _query_plan(r, ctx, models)
    return _tool_plan(r, ctx, models)


_BUILT = ("layers", "config", "architecture", "parameters", "modules")  # what the weights would show


def _with_card_passages(r: Reading, ctx: Context, p: Plan) -> Plan:
    """A question about a card-only model that the lake's facts do not cover ("how deep is it",
    "is there a commercial option?", "what was it tuned on?"): the weights cannot say, so the
    passages of its card about what was asked are read beside the lake's facts."""
    card_only = [m for m in p.models if m in ctx.lake.card_only][:2]
    uncovered = _uncovered(r, strict=not card_only)
    if not card_only and uncovered and len(p.models) <= 2 and all(  # "on what hardware?": a card says,
            c.tool == QUERY or "about" in ctx.tools[c.tool].parameters.get("properties", {})  # weights don't
            for c in p.calls if c.tool in ctx.tools):  # (a tool of its own answers what it was made for)
        card_only = [m for m in p.models if m in ctx.lake.with_card]
    reader = _card_reader(ctx)
    if p.kind not in ("tool", "query") or not card_only or reader is None or \
            any(c.tool == reader.name for c in p.calls):
        return p
    asked = [w for w in [*r.facts, *r.aspects] if w in _BUILT]
    several = len(question_words(r).split(", ")) > 2  # "params, layers, context window, training tokens"
    if not uncovered and card_only[0] in ctx.lake.card_only and re.search(_CARD_SAYS, r.low):
        uncovered = question_words(r)  # "the smallest file, what does the card say about it?": its words
    topic = uncovered or ("" if not asked or card_only[0] not in ctx.lake.card_only else
                           question_words(r) if several else _built_words(r, asked))
    q = p.query
    if not topic and q and q.get("relation") == "parents" and not p.then and len(p.calls) == 1:
        p.kind, p.then, p.then_question = "then", "card_if_no_parent", r.text  # "what's it based on?"
        return p
    if topic:
        p.calls += card_calls(r, ctx, card_only, topic)
    return p


_OF_PARENT = re.compile(r"\b(?:that|the|its|this) (?:parent|base|model|one|original|source)\b|\bparent'?s\b|"
                        r"\bbase(?: model)?'s\b|\b(?:of|does|has) (?:that|it'?s parent)\b")
_OF_SUBJECT = re.compile(r"\b(?:is it|it is|does it|it's|has it|was it released|under what|under which)\b")


_PARENTS_CARD = re.compile(r"\b(?:(?:its|the|that) )?(?:parent|base|base model|original)'?s? (?:own )?card\b|"
                           r"\baccording to (?:its|the|that) (?:parent|base|original)\b")


def _parents_card(r: Reading, ctx: Context, p: Plan) -> Plan:
    """"what's its parent's AP on COCO according to the parent's card?": the parent is found
    first, then its card is read for what was asked."""
    said = _PARENTS_CARD.search(r.low) or _PARENTS_CARD.search(r.text.lower())
    if p.then not in (None, "ask_found") or not said or QUERY not in ctx.tools:
        return p
    parents = [c for c in p.calls if c.tool == QUERY and c.args.get("relation") == "parents"][:1]
    if not parents and len(p.models) == 1 and p.models[0] in r.names and p.kind in ("tool", "query") and \
            _PARENTS_CARD.search(r.low):  # (not "enc-base's card": a name, masked in r.low)
        parents = [Call(QUERY, {"relation": "parents", "of": p.models[0]})]  # "X declares a base: what does
        # that base's card say ..."
    if not parents:
        return p
    p.calls = parents
    p.kind, p.then, p.then_question = "then", "read_parent_card", r.text
    return p


_PARENT_FIRST = r"\b(?:x|it|one)'s (?:parent|base)\b|\b(?:parent|base)(?: model)? of (?:x|it)\b"


def _subject_facts(r: Reading, p: Plan) -> Plan:
    """"what was X made from, and what license is it under?": the license is X's, not its
    parent's; the facts asked go to the model itself when the words after the relation point
    at it and not at the parent."""
    q = p.query
    if p.kind != "query" or not q or q.get("relation") != "parents" or not q.get("show") or not q.get("of"):
        return p
    rest = re.split(r"\b(?:from|on|off|parent|base)\b", r.low, maxsplit=1)[-1]
    if _OF_PARENT.search(rest) or re.search(_PARENT_FIRST, r.low):  # "the int8 one's parent: what license is
        return p  # it under?": the parent is what the question is about
    facts = [x for x in q["show"] if not str(x).startswith("score") and x in r.facts]  # asked here, not carried
    if not facts:
        return p
    if _OF_SUBJECT.search(rest):  # its own, not the parent's
        q["show"] = [x for x in q["show"] if x not in facts]
        if not q["show"]:
            del q["show"]
    p.calls.append(Call(QUERY, {"names": [q["of"]], "show": facts}))
    return p


def _uncovered(r: Reading, strict: bool = False) -> str:
    """The question's words when some of them are about what no fact of the lake holds ("any
    commercial option", "what kind of text is it meant for"); "" for a question the facts,
    relations and rankings answer; ``strict`` (a model with weights): a license or a score asked is
    answered by the lake's facts and runs, not read in its card."""
    if r.rank or r.count or r.listing or r.group_by or r.comparative:
        return ""
    if strict and (r.scored or _compares(r)):  # a score, a comparison: the lake's runs and weights answer
        return ""
    if r.scored or "datasets" in r.facts or "labels" in r.aspects:  # "what bfcl score do they claim?", "what
        return question_words(r)  # was it trained on?": a card says more than its model-index, dataset ids, head
    task = set(re.findall(r"[a-z]+", r.task_words or "")) if strict else set()  # "sts-smoke": a lake task
    said_in_cards = not strict and ("license" in r.facts or re.search(  # terms, changes: a card says
        r"\bdiffer|\bdifferen|\bchanged?\b|\bcompar|\bimprov", r.low))       # more than a field
    if strict and not any(w.startswith(_CARD_TOPICS) for w in r.content_words):
        return ""  # a model with weights: its card is read for what cards are about (training, hardware, risks)
    if not said_in_cards and not any(len(w) >= 4 and w not in _covered() and w.rstrip("s") not in _covered()
                                     and w not in _FOLLOW_UP and w not in task for w in r.content_words):
        return ""
    return question_words(r)


# what cards speak of that a model's weights and the lake's fields do not (by their first letters)
_CARD_TOPICS = ("train", "hardware", "gpu", "tpu", "compute", "epoch", "steps", "batch", "learning", "hyper", "risk",
                "bias", "limit", "harm", "danger", "intend", "meant", "purpose", "use", "usage", "recommend",
                "cite", "citation", "paper", "author", "contact", "carbon", "emission", "cutoff", "knowledge",
                "label", "class", "prompt", "template", "format", "evaluat", "caveat", "warning", "safety",
                "language", "data", "corpus", "token", "hours", "days", "long", "card", "accord", "readme", "doc")

# words of a follow-up that point back, not at something to read ("what about the other two?")
_FOLLOW_UP = frozenset("about other others ones same again also then more else anything something thing things "
                       "tell show give please thanks first second third last both each either those these "
                       "there here that this".split())


@functools.lru_cache(maxsize=1)
def _covered() -> frozenset[str]:
    """The words of what the lake's facts and model views answer (license, size, format...)."""
    from modellake.tools.model_view import ASPECTS
    from modellake.tools.query.facts import FACTS

    phrases = [f.name for f in FACTS] + [w for f in FACTS for w in f.words] + list(ASPECTS) + \
        [w for ws in ASPECTS.values() for w in ws] + list(_LINEAGE_WORDS)
    return frozenset(w for ph in phrases for w in re.findall(r"[a-z]+", ph.lower()))


_CARD_FILLER = frozenset("whats what's card cards give gives say says said state states list lists".split())
_LINEAGE_WORDS = ("parent parents child children ancestor ancestors descendant descendants sibling siblings "
                  "root roots family derived derive derives from base built based merge merged quantized "
                  "pruned distilled adapter lineage declare declares declared came come comes related "
                  "relation weights".split())


def _built_words(r: Reading, asked: list[str]) -> str:
    """The words the question used for how the model is built ("layers hidden heads")."""
    from modellake.tools.model_view import ASPECTS

    said = [w for a in asked for w in ASPECTS.get(a, ()) if re.search(rf"\b{re.escape(w)}", r.low)]
    rest = [w for w in re.findall(r"[a-z][a-z0-9_]+", r.low) if w in _BUILT_WORDS]
    words: dict[str, str] = {}
    for w in [*rest, *said]:  # one word a stem: "layers", not "layers layer number of layers"
        words.setdefault(w[:5], w)
    return " ".join(words.values()) or " ".join(asked)


_BUILT_WORDS = frozenset("layers layer hidden heads head vocab vocabulary dim dimension width context "
                         "parameters params size architecture arch embedding intermediate".split())


# -- the rules, in order: the first that recognizes the question plans it ----------------------
def _which_one(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"what license does it have?" after an answer that named several models."""
    prev = ctx.prev
    if models or not r.it or prev is None or len(prev.selection) < 2 or _lake_wide(r) or prev.focus:
        return None
    more = " (or another)" if len(prev.selection) > 8 else ""
    return _clarify(r, ctx, prev.selection[:8], f"Which one do you mean: {join(prev.selection[:8], 'or')}"
                                                f"{more}?")


def _clarify(r: Reading, ctx: Context, names: list[str], question: str) -> Plan:
    """A question back to the user that names lake models: the names are read from the lake
    first (so the answer names only models a tool returned)."""
    if QUERY not in ctx.tools or not names:
        return _reply(r, question)
    return Plan("clarify", [Call(QUERY, {"names": names})], reply=question, question=r.text)


def _same_card(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"how does that stack up against llama2-chat 70b in the same table?" after an answer that
    quoted a card: a name the lake does not hold is a row of that card, read again for it."""
    prev, reader = ctx.prev, _card_reader(ctx)
    read = [c for c in (prev.calls if prev is not None and reader is not None else []) if c.tool == reader.name]
    if not r.unknown or r.names or not read or not re.search(
            r"\b(?:same|that|this|the) (?:table|card|list|chart|section)\b|\bstack up\b|\bagainst\b|"
            r"\bcompared? (?:to|with)\b|\bvs\.?\b", r.low):
        return None
    return Plan("tool", [Call(c.tool, {**c.args, "topic": question_words(r)}) for c in read[:2]], question=r.text,
                models=[c.args.get("name") for c in read[:2] if c.args.get("name")])


def card_calls(r: Reading, ctx: Context, names: list[str], topic: str | None = None) -> list[Call]:
    """Read each named model's card about ``topic`` (default: the question's own words)."""
    reader = _card_reader(ctx)
    if reader is None:
        return []
    calls = []
    for n in names:
        args, missing = route.fill_args(reader, r, [n])
        if not missing:
            calls.append(Call(reader.name, {**args, "topic": topic or question_words(r)}))
    return calls


def question_words(r: Reading) -> str:
    """The question's words, model names left out: a topic to read a card about, its parts
    ("gpus, how long, how many tokens") kept apart by commas."""
    named = {w for n in r.names for w in re.split(r"[^a-z0-9]+", n.lower()) if len(w) >= 2}
    parts = (" ".join(_unnamed(re.findall(r"[a-z0-9][a-z0-9_.-]*", part), named))
             for part in re.split(r"[,;?]|\s(?:--|[-–—])\s", r.low))
    return ", ".join(p for p in parts if p)


def _unnamed(words: list[str], named: set[str]) -> list[str]:
    """The words, a masked name (x, y) and the words of that name beside it ("the papluca x
    language detection model") left out."""
    def of_name(w: str) -> bool:
        return all(t in named for t in re.split(r"[^a-z0-9]+", w) if t)

    drop = set()
    for i, w in enumerate(words):
        if w in ("x", "y", "z"):
            drop.add(i)
            for step in (-1, 1):
                j = i + step
                while 0 <= j < len(words) and of_name(words[j]):
                    drop.add(j)
                    j += step
    return [w for i, w in enumerate(words) if i not in drop]


def _card_reader(ctx: Context) -> route.ToolInfo | None:
    """The tool that reads a named model's card about a topic."""
    return next((t for t in ctx.tools.values() if not t.mutating and t.needs == 1 and
                 "topic" in t.parameters.get("properties", {})), None)


def _not_in_lake(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """A model-like name the lake does not hold: the lake says so, and which names are close."""
    alone = not models and not _lake_wide(r) and r.relation not in ("children", "descendants")
    beside = len(models) < 2 and (_compares(r) or r.comparative or _asks_cost(r))  # "X vs gpt-4"
    if not r.unknown or not (alone or beside):
        return None
    meant = _misspelt(r.unknown, ctx.lake.names)
    if meant is not None and ctx.read is not None:  # "gemma-3-207m": one lake name, two letters apart
        fixed = ctx.read(re.sub(re.escape(r.unknown), meant, r.text, flags=re.I))
        if fixed.unknown is None and meant in fixed.names:
            p = _plan(fixed, ctx)
            p.note = f"(Reading {r.unknown} as {meant}.)"
            return p
    if QUERY in ctx.tools:
        calls = [Call(QUERY, {"names": [r.unknown]})]
        if alone and re.search(r"[/\d-]", r.unknown):  # "do we hold Mistral-7B-v0.1?": no, but these build on it
            calls.append(Call(QUERY, {"base_model": r.unknown}))
        if beside and models:  # and what the lake knows about the other one
            task = _task(r, ctx)
            calls.append(Call(QUERY, {"names": models, "show": [_score(r, ctx, task)] if task else
                                      ["parameters", "license"]}))
        return Plan("unknown", calls, question=r.text, models=[r.unknown])
    return _reply(r, f"{r.unknown} is not in the lake: there is no model named {r.unknown} here.")


def _misspelt(name: str, names: list[str]) -> str | None:
    """The one lake name ``name`` is a slip of: two neighbouring characters swapped
    ("gemma-3-207m"), or one letter dropped, added or mistyped ("minilm-sentimnet" is caught
    earlier; "smolm2-135m-instruct"). A changed digit or version ("-v2" for "-v3") is another
    model, not a slip."""
    found = [n for n in names if _slip(name.lower(), n.lower())]
    return found[0] if len(found) == 1 else None


def _slip(a: str, b: str) -> bool:
    if a == b or min(len(a), len(b)) < 6:
        return False
    if adjacent_swap(a, b):
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 and a[diff[0]].isalpha() and b[diff[0]].isalpha()  # a mistyped letter
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(long_) - len(short) != 1:
        return False
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return long_[i].isalpha() and short[i:] == long_[i + 1:]  # a letter dropped or added


def _claim_check(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"A draft says 'X reaches 0.99 on T'. Is that right? What does the lake record?": X's
    score on T as the lake has it (the quoted claim is data, checked against the runs)."""
    if not (r.quoted and r.scored and models) or QUERY not in ctx.tools or r.rank or r.relation:
        return None
    task = _task(r, ctx) or (ctx.lake.resolve_task(r.quoted_task) if r.quoted_task else None)
    if task is None:
        return None
    return Plan("query", [Call(QUERY, {"names": models[:2], "show": _scores_shown(r, ctx, task)})],
                question=r.text, models=models[:2], task=task)


def _vague(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    if r.ambiguous and not models and not _lake_wide(r):
        return _clarify(r, ctx, r.ambiguous, f"Which one do you mean: {join(r.ambiguous, 'or')}?")
    return None


def _same_for_other(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"and Y?", "what about the other one?": the previous question about other models."""
    prev = ctx.prev
    if not (r.opener and prev is not None and prev.calls) or _asks_anything_new(r):
        return None
    if (r.names or r.other or r.ordinal is not None or _PLACE_NO.search(r.text)) and \
            len(r.content_words) <= 2:
        return _again(r, ctx, models)  # "ok and #3 vs #1?": the last question, of those two
    return None


_FLIP = {"best": "worst", "worst": "best", "highest": "lowest", "lowest": "highest"}


def _other_end(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"and its worst?", "and the smallest?" after a ranking: the same calls, the order turned."""
    prev = ctx.prev
    if not (r.opener and r.rank and prev is not None and prev.calls) or r.relation or r.count or \
            r.facts or r.aspects or (models and models != prev.models) or len(r.content_words) > 3:
        return None
    want = r.rank[1]
    ranked = [c for c in prev.calls if c.args.get("order") in _FLIP]
    if not ranked or want not in _FLIP and want not in ("largest", "smallest"):
        return None
    calls = []
    for c in prev.calls:
        args = dict(c.args)
        if args.get("order") in _FLIP:
            low = want in ("worst", "lowest", "smallest")
            if (args["order"] in ("worst", "lowest")) == low:
                return None  # the same end again: not this follow-up
            args["order"] = _FLIP[args["order"]]
        calls.append(Call(c.tool, args))
    return Plan(prev.kind if prev.kind in ("tool", "query") else "tool", calls, question=r.text,
                models=prev.models, task=prev.task)


def _same_on_other_task(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"and on topic?": the previous question on another task."""
    prev = ctx.prev
    if not (r.opener and prev is not None and prev.query and prev.task) or r.names or r.them \
            or _asks_anything_new(r):
        return None
    task = _task(r, ctx)
    if not task or task == prev.task:
        return None
    args = {k: _swap(v, prev.task, task) for k, v in prev.query.items()}
    return Plan("query", [Call(QUERY, args)], question=r.text, models=prev.models,
                task=task)


def _place_of_it(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"and how does it rank on T?" after an answer about one model: its place in the ranking."""
    prev = ctx.prev
    it = focus(prev) if prev is not None else None
    if not (r.it and it and not r.names and re.search(
            r"\b(?:rank|ranks|ranked|place|places|placed|position|stand|stands)\b", r.low)):
        return None
    task = _task(r, ctx) or (prev.task if prev is not None else None)
    if not task:
        return None
    return Plan("query", [Call(QUERY, {"rank_by": _score(r, ctx, task), "order": "best", "place_of": it})],
                question=r.text, models=[it], task=task)


_SHAREABLE = ("architecture", "format", "license", "quantization", "hidden_size", "vocab_size", "layers",
              "heads", "intermediate_size", "context_length", "base_model", "task", "language")


def _sharing_with(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"which other models share X's architecture?", "anything else with the same license as X?"."""
    if len(models) != 1 or QUERY not in ctx.tools or r.relation or not re.search(
            r"\b(?:share|shares|sharing|same|identical|matching)\b", r.low) or not re.search(
            r"\b(?:which|what|any|anything|list|how many|others?|else|models)\b", r.low):
        return None
    facts = [f for f in dict.fromkeys(r.facts + r.aspects) if f in _SHAREABLE]
    if not facts:
        return None
    if facts == ["architecture"] and re.search(r"\b(?:exact|exactly|same config\w*)\b", r.low):
        facts += ["hidden_size", "layers", "vocab_size"]  # "exact architecture": the same shape too
    args: dict[str, Any] = {"same_as": models[0], "same": facts}
    if r.count:
        args["count_only"] = True
    return Plan("query", [Call(QUERY, args)], question=r.text, models=models)


def _they_share(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"do they all keep that same license?" after X's children: which of them share X's."""
    prev = ctx.prev
    if not (r.them and not r.names and prev is not None and prev.models and len(models) >= 2) or \
            prev.models[0] in models or QUERY not in ctx.tools or not re.search(
                r"\b(?:same|share|shares|sharing|keep|kept|keeps|inherit\w*|retain\w*)\b", r.low):
        return None
    facts = [f for f in dict.fromkeys(r.facts + r.aspects) if f in _SHAREABLE]
    if not facts:
        return None
    return Plan("query", [Call(QUERY, {"names": models, "same_as": prev.models[0], "same": facts})],
                question=r.text, models=models)


def _swap(v: Any, old: str, new: str) -> Any:
    if isinstance(v, str):
        return v.replace(old, new)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return [x.replace(old, new) for x in v]
    return v


def _the_other(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"what about the other gguf?": the same filter, without the model just discussed."""
    prev = ctx.prev
    if not r.other or not r.filters or prev is None or not prev.models or QUERY not in ctx.tools:
        return None
    args: dict[str, Any] = {k: v for k, v in r.filters.items() if k != "task"}
    args["exclude"] = prev.models[:1]
    shown = [c.args.get("about") or c.args.get("show") for c in prev.calls]
    show = [x for group in shown if isinstance(group, list) for x in group
            if x in ("parameters", "bytes", "format", "quantization", "license", "layers",
                     "architecture")]
    show = list(dict.fromkeys([*show, *(f for f in r.facts if f not in r.filters and f != "has_card")]))
    if show:  # and what this question asks of it ("a bigger or smaller vocab?")
        args["show"] = show
    return Plan("query", [Call(QUERY, args)], question=r.text)


def _name_them(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"which ones?": the models the previous answer counted."""
    if r.them and not r.names and models and not _asks_anything_new(r) and not r.scored and \
            QUERY in ctx.tools and len(r.content_words) <= 2 and not _compares(r):
        return Plan("query", [Call(QUERY, {"names": models})], question=r.text, models=models)
    return None


_SAME_OR_NOT = (r"\b(?:same|differ\w*|consistent|match\w*|compatib\w*|agree\w*|like|changed?|problem\w*|issues?|"
                r"conflict\w*|clash\w*|violat\w*)\b")


_THEIR_PARENT = re.compile(r"\b(?:than|against|over|on|from|vs\.?|versus|compared (?:to|with)|relative to|beside|"
                           r"beat|beats|outperform\w*|outscor\w*|surpass\w*)\s+"
                           r"(?:their|its|each one's|each's|the)\s+(?:own\s+|respective\s+|direct\s+)?"
                           r"(?:parents?|bases?|base models?|originals?)\b")
_FELL = r"\b(?:worse|drop\w*|lost|los[et]s?|losing|regress\w*|degrad\w*|hurt|fell|fall\w*|decline\w*|weaker)\b"


def _gain_over_parent(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"which of the variants got worse than their own parent on T, and which dropped most?":
    every derived model (or the ones named) ranked by its score less its parent's."""
    task = _task(r, ctx)
    if not task or QUERY not in ctx.tools or len(models) in (1, 2) or not _THEIR_PARENT.search(r.low) or not (
            _asks_cost(r) or r.comparative or r.rank or re.search(_FELL, r.low)):
        return None
    if not models and not (r.listing or r.them or re.search(_LAKE_WIDE, r.low)):
        return None
    order = "worst" if re.search(_FELL, r.low) else "best"
    args: dict[str, Any] = {"names": models} if models else {"derivation": r.derivation or "any"}
    gain = "gain:" + _score(r, ctx, task).split(":", 1)[1]
    return Plan("query", [Call(QUERY, {**args, "rank_by": gain, "order": order})], question=r.text,
                models=models, task=task)


def _against_parent(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"did the int8 model lose accuracy?": the model against its parent; "by quantizing X":
    X against its quantized copy."""
    if not models and r.derivation and _asks_cost(r) and r.relation in (None, "parents") and QUERY in ctx.tools:
        # "pruning: did it hurt accuracy?": each model derived that way against its parent
        return Plan("then", [Call(QUERY, {"derivation": r.derivation})], then="pair_each_with_parent",
                    then_question=r.text, question=r.text)
    if not models and (r.derivation or r.relation == "parents") and QUERY in ctx.tools and re.search(
            _LAKE_WIDE, r.low) and set(r.facts) & set(PAIR_FACTS) and re.search(_SAME_OR_NOT, r.low):
        # "which models have a license different from their parent's?": each derived model beside its parent
        return Plan("then", [Call(QUERY, {"derivation": r.derivation or "any"})], then="pair_each_with_parent",
                    then_question=r.text, question=r.text)
    parent_said = r.relation == "parents" or re.search(r"\b(?:its|the) (?:base|parent)(?: model)?(?:'s)?\b",
                                                      r.low)
    if len(models) == 1 and parent_said and (r.facts or r.aspects) and QUERY in ctx.tools \
            and re.search(_SAME_OR_NOT, r.low):
        return _then_parent(r, {}, models)  # "is X's license the same as its parent's?"
    if len(models) != 1 or not _asks_cost(r) or r.relation not in (None, "parents", "children") \
            or QUERY not in ctx.tools or (r.relation == "children" and r.rank):  # "of X's children, which is
        return None  # best on T, and by how much does it beat the base?": the ranking first (parts)
    gerund = None if re.search(r"\b(?:parents?|base|original)\b", r.low) else _gerund_of(r)
    if gerund == "quantized" and _named_quantized(models[0]) or gerund and re.search(
            {"pruned": r"prun", "merge": r"merg", "finetune": r"tun|ft\b"}.get(gerund, "^$"), models[0].lower()):
        gerund = None  # "did the AWQ quantization of qwen-awq cost accuracy", "what did pruning do to
        # minilm-pruned": the model its name says was made so, against its base
    if gerund:
        return Plan("then", [Call(QUERY, {"relation": "children", "of": models[0],
                                           "derivation": gerund})],
                    then="pair_with_parent", then_question=r.text, question=r.text, models=models)
    return _then_parent(r, {}, models)


def _own_results(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"X: on which of its reported sets is f1 highest?": one model's runs ranked by score."""
    runs = ctx.tools.get("list_runs")
    which = re.search(r"\b(?:which|what) (?:\w+ ){0,2}(?:set|sets|task|tasks|benchmark|benchmarks|"
                      r"dataset|datasets|eval)\b", r.low)  # "which retrieval set": the task is asked
    if len(models) != 1 or runs is None or not r.rank or r.rank[0] != "score" or r.relation or \
            not (which or re.search(r"\b(?:its|it|reports?|reported)\b", r.low)) or \
            (not which and _named_task(r, ctx)):
        return None
    metrics = {m for ms in ctx.lake.metrics.values() for m in ms}
    order = "worst" if r.rank[1] in ("worst", "lowest") else "best"
    args = {"model": models[0], "order": order, "limit": 6}
    metric = _metric_named(r, metrics)
    if metric:
        args["rank_by"] = metric
    kind = _kind_of_set(r, ctx)
    if kind:
        args["task"] = f"*{kind}*"  # "on which STS set": the tasks named so
    calls = [Call("list_runs", args)]
    if re.search(r"\b(?:worst|weakest|lowest|bottom)\b", r.low) and re.search(
            r"\b(?:best|strongest|highest|top)\b", r.low):  # "weakest on, and strongest?": both ends
        calls = [Call("list_runs", {**args, "order": o, "limit": 1}) for o in ("worst", "best")]
    return Plan("tool", calls, question=r.text, models=models)


def _kind_of_set(r: Reading, ctx: Context) -> str | None:
    """"on which STS set", "which retrieval tasks": the word that names a kind of the lake's
    tasks (a part of some task names, not of all)."""
    m = re.search(r"\b(?:which|what) (?:of (?:its|the) )?([a-z][\w-]*) (?:sets?|tasks?|benchmarks?|datasets?|evals?)\b",
                  r.low)
    if not m or m.group(1) in ("reported", "stored", "measured", "its", "the", "their", "other", "mteb", "eval",
                               "evals", "test", "dev", "data", "bench", "which", "what", "those", "these") or \
            len(m.group(1)) > 5:  # a family's short name ("sts", "nli", "mmlu"): long kinds ("retrieval") are
        return None  # not always in their tasks' names
    word = m.group(1)
    tasks = list(ctx.lake.metrics)
    having = [t for t in tasks if word in t.lower()]
    return word if having and len(having) < len(tasks) else None


def _did_to(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"what did X do to Y's weights?": how X was made from Y, as its weights show it."""
    if len(models) != 2 or QUERY not in ctx.tools or not re.search(
            r"\b(?:what|how much) (?:did|does|has) x (?:do|done|change|changed) (?:to|in|about) y\b|"
            r"\bhow (?:did|does|has) x (?:change|alter|modify)\w* y\b", r.low):
        return None
    return Plan("query", [Call(QUERY, {"relation": "parents", "of": models[0]})], question=r.text, models=models[:1])


def _scores_of_named(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """Two or more named models on a task: who is better, or their scores side by side."""
    facts_only = (r.facts or r.aspects) and not (r.scored or r.comparative or r.rank)
    if len(models) < 2 or r.relation or QUERY not in ctx.tools or facts_only or not (
            _asks_cost(r) or r.scored or r.comparative or (
                r.task_words and ctx.lake.resolve_task(r.task_words))):
        return None
    task = _task(r, ctx)
    args: dict[str, Any] = {"names": models}
    fact, order = r.rank or r.comparative or ("score", "best")
    if (r.comparative or r.rank) and (fact != "score" or task):
        args.update(rank_by=_score(r, ctx, task) if fact == "score" else fact, order=order)
        if r.rank and not r.ranking and len(models) > 2:  # "which of them is worst": the winner(s)
            args["top"] = r.top or 1
    if "rank_by" not in args:
        args["show"] = _scores_shown(r, ctx, task) if task else ["scores"]
        if task and re.search(r"\bwhich\b", r.low) and len(args["show"]) == 1 and not re.search(
                r"\b(?:higher|lower|better|worse|wins?|beats?|more|less|ahead)\b", r.low):  # "which of these scored on
            args["task"] = task  # sts?": those that did (not "which for sts and which for sentiment?")
        also = [f for f in r.facts if f in ("bytes", "parameters", "quantization", "format")]
        args["show"] += also + ["quantization"] * ("bytes" in also and "quantization" not in also)  # "does the
        # int8 copy save memory, and what does it cost?": its size on disk, and what its files store
    return Plan("query", [Call(QUERY, args)], question=r.text, models=models, task=task)


_MOST_KIN = re.compile(r"\b(most|fewest|least|(?:largest|biggest|highest|smallest) number of)\s+(?:\w+\s+)?"
                       r"(descendants?|children|child models|derivatives|fine-?tunes|offspring|derived models|kids)\b")


def _most_relatives(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"which root has the most descendants?", "which model has the most children?": the lake's
    models ranked by how many derive from each (the roots only when the question says so)."""
    m = _MOST_KIN.search(r.low)
    if models or not m or QUERY not in ctx.tools:
        return None
    kin = "children" if re.match(r"child|kids", m.group(2)) or re.search(r"\bdirect(?:ly)?\b", r.low) \
        else "descendants"
    args: dict[str, Any] = {"rank_by": f"count:{kin}", "order": "lowest" if m.group(1) in ("fewest", "least")
                            or m.group(1).startswith("smallest") else "highest", "top": 1}
    if re.search(r"\broots?\b|\bbase models?\b|\bfoundation", r.low):
        args["relation"] = "roots"
    return Plan("query", [Call(QUERY, args)], question=r.text)


_CLAIMS_BASE = re.compile(r"\b(?:claims?|declares?|names?|lists?|cites?|calls?)\s+(?:x|it|this|that|this model|"
                          r"that model|the winner)\s+(?:as|to be) (?:a |its |their |the )?(?:base|parent|base model|"
                          r"foundation)\b|\b(?:claims?|says?|declares?|states?) (?:to be |it(?:'s| is| was) |"
                          r"that it(?:'s| is| was) |they(?:'re| are| were) )?"
                          r"(?:derived|fine-?tuned|built|made|trained|based) (?:from|on) "
                          r"(?:x|it|this|that|this model|that model)\b")


def _declaring_it(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"does anything claim it as a base?": the models whose cards declare it their base model,
    then what their weights say of that (a claim the weights contradict is said so)."""
    if len(models) != 1 or QUERY not in ctx.tools or not _CLAIMS_BASE.search(r.low) or not re.search(
            r"\b(?:any|anything|anyone|which|what|who|models?|others?)\b", r.low):
        return None
    task = _named_task(r, ctx)
    if task or _HAS_RUNS.search(r.low):  # "... which have results stored, and what's their IFEval?": one query
        args: dict[str, Any] = {"base_model": models[0], **({"has_runs": True} if _HAS_RUNS.search(r.low) else {})}
        return Plan("query", [Call(QUERY, {**args, **({"show": [_score(r, ctx, task)]} if task else {})})],
                    question=r.text, models=[], task=task)
    return Plan("then", [Call(QUERY, {"base_model": models[0]})], then="relation:parents",
                then_question=r.text, question=r.text, models=models)


def _relation_of_winner(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"the parent of the best model on T": rank first, then the relation of the winner(s); "the
    models that tie for best on T: how is each related to X?": each winner's ancestry."""
    to_named = len(models) == 1 and r.relation == "family" and r.rank and re.search(
        r"\b(?:related|relation(?:ship)?|connected|linked) (?:to|with) x\b", r.low)
    if not (r.relation and r.relation != "roots" and (not models or to_named) and r.rank) or QUERY not in ctx.tools \
            or r.rank[0] == "confidence":  # "the shakiest inferred parent": the links ranked, not a winner's relative
        return None
    first = _query_plan(_without_relation(r), ctx, [])
    if not first.calls:
        return None
    first.kind, first.then, first.then_question = "then", f"relation:{'ancestors' if to_named else r.relation}", r.text
    return first


_STRUCTURED = {"license", "format", "architecture", "min_parameters", "max_parameters",
               "has_card", "quantized", "task", "has_weights"}


def _a_need(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"I need a small encoder for sentiment": the tool that reads a need in words."""
    if models or r.relation or r.rank or r.count or r.derivation:
        return None
    if not (r.asks_need or (r.need and r.listing and not _STRUCTURED & set(r.filters))):
        return None
    if r.listing and r.facts and not r.asks_need:  # "list the speech models with their licenses"
        return None
    reader = _reader(ctx)
    return _call_plan(r, ctx, reader, models) if reader is not None else None


def _quantized_from(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"is X quantized (and from what)?": what its files store, and the parent its weights show."""
    if len(models) != 1 or "quantization" not in r.aspects or r.relation not in (None, "parents") \
            or QUERY not in ctx.tools:
        return None
    shown = _tool_plan(r, ctx, models)
    if not shown.calls:
        return None
    shown.calls.append(Call(QUERY, {"relation": "parents", "of": models[0]}))
    return shown




_VIEW_ONLY = ("sparsity", "dtypes", "tied", "outliers", "config", "modules", "files", "tags", "library")
_RELATIVE = re.compile(r"\b(?:its|the|that|[\w./-]+'s)\s+(?:direct\s+)?(?:parent|base)(?:\s+model)?\b(?!\s+of\b)", re.I)


def _aspect_of_parent(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"what about its parent - any zeros there?": the parent found first, then the question
    asked of it (what only the model's own view shows: its zeros, dtypes, configuration)."""
    asked = [a for a in r.aspects if a in _VIEW_ONLY and (a != "sparsity" or re.search(r"\bzero|\bsparse", r.low))]
    if len(models) != 1 or r.relation != "parents" or not asked or QUERY not in ctx.tools or r.rank or r.count \
            or r.scored or _asks_cost(r) or _compares(r):
        return None
    rest = _RELATIVE.sub("it", r.text)
    if rest == r.text:
        return None
    return Plan("then", [Call(QUERY, {"relation": "parents", "of": models[0]})], then="ask_found",
                then_question=rest, question=r.text, models=models)


_JUDGE = (r"^\s*(?:so\s+|and\s+)?(?:is|isn't|are|aren't|would|could|will)\s+(?:that|this|it|those|these|they)\s+"
          r"(?:really\s+)?(?:a\s+|an\s+)?(?:problem|issue|ok|okay|fine|allowed|legal|concern|trouble|risk)\b|"
          r"\bshould i (?:worry|be worried|be concerned)\b")


def _judge_licenses(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"is that a problem?" after the licenses of models: each card checked (a license that
    differs from its parent's is flagged there)."""
    prev = ctx.prev
    if prev is None or r.names or not re.search(_JUDGE, r.low) or "license" not in _asked_before(prev):
        return None
    routed = route.score_tools(_as(r, "check the card of x"), [t for t in ctx.tools.values()
                                                                if t.name != QUERY and not t.mutating],
                               ctx.embedder, 1)
    targets = (prev.selection or prev.models)[:3]
    if not routed or routed[0].tool.needs != 1 or not targets:
        return None
    info = routed[0].tool
    calls = [Call(info.name, route.fill_args(info, r, [m])[0]) for m in targets]
    return Plan("tool", calls, question=r.text, models=targets)


_GRAND = r"\b(?:two|2) generations? (?:down|below|under|later|on)\b|\bgrand-?(?:children|child|kids?)\b"


def _grandchildren(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"which of those are two generations down?", "X's grandchildren": the children of its children."""
    prev = ctx.prev
    one = models[:1] if len(models) == 1 else (prev.models[:1] if prev is not None and not r.names and
                                                _relation_of(prev) in ("children", "descendants") else [])
    if not one or QUERY not in ctx.tools or r.rank or r.count or not re.search(_GRAND, r.low) or \
            re.search(r"\bchildren\b.{0,6}\bgrand|\beverything\b|\ball\b|\bdownstream\b|\bdescendants\b", r.low):
        return None
    return Plan("then", [Call(QUERY, {"relation": "children", "of": one[0]})], then="grandchildren",
                then_question=r.text, question=r.text, models=one)


def _kin_among(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"(is it) related to any of the enc models?" after a model: its family, which says whether
    any of them is in it."""
    subject = _subject(ctx.prev)
    if r.relation != "family" or len(r.names) < 3 or len(subject) != 1 or subject[0] in r.names or \
            QUERY not in ctx.tools or not re.match(r"\s*(?:(?:so|and|but|ok)\s*,?\s*)?(?:(?:is|was) (?:it|that) |"
                                                   r"(?:are|were) (?:they|those) )?(?:at all )?(?:related|connected|"
                                                   r"linked|kin)\b", r.low):
        return None
    return Plan("query", [Call(QUERY, {"relation": "family", "of": subject[0]})], question=r.text, models=subject)


_SHORT = re.compile(r"\b(?:fall|falls|fell|come|comes|came) short\b|\bnot (?:perfect|at the top|tied|on top)\b|"
                    r"\bbelow (?:that|them|the top|perfect|those|the best)\b|"
                    r"\bmiss(?:es|ed)? (?:it|that|the top|perfect)\b|"
                    r"\b(?:don't|didn't|doesn't) (?:reach|hit|get|make) (?:it|that|the top|perfect|there)\b")


def _short_of_top(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"who tops T?" - "which ones fall short of perfect then?": the same ranking without the
    models at the top, every one of them."""
    prev = ctx.prev
    q = prev.query if prev is not None else None
    if not q or not str(q.get("rank_by", "")).startswith("score") or not _SHORT.search(r.low) or r.names or \
            not prev.selection:
        return None
    args = {k: v for k, v in q.items() if k not in ("top", "names")}
    return Plan("query", [Call(QUERY, {**args, "exclude": list(prev.selection)})], question=r.text, task=prev.task)


def _relation_of_each(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"where does each of them come from?": the relation asked of each model in turn."""
    if len(models) < 2 or r.relation not in ("parents", "ancestors", "children", "descendants") or \
            QUERY not in ctx.tools or r.rank or r.count or not (re.search(
                r"\beach\b|\bevery\b|\brespectively\b|\bindividually\b|\b(?:all of them|them all)\b", r.low)
                or (r.them and not r.names and len(models) > 2)):
        return None
    calls = [Call(QUERY, {"relation": r.relation, "of": m}) for m in models[:6]]
    facts = [f for f in r.facts if f in PAIR_FACTS and f != "base_model"]
    if facts:  # "X vs Y: licenses, parents, and how each was made": the facts of each too
        calls.insert(0, Call(QUERY, {"names": models[:6], "show": facts}))
    return Plan("tool", calls, question=r.text, models=models[:6])


_SAME_AGAIN = (r"\b(?:same|identical|equal|matching)\s+(?:number|score|value|result|figure|accuracy|count|one)s?\b|"
               r"\b(?:ties?|tied|matches|hits? that|gets? that)\b")


def _same_value_again(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"does anything else hit the same number?": the models level with the one just answered
    about (its place in the task's ranking, ties named; or the models sharing the fact asked)."""
    prev = ctx.prev
    one = _subject(prev)
    if not one or prev is None or r.names or QUERY not in ctx.tools or not re.search(_SAME_AGAIN, r.low) or \
            not re.search(r"\b(?:else|others?|anything|any model|anyone|which|who)\b", r.low):
        return None
    shown = [x for c in prev.calls for x in (c.args.get("show") or []) if isinstance(x, str)]
    if prev.task and any(x.startswith("score:") for x in shown):
        return Plan("query", [Call(QUERY, {"rank_by": next(x for x in shown if x.startswith("score:")),
                                           "order": "best", "place_of": one[0]})],
                    question=r.text, models=one, task=prev.task)
    facts = [f for f in _asked_before(prev) if f != "task"]
    if not facts:
        return None
    return Plan("query", [Call(QUERY, {"same_as": one[0], "same": facts[:1]})], question=r.text, models=one)


def _how_sure(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"how confident is that?" after a relation answer: the same calls again (their answer
    gives each link's confidence and what it rests on)."""
    prev = ctx.prev
    one_listed = len(models) == 1 and prev is not None and models[0] in prev.selection
    if prev is None or (r.names and not one_listed) or not re.search(r"\bhow (?:confident|sure|certain|reliable|"
                                                                      r"solid|strong|firm|"
                                                  r"trustworthy|good)\b|\bconfidence\b", r.low) or \
            not _relation_of(prev) or not prev.calls:
        return None
    if one_listed and models[0] not in prev.models and QUERY in ctx.tools:
        r.relation = None  # "the topic one - how solid is that link?": its link to its parent
        return Plan("query", [Call(QUERY, {"relation": "parents", "of": models[0]})], question=r.text,
                    models=models)
    return Plan(prev.kind, [Call(c.tool, dict(c.args)) for c in prev.calls], question=r.text,
                models=list(prev.models), then=prev.then)


# -- the models a question is about ------------------------------------------------------------
def _models(r: Reading, prev: Plan | None) -> list[str]:
    """The models the question is about: named, pointed at ("it", "them", "the second one",
    "that one", "the other one"), or named only by a word of their name ("the merge")."""
    if r.names:
        return _named_and_pointed(r, prev)
    if r.comparative and prev is not None and len(prev.selection) > 1:  # "which is bigger?"
        return list(prev.selection)
    pointed = _pointed(r, prev) if prev is not None else []
    if pointed:
        return pointed
    if r.weak and r.derivation and r.listing and re.search(_MADE_SO, r.low):
        return []  # "is there a pruned model in here?": models made so, not the one named "pruned"
    if r.weak and r.listing and not r.relation and not r.derivation and not _the_word(r):
        return []  # "legal asked me: which models are NC?": a word of a name, the question is lake-wide
    return list(r.weak) if r.weak and _needs_model(r) and not r.rank and not r.asks_need else []


_WAS_MADE = r"\b(?:was|were|is|are|got|been)\s+(?:\w+\s+)?(?:fine[- ]?tuned|finetuned|pruned|merged)\b"
_MADE_SO = r"\b(?:merged|pruned|fine[- ]?tuned|finetuned)\s+(?:\w+\s+)?(?:models?|checkpoints?|versions?)\b"


def _named_and_pointed(r: Reading, prev: Plan | None) -> list[str]:
    names = list(r.names)
    if r.weak and (_asks_cost(r) or _compares(r)):  # "did the merge beat X?", "merge vs X"
        names += [w for w in r.weak if w not in names and _named_by_word(r, w)]
    if r.it and prev is not None and (r.relation or _compares(r) or re.search(_NEXT_TO, r.low)) \
            and _it_first(r):  # "is it related to X?", "its params next to X?"
        subject = prev.selection[:1] if len(prev.selection) == 1 else prev.models[:1]
        names = [n for n in subject if n not in names] + names
    return names


_NEXT_TO = r"\b(?:next to|beside|alongside|compared (?:to|with)|relative to|against|versus|vs\.?)\s+x\b"


def _named_by_word(r: Reading, model: str) -> bool:
    """Whether a word of ``model``'s name stands for it in a comparison: "the merge",
    "paraphrase's score", "merge vs X", "against the paraphrase"."""
    w = re.escape(model.split("-")[-1].lower())
    return re.search(rf"\b(?:the|that|this) {w}\b|\b{w}'s\b|\b{w}\s+(?:vs\.?|versus|against)\b|"
                     rf"\b(?:vs\.?|versus|against|than)\s+(?:the\s+)?{w}\b", r.low) is not None


def _besides(r: Reading, models: list[str]) -> list[str]:
    """The models a lake-wide question leaves out: "besides X", "other than X", "except X"."""
    if not models or not re.search(r"\b(?:besides|other than|except(?: for)?|apart from|excluding|"
                                   r"aside from)\s+x\b", r.low):
        return []
    return [m for m in models if m in r.names]


def _it_first(r: Reading) -> bool:
    """Whether "it" comes before the model named ("is it related to X?"), not after it ("X, did
    it cost accuracy?", where "it" is X)."""
    from modellake.agent.planner.reading import IT

    it, named = re.search(IT, r.low), re.search(r"\bx\b", r.low)
    return it is not None and (named is None or it.start() < named.start())


def _one_by_word(r: Reading, prev: Plan) -> list[str]:
    """"the google one", "the Italian one": the one model of the last answer a word of its
    name fits (a word that starts with a name's part: "italian" and "...-Ita")."""
    m = re.search(r"\b(?:the|that) (non-?[a-z][a-z0-9.]{1,20}|[a-z][a-z0-9.]{1,20})(?:[- ](?:based|built|derived|"
                  r"made|tuned))? (?:one|model|checkpoint)\b", r.low)  # "the Mistral-based one"
    if not m or not (prev.selection or prev.listed):
        return []
    w = m.group(1)
    non = re.search(r"\b(?:the|that) non-?([a-z][a-z0-9.]{1,20})(?:[- ]based)? (?:one|model|checkpoint)\b", r.low)
    if non:  # "the non-whisper one": the one of the last list whose name lacks the word
        fits = [n for n in dict.fromkeys([*prev.selection, *prev.listed]) if non.group(1) not in n.lower()]
        return fits if len(fits) == 1 else []
    if re.fullmatch(r"quanti[sz]ed|quant", w):  # "the quantized one": the one whose name says so
        fits = [n for n in dict.fromkeys([*prev.selection, *prev.listed]) if _named_quantized(n)]
        return fits if len(fits) == 1 else []
    fits = [n for n in dict.fromkeys([*prev.selection, *prev.listed]) if any(
        t == w or (len(t) >= 3 and (w.startswith(t) or t.startswith(w)))
        for t in re.split(r"[^a-z0-9]+", n.lower()) if t)]
    return fits if len(fits) == 1 else []


_WINNER = r"\bthe (?:winner|leader|top (?:one|model|scorer)|(?:best|highest)[- ](?:scoring|ranked) (?:one|model))\b"


_PLACE_NO = re.compile(r"(?<![\w#])#\s?(\d+)")  # "#1", "# 3": a place in the last ranking


def _pointed(r: Reading, prev: Plan) -> list[str]:
    if r.relation == "parents" and _relation_of(prev) in ("parents", "ancestors") and prev.selection and \
            re.search(r"\b(?:the|that|this) (?:parent|base)(?: model)?\b(?!\s+(?:of|that|which|with))", r.low) and \
            not re.search(r"\b(?:its|their|x's) (?:own )?(?:parent|base)|\bgrand", r.low):
        r.relation = None  # "what's X's parent?" - "how does the parent do on T?": the one just found
        return list(prev.selection)
    by_word = _one_by_word(r, prev)
    if by_word:
        return by_word
    rest = re.search(r"\bthe (?:other|remaining) (?:two|three|four|ones|models)\b|\bthe others\b|\bthe rest\b",
                     r.low)
    pool = prev.listed if len(prev.listed) > 2 else prev.selection
    if rest and len(pool) > 2:  # "what about the other two?": the rest of the last list
        gone = {prev.focus, *prev.models[:1], *(prev.selection if pool is not prev.selection else [])}
        others = [n for n in pool if n not in gone]
        if others:
            return others
    if r.other and len(prev.selection) == 2 and (prev.focus or prev.models):  # "what about the other one?"
        this = prev.focus if prev.focus in prev.selection else prev.models[0] if prev.models else None
        rest = [n for n in prev.selection if n != this]
        if len(rest) == 1:
            return rest
    if r.other and len(prev.listed) == 2 and (prev.focus or len(prev.selection) == 1):
        this = prev.focus or prev.selection[0]  # "the other one" of the last pair an answer listed
        rest = [n for n in prev.listed if n != this]
        if len(rest) == 1:
            return rest
    hashed = [int(m.group(1)) for m in _PLACE_NO.finditer(r.text)
              if len(m.group(1)) <= 2 and not re.match(r"\w", r.text[m.end():m.end() + 1])]
    pool = prev.ranked if len(prev.ranked) > 1 else prev.selection
    if hashed and all(1 <= n <= len(pool) for n in hashed):  # "is the gap between #1 and #2 real?"
        r.rank = r.ranking = None
        return list(dict.fromkeys(pool[n - 1] for n in hashed))
    few = re.search(TOP_OF, r.low)
    if few and len(prev.selection) > 2:  # "is the gap between the top two real?"
        n = {"two": 2, "three": 3}.get(few.group(2)) or int(few.group(2))
        return list(prev.selection[:n] if few.group(1) in ("top", "first") else prev.selection[-n:])
    ranked = last_ranking(prev)
    if len(ranked) > 1 and re.search(_WINNER, r.low):
        r.rank = None  # "does the winner have a card?": the first of the last ranking, no new ranking
        return ranked[:1]
    if r.ordinal is not None and len(prev.ranked) > 2 and re.search(r"\b(?:place|spot|position)\b", r.low):
        i = r.ordinal  # "the one in last place": of the last ranking, though answers came since
        return [prev.ranked[i]] if -len(prev.ranked) <= i < len(prev.ranked) else []
    if r.ordinal is not None and (prev.selection or prev.listed):
        i = r.ordinal  # "the second": of the answer's list, else of the last list an answer gave
        among = prev.selection if len(prev.selection) > 1 or not prev.listed else prev.listed
        return [among[i]] if -len(among) <= i < len(among) else []
    both = list(dict.fromkeys([*prev.models[:1], *prev.selection]))
    if re.search(r"\bboth\b|\bthe two\b", r.low) and len(both) == 2 and len(prev.selection) < 2:
        return both  # "sts-smoke for both?" after "what is X derived from?": X and its parent
    lately = list(dict.fromkeys([*prev.recent, *prev.selection]))
    if re.search(r"\b(?:both|the two|these two|those two)\b", r.low) and len(lately) >= 2 and len(prev.selection) < 2:
        return lately[-2:]  # "which of the two is bigger?" after one model, then another
    if re.search(r"\bit\b", r.low) and r.that_one and prev.models and prev.selection and \
            prev.models[0] not in prev.selection and not re.search(_QUALIFIED, r.low):
        return [prev.models[0], prev.selection[0]]  # "how was it made from that one?"
    if r.them and len(prev.selection) == 1 and len(prev.models) == 1 and prev.models[0] not in prev.selection \
            and _compares(r) and prev.query and prev.query.get("relation"):  # "compare their licenses" after
        return [prev.models[0], prev.selection[0]]  # "anything else on that same base?": the pair
    subject = prev.focus or (prev.models[0] if len(prev.models) == 1 else None)
    if r.it and r.them and subject and len(prev.selection) > 1 and subject not in prev.selection and \
            re.search(r"\bit\b.*\b(?:them|both|each|either|those|these)\b", r.low):
        return [subject, *prev.selection]  # "does it beat both of them?": the model and the ones just named
    if (r.them or (re.search(r"\bwhich one\b", r.low) and not r.rank)) and len(prev.selection) > 1:
        return list(prev.selection)  # "which one has a card?" after two models: either of them
    if r.them and len(prev.recent) > 1 and (re.search(r"\b(?:two|both)\b", r.low) or len(prev.listed) < 2):
        return list(prev.recent[-2:])  # "which of the two?" after two one-model questions
    if r.them and len(prev.listed) > 1:  # "which of those...?": the last list an answer gave
        return list(prev.listed)
    if r.that_one and len(prev.selection) == 1:  # "that one": the model the answer named
        return list(prev.selection)
    if r.it and r.relation and r.relation == _relation_of(prev) and len(prev.selection) == 1 and \
            not re.search(r"\bhow much\b", (prev.question or "").lower()) and \
            re.search(r"\bgrand\w*|\b(?:its|their|the|that one's)\s+(?:\w+\s+)?(?:parents?|base|child|children|"
                      r"ancestors?|descendants?|siblings?)\b", r.low):
        return list(prev.selection)  # "and its parent?" after a parent: the grandparent
    if (r.it and (not (r.rank and not r.relation) or re.search(r"\bits\b", r.low))) or (
            (r.opener or not r.content_words or _bare_fact(r) or _bare_score(r)) and not _lake_wide(r)):
        if prev.focus and not (r.relation and prev.models):  # "and its children?": same subject
            return [prev.focus]
        if len(prev.selection) == 1 and len(prev.models) > 1:  # "which of them is quantized?" found one
            return list(prev.selection)
        if prev.models:
            return list(prev.models[:1])
        if len(prev.selection) == 1:
            return list(prev.selection)
    return []


def _bare_score(r: Reading) -> bool:
    """"gsm8k score?", "its squad_v2 numbers?": a score on a named task and nothing else, asked of
    the model just discussed."""
    if not (r.scored and r.task_words) or r.names or r.relation or r.rank or r.count or r.listing:
        return False
    task = set(re.findall(r"[a-z]+", r.task_words))
    return all(w in task or w in SCORE_WORDS for w in r.content_words)


def _bare_fact(r: Reading) -> bool:
    """"datasets?", "license of the base?": a fact and nothing else, asked of the model just
    discussed."""
    if r.relation or r.rank or r.count or r.listing or not (r.facts or r.aspects):
        return False
    from modellake.tools.model_view import ASPECTS
    from modellake.tools.query.facts import BY_NAME

    said = [w for f in r.facts for w in BY_NAME[f].words] + [w for a in r.aspects for w in ASPECTS[a]]
    words = {w for w in re.findall(r"[a-z]+", " ".join(said))}
    rest = [w for w in r.content_words if w.rstrip("s") not in words and w not in words
            and w not in _LIGHT and len(w) > 1]  # "what's the vocab": no word but the fact's
    return len(rest) == 0


_LIGHT = frozenset("base parent declared declare declares say says does card claim claims "
                   "confident sure much got get gets were was exactly fraction share percent "
                   "ok okay so then".split())


def last_ranking(prev: Plan | None) -> list[str]:
    """The last ranking of several models an answer gave, up to the previous one."""
    if prev is None:
        return []
    q = prev.query or {}
    if q.get("rank_by") and (q.get("top") or 0) != 1 and len(prev.selection) > 2:
        return list(prev.selection)
    return list(prev.ranked)


def focus(p: Plan, chained: bool = False) -> str | None:
    """The one model an answer was about: the parent or child a relation question found, the
    winner of a ranking, the best search hit, else the one model the question named."""
    q = p.query or {}
    first = p.calls[0].tool if p.calls else ""
    if q.get("relation") == "parents" and len(p.models) == 1 and _keeps_subject(p.question, chained):
        return p.models[0]  # "pruned from what?", "smaller than its parent's?": still about it
    if q.get("relation") and q.get("relation") != "roots":
        return p.selection[0] if len(p.selection) == 1 else (p.models[0] if p.models else None)
    if (q.get("rank_by") and (q.get("top") == 1 or len(q.get("names") or []) == 2)) or \
            first in ("search", "leaderboard", "similar"):  # "which of the two is smaller?": that one
        return p.selection[0] if p.selection else None
    if len(p.models) == 1:
        return p.models[0]
    return p.selection[0] if len(p.selection) == 1 else None


_FROM_VERB = (r"\b(?:from what|from which|(?:made|derived|built|pruned|quantized|quantised|merged|fine-?tuned|"
              r"distilled|tuned|trained|converted|come|came|comes)\s+(?:\w+\s+)?from)\b")


def _keeps_subject(question: str, chained: bool = False) -> bool:
    """Whether a question about a model's parent stays about the model: it asks how the model was
    made ("pruned from what?") or sets it against its parent ("smaller than its parent's?"), not
    for the parent itself ("what's the parent of X?"). The last part of a chain ("which is
    quantized, and what was it made from?") ends on the relative it found."""
    low = question.lower()
    if re.search(r"\bhow much\b.*\b(?:pruned|zeroed|quantized|quantised|changed)\b", low):
        return True  # "how much of it got zeroed out?": the model's own derivation, still about it
    return bool(re.search(r"\bits (?:parent|base)(?: model)?'s\b", low) or (
        not chained and re.search(_FROM_VERB, low) and not re.search(r"\b(?:parent|base model|ancestor)s?\b", low)))


def _relation_of(prev: Plan) -> str | None:
    q = prev.calls[0].args if prev.calls else {}
    return q.get("relation") if isinstance(q, dict) else None


def _needs_model(r: Reading) -> bool:
    """A question about one model that names it only by a word ("the pruned copy", "the merge")."""
    return bool(r.relation and r.relation != "roots") or bool(r.aspects) or bool(
        re.search(r"\b(?:the|that|this) \w+ (?:copy|version|model|one)\b", r.low)) or _the_word(r)


def _the_word(r: Reading) -> bool:
    """A weakly named model pointed at with its word ("the merge", "that pruned")."""
    return any(re.search(rf"\b(?:the|that|this) {re.escape(w.split('-')[-1].lower())}\b", r.low) for w in r.weak)


def _named_quantized(name: str) -> bool:
    from modellake.tools.model_view import name_facts

    return "quantization" in name_facts(name)


def _gerund_of(r: Reading) -> str | None:
    """The derivation named as something done to the model: "quantizing x", "pruning x"."""
    m = re.search(r"\b(quantiz|quantis|prun|merg|fine[- ]?tun|finetun|distill)\w*(?:ing\s+(?:the\s+)?x|"
                  r"(?:ation|ing)?\s+(?:do|did|does)\s+to\s+x|(?:ation|ing)\s+of\s+x)\b", r.low)
    if not m:
        return None
    return {"quantiz": "quantized", "quantis": "quantized", "prun": "pruned", "merg": "merge",
            "distill": "finetune"}.get(m.group(1), "finetune")


def _without_relation(r: Reading) -> Reading:
    return dataclasses.replace(r, relation=None, facts=[], aspects=[])


def _reader(ctx: Context) -> route.ToolInfo | None:
    """The tool that reads a need in the user's own words (a text parameter, no model needed)."""
    return next((t for t in ctx.tools.values() if not t.mutating and t.needs == 0 and
                 "query" in t.parameters.get("properties", {})), None)


def _lake_wide(r: Reading) -> bool:
    return bool(r.count or (r.rank and not r.relation) or r.listing)


def _asks_anything_new(r: Reading) -> bool:
    return bool(r.relation or r.rank or r.count or r.facts or r.aspects or r.comparative or (
        r.derivation and re.search(_WAS_MADE, r.low)))


def _reply(r: Reading, text: str, models: list[str] | None = None) -> Plan:
    return Plan("reply", reply=text, question=r.text, models=models or [])


# -- changes ------------------------------------------------------------------------------------
_READ_NOUNS = r"(?:(?:a|an|the|my|our) )?(?:\w+ )?(?:comparisons?|results?|numbers|scores?|figures|tables?|summary|" \
              r"overview|report|audit|query|search|diff|check)\b"


def _reading_noun(r: Reading, ctx: Context, info: route.ToolInfo, hit: str) -> bool:
    """"run a lineage audit", "benchmark comparison of A and B": the change's word is said of a
    reading tool's work, not as an order to change the lake."""
    after = " ".join(r.low[r.low.find(hit) + len(hit):].split()[:3])
    return not route.word_hit(after, info.words) and bool(re.match(_READ_NOUNS, after) or any(
        route.word_hit(after, t.words) for t in ctx.tools.values() if not t.mutating))


_A_MODEL_OBJECT = re.compile(r"(?:\S+\s+){0,3}?(?:models?|checkpoints?|it|them|this|that|these|those|files?|weights|"
                             r"x|y|z|folders?|dir\w*|gguf|safetensors)\b")


def _no_model_object(r: Reading, info: route.ToolInfo, hit: str) -> bool:
    """"we want to add a reranking step to our pipeline": a tool that stores files, said of no
    file, path or model: not an order to change the lake."""
    if "path" not in info.parameters.get("properties", {}) or r.paths:
        return False
    after = " ".join(r.low[r.low.find(hit) + len(hit):].split()[:5])
    return not _A_MODEL_OBJECT.match(after)


def _mutating(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    from modellake.agent.planner.reading import own_words

    own = own_words(r.text).lower()  # quoted passages and "Assistant: ..." never change the lake
    reads = [route.word_hit(r.low, t.words) for t in ctx.tools.values() if not t.mutating]
    if any(h and len(h.split()) >= 2 for h in reads):  # "run a card check": a reading tool's phrase
        return None
    for info in ctx.tools.values():
        hit = route.word_hit(r.low, info.words) if info.mutating else None
        if not hit or not route.imperative(r.low, hit) or not route.word_hit(own, [hit]):
            continue
        if _reading_noun(r, ctx, info, hit) or _no_model_object(r, info, hit):
            continue
        exact = [n for n in r.exact if n in models] or r.exact
        args, _ = route.fill_args(info, r, exact, _task(r, ctx))
        props = info.parameters.get("properties", {})
        if "path" in props:  # a tool that reads a path stores under the name given ("as NAME")
            exact, args = [], {"path": r.paths[0]} if r.paths else {}
            new = _new_name(r.text, [])
            if new and "name" in props and new not in r.paths:
                args["name"] = new
        elif "new" in props:
            new = _new_name(r.text, exact)
            if new:
                args["new"] = new
        missing = [p for p in info.parameters.get("required", []) if p not in args]
        if missing or (info.needs and not exact and "path" not in props):
            what = "the exact name of a model in the lake" if info.needs and not exact else join(
                [_PARAM_WORDS.get(m, m) for m in missing])
            said = (f"I did not {hit} anything: changing the lake needs {what}. "
                    "Which model (its exact name), and what should happen to it?")
            rest = _and_then_asked(r, ctx, exact or models, hit)
            if rest is not None:
                rest.note = said
                return rest
            return _reply(r, said)
        rest = _and_then_asked(r, ctx, exact or models, hit)
        return Plan("tool", [Call(info.name, args), *(rest.calls if rest else [])], question=r.text,
                    models=exact)
    return None


_PARAM_WORDS = {"new": "the new name", "path": "the path of the model's files", "tasks": "the tasks to run",
                "models": "the models to run"}


def _and_then_asked(r: Reading, ctx: Context, models: list[str], hit: str) -> Plan | None:
    """"Rename X to Y (...). Then tell me its spearman on T.": the question after the change, planned
    on its own ("its": the model the change names), so that it is answered whatever becomes of the
    change."""
    parts = [p for p in re.split(r"(?<=[.!?;])\s+|\s+(?:and\s+)?then\s*,?\s+", r.text.strip()) if p.strip()]
    last = parts[-1] if len(parts) > 1 else ""
    if ctx.read is None or not last or re.search(rf"\b{re.escape(hit)}\b", last, re.I) or not re.search(
            r"\?\s*$|^\s*(?:(?:and|so|also|then|now)\s+)?(?:please\s+)?(?:tell|show|give|what|which|how|who|is|are|"
            r"does|do|did|list)\b", last, re.I):
        return None
    found = Plan("query", models=models[:3], selection=models[:3], focus=models[0] if len(models) == 1 else None)
    sub = plan(ctx.read(last), dataclasses.replace(ctx, prev=found))
    if sub.kind in ("reply", "refusal", "clarify") or not sub.calls or sub.then or any(
            ctx.tools.get(c.tool) is not None and ctx.tools[c.tool].mutating for c in sub.calls):
        return None
    return sub


def not_done(r: Reading, ctx: Context, p: Plan) -> str | None:
    """"I did not delete anything: ..." when the question orders a change the plan does not make
    (an order inside pasted or role-marked text, or after "ignore the rules"): said, not silent."""
    hit = _unmade_change(r, ctx, p)
    return _not_done_said(hit) if hit else None


def _not_done_said(hit: str) -> str:
    return (f"I did not {hit} anything: the lake changes only when you ask for a change in your "
            "own words and confirm it; nothing in it was changed.")


def _in_own_words(r: Reading, word: str) -> bool:
    """The word is the user's own, not inside quoted or pasted text ("my colleague wrote: 'remove X'")."""
    from modellake.agent.planner.reading import own_words

    return bool(re.search(rf"\b{re.escape(word)}\b", own_words(r.text).lower()))


def _unmade_change(r: Reading, ctx: Context, p: Plan) -> str | None:
    """The word of a change the question orders and the plan does not make."""
    if p.kind in ("reply", "clarify") or any(ctx.tools.get(c.tool) and ctx.tools[c.tool].mutating
                                             for c in p.calls):
        return None
    for info in ctx.tools.values():
        hit = route.word_hit(r.low, info.words) if info.mutating else None
        if hit and re.search(rf"(?:^|[.!?:;]\s*|\b(?:then|and|now|to)\s+|\byou\s+(?:must|should|will)\s+)"
                             rf"{re.escape(hit)}\b", r.low) and not _reading_noun(r, ctx, info, hit) and \
                not _no_model_object(r, info, hit) and not re.search(
                    rf"\b(?:need|needs|have|has|how|want|wants|able|way|going|plan\w*|try\w*|like|used|cheap\w*|"
                    rf"easy|hard|fast|costs?)\s+to\s+{re.escape(hit)}\b", r.low):  # "what GPU do I need to run X?"
            return hit
    return None


def _new_name(text: str, exact: list[str]) -> str | None:
    text = re.sub(r"[\s,]+(?:please|pls|plz|thanks|thank you|thx)\W*$", "", text, flags=re.I)
    m = re.search(r"\b(?:to|as|into)\s+[`'\"]?([\w./@-]+)[`'\"]?\s*[.!?]?\s*$", text)
    if m and m.group(1) not in exact:
        return m.group(1).rstrip(".,;:!?")
    return None


# -- lake queries -------------------------------------------------------------------------------
def _is_query(r: Reading, models: list[str], ctx: Context | None = None) -> bool:
    if len(models) == 1 and "modules" in r.aspects:  # "X: which module group is biggest?"
        return False
    if r.group_by and len(models) != 1:  # "how many models of each architecture?"
        return True
    if not models and r.filters and re.search(r"\b(?:compare|contrast)\b", r.low):  # "contrast the bert models"
        return True
    if r.relation or r.count or r.rank or r.ranking or (r.comparative and len(models) > 1):
        return True
    if len(models) > 2 and _compares(r):  # "how do they differ?" of several: a table of them
        return True
    if models and r.scored and (r.task_words or not r.aspects):  # "how did X do on sts-smoke?"
        return True
    if models and r.scored and r.aspects == ["results"] and ctx is not None and _task(r, ctx):
        return True  # "sentiment-smoke accuracy of X?": a lake task's score, not the card's
    if not models and (r.facts or r.aspects) and r.filters:  # "how big is the gguf model?"
        return True
    if not models and r.score_bounds and ctx is not None and _task(r, ctx):  # "everything that hits 0.95 on T"
        return True
    if len(models) >= 2 and (r.facts or r.aspects) and not (
            set(r.facts) <= {"has_card"} and re.search(_CARD_SAYS, r.low)) and not (
            not r.facts and set(r.aspects) <= {"files", "results", "modules", "sparsity"} and _compares(r)):
        return True  # (not "compare X and Y on the benchmarks", "diff X vs Y: how many tensors changed?")
    if models and _purpose(r):  # "which of those is for function calling?"
        return True
    if models and "purpose" in r.facts:  # "what's X for?": the card's own words, a fact only the query shows
        return True
    if len(models) > 1 and r.derivation and re.search(_WAS_MADE, r.low):  # "which of them was pruned?"
        return True
    return r.listing and not models


def _score(r: Reading, ctx: Context, task: str) -> str:
    """``score:TASK``, with ``:METRIC`` when the question names one of the task's metrics
    ("pearson", "ndcg@10" for ndcg_at_10, "em" for exact_match)."""
    metric = _metric_named(r, ctx.lake.metrics.get(task, ()))
    return f"score:{task}" + (f":{metric}" if metric else "")


def _metric_named(r: Reading, metrics: Any) -> str | None:
    """The one of ``metrics`` the question names, the longest when several fit."""
    said = _metrics_named(r, metrics)
    return max(said, key=len) if said else None


def _metrics_named(r: Reading, metrics: Any) -> list[str]:
    """The ``metrics`` the question names ("em / f1": exact_match and f1), none inside another."""
    low = " " + re.sub(r"[@/-]", "_", r.low.replace("@", "_at_")) + " "
    said = [m for m in metrics if re.search(rf"(?<![a-z0-9]){re.escape(m.lower())}(?![a-z0-9])",
                                            low.replace(" ", "_") if "_" in m else low)
            or (m.lower() == "exact_match" and re.search(r"\bem\b", r.low))]
    if r.metric and r.metric in metrics and r.metric not in said:
        said.append(r.metric)
    if not said and (r.scored or r.rank):  # "its stsbenchmark spearman": cos_sim_spearman, the first ending so
        words = set(re.findall(r"[a-z0-9]+", r.low))
        ends = [m for m in metrics if "_" in m and m.lower().rsplit("_", 1)[1] in words
                and m.lower().rsplit("_", 1)[1] not in ("score", "main", "value", "at", "k", "match")]
        said = ends[:1]
    return [m for m in said if not any(m != o and m in o for o in said)]


_EVERY_TASK = (r"\b(?:on|across|over|for|in) (?:the |all (?:the )?|each (?:of the )?|every |our )?(?:[\w-]+ ){0,2}"
               r"(?:tasks|benchmarks)\b|\b(?:each|every|per) (?:task|benchmark)\b")


def _scores_shown(r: Reading, ctx: Context, task: str) -> list[str]:
    """``score:TASK:METRIC`` for each metric the question names, else the task's own score;
    every score when the question asks of the tasks ("where does each win on the smoke tasks?")."""
    if re.search(_EVERY_TASK, r.low):
        return ["scores"]
    listed = _tasks_listed(r, ctx) if re.search(r"\band\b|,", r.low) else []
    if len(listed) >= 2 and task in listed:  # "how did it score on topic and on sentiment?"
        return [f"score:{t}" for t in listed]
    metrics = list(ctx.lake.metrics.get(task, ()))
    named = _metrics_named(r, metrics)
    if not named and len(metrics) > 1 and re.search(r"\b(?:numbers|metrics|scores|results|all (?:the )?"
                                                    r"(?:numbers|metrics|scores))\b", r.low):
        named = metrics  # "its squad_v2 numbers?": every metric of the task
    return [f"score:{task}:{m}" for m in named] if len(named) > 1 else [_score(r, ctx, task)]


def _task(r: Reading, ctx: Context) -> str | None:
    """The lake task the question names (read once per question; see :func:`_read_task`)."""
    key = (r.low, r.task_words, r.them, r.it, r.opener)
    if key not in ctx.task_of:
        ctx.task_of[key] = _read_task(r, ctx)
    return ctx.task_of[key]


def _named_task(r: Reading, ctx: Context) -> str | None:
    """The lake task the question itself names (a word of its name is in it), not one carried over
    from the question before."""
    task = _task(r, ctx)
    return task if task and any(w in r.low for w in re.split(r"[^a-z0-9]+", task.lower()) if len(w) > 2) else None


def _read_task(r: Reading, ctx: Context) -> str | None:
    """The lake task the question names, if any (by its words or their meaning); else the one
    the previous question was about, for a question that points back ("which of the two is
    better?")."""
    near = re.search(r"\b([a-z][\w-]+) (?:accuracy|f1|scores?|spearman|performance|results?)\b", r.low)
    if near and near.group(1) not in ("its", "the", "their", "x", "y", "best", "worst", "top"):
        t = ctx.lake.resolve_task(near.group(1))  # "its sentiment accuracy"
        if t:
            return t
    if r.task_words:  # by meaning only when the question is about scores at all
        about_scores = bool(r.scored or r.rank or r.ranking or r.comparative or _asks_cost(r))
        t = ctx.lake.resolve_task(r.task_words, lexical=not about_scores)
        if t:
            return t
    words = " ".join(w for w in re.findall(r"[\w./@-]+", r.low) if w not in TASK_STOP)  # not "does it match"
    t = ctx.lake.resolve_task(words, lexical=True) if words else None
    if t is None and ctx.prev is not None and (r.them or r.it or r.opener or r.that_one or re.search(
            r"\bthere\b|\bsame task\b|\bthat task\b", r.low) or _PLACE_NO.search(r.low) or (
                ctx.same_question and _about_scores(r))):
        return ctx.prev.task
    return t


def _about_scores(r: Reading) -> bool:
    return bool(r.scored or (r.rank and r.rank[0] == "score") or r.comparative or _asks_cost(r))


def _org_models(r: Reading, ctx: Context) -> list[str]:
    """"the openai models", "models by BAAI": the lake's models under that organisation."""
    orgs = {n.split("/", 1)[0].lower() for n in ctx.lake.names if "/" in n}
    said = [org for org in sorted(orgs) if re.search(rf"(?<![\w-]){re.escape(org)}/(?![\w.-])", r.low)]
    if said:  # "the facebook/ and openai/ models": their namespaces
        return [n for n in ctx.lake.names if n.lower().split("/", 1)[0] in said and "/" in n]
    if not orgs:
        return []
    org = "(?:" + "|".join(re.escape(o) for o in sorted(orgs, key=len, reverse=True)) + ")(?:'s)?"
    listed = re.search(rf"(?<![\w/.-]){org}(?:\s*(?:,|or|and|&)\s*{org})*\s+(?:[\w-]+\s+)?(?:models?|checkpoints?|"
                       rf"ones)\b|\b(?:models?|checkpoints?) (?:from|by|of) {org}(?:\s*(?:,|or|and|&)\s*{org})*",
                       r.low)  # "the microsoft or openai models", "models by BAAI": not "amazon polarity"
    named = [o for o in orgs if listed and re.search(rf"(?<![\w/.-]){re.escape(o)}(?![\w/.-])", listed.group(0))]
    return [n for n in ctx.lake.names if "/" in n and n.lower().split("/", 1)[0] in named]


def _query_plan(r: Reading, ctx: Context, models: list[str]) -> Plan:
    if r.relation == "family" and not models:  # "which of the family models ...": the lake
        r.relation = None
    if not models and not r.relation and (org := _org_models(r, ctx)):
        models = org  # "list the openai models": named by their organisation
    if not models and not r.relation and (kin := _kin(r, ctx)):
        models, r.relation = [kin], "descendants"  # "the MiniLM-derived models": what derives from its root
    args: dict[str, Any] = {k: v for k, v in r.filters.items() if k != "task"}
    if "quantized" in args and re.search(r"\b(?:is|was|are|were) (?:it|that|this|they|that one|x) (?:\w+ )?"
                                         r"(?:quanti[sz]ed|a quant)\b", r.low):
        args.pop("quantized")  # "how many parameters does it have and is it quantized?": asked, not a filter
        r.facts = [*r.facts, "quantization"] if "quantization" not in r.facts else r.facts
    if args.get("license") == "none" and re.search(r"\b(?:what|which) licen[cs]e\b", r.low):
        args.pop("license")  # "X has no license - what license does its base have?": asked, not a filter
    task = _task(r, ctx)
    if task and "results" in r.aspects and not r.scored and re.search(r"\bresults\b", r.low):
        r.scored = True  # "which of them have sts-smoke results?": their scores on the task
    if not models and not r.relation and not task:
        _runs_args(r, args)
    if r.derivation and not r.relation and not r.group_by and (re.search(r"\b(?:produced|made|created|derived|obtained)"
                                                      r"\b|\bby (?:quantiz|prun|merg|fine)", r.low) or (
            r.derivation in ("merge", "pruned", "finetune") and (re.search(_MADE_SO, r.low) or (
                len(models) > 1 and re.search(_WAS_MADE, r.low))))):  # "a merged model", "which of them was pruned"
        args["derivation"] = r.derivation  # "which models were produced by quantization?"
        args.pop("quantized", None)
        r.facts = [f for f in r.facts if f not in ("quantization", "format")]
        r.aspects = [a for a in r.aspects if a not in ("quantization", "format")]
    if r.filters.get("task") and not task:
        args["task"] = r.filters["task"]
    elif not task and not models and not r.relation:
        words = _need_words(r)
        if words:  # "which sentiment model ...": models whose card speaks of it
            args["text"] = words
    if not task and (r.relation or r.them or models) and _purpose(r):
        args["text"] = _purpose(r)  # "of X's derivatives, which one is for italian?"
    if r.relation == "roots" and models:  # "trace X back to its root": X's ancestry
        r.relation = "ancestors"
    if r.relation in ("children", "descendants") and not models and r.unknown:
        args["base_model"] = r.unknown  # "fine-tuned from X" (X not in the lake): what cards say
        return Plan("query", [Call(QUERY, args)], question=r.text, models=[])
    if r.relation:
        if r.relation != "roots":
            pointed = (r.it or r.them) and bool(_subject(ctx.prev))  # "does either of them have a parent ..."
            lake_wide = r.relation in ("parents", "ancestors") and not pointed and re.search(_WHOLE_LAKE, r.low)
            if not models and not lake_wide:
                models = _subject(ctx.prev)  # "with what mixing weights?": the model just discussed
            if not models and r.relation in ("parents", "ancestors") and re.search(_LAKE_WIDE, r.low) and not pointed:
                args["derivation"] = r.derivation or "any"  # "which models (in the lake) were derived ..."
                args.pop("quantized", None)
                _rank_args(r, args, task, ctx)
                args.pop("_ask_task", None)
                if args.get("rank_by") == "confidence":  # the weakest link: what the card declares beside it
                    args["show"] = ["base_model"]
                asked = [f for f in r.facts if f in _PARENT_FACTS]
                if asked and re.search(r"\b(?:the|its|their|that) parents?(?:'s?)?\b", r.low):  # "... and what base
                    return Plan("then", [Call(QUERY, args)], then="facts_of_parents", then_question=r.text,
                                question=r.text)  # model does the parent's card declare?": the parent's facts
                return Plan("query", [Call(QUERY, args)], question=r.text, models=[])
            if not models:
                return _reply(r, f"Whose {r.relation}? Name a model of the lake.")
            if len(models) >= 2:
                return _pair_plan(r, ctx, models)
            args.update(relation=r.relation, of=models[0])
            if task and not r.rank and not r.comparative and "show" not in args and re.search(
                    r"\b(?:get|got|gets|score\w*|do|does|did|perform\w*|fare\w*|manage\w*|reach\w*)\b", r.low):
                args["show"] = [_score(r, ctx, task)]  # "what did its parent get there?"
        else:
            args["relation"] = "roots"
        if r.derivation and r.relation in ("children", "descendants", "parents", "ancestors"):
            args["derivation"] = r.derivation
            args.pop("quantized", None)  # "quantized from X": how it was derived, not its dtype
    elif models:
        args["names"] = models
    both_kinds = args.get("format") == "card" and args.get("has_weights") is True
    if both_kinds:  # "is the card-only model bigger than every model with weights?": the two kinds, side by side
        args.pop("format")
        args.pop("has_weights")
        r.rank = r.rank or r.comparative or (("parameters", "highest") if "parameters" in r.facts else None)
        r.facts = [*r.facts, "format"]
    _rank_args(r, args, task, ctx)
    if args.get("rank_by") == "language_count":  # "the most languages": a count of each card's languages
        if str(args.get("text", "")).rstrip("s") == "language":
            args.pop("text")  # ... not a word to find
        r.facts = [f for f in r.facts if f != "language"]
    prev_q = ctx.prev.query if ctx.prev is not None else None
    of_runs = args.get("has_runs") or bool(prev_q and prev_q.get("has_runs") and "names" in args)
    if of_runs and args.get("rank_by") in ("results", "count:runs"):  # "which have imported results (or were
        args["rank_by"] = "count:runs"  # benchmarked), and which has the most?": their runs, not their cards'
        r.facts = [f for f in r.facts if f != "results"]
        if args.get("has_runs"):
            args.pop("top", None)  # ... all of them, ranked
    if both_kinds or (len(args.get("names") or []) in (2, 3) and args.get("top") == 1):
        args.pop("top", None)  # "who wins sts?" of two named models: both, the winner first
    if len(models) == 1 and "names" in args and str(args.get("rank_by", "")) in CONFIG_FACTS:
        args["show"] = [args.pop("rank_by")]  # "the max sequence length of that base": its value, no ranking
        args.pop("order", None)
        args.pop("top", None)
    if args.pop("_ask_task", False):
        known = ctx.lake.resolve_task(r.task_words or r.low, any_task=True)
        if known:  # a task the lake knows, with no runs yet
            return _reply(r, f"No model in this lake has been benchmarked on {known} yet: there are "
                             f"no scores on it. `modellake bench MODEL --task {known}` runs it.")
        tasks = ctx.lake.tasks_with_scores
        shown = tasks[:8] + (["another of the tasks with scores"] if len(tasks) > 8 else [])
        return _reply(r, "Best on which task? The lake has scores on " + (
            join(shown, "or") + "." if tasks else "no task yet: run `modellake bench`."))
    if task and "rank_by" not in args and not r.relation and "names" not in args:
        args["task"] = task
    if task and r.score_bounds and (r.rank or r.listing or r.count or r.relation or not models):  # "smallest that
        # hits 0.95", "everything that hits 0.95 on T: which ship a card?"
        args["task"] = task
        lo, hi = r.score_bounds
        args.update({k: v for k, v in (("min_score", lo), ("max_score", hi)) if v is not None})
    config_rank = args.get("rank_by") in CONFIG_FACTS or any(f in CONFIG_FACTS for f in r.facts)
    # "the largest vocab", "the same intermediate size": not the parameters
    show = [f for f in r.facts if f not in ("has_card",) and f != args.get("rank_by")
            and not (r.relation and f not in ("parameters", "bytes", "license", "layers"))
            and not (config_rank and f in ("parameters", "bytes") and not re.search(r"\bparam", r.low))]
    if r.relation and "has_card" in r.facts and re.match(r"\s*(?:and\s+|so\s+)?(?:does|do|did|is|has|have)\b",
                                                         r.low):
        args.pop("has_card", None)  # "does its parent have a card?": yes or no, not a filter
        show.append("has_card")
    if r.relation and not show and ctx.prev is not None and re.match(r"\s*(?:and\s+)?(?:the\s+)?same\b",
                                                                     r.low):
        show = _asked_before(ctx.prev)  # "same for the model it's derived from?"
    if not r.relation:
        show += [a for a in r.aspects if a in ("parameters", "layers", "license", "format",
                                               "quantization", "architecture") and a not in show]
    if len(models) >= 2 and re.search(_EVERY_TASK, r.low) and (_compares(r) or re.search(
            r"\b(?:wins?|better|scores?|numbers|beats?)\b", r.low)):
        show = [f for f in show if f != "task"] + ["scores"]  # "where does each win on the tasks?"
    if models and len(models) >= 2 and not r.relation and not show and "rank_by" not in args \
            and _compares(r):
        show = ["parameters", "format", "license"] if len(models) == 2 else [
            "parameters", "format", "quantization", "license", "scores"]  # "how do they differ?"
    if not models and not r.relation and set(show) <= set(r.filters) and "rank_by" not in args and \
            r.filters and re.search(r"\b(?:compare\w*|contrast\w*|side[- ]by[- ]side|differ\w*)\b", r.low):
        show = ["parameters", "architecture", "layers", "quantization", "license"]  # "contrast the GGUF models"
    if r.relation and not show and ctx.prev is not None and ctx.same_question and re.search(
            r"\bwhat (?:they|it|each|those|these) (?:declares?|says?|carr(?:y|ies)|states?|lists?|uses?)\b", r.low):
        show = _asked_before(ctx.prev)  # "what license? ... check its parents and what they declare"
    if r.relation and not show and ctx.prev is not None and (re.search(r"'s\s*[?.!]*\s*$", r.text) or (
            r.opener and not (r.rank or r.count or r.aspects))):
        show = _asked_before(ctx.prev)  # "and its parent's?", "and its children?": the same fact, of them
    if r.group_by and not r.relation or (r.group_by and r.count):
        args.pop("rank_by", None)
        args.pop("order", None)
        return Plan("query", [Call(QUERY, {**args, "group_by": r.group_by})], question=r.text,
                    models=models, task=task)
    if show and not r.count:
        args["show"] = list(dict.fromkeys(args.get("show", []) + show))
    if r.count:
        args["count_only"] = True
    if models and not task and r.scored and not ({"rank_by", "relation", "show", "count_only"} & set(args)) \
            and not r.task_words and all(m not in ctx.lake.card_only for m in models) and ctx.lake.tasks_with_scores \
            and not re.search(_A_METRIC, r.low) and re.search(r"\bscor\w*|\bperform\w*|\bfared?\b", r.low):
        args["show"] = ["scores"]  # "how did it actually score?": its runs in the lake, every task
        return Plan("query", [Call(QUERY, args)], question=r.text, models=models)
    if models and not task and r.scored and not ({"rank_by", "relation", "show", "count_only"} & set(args)):
        if not r.aspects:
            r.aspects = ["results"]  # "what rouge does X get?": what its card reports, or that it reports none
        return _tool_plan(r, ctx, models)  # a score the lake has no task for: what the card reports
    if not models and task and r.scored and "rank_by" not in args and not r.count:
        args.setdefault("show", [])  # "the sts score of the quantized one": the score, shown
        args["show"] = [_score(r, ctx, task)] + [x for x in args["show"] if x != "quantization"]
    if models and task and r.scored and "rank_by" not in args and "relation" not in args:
        args["show"] = _scores_shown(r, ctx, task) + [x for x in args.get("show", []) if x not in (
            "parameters", "format", "license")]
    if task and r.scored and args.get("relation") and "rank_by" not in args and not r.count:
        args["show"] = list(dict.fromkeys(args.get("show", []) + [_score(r, ctx, task)]))  # "its parents'
        # accuracy on T"
    calls = [Call(QUERY, args)]
    named_again = r.low.replace(str(args.get("of", "")).lower(), "x")  # "... compare to X itself": X said twice
    if task and args.get("relation") in ("children", "descendants") and str(args.get("rank_by", "")).startswith(
            "score") and re.search(r"\b(?:beats?|than|over|against|vs\.?|versus|compared? (?:to|with))\s+(?:the|its|"
                                   r"their)\s+(?:base|parent|original|root)\b|\b[xy] itself\b|\b(?:compare\w*|against|"
                                   r"than|vs\.?|versus) (?:to |with )?[xy]\b", named_again):
        args["top"] = 1  # "which of X's children does best on T, and by how much does it beat the base?": X too
        calls.append(Call(QUERY, {"names": [args["of"]], "show": [args["rank_by"]]}))
    if args.get("order") in _FLIP and _both_ends(r) and not r.count:  # "biggest and smallest": both
        other = Call(QUERY, {**args, "order": _FLIP[args["order"]]})
        calls = [other, *calls] if args["order"] in ("worst", "lowest") else [*calls, other]  # the top first
    return Plan("query", calls, question=r.text, models=models, task=task)


_RUN_NOUN = (r"(?:stored\s+|measured\s+|reported\s+|imported\s+)?(?:benchmark\s+|eval\s+)?"
             r"(?:runs|results|scores|evals|evaluations|benchmarks)")
_HAS_RUNS = re.compile(rf"\b(?:have|has|with|having|got|carry|carries)\s+(?:any\s+|some\s+)?{_RUN_NOUN}\b|"
                       r"\b(?:been|were|was|get|got)\s+(?:actually\s+|ever\s+)?(?:benchmarked|evaluated|measured)\b")
_NO_RUNS = re.compile(rf"\b(?:no|without|zero|lack(?:s|ing)?)\s+(?:any\s+)?{_RUN_NOUN}\b|"
                      r"\b(?:never|not(?: yet)?|n't)\s+(?:been\s+)?(?:benchmarked|evaluated|measured)\b")
_MOST_RUNS = re.compile(rf"\b(?:the\s+)?(most|fewest|least)(?:\s+{_RUN_NOUN}\b|\s+\w+\s+{_RUN_NOUN}\b|"
                        r"\s*(?:of them|ones?)?\s*[?.!]*$)")


def _runs_args(r: Reading, args: dict[str, Any]) -> None:
    """"which models have been benchmarked, and which has the most results?": the models with
    stored runs, ranked by how many; "which have no runs": those without."""
    if _NO_RUNS.search(r.low):
        args["has_runs"] = False
    elif _HAS_RUNS.search(r.low):
        args["has_runs"] = True
        most = _MOST_RUNS.search(r.low)
        if most:
            args.update(rank_by="count:runs", order="highest" if most.group(1) == "most" else "lowest")


# a lineage question that names no model asks about the whole lake: "which models ...", "any model in
# here ...", "there's one model that ..." (_WHOLE_LAKE: said so plainly that it outweighs the model the
# conversation was on: "which models in the lake have no card though lineage knows their parent?")
_LAKE_WIDE = (r"\b(?:which|what|any|all|every|list|one|those|the|derived|other) (?:\w+ )?(?:models?|checkpoints?|"
              r"ones)\b|\bin (?:the|this|our|my) lake\b|\bin here\b|\b(?:anything|anyone|something)\b")

_PARENT_FACTS = ("base_model", "license", "parameters", "bytes", "has_card")  # "... what does the parent's card
# declare?" of every model a lake-wide lineage question finds
_WHOLE_LAKE = r"\b(?:which|any|all|every) (?:\w+ )?models?\b|\bin (?:the|this|our|my) lake\b|\bin here\b"


def _both_ends(r: Reading) -> bool:
    """"the biggest and smallest models", "best and worst on T": a ranking read from both ends."""
    return any(re.search(hi, r.low) and re.search(lo, r.low) and re.search(r"\b(?:and|&|or|vs\.?|/)\b|/", r.low)
               for hi, lo in ((SIZE_HIGH, SIZE_LOW), (SCORE_HIGH, SCORE_LOW)))


_A_METRIC = (r"\b(?:rouge\w*|bleu|chrf|wer|cer|f1|map|ap|exact match|em|perplexity|ppl|auc|mrr|ndcg\w*|recall|"
             r"precision|pass@\w+|mmlu|gsm8k|hellaswag|arc|truthfulqa|humaneval|bfcl|glue|squad\w*)\b")


def _kin(r: Reading, ctx: Context) -> str | None:
    """The lake model a family word stands for ("MiniLM-derived", "the enc family"): of the models
    whose names carry the word, the root (derived from no other), else the shortest name."""
    if not r.kin_word:
        return None
    owners, roots = owners_and_roots(r.kin_word, ctx.lake.names, ctx.lake.derived)
    return min(roots or owners, key=len) if owners else None


def _subject(prev: Plan | None) -> list[str]:
    """The one model the previous answer was about, if there was one."""
    if prev is None:
        return []
    one = prev.focus or (prev.models[0] if len(prev.models) == 1 else None)
    return [one] if one else []


def _asked_before(prev: Plan) -> list[str]:
    """The facts the previous question asked for (its show_model aspects or query columns)."""
    asked = [x for c in prev.calls for x in (c.args.get("about") or c.args.get("show") or [])
             if isinstance(x, str)]
    return [x for x in dict.fromkeys(asked) if x in ("parameters", "bytes", "license", "layers",
                                                     "format", "quantization", "architecture",
                                                     "task", "datasets", "language")]


_PURPOSE = re.compile(r"\bwhich (?:one|ones|of them|of those|of these|models?)(?: \w+)? (?:is|are|was|"
                      r"were|does|do|can) (?:for|meant for|made for|good at|used for|about|(?:do|does) "
                      r"|handles?) ([a-z][a-z -]{2,40}?)\s*[?.!]*$")


def _purpose(r: Reading) -> str | None:
    """"which one is for italian?": what the models picked among must be for, in words."""
    m = _PURPOSE.search(r.low)
    return m.group(1).strip() if m else None


def _need_words(r: Reading) -> str | None:
    from modellake.agent.planner.reading import NEED_WORDS

    skip = {"model", "models", "checkpoint", "llm", "lm", "text", "finetuned", "fine-tuned"}
    low = re.sub(r"\b(?:a |the )?table (?:of|with)\b", " ", r.low)  # "a table of all models"
    words = [w for w in re.findall(r"[a-z][a-z-]+", low) if w in NEED_WORDS and w not in skip]
    return " ".join(dict.fromkeys(words)) or None


def _rank_args(r: Reading, args: dict[str, Any], task: str | None, ctx: Context) -> None:
    """rank_by / order / top from the question's superlative ("the 3 smallest", "worst on T")."""
    if r.rank is None and r.comparative:
        r.rank = r.comparative
    if r.rank is None and r.ranking:
        r.rank = ("score", "best") if task else ("parameters", "highest")
    if r.rank is None:
        return
    fact, order = r.rank
    if fact == "score":
        if not task:
            args["_ask_task"] = True
            return
        args["rank_by"] = _score(r, ctx, task)
    else:
        args["rank_by"] = fact
        if task and re.search(r"\b(?:do|does|did|score|scores|scored|perform\w*|fare\w*)\b", r.low):
            args["show"] = [_score(r, ctx, task)]  # "the biggest model: how does it do on T?"
        elif task:
            args["task"] = task
    args["order"] = order
    if r.trade and fact == "score":  # "the best quality for the least disk": the size beside the score
        args["show"] = list(dict.fromkeys([*args.get("show", []), r.trade]))
    if r.listing and not r.top and re.search(r"\b(?:out of|of|among|from) (?:those|these|them)\b", r.low):
        return  # "which models have no card, and out of those which scores best?": all of them, ranked
    if not r.ranking:
        args["top"] = r.top or 1
    elif r.top:
        args["top"] = r.top


def _asks_cost(r: Reading) -> bool:
    """"did quantizing X cost accuracy", "X vs its parent", "was merging worth it"."""
    cost = re.search(r"\b(?:cost|costs|lose|lost|loses|losing|hurt|hurts|degrad\w*|worth|keep|kept|"
                     r"g[ai]ve up|gives up|giving up|sacrific\w*|"
                     r"keeps|retain\w*|preserve[sd]?|regress\w*|"
                     r"improve[sd]?|gain(?:ed|s)?|drop(?:ped)?|worse|better|(?:do|did|does) to|"
                     r"effect|impact|lead|gap|margin|ahead|real or (?:just )?noise|dumber|smarter|suffer\w*|"
                     r"weaker|stronger|broke|break|beats?|beaten|beating|outperform\w*|outscor\w*|"
                     r"(?:quality|accuracy|performance) (?:hit|penalty|drop|loss)|trade-?offs?|downsides?|"
                     r"forg[eo]t\w*)\b", r.low)
    against_parent = re.search(r"\b(?:compare\w*|vs\.?|versus|against|relative to|instead of|rather than|over)\b.*"
                               r"\b(?:parents?|base|original|"
                               r"(?:quantized|derived|fine[- ]?tuned|pruned|merged|made) from)\b", r.low)
    return bool(cost or against_parent)


_RUNS_OF_ONE = (r"\b(?:bench|benchmark(?:ing)?|eval|evaluation) (?:numbers|figures|runs|results|scores)\b|"
                r"\bany (?:measured |benchmark )?(?:numbers|scores|results)\b|\bhow good (?:is|was) (?:it|x)\b|"
                r"\bany (?:benchmarks?|evals?|evaluations?|runs)\b(?: (?:at all|for|on|of) (?:it|x|that|this)\b)?")
_QUALIFIED = r"\b(?:parents?|bases?)\s+(?:that|which|who|with|without|having|stored|licensed|under)\b"


def _then_parent(r: Reading, args: dict[str, Any], models: list[str]) -> Plan:
    which = {k: v for k, v in r.filters.items() if k in ("has_card", "format", "quantized", "license",
                                                         "architecture", "has_weights")} \
        if re.search(_QUALIFIED, r.low) else {}  # "the parent that has a model card": that one
    return Plan("then", [Call(QUERY, {"relation": "parents", "of": models[0], **which})],
                then="pair_with_parent", then_question=r.text, question=r.text, models=models)


def _pair_plan(r: Reading, ctx: Context, models: list[str]) -> Plan:
    a, b = models[:2]
    calls = [Call(QUERY, {"relation": "ancestors", "of": b}),
             Call(QUERY, {"relation": "ancestors", "of": a})]
    return Plan("pair", calls, question=r.text, models=[a, b])


def _again(r: Reading, ctx: Context, models: list[str]) -> Plan:
    """"and Y?" / "what about the second one?": the previous question about other models."""
    prev = ctx.prev
    assert prev is not None
    if prev.kind == "chain" and prev.parts:  # "how many layers does the smaller one have?" ...
        prev = Plan.from_dict(prev.parts[-1])  # "and the other one?": the last step, asked again
    if not models or models == prev.models:
        return Plan("reply", reply="About which model? Name it, or ask a new question.",
                    question=r.text)
    first = prev.calls[0] if prev.calls else None
    if first is not None and "a" in first.args and "b" in first.args and len(models) == 2:  # a two-model tool
        return Plan("tool", [Call(first.tool, {**first.args, "a": models[0], "b": models[1]})], question=r.text,
                    models=models, task=prev.task)  # "ok and #3 vs #1?": the same comparison of those two
    calls = []
    for c in prev.calls[:1]:
        one = next((k for k in ("of", "name", "a", "model") if k in c.args), None)
        if one is None:
            calls.append(Call(c.tool, {**c.args, **({"names": models} if "names" in c.args else {})}))
            continue
        for m in models[:3]:  # "what about the other two?": asked of each
            calls.append(Call(c.tool, {**c.args, one: m}))
    return Plan(prev.kind if prev.kind not in ("pair", "chain") else "tool", calls, question=r.text,
                models=models, task=prev.task)


# -- the other tools ---------------------------------------------------------------------------
_SPECIFIC = 2  # a declared phrase of this many words beats a lake query ("draft a card")


def _special_tool(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """A declared tool whose own phrase is in the question wins over a lake query."""
    if r.relation == "parents" and re.search(r"\bshould\b.{0,30}\bcard\b|\bcard\b.{0,30}\bshould\b", r.low):
        return None  # "what should its card say as base?": the parent its weights show, not its card's words
    if r.relation and r.relation != "roots" and re.search(r"\bdiffer|\bdifference|\bchanged?\b", r.low) and \
            not [f for f in r.facts if f not in ("base_model", "has_card")]:  # "how does its license differ": a fact
        if QUERY in ctx.tools and models:
            return Plan("then", [Call(QUERY, {"relation": "children" if r.relation in (
                "children", "descendants") else r.relation, "of": models[0]})],
                then="each_relative", then_question="what changed between x and y",
                question=r.text, models=models)
    have = len(models) or (1 if ctx.prev is not None and (ctx.prev.models or ctx.prev.selection)
                           else 0)  # "do the weights agree?": about the model just discussed
    scored = route.score_tools(r, [t for t in ctx.tools.values() if t.name != QUERY],
                               ctx.embedder, have)
    by_value = any(route.word_hit(r.low, [w for vals in t.values.values() for ws in vals.values()
                                          for w in ws]) for t in ctx.tools.values())
    for s in scored[:3]:
        own = route.word_hit(r.low, s.tool.words)  # its own words, not its values'
        if not own or s.tool.mutating or s.score < route.MIN_SCORE or s.tool.needs > have:
            continue
        if s.tool.needs == 2 and len(models) > 2:
            continue  # "how do they differ?" of six models: a table of them, not the first two
        if s.tool.weights and any(m in ctx.lake.card_only for m in models):
            return _compare_plan(r, ctx, models) if len(models) == 2 else None  # no weights to read
        if (_is_query(r, models, ctx) or by_value) and len(own.split()) < _SPECIFIC:
            continue  # "what license does that readme give": the license, not the readme
        return _call_plan(r, ctx, s.tool, models)
    return None


def _tool_plan(r: Reading, ctx: Context, models: list[str]) -> Plan:
    show = next((t for t in ctx.tools.values() if "about" in t.parameters.get("properties", {})), None)
    if show is not None and len(models) == 1 and all(
            w in models[0].lower() for w in r.content_words):  # "medical ner model": that model
        return _call_plan(r, ctx, show, models)
    scored = route.score_tools(r, [t for t in ctx.tools.values() if t.name != QUERY],
                               ctx.embedder, len(models))
    scored = [s for s in scored if not s.tool.mutating]
    if len(models) >= 2 and _compares(r):
        return _compare_plan(r, ctx, models)
    best = scored[0] if scored else None
    if best is not None and best.score >= (route.MIN_SCORE if best.hit else route.EXAMPLE_MIN):
        return _call_plan(r, ctx, best.tool, models)
    reader = _reader(ctx)
    if reader is not None and not models and r.need:  # "text to sql model?": a need, in words
        return _call_plan(r, ctx, reader, models)
    task = _task(r, ctx) if models and QUERY in ctx.tools else None
    if task and not r.aspects:  # "its nq ndcg@10?": its score on a task the question names
        return Plan("query", [Call(QUERY, {"names": models, "show": _scores_shown(r, ctx, task)})],
                    question=r.text, models=models, task=task)
    if models and (len(r.content_words) <= 2 or r.aspects) and show is not None:
        return _call_plan(r, ctx, show, models)  # "tell me about X", "ok to sell it?"
    if r.listing and QUERY in ctx.tools:
        return _query_plan(r, ctx, models)
    carded = _card_reading(r, ctx, models)
    if carded is not None:  # "zephyr's mt-bench and alpacaeval numbers?": what its card says of it
        return carded
    if QUERY in ctx.tools:  # a refusal with examples from what the lake holds
        return Plan("refusal", [Call(QUERY, {"count_only": True})], question=r.text)
    return Plan("reply", reply="off-topic", question=r.text, models=models)


def _card_reading(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """A question about named models that no tool's words fit: the passages of their cards
    about it (a card says more than the lake's fields: cutoffs, hardware, table numbers)."""
    calls = card_calls(r, ctx, models) if 1 <= len(models) <= 2 else []
    return Plan("tool", calls, question=r.text, models=models) if calls else None


_CARD_NUMBERS = re.compile(r"\b(?:(?:its|the|their|x's|y's|x|y) )?(?:model )?cards?(?:'s?)? (?:own )?"
                           r"(?:table|tables|numbers|figures|"
                           r"benchmarks?|results|scores|evals?|evaluations?)\b|\b(?:table|numbers|figures|benchmarks?|"
                           r"results|scores) (?:in|from|of|on) (?:its|the|their|x's|y's) (?:model )?cards?\b|"
                           r"\b(?:scores?|numbers?|results?|figures?) (?:that )?(?:the|its|x's) (?:model )?card "
                           r"(?:\w+ )?(?:reports?|gives?|lists?|says?|shows?|claims?|states?)\b")
_PER_CARD = re.compile(r"\b(?:per|according to|based on|going by) (?:its|their|the|x's|y's|each) (?:own )?(?:model )?"
                       r"cards?\b|\breports? (?:a |the )?(?:higher|lower|better|worse|best|bigger)\b")


def _card_numbers(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"X: strongest and weakest benchmark in the card's table?": what the card's own tables
    say (the lake's runs are another question)."""
    if not 1 <= len(models) <= 2 or not (_CARD_NUMBERS.search(r.low) or (
            _PER_CARD.search(r.low) and (r.scored or r.comparative or r.rank))):  # "which is better per their cards"
        return None
    return _card_reading(r, ctx, models)


def _compares(r: Reading) -> bool:
    return bool(re.search(r"\b(?:compare\w*|contrast\w*|vs\.?|versus|diff|differ\w*|difference\w*|match(?:es)?|"
                          r"bigger|larger|"
                          r"smaller|same|both|between|stacks?(?:ed)? up|measures? up|head[- ]to[- ]head|"
                          r"side[- ]by[- ]side|against|rather than|instead of)\b", r.low))


def _choice_of_two(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"X or Y for sentiment - which should I use?": a choice between the two models named,
    not a search of the lake."""
    if len(models) != 2 or r.relation or r.rank or not re.search(
            r"\b(?:which|what)\b.{0,30}\b(?:should|would|to|do|is|one|of (?:the two|them|these|those|both))\b|"
            r"\b(?:pick|choose|go with|prefer)\b", r.low):
        return None
    if not re.search(r"\bx\b.{0,40}\bor\b.{0,40}\by\b", r.low):  # the names, masked: "x or y"
        return None
    return _compare_plan(r, ctx, models)


_SIGNIFICANCE = (r"\b(?:measurabl\w*|significan\w*|noise|noisy|real|spread|beyond|clears?|"
                 r"statistic\w*|meaningful)\b")
_WEIGHTS = r"\b(?:weights?|tensors?|tensor-wise|layers? changed)\b"


def _claimed_base(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"X's card says it's based on Y. Is that right?": X's parents, by the weights and by its card
    (the answer says whether they agree); Y is what the card claims, not a second subject."""
    if len(models) != 2 or r.relation != "parents" or QUERY not in ctx.tools or r.rank or r.scored or \
            [f for f in r.facts if f in PAIR_FACTS]:  # "X's card says MIT but it's built off Y: a problem?"
        return None
    if not re.search(r"\bx(?:'s)? card\b.{0,40}\b(?:says?|claims?|declares?|lists?|names?|states?)\b|"
                     r"\bx (?:says|claims|states)\b|"
                     r"\bx\b.{0,40}\b(?:claims?|is said) to be\b", r.low):
        return None
    return Plan("query", [Call(QUERY, {"relation": "parents", "of": models[0]})], question=r.text,
                models=models[:1])


def _two_on_aspects(r: Reading, ctx: Context, models: list[str]) -> Plan | None:
    """"X vs Y: license, size, how they're related, and is the sts gap real?": two models
    compared on several aspects at once, each aspect by the operation that answers it (facts
    side by side, a task's scores, whether a gap goes beyond the spread, their lineage, their
    weights)."""
    if len(models) != 2 or QUERY not in ctx.tools or r.rank:
        return None
    task = _task(r, ctx)
    facts = [f for f in dict.fromkeys([*r.facts, *r.aspects]) if f in PAIR_FACTS + ("base_model",)]
    facts += ["quantization"] * ("bytes" in facts and "quantization" not in facts)  # why the files weigh what they do
    spread = bool(task and re.search(_SIGNIFICANCE, r.low))
    related = r.relation in ("family", "siblings", "parents", "ancestors") or bool(
        re.search(r"\b(?:relat\w*|lineage)\b", r.low))
    weights = bool(re.search(_WEIGHTS, r.low))
    if sum((bool(facts), bool(task), spread, related, weights)) < 2:
        return None
    a, b = models
    calls = []
    if facts or (task and not spread):
        calls.append(Call(QUERY, {"names": [a, b], "show": facts + (_scores_shown(r, ctx, task) if task
                                                                    and not spread else [])}))
    for wanted, phrase in ((spread, "is the gap between x and y real or noise"),
                           (weights, "what changed between x and y")):
        info = _routed(r, ctx, phrase) if wanted else None
        if info is not None:
            args, missing = route.fill_args(info, r, [a, b], task)
            calls += [] if missing else [Call(info.name, args)]
    calls += [Call(QUERY, {"relation": "ancestors", "of": b}), Call(QUERY, {"relation": "ancestors", "of": a})]
    return Plan("compare", calls, question=r.text, models=[a, b], task=task)


def _routed(r: Reading, ctx: Context, phrase: str) -> route.ToolInfo | None:
    """The reading tool for two models that a phrase of the kind asked routes to."""
    routed = route.score_tools(_as(r, phrase), [t for t in ctx.tools.values() if t.name != QUERY
                                                and not t.mutating], ctx.embedder, 2)
    return routed[0].tool if routed and routed[0].tool.needs == 2 else None


def _compare_plan(r: Reading, ctx: Context, models: list[str]) -> Plan:
    a, b = models[:2]
    card_only = any(m in ctx.lake.card_only for m in (a, b))
    calls = []
    only_weights = not card_only and not r.facts and not _task(r, ctx) and bool(re.search(
        r"^\s*diff\b|\b(?:tensors?|weights?|layers?)\b.{0,25}\b(?:changed?|differ\w*|touched|"
        r"left (?:alone|untouched))\b|\bwhat changed\b", r.low))  # "diff X vs Y: tensors changed?": weights
    if QUERY in ctx.tools and not only_weights:
        asked = [f for f in dict.fromkeys([*r.facts, *r.aspects]) if f in PAIR_FACTS + ("base_model",)]
        task = _task(r, ctx)
        scores = [_score(r, ctx, task)] if task else ([] if asked else ["scores"])
        show = (asked + scores) if asked or task else (
            ["parameters", "layers", "task", "language", "base_model", "license", "scores"]
            if card_only else  # what their cards state
            ["parameters", "bytes", "format", "architecture", "quantization", "license", "scores"])
        calls.append(Call(QUERY, {"names": [a, b], "show": show}))
    weights = re.search(r"\b(?:weights?|tensors?|differ\w*|difference\w*|changed?)\b", r.low)
    if weights and not card_only:  # a card-only model has no weights to diff
        calls += _diff_call(r, ctx, a, b)
    if QUERY in ctx.tools:  # how they are related opens the answer (read last, not shown)
        calls += [Call(QUERY, {"relation": "ancestors", "of": b}),
                  Call(QUERY, {"relation": "ancestors", "of": a})]
        return Plan("compare", calls, question=r.text, models=[a, b])
    return Plan("tool", calls, question=r.text, models=[a, b])


def _diff_call(r: Reading, ctx: Context, a: str, b: str) -> list[Call]:
    """The call that says what changed in the weights from ``a`` to ``b`` (the reading tool
    that answers "what changed between x and y"), or none."""
    routed = route.score_tools(_as(r, "what changed between x and y"),
                               [t for t in ctx.tools.values() if t.name != QUERY and not t.mutating],
                               ctx.embedder, 2)
    if routed and routed[0].tool.needs == 2:
        args, missing = route.fill_args(routed[0].tool, r, [a, b])
        if not missing:
            return [Call(routed[0].tool.name, args)]
    return []


def _as(r: Reading, text: str) -> Reading:
    return Reading(text=text, low=text, names=r.names, filters={})


def _call_plan(r: Reading, ctx: Context, info: route.ToolInfo, models: list[str]) -> Plan:
    per_model = info.needs == 1 and len(models) > 1 and not any(
        (p.get("type") == "array") for n, p in info.parameters.get("properties", {}).items()
        if n in route.MODEL_PARAMS)
    groups = [[m] for m in models[:3]] if per_model else [models]
    calls = []
    for group in groups:
        if not group and info.needs and ctx.prev is not None:  # "do the weights agree?"
            group = ctx.prev.models[:1] or ctx.prev.selection[:1]
        args, missing = route.fill_args(info, r, group, _task(r, ctx))
        several = _tasks_listed(r, ctx) if "tasks" in info.parameters.get("properties", {}) else []
        if len(several) >= 2:
            args["tasks"] = several  # "task by task (sentiment, sts, topic)"
        if missing:
            if any(m in route.MODEL_PARAMS for m in missing):
                return _reply(r, "Which model? Name one of the lake's models (\"which models are in the lake?\" "
                                 "lists them).")
            return _reply(r, f"To answer that I need {join(missing)}.")
        calls.append(Call(info.name, args))
    return Plan("tool", calls, question=r.text, models=models)


def _tasks_listed(r: Reading, ctx: Context) -> list[str]:
    """The lake tasks a question lists ("(sentiment, sts, topic)", "on sst2 and topic-smoke")."""
    found: list[str] = []
    for item in re.split(r"\s*(?:,|\band\b|\bor\b|/|\(|\)|\?|;|--)\s*", r.low):
        words = " ".join(w for w in re.findall(r"[a-z0-9][\w-]*", item)[-2:])
        t = ctx.lake.resolve_task(words) if words and len(words) <= 30 else None
        if t and t not in found:
            found.append(t)
    return found


PAIR_FACTS = ("license", "parameters", "bytes", "format", "quantization", "architecture", "layers",
               "task", "language", "datasets")


def second_round(p: Plan, results: list[Any], ctx: Context, r: Reading) -> list[Call]:
    """The calls that need the first round's results; when the first round found nothing to go
    on for a card-only model ("what's different about its vocab?" and no parent in the lake),
    what its card says about the question."""
    calls = _second_round(p, results, ctx, r)
    if calls or not p.models or p.models[0] not in ctx.lake.card_only or p.then == "card_if_no_parent" or \
            _uncovered(r) == "" and not r.comparative:
        return calls
    return card_calls(r, ctx, p.models[:1])


def _second_round(p: Plan, results: list[Any], ctx: Context, r: Reading) -> list[Call]:
    rows = [row for res in results if isinstance(res, dict) for row in res.get("rows", [])]
    names = [row["name"] for row in rows if row.get("in_lake", True)]
    if p.then == "pair_with_parent" and names:
        task = _task(r, ctx)
        pair = [p.models[0], *names[:3]]
        facts = [f for f in dict.fromkeys([*r.facts, *r.aspects]) if f in PAIR_FACTS]
        kept = [f for f in facts if f not in ("quantization", "task")]  # "int8-quantizing", "per task": no fact asked
        if facts and not task and (not _asks_cost(r) or (kept and re.search(
                r"\b(?:same|keeps?|kept|retain\w*|preserve\w*)\b", r.low) and not re.search(
                r"\b(?:quality|accura\w*|perform\w*|scores?|numbers)\b", r.low))):  # "the same license as its
            # parent?", "does that one keep the same license?"
            return [Call(QUERY, {"names": pair[:2], "show": facts})]
        if task and len(pair) > 2:  # a merge against its parents: one ranking
            return [Call(QUERY, {"names": pair, "rank_by": _score(r, ctx, task), "order": "best"})]
        runs = ctx.tools.get("compare_runs")
        if runs is not None and len(pair) == 2 and re.search(
                r"\b(?:measurabl\w*|significan\w*|noise|real|spread|lose anything|lost anything)\b", r.low):
            args = {"a": pair[1], "b": pair[0], **({"tasks": [task]} if task else {})}
            return [Call("compare_runs", args)]  # "does pruning cost anything measurable?"
        also = [f for f in facts if f in ("bytes", "parameters", "quantization", "format", "layers")]
        if "bytes" in also and "quantization" not in also:
            also.append("quantization")  # "does the int8 copy save disk?": what its files store says why
        listed = _tasks_listed(r, ctx)  # "did it forget sentiment? and sts?": each task named
        scores = [_score(r, ctx, t) for t in listed[:4]] if len(listed) >= 2 else [_score(r, ctx, task)] if task \
            else ["scores"]
        calls = [Call(QUERY, {"names": pair, "show": scores + also})]
        plain = not re.search(r"\b(?:cost|lose|lost|hurt|degrad|worth|drop|worse|better|gain|improv|accura|score)",
                              r.low)  # "how does X compare with its parent?": the weights too
        if len(pair) == 2 and not task and plain and _compares(r) and not any(m in ctx.lake.card_only for m in pair):
            calls += _diff_call(r, ctx, pair[1], pair[0])
        return calls
    if p.then == "ask_found" and names and ctx.read is not None and p.then_question:
        # "who is X's grandparent, and what does that model's card declare?": the part about it
        deep = re.search(r"\bgrand|\broot\b|\boriginal\b", p.question.lower())
        in_lake = [row for row in rows if row.get("in_lake", True)]
        one = (max(in_lake, key=lambda row: row.get("depth") or 0)["name"] if deep and in_lake
               else names[0])
        found = Plan("query", models=[one], selection=[one], focus=one,  # "there": the task before
                     task=p.task or (ctx.prev.task if ctx.prev is not None else None))
        sub = plan(ctx.read(p.then_question), dataclasses.replace(ctx, prev=found))
        return [] if sub.then or sub.kind in ("reply", "refusal", "clarify") else sub.calls
    if p.then == "pair_each_with_parent":
        task = _task(r, ctx)
        facts = [f for f in r.facts if f in PAIR_FACTS]
        if facts and not task:  # "... a license different from their parent's?": the facts of each pair
            return [Call(QUERY, {"names": [row["name"], row["via"]], "show": facts})
                    for row in [x for x in rows if x.get("in_lake", True) and x.get("via")][:6]]
        calls, listed = [], _tasks_listed(r, ctx)
        for row in [x for x in rows if x.get("in_lake", True) and x.get("via")][:3]:
            pair = [row["name"], row["via"], *row.get("also_via", [])]
            if len(listed) >= 2:  # "look at sentiment-smoke and sts-smoke": both, side by side
                calls.append(Call(QUERY, {"names": pair, "show": [_score(r, ctx, t) for t in listed[:4]]}))
                continue
            calls.append(Call(QUERY, {"names": pair, "rank_by": _score(r, ctx, task), "order": "best"})
                         if task and len(pair) > 2 else
                         Call(QUERY, {"names": pair, "show": [_score(r, ctx, task)] if task else ["scores"]}))
        return calls
    if p.then and p.then.startswith("relation:") and names:
        rel = p.then.split(":", 1)[1]
        shown = [f for f in r.facts if f in ("license", "parameters", "bytes", "layers")]
        task = _task(r, ctx)
        if task and re.search(r"\b(?:score|scores|scored|do|does|did|perform\w*|fare\w*|accuracy)\b.*$",
                              r.low[r.low.find(rel[:5]) if rel[:5] in r.low else 0:]):
            shown.append(_score(r, ctx, task))  # "... and how does that parent do on the same task?"
        return [Call(QUERY, {"relation": rel, "of": n, **({"show": shown} if shown else {})})
                for n in names[:4]]
    if p.then == "facts_of_parents":
        vias = list(dict.fromkeys(row["via"] for row in rows if row.get("in_lake", True) and row.get("via")))
        facts = [f for f in r.facts if f in _PARENT_FACTS]
        return [Call(QUERY, {"names": vias[:4], "show": facts})] if vias and facts else []
    if p.then == "card_if_no_parent" and not names and p.calls and p.calls[0].args.get("of"):
        return card_calls(r, ctx, [p.calls[0].args["of"]])  # no base declared: what its card says
    if p.then == "read_parent_card" and names:  # what was asked of the parent, not "what's it based on"
        parts = [[w for w in part.split() if w not in _LINEAGE_WORDS and w not in _CARD_FILLER]
                 for part in question_words(r).split(", ")]
        asked = [" ".join(ws) for ws in parts if any(len(w) >= 4 for w in ws)]
        about = re.search(r"\b(?:say|says|said|tell|tells|state|states|mention|mentions|report|reports)\s+(?:about|"
                          r"on|regarding|of)\s+(?:its |their |the )?(.+?)[?.!\s]*$", r.low)
        return card_calls(r, ctx, names[:2], about.group(1) if about else ", ".join(asked) or None)
    if p.then == "grandchildren" and names:
        return [Call(QUERY, {"relation": "children", "of": n}) for n in names[:6]]
    if p.then == "each_relative" and names:
        routed = route.score_tools(_as(r, p.then_question or ""), [
            t for t in ctx.tools.values() if t.name != QUERY and not t.mutating], ctx.embedder, 2)
        if routed and routed[0].tool.needs == 2:
            info = routed[0].tool
            return [Call(info.name, route.fill_args(info, r, [p.models[0], n])[0]) for n in names[:6]]
    return []


# the order matters: changes the user asks for before everything else, follow-ups before new
# questions, a tool's own phrase before the lake query it could be mistaken for
RULES: tuple[Callable[[Reading, Context, list[str]], Plan | None], ...] = (
    _which_one, _mutating, _same_card, _card_numbers, _not_in_lake, _how_sure, _short_of_top, _most_relatives,
    _declaring_it,
    _claim_check,
    _vague, _the_other,
    _same_for_other, _other_end, _place_of_it, _same_on_other_task,
    _name_them, _aspect_of_parent, _judge_licenses, _grandchildren, _kin_among, _relation_of_each,
    _same_value_again,
    _sharing_with, _they_share, _claimed_base, _gain_over_parent, _two_on_aspects, _choice_of_two, _special_tool,
    _against_parent,
    _own_results, _did_to,
    _scores_of_named,
    _relation_of_winner,
    _a_need, _quantized_from)


task_of = _task  # for the passes after planning (planner.cover): the lake task a question names
score_of = _score  # ... and its score:TASK[:METRIC]
