"""Routing a question to tool calls, for the offline ``builtin`` backend.

Each *intent* is a kind of question (list models, inspect one, read its card,
compare two, parents, descendants, best on a task, search by need, draft a card,
remove, rename, ingest...). It names the tools that answer it (the first one
bound to the agent is used), a few example questions, and a keyword cue. A
question is scored against every intent whose tool is available: MiniLM cosine
similarity of the question (model names masked as X, Y) to the examples, plus a
bonus when the cue matches, minus a penalty when the models it needs are not
named. Registered tools that no intent claims get an intent of their own from
their description, so a new tool is reachable without touching this file.

Tools that change the lake are only eligible when their cue (an imperative such
as "delete X", "rename X to Y", "ingest PATH") is in the user's own message.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from modellake.agent import nlu
from modellake.tools.search.vocab import RESULT_WORDS, TIME_WINDOW

MIN_SCORE = 0.42  # below this (similarity + bonuses), the question is not one the tools answer
CUE_BONUS = 0.3
MISSING_MODEL_PENALTY = 0.25


@dataclass(frozen=True)
class Intent:
    id: str
    tools: tuple[str, ...]
    examples: tuple[str, ...]
    cue: str | None = None
    needs: int = 0  # models the question must name (or refer back to)
    mutating: bool = False


_CARD_TEXT_CUE = (
    r"\b(?:card|readme|documentation|docs)\b.{0,40}\b(?:say|says|said|mention|mentions|state|"
    r"states|write|writes|written|text|passage|quote|describe|describes|explain|explains)\b|"
    r"\b(?:what|how) does (?:the |its |x's )?(?:model )?card\b|\bintended use|\blimitations?\b|"
    r"\bbias(?:es)?\b|\brisks?\b|\bout[- ]of[- ]scope\b|\btraining (?:procedure|details|setup|"
    r"hyperparameters)\b|\bhow (?:was|were) (?:x|it|they) trained\b|\bread (?:me )?(?:the |its )?"
    r"card\b|\bshow (?:me )?(?:the |its |x's )?(?:model )?card\b|\bcitation\b|\bcard text\b")

_PARENTS_CUE = (r"\b(?:parents?|ancestors?|ancestry|derived from|comes? from|came from|fine-?tuned "
                r"from|origin(?:al)?|base model of|descend(?:s|ed)? from|predecessor)\b")

_DESCENDANTS_CUE = (
    r"\b(?:children|child|kids|descendants?|derivatives?|derived models|fine-?tunes of|"
    r"offspring|successors?|built (?:on|from)|made from|based on (?:x|it|this))\b|"
    r"\b(?:which|what|any) (?:of (?:my|our|the) )?models? (?:are|were|have been|is|was|do|does|"
    r"did)?\s*(?:(?!x\b|y\b)\w+ )?(?:derived|fine-?tuned|built|made|trained|created|distilled|"
    r"quantized|pruned|came|come|comes|descend\w*|stem\w*|originat\w*) (?:from|on top of|off)\b"
    r"(?![\s?.!]*$)")

INTENTS: tuple[Intent, ...] = (
    Intent("list", ("list_models",), (
        "list the models in the lake", "what models do we have", "how many models are there",
        "which models are llama models", "which is the largest model", "show all models under "
        "100M parameters", "which models have no model card", "which models are stored as GGUF",
        "what is the smallest model in the lake", "models with more than 1B parameters"),
        cue=r"\b(?:list|enumerate)\b|\bwhich models\b|\bwhat models\b|\bhow many (?:\w+ ){0,3}"
            r"models\b|\bnumber of models\b|\ball (?:the |of the )?models\b|\bmodels? (?:are|do we "
            r"have|exist|in the lake)\b|\b(?:largest|biggest|smallest|tiniest|newest|heaviest)\b|"
            r"\bany models?\b|\bmodels (?:with|without|under|over|above|below|that|of|in)\b|"
            r"\bwhat(?:'s| is) in the lake\b|\bmost parameters\b|\bfewest parameters\b"),
    Intent("show", ("show_model",), (
        "how many parameters does X have", "what architecture is X", "tell me about X",
        "what is X", "describe X", "what license does X have", "what dtype is X stored in",
        "is X quantized", "how many layers does X have", "what is missing from X's model card",
        "which datasets was X trained on", "what base model does X's card declare",
        "how big is X on disk", "what format is X", "does X have a model card",
        "what task is X for", "what is the hidden size of X", "does X have tied embeddings",
        "how sparse are the weights of X"), needs=1),
    Intent("card_text", ("read_card",), (
        "what does X's card say about limitations", "what are the intended uses of X",
        "how was X trained according to its card", "show me the model card of X",
        "what does the card of X say about bias and risks", "quote the training procedure "
        "section of X's card"), cue=_CARD_TEXT_CUE, needs=1),
    Intent("compare", ("show_model",), (
        "compare X and Y", "which is bigger, X or Y", "what differs between X and Y",
        "do X and Y have the same architecture", "X vs Y", "what is the difference between X "
        "and Y", "is X larger than Y", "how do X and Y differ"),
        cue=r"\b(?:compare|comparison|comparing|differ|differs|difference|differences|vs\.?|"
            r"versus|bigger|larger|smaller|more parameters|fewer parameters|same|both|"
            r"between|than)\b", needs=2),
    Intent("compare_runs", ("compare_runs",), (
        "compare the benchmark results of X and Y", "which is better on the benchmarks, X or Y",
        "how do X and Y differ in accuracy", "is X better than Y on task T"),
        cue=r"\b(?:results?|scores?|benchmarks?|metrics?|accuracy|f1|performance|perplexity|better|"
            r"worse|runs?|evaluat\w*)\b", needs=2),
    Intent("diff", ("diff",), (
        "what changed between X and Y", "which tensors differ between X and Y", "diff X Y",
        "how do the weights of X and Y differ"),
        cue=r"\bdiff\b|\bwhat changed\b|\bwhich tensors\b|\bweights? (?:differ|changed)\b|"
            r"\bchanged (?:between|from)\b", needs=2),
    Intent("parents", ("lineage", "ancestors", "parents"), (
        "what is the parent of X", "where does X come from", "which model was X fine-tuned from",
        "what is X derived from", "what are the ancestors of X", "what is the base model of X"),
        cue=_PARENTS_CUE, needs=1),
    Intent("descendants", ("lineage", "descendants", "children", "list_models"), (
        "what are the children of X", "which models were derived from X", "list the fine-tunes "
        "of X", "what descends from X", "which models are built on X", "what was made from X",
        "which of my models came from X"),
        cue=_DESCENDANTS_CUE, needs=1),
    Intent("siblings", ("siblings",), (
        "what are the siblings of X", "which models share a parent with X",
        "which models were derived from the same base as X"),
        cue=r"\bsiblings?\b|\bsame (?:parent|base(?: model)?)\b|\bshare (?:a|its|the same) "
            r"(?:parent|base)\b", needs=1),
    Intent("audit", ("audit_lineage",), (
        "which model cards declare the wrong base model", "do the declared base models match the "
        "weights", "are there lineage conflicts", "which models have undocumented parents",
        "is any card lying about its base model"),
        cue=r"\b(?:wrong|incorrect|mislabell?ed|conflicts?|conflicting|false|lying|lies|"
            r"mismatch\w*|disagree\w*|undocumented)\b.{0,50}\b(?:base|parents?|lineage|declar\w*|"
            r"cards?)\b|\b(?:base|parents?|lineage|declar\w*)\b.{0,50}\b(?:wrong|incorrect|"
            r"conflicts?|mismatch\w*|match the weights|agree)\b|\baudit\b.{0,20}\blineage\b"),
    Intent("relation", ("relation", "lineage"), (
        "how are X and Y related", "is Y a fine-tune of X", "what is the relation between X and Y",
        "is Y derived from X", "are X and Y in the same family"),
        cue=r"\b(?:related|relation|relationship|connected|same family|lineage)\b", needs=2),
    Intent("lineage", ("lineage",), (
        "show the lineage of X", "what is the family of X", "show the version graph",
        "which families are in the lake", "what are the root models"),
        cue=r"\b(?:lineage|famil(?:y|ies)|version graph|family tree|roots?)\b"),
    Intent("best", ("leaderboard", "list_models"), (
        "which model is best on T", "what is the top model for sentiment", "rank the models on "
        "task T", "show the leaderboard for T", "which model scores highest on T"),
        cue=r"\b(?:best|top|highest|lowest|rank|ranking|ranked|leaderboard|winner|wins|"
            r"outperforms?|strongest)\b"),
    Intent("search", ("search", "list_models"), (
        "which model should I use for summarization", "find a model for sentiment analysis in "
        "French", "recommend a small model for text generation", "I need an embedding model "
        "under 100M parameters", "search for models trained on imdb"),
        cue=r"\b(?:find|search|recommend|suggest|should i use|good for|suitable|i need|looking "
            r"for|which models? (?:can|could|would|should|is good|are good)|models? for)\b"),
    Intent("draft_card", ("draft_card", "card"), (
        "draft a model card for X", "write a card for X", "generate documentation for X",
        "create a README for X"),
        cue=r"\b(?:draft|write|generate|create|make|produce)\b.{0,30}\b(?:card|readme|"
            r"documentation)\b", needs=1),
    Intent("check_card", ("check_card", "audit_card"), (
        "audit the card of X", "is X's card correct", "check X's model card against the "
        "evidence", "what is wrong in X's card"),
        cue=r"\b(?:audit|check|verify|validate)\b.{0,30}\bcard\b|\bcard\b.{0,30}\b(?:correct|"
            r"accurate|wrong|right|lying|lie)\b", needs=1),
    Intent("search_runs", ("search_runs",), (
        "what did we measure on sentiment last week", "which results do we have on imdb",
        "what was evaluated yesterday", "what scores were reported on hellaswag",
        "show the benchmark results from this month"),
        cue=r"\bwhat (?:did|have) we (?:measure|measured|run|ran|evaluate|evaluated|benchmark|"
            rf"benchmarked)\b|^(?=.*{RESULT_WORDS}).*{TIME_WINDOW}|"
            r"\bresults? (?:on|for) (?!x\b|y\b)|\bscores? (?:on|for) (?!x\b|y\b)"),
    Intent("tasks", ("list_tasks",), (
        "which benchmark tasks are available", "what tasks can I run", "list the benchmarks",
        "which evaluations can you run"),
        cue=r"\b(?:which|what|list)\b.{0,20}\b(?:benchmarks?|benchmark tasks|tasks|"
            r"evaluations)\b.{0,30}\b(?:available|can|exist|there|have|run)\b|"
            r"\blist (?:the |all )?(?:benchmarks?|benchmark tasks|tasks)\b"),
    Intent("run_bench", ("run_benchmark",), (
        "benchmark X on sts-smoke", "evaluate X on the sentiment task", "run sts-smoke on X"),
        cue=r"^\s*(?:please\s+)?(?:benchmark|evaluate|run|measure)\b|\b(?:can|could|would|will) "
            r"you (?:please )?(?:benchmark|evaluate|run|measure)\b|\bplease (?:benchmark|"
            r"evaluate|run|measure)\b", needs=1, mutating=True),
    Intent("runs", ("list_runs", "runs"), (
        "what runs do we have for X", "what was measured on X", "show the benchmark runs",
        "which evaluations were run last week"),
        cue=r"\bruns?\b|\bmeasured\b|\bevaluations?\b|\bbenchmarked\b"),
    Intent("similar", ("similar", "behaves_like"), (
        "which models have weights similar to X", "what is closest to X", "models that behave "
        "like X"), cue=r"\bsimilar\b|\bclosest\b|\bnearest\b|\bbehaves? like\b|\blooks like\b",
        needs=1),
    Intent("rm", ("remove_model",), ("delete X", "remove X from the lake"),
           cue=r"^\s*(?:please\s+)?(?:delete|remove|rm|drop|erase|purge|forget)\b|\b(?:can|could|"
               r"would|will) you (?:please )?(?:delete|remove|drop|erase|purge)\b|\b(?:i want|"
               r"i'd like|i need|want) (?:you )?to (?:delete|remove|drop|erase)\b|\bget rid of\b|"
               r"\bplease (?:delete|remove|drop|erase)\b", needs=1, mutating=True),
    Intent("rename", ("rename_model",), ("rename X to NEW", "change the name of X to NEW"),
           cue=r"\brename\b|\bchange the name\b|\bgive \S+ the name\b", needs=1, mutating=True),
    Intent("ingest", ("ingest_models",), ("ingest PATH", "add the model at PATH to the lake"),
           cue=r"^\s*(?:please\s+)?(?:ingest|add|import|register|load)\b|\b(?:can|could|would|"
               r"will) you (?:please )?(?:ingest|add|import|register)\b|\bplease (?:ingest|add|"
               r"import|register)\b|\b(?:i want|i'd like|i need|want) (?:you )?to (?:ingest|add|"
               r"import)\b", mutating=True),
    Intent("help", (), ("what can you do", "help", "what questions can I ask", "who are you"),
           cue=r"^\s*help\b|\bwhat can you do\b|\bwhat (?:kinds? of )?questions\b|\bwho are you\b|"
               r"\bhow do i use (?:you|this)\b"),
)

ASPECTS: dict[str, str] = {
    "parameters": r"\bparams?\b|\bparameters?\b|\bhow (?:big|large) is\b(?! .{0,20}\b(?:on disk|"
                  r"files?)\b)|(?<!file )\bsize\b(?! on disk)(?! in (?:mb|gb|kb|bytes))|\bnumber of "
                  r"weights\b|\bhow many weights\b|\bbigger\b|\blarger\b|\bsmaller\b",
    "architecture": r"\barchitectures?\b|\bmodel type\b|\bwhat (?:kind|type|sort) of (?:a )?model\b|"
                    r"\bbackbone\b|\bfamily\b",
    "format": r"\bformats?\b|\bfile type\b|\bstored as\b|\bsaved as\b|\b(?:kind|type|sort) of "
              r"files?\b",
    "dtype": r"\bdtypes?\b|\bprecision\b|\bfp16\b|\bfp32\b|\bbf16\b|\bfloat ?(?:16|32)\b|"
             r"\bdata ?types?\b|\bhalf precision\b",
    "quantization": r"\bquanti[sz]|\bint8\b|\bint4\b|\bq4\w*|\bq8\w*|\b[48]-?bits?\b",
    "layers": r"\blayers?\b|\bdepth\b|\bhow deep\b|\btransformer blocks?\b",
    "disk": r"\bdisk\b|\bbytes\b|\bstorage\b|\bspace\b|\bfile sizes?\b|\bmegabytes\b|"
            r"\bgigabytes\b|\bhow (?:big|large) (?:are|is) (?:the |its )?files?\b",
    "files": r"\bwhich files\b|\bwhat files\b|\bfiles? (?:does|do|are|is)\b|\blist (?:the |its )?files\b",
    "tied": r"\btied\b|\btie\b|\bshared (?:input and output )?embeddings\b|\bweight tying\b",
    "sparsity": r"\bspars(?:e|ity)\b|\bzeros?\b|\bpruned\b|\bpruning\b",
    "outliers": r"\boutliers?\b|\bkurtosis\b|\bheavy[- ]tailed\b",
    "config": r"\bhidden (?:size|dim\w*)\b|\battention heads?\b|\bheads\b|\bvocab\w*\b|"
              r"\bcontext (?:length|window|size)\b|\bmax(?:imum)? position|\bsequence length\b|"
              r"\bembedding (?:size|dim\w*)\b|\bintermediate size\b|\bkv heads\b",
    "license": r"\blicen[cs]e[sd]?\b|\bcommercial(?:ly)?\b|\bterms of use\b",
    "base_model": r"\bbase model\b|\bbased on\b|\bderived from\b|\bfine-?tuned (?:from|on top "
                  r"of)\b|\bparents?\b|\bbuilt on\b|\bstarting point\b|\bupstream\b",
    "datasets": r"\bdatasets?\b|\btrained on\b|\btraining data\b|\bdata (?:was|were) used\b|"
                r"\bcorpus\b|\bfine-?tuned on\b",
    "task": r"\btasks?\b|\bpipeline\b|\bused for\b|\bpurpose\b|\bwhat (?:does|can) x do\b|"
            r"\bwhat is x for\b|\bgood for\b",
    "language": r"\blanguages?\b|\bmultilingual\b|\benglish\b|\bfrench\b|\bgerman\b|\bspanish\b|"
                r"\bchinese\b",
    "tags": r"\btags?\b|\btagged\b",
    "library": r"\blibrar(?:y|ies)\b|\bframework\b",
    "results": r"\bresults?\b|\bscores?\b|\baccuracy\b|\bf1\b|\bbenchmarks?\b|\bmetrics?\b|"
               r"\bperformance\b|\breported\b|\bperplexity\b",
    "missing": r"\bmissing\b|\blacks?\b|\blacking\b|\bgaps?\b|\bincomplete\b|\bundocumented\b|"
               r"\bwhat(?:'s| is) wrong with\b|\bimprove\b|\bshould be added\b|\bnot documented\b|"
               r"\bcompleteness\b|\bhow complete\b|\babsent\b|\bleft out\b|\bomit",
    "has_card": r"\b(?:have|has|having|got)\s+(?:a |an |any )?(?:model )?card\b|\bis there (?:a |any )?"
                r"(?:model )?card\b|\bdocumented\b|\bcard exists?\b|\bwithout a card\b",
    "versions": r"\bversions?\b|\bhistory\b|\bwhen (?:was|were)\b.{0,30}\b(?:ingested|added)\b|"
                r"\bingested\b|(?<!open )\bsource\b(?! code)|\bwhere (?:is|are|does)\b.{0,30}\b(?:"
                r"stored|located|live|kept)\b|\bpath\b",
    "adapter": r"\badapters?\b|\blora\b|\bpeft\b",
}
_METADATA_ASPECTS = {"license", "base_model", "datasets", "language", "tags", "library", "results",
                     "missing", "has_card"}
CARD_ASPECTS = ("license", "base_model", "datasets", "task", "language", "tags", "library",
                "results", "missing", "has_card")


@dataclass
class Call:
    tool: str
    args: dict[str, Any]


@dataclass
class Plan:
    """What the offline backend decided for one question (kept in the AI message's metadata)."""

    intent: str
    calls: list[Call] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    aspects: list[str] = field(default_factory=list)
    score: float = 0.0
    reply: str | None = None  # an answer given without tools (help, clarification)
    question: str = ""
    topic: str | None = None
    then: str | None = None  # a second round once the first results are in ("diff_children")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        d = dict(d)
        d["calls"] = [Call(**c) for c in d.get("calls", [])]
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# -- embeddings -------------------------------------------------------------------------------
Embedder = Callable[[list[str]], np.ndarray]
_cache: dict[str, np.ndarray] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 4096  # embedded texts kept (tool descriptions, examples and recent questions)


def default_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2 through ``modellake.tools.embedding.embedder`` (loaded once)."""
    from modellake.tools.embedding.embedder import embed, embed_query

    def run(texts: list[str]) -> np.ndarray:
        if len(texts) > 4:
            return embed(texts)
        # a short question: one thread is faster, and much faster on a busy machine (measured
        # here: ~60 ms with 1 thread against 0.2-1.5 s with 2 under load); no torch with ONNX
        return np.stack([embed_query(t) for t in texts])

    return run


def _vectors(texts: list[str], embedder: Embedder) -> np.ndarray:
    """Embeddings of ``texts``, through a bounded least-recently-used cache shared by threads
    (tool descriptions and recent questions stay; the oldest entries go past ``_CACHE_MAX``)."""
    wanted = list(dict.fromkeys(texts))
    with _cache_lock:
        found = {t: _cache.pop(t) for t in wanted if t in _cache}
        _cache.update(found)  # re-inserted: now the most recently used
    missing = [t for t in wanted if t not in found]
    if missing:
        new = {t: np.asarray(v, dtype=np.float32) for t, v in zip(missing, embedder(missing))}
        found.update(new)
        with _cache_lock:
            _cache.update(new)
            for k in list(_cache)[:max(0, len(_cache) - _CACHE_MAX)]:
                del _cache[k]
    return np.stack([found[t] for t in texts])


# -- routing ----------------------------------------------------------------------------------
@dataclass
class ToolInfo:
    """A tool as bound to the chat model: name, description, JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass
class Scored:
    intent: Intent
    score: float
    cue: bool


_MODEL_PARAMS = ("name", "model", "model_name", "spec", "a", "b", "parent", "child", "old",
                 "source", "target", "base", "models", "names", "model_a", "model_b", "left",
                 "right", "first", "second")
_TEXT_PARAMS = ("query", "text", "need", "q", "question", "description", "prompt", "topic")


def available_intents(tools: dict[str, ToolInfo]) -> list[tuple[Intent, str | None]]:
    """(intent, the tool that serves it) for every intent whose tool is bound."""
    out: list[tuple[Intent, str | None]] = []
    claimed: set[str] = set()
    for it in INTENTS:
        if not it.tools:
            out.append((it, None))
            continue
        name = next((t for t in it.tools if t in tools), None)
        if name is not None:
            out.append((it, name))
            claimed.update(t for t in it.tools if t in tools)
    for name, info in tools.items():
        if name in claimed:
            continue
        required = info.parameters.get("required", [])
        needs = sum(1 for p in required if p in _MODEL_PARAMS)
        mutating = "changes the lake" in info.description.lower()
        words = " ".join(re.split(r"[_\W]+", name))
        examples = (info.description.split(". ")[0][:300], words)
        cue = rf"\b{re.escape(words)}\b" if not mutating else rf"^\s*(?:please\s+)?{re.escape(words)}\b"
        out.append((Intent(f"tool:{name}", (name,), examples, cue=cue, needs=min(needs, 2),
                           mutating=mutating), name))
    return out


def score_intents(q: nlu.Question, candidates: list[tuple[Intent, str | None]],
                  embedder: Embedder, referent: bool) -> list[Scored]:
    text = q.masked.strip() or q.text
    low = text.lower()
    examples = [e for it, _ in candidates for e in it.examples]
    vecs = _vectors([text] + examples, embedder)
    qv, ev = vecs[0], vecs[1:]
    sims = ev @ qv
    out: list[Scored] = []
    i = 0
    strong = [m for m in q.models if m.kind != "partial" or m.score >= 0.6]
    cues = {it.id: bool(it.cue and re.search(it.cue, low)) for it, _ in candidates}
    if cues.get("descendants"):  # "which models came from X": X is the parent
        cues["parents"] = False
    specific = any(v for k, v in cues.items() if k not in _GENERAL)
    guessed = 0 if q.models else int(guess_unknown_name(q.masked) is not None)
    for it, tool in candidates:
        s = float(np.max(sims[i:i + len(it.examples)]))
        i += len(it.examples)
        cue = cues[it.id]
        if (it.mutating or (tool == "list_models" and it.id != "list")) and not cue:
            continue  # changes need their imperative; fallbacks on list_models need their words
        if it.id in _GENERAL and specific:
            cue = False  # "which models are derived from X": the specific kind wins
        score = s + (CUE_BONUS if cue else 0.0)
        have = len(q.models) + (1 if referent else 0) + guessed
        if it.needs and have < it.needs:
            score -= MISSING_MODEL_PENALTY * (it.needs - have)
        if it.id == "show" and aspects_of(low):
            score += 0.15
        if it.id in ("list", "best", "search", "lineage", "runs") and strong:
            score -= 0.12 * len(strong)
        if it.id == "search" and not cue and cues.get("list"):
            score -= CUE_BONUS  # "list the text-generation models": a filter, not a need
        if it.id == "compare" and len(q.models) >= 2:
            score += 0.1
        out.append(Scored(it, score, cue))
    out.sort(key=lambda s: -s.score)
    return out


_GENERAL = ("list", "show", "compare", "help")
# a comparison that the weights answer too (diff), not just the metadata ("which is bigger")
_WEIGHTS_CUE = (r"\b(?:differ|differs|differed|difference|differences|different|changed?|changes|"
                r"compare|comparison|vs\.?|versus|related|relation)\b")


def aspects_of(low: str) -> list[str]:
    return [a for a, rx in ASPECTS.items() if re.search(rx, low)]


def topic_of(q: nlu.Question) -> str | None:
    """What a card question is about: the question minus the words that only point at the card."""
    words = re.findall(r"[a-z][a-z'-]+", q.masked.lower())
    stop = nlu.GENERIC | {"say", "says", "said", "according", "card", "readme", "documentation",
                          "mention", "mentions", "state", "states", "write", "written", "text",
                          "about", "does", "did", "the", "quote", "read", "section", "sections",
                          "describe", "explain", "explains", "x", "y", "x's", "it", "its", "please",
                          "anything", "something", "there", "s", "me", "show", "give", "any",
                          "passage", "where", "who", "why", "when", "they", "were", "was",
                          "summarize", "summary", "using", "regarding", "concerning", "tell"}
    keep = [w for w in words if w not in stop]
    return " ".join(keep) or None


_NEED_STOP = frozenset("""
best good great top which what model models recommend recommended suggest find search need needs
want looking look for use used using should would could can i we you me a an the some any one
that is are to of in on with do does please small large big fast highest better strongest
works work performs task tasks lake here there something
""".split())


def keywords_of(q: nlu.Question) -> str | None:
    """The content words of a "find me a model for ..." question (partial name matches kept)."""
    text = nlu.mask(q.text, [m for m in q.models if m.kind != "partial"])
    words = re.findall(r"[a-z][a-z0-9-]+", text.lower())
    keep = [w for w in words if w not in _NEED_STOP and w not in nlu.GENERIC and len(w) > 2
            and not re.fullmatch(r"\d+[kmb]?", w) and w not in ("under", "over", "than", "more",
                                                               "less", "fewer", "parameters")]
    return " ".join(dict.fromkeys(keep)) or None


def guess_unknown_name(text: str) -> str | None:
    """A name-looking token for a model that is not in the lake ("foo-9000", "org/model")."""
    for m in re.finditer(r"[`\"]([\w./@-]{3,})[`\"]", text):
        return m.group(1)
    for tok in re.findall(r"[\w./@-]+", text):
        t = tok.strip(".-")
        if len(t) < 4 or re.fullmatch(r"[\d.,]+[kmbt]?", t.lower()):
            continue
        if re.search(r"[a-z]", t.lower()) and (re.search(r"\d", t) or "/" in t or "_" in t) and \
                ("-" in t or "/" in t or "_" in t or re.fullmatch(r"[a-z]+\d+[a-z\d]*", t.lower())):
            if not re.fullmatch(r"(?:apache|cc|gpl|mit|llama|bsd|openrail)[\w.-]*", t.lower()):
                return t
    return None


# -- planning ---------------------------------------------------------------------------------
def task_of(text: str, enum: list[Any] | None = None) -> str | None:
    """The task a question names ("best on sts-smoke", "top model for sentiment")."""
    low = text.lower()
    if enum:
        for v in sorted((str(e) for e in enum), key=len, reverse=True):
            if v.lower() in low or v.lower().replace("-", " ") in low:
                return v
    m = re.search(r"\b(?:on|for|at|in)\s+(?:the\s+)?(?:task\s+)?[`'\"]?([a-z0-9][\w.-]*"
                  r"(?:[ ][a-z][\w.-]*)?)", low)
    if not m:
        return None
    words = [w for w in m.group(1).split() if w not in nlu.GENERIC and w not in ("task", "tasks")]
    return "-".join(words) or None


def _top_n(text: str) -> int | None:
    m = re.search(r"\btop[- ](\d+)\b|\b(\d+) (?:best|closest|most similar|nearest)\b", text.lower())
    return int(m.group(1) or m.group(2)) if m else None


def generic_args(info: ToolInfo, q: nlu.Question, models: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Fill a tool's arguments from its JSON schema and what the question says."""
    props: dict[str, Any] = info.parameters.get("properties", {})
    required = list(info.parameters.get("required", []))
    queue = list(models)
    args: dict[str, Any] = {}
    low = q.text.lower()
    for pname, ps in props.items():
        typ = ps.get("type")
        value: Any = None
        if pname in _MODEL_PARAMS or (typ == "string" and "model" in pname and "type" not in pname):
            if typ == "array":
                value = list(models) or None
            elif queue:
                value = queue.pop(0)
        elif pname in _TEXT_PARAMS:
            value = q.text
        elif pname in ("task", "tasks") and "query" in props and not ps.get("enum"):
            value = q.task  # a search tool reads the task from its query; only a known one here
        elif pname in ("task", "tasks"):
            t = task_of(q.text, ps.get("enum") or (ps.get("items") or {}).get("enum"))
            if t and any(t.lower() == m.name.lower() or t.lower() == m.spec.lower() for m in q.models):
                t = None  # "runs for X": X is the model, not a task
            value = ([t] if typ == "array" else t) if t else None
        elif pname in ("k", "top", "top_k", "limit", "n"):
            value = _top_n(q.text)
        elif "max_param" in pname:
            value = q.max_params
        elif "min_param" in pname:
            value = q.min_params
        elif pname == "license":
            value = q.license if q.license != "none" else None
        elif pname == "format" and q.formats:
            value = q.formats[0]
        elif pname == "architecture" and q.architectures:
            value = q.architectures[0]
        elif ps.get("enum"):
            value = next((e for e in ps["enum"] if isinstance(e, str) and
                          re.search(rf"\b{re.escape(e.lower())}\b", low)), None)
        if value is not None and value != []:
            args[pname] = value
    return args, [r for r in required if r not in args]


def _strong_names(q: nlu.Question) -> list[str]:
    strong = [m for m in q.models if m.kind != "partial" or m.score >= 0.6]
    return [m.spec for m in (strong or q.models)]


def make_plan(text: str, linker: nlu.Linker, architectures: list[str], tools: dict[str, ToolInfo],
              embedder: Embedder, prev: Plan | None = None,
              prev_models: list[str] | None = None, tasks: list[str] | None = None) -> Plan:
    """Decide the tool calls for one question (or a reply without tools)."""
    q = nlu.read(text, linker, architectures, tasks)
    low = q.masked.lower()
    referent = list(prev.models if prev and prev.models else prev_models or [])
    refers = nlu.refers_back(text)
    cands = available_intents(tools)
    by_id = {it.id: (it, tool) for it, tool in cands}
    scored = score_intents(q, cands, embedder, referent=bool(referent) and (refers or not q.models))
    aspects = aspects_of(low)
    best = scored[0] if scored else None
    rest = [w for w in re.findall(r"[a-z]+", low) if w not in ("x", "y", "z", "then", "now", "please")]
    followup = prev is not None and (nlu.is_followup_opener(text) or (bool(q.models) and len(rest) <= 1))
    intent: Intent | None = best.intent if best else None
    score = best.score if best else 0.0
    asked = [sc for sc in scored if sc.intent.mutating]  # eligible only with their imperative cue
    if asked and not (best and best.intent.mutating):
        best = asked[0]
    if best and best.intent.mutating:
        intent, score = best.intent, best.score
    elif prev and followup and prev.intent in by_id and not (best and best.cue) and (
            not aspects or prev.intent in ("show", "compare")):
        intent, aspects = by_id[prev.intent][0], aspects or list(prev.aspects)
    elif best is None or best.score < MIN_SCORE:
        if aspects and (q.models or referent) and "show" in by_id:
            intent = by_id["show"][0]
        else:
            return Plan("unanswerable", question=text, score=score)
    assert intent is not None
    if intent.id == "show" and "parents" not in by_id and re.search(_PARENTS_CUE, low):
        aspects = aspects + ["base_model"]  # no lineage tool: the card's declared base model
    if intent.id == "show" and not aspects and q.architectures:
        aspects = ["architecture"]  # "is X a llama?"
    if intent.id == "card_text" and "show" in by_id and set(aspects) & _METADATA_ASPECTS:
        intent = by_id["show"][0]  # "what does the card say about its license": card metadata
    if intent.id in ("parents", "descendants") and "relation" in by_id and \
            len(_strong_names(q)) >= 2 and re.match(r"\s*(?:is|are|was|were|does|did|do|has|have)\b", low):
        intent = by_id["relation"][0]  # "is B derived from A?": a question about the pair
    tool = by_id[intent.id][1]
    # the models the question is about
    names = _strong_names(q) if intent.id not in ("list", "best", "search", "lineage", "runs",
                                                  "help", "ingest", "audit", "tasks",
                                                  "search_runs") else []
    if intent.id in ("lineage", "runs") and q.models:
        names = _strong_names(q)
    if intent.needs and len(names) < intent.needs and referent and (refers or not names or followup):
        names = [n for n in referent if n not in names][: intent.needs - len(names)] + names
    if intent.needs and not names:
        guess = guess_unknown_name(q.text)
        if guess and not intent.mutating:
            names = [guess]
    plan = Plan(intent.id, models=names, aspects=aspects, score=round(score, 3), question=text)
    if intent.id == "help":
        plan.reply = "help"
        return plan
    if intent.needs and len(names) < intent.needs:
        plan.reply = f"{intent.id}-unsure" if intent.mutating else "clarify"
        return plan
    _fill_calls(plan, intent, tool, tools, q)
    return plan


def _fill_calls(plan: Plan, intent: Intent, tool: str | None, tools: dict[str, ToolInfo],
                q: nlu.Question) -> None:
    names = plan.models
    if intent.id == "list":
        args: dict[str, Any] = {}
        if q.architectures:
            args["architecture"] = q.architectures[0]
        if q.formats:
            args["format"] = q.formats[0]
        if q.min_params is not None:
            args["min_parameters"] = q.min_params
        if q.max_params is not None:
            args["max_parameters"] = q.max_params
        if q.has_card is not None:
            args["has_card"] = q.has_card
        if q.license:
            args["license"] = q.license
        if q.task:
            args["task"] = q.task
        if q.quantized is not None:
            args["quantized"] = q.quantized
        if q.superlative:
            args["sort"] = q.superlative
        plan.calls = [Call("list_models", args)]
    elif intent.id in ("search", "best") and tool == "list_models":  # no search tool: metadata words
        args = {"text": keywords_of(q)} if keywords_of(q) else {}
        for key, val in (("min_parameters", q.min_params), ("max_parameters", q.max_params),
                         ("format", q.formats[0] if q.formats else None),
                         ("architecture", q.architectures[0] if q.architectures else None)):
            if val is not None:
                args[key] = val
        if q.superlative:
            args["sort"] = q.superlative
        plan.calls = [Call("list_models", args)]
    elif intent.id == "descendants" and tool == "list_models":  # no lineage tool: what cards declare
        plan.calls = [Call("list_models", {"base_model": n}) for n in names[:3]]
    elif intent.id in ("show", "compare"):
        plan.calls = [Call("show_model", {"name": n}) for n in dict.fromkeys(names)]
        if intent.id == "compare" and "diff" in tools and len(set(names)) >= 2 and \
                re.search(_WEIGHTS_CUE, q.masked.lower()):
            a, b = list(dict.fromkeys(names))[:2]
            plan.calls.append(Call("diff", {"a": a, "b": b}))
    elif intent.id == "card_text":
        plan.topic = topic_of(q)
        plan.calls = [Call("read_card", {"name": n, **({"topic": plan.topic} if plan.topic else {})})
                      for n in names[:2]]
    elif intent.id == "rm":
        exact = [m for m in q.models if m.kind == "exact"]
        if not exact:
            plan.reply = "rm-unsure"
            return
        plan.models = [m.spec for m in exact]
        plan.calls = [Call("remove_model", {"name": m.spec}) for m in exact]
    elif intent.id == "rename":
        old = next((m for m in q.models if m.kind in ("exact", "fuzzy")), None)
        new = nlu.rename_target(q.text, old)
        if old is None or not new or new == old.name:
            plan.reply = "rename-unsure"
            return
        plan.models = [old.spec]
        plan.calls = [Call("rename_model", {"old": old.name, "new": new})]
    elif intent.id == "ingest":
        if not q.paths:
            plan.reply = "ingest-unsure"
            return
        m = re.search(r"\b(?:as|named|called|under the name)\s+[`'\"]?([\w./@-]+)", q.text)
        args = {"path": q.paths[0]}
        if m and m.group(1) != q.paths[0]:
            args["name"] = m.group(1).rstrip(".,;:!?")
        plan.calls = [Call("ingest_models", args)]
    else:
        assert tool is not None
        info = tools[tool]
        one_per_model = intent.needs == 1 and len(names) > 1 and intent.id in (
            "parents", "descendants", "draft_card", "check_card", "similar")
        groups = [[n] for n in names] if one_per_model else [names]
        for group in groups:
            args, missing = generic_args(info, q, group)
            if missing:
                plan.reply = "missing:" + ",".join(missing)
                plan.calls = []
                return
            plan.calls.append(Call(tool, args))
        # what the cards declare, to check the weights' answer against
        if intent.id == "parents" and tool != "show_model" and "show_model" in tools:
            plan.calls += [Call("show_model", {"name": n}) for n in names[:3]]
        if intent.id == "descendants" and tool != "list_models" and "list_models" in tools:
            plan.calls += [Call("list_models", {"base_model": n}) for n in names[:3]]
        if intent.id == "descendants" and "diff" in tools and re.search(_WEIGHTS_CUE, q.masked.lower()):
            plan.then = "diff_children"  # "which models came from X and how do they differ?"
