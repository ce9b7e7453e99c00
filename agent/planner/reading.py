"""Reading one question: the models it names, the relation, ranking, count, facts and task it asks.

Only language-general patterns live here (how people ask for a count, a ranking, a list, or
point back at an earlier answer); the domain words come from the declarations: relation
words from :mod:`modellake.tools.query.relations`, facts from :mod:`modellake.tools.query.facts`,
model aspects from :mod:`modellake.tools.model_view`.
"""
from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, field

from modellake.agent import nlu
from modellake.tools.model_view import ASPECTS
from modellake.tools.query import relations
from modellake.tools.query.facts import BY_NAME, CONFIG_FACTS, FACTS
from modellake.tools.search import license_ids
from modellake.tools.search.negation import NEGATOR

# -- rankings ----------------------------------------------------------------------------
_PART = (r"(?!\s+(?:single\s+)?(?:tensors?|layers?|matri(?:x|ces)|modules?|blocks?|heads?|components?|"
         r"parts?|shards?|files?|weights? (?:matri|tensor))\b)")  # "the largest tensor of X": a part of it
SIZE_HIGH = (r"\b(?:largest|biggest|heaviest|hugest|most (?:parameters|params|weights)|"
             r"greatest number of parameters)\b" + _PART + r"|\bmost (?:disk|space|storage)\b")
SIZE_LOW = (r"\b(?:smallest|tiniest|lightest|leanest|fewest (?:parameters|params)|least "
            r"(?:parameters|params)|cheapest|lowest (?:parameter|param) count)\b" + _PART + r"|\bleast "
            r"(?:disk|space|storage)\b")
SCORE_HIGH = (r"\b(?:best|top(?! of)|highest[- ]scoring|strongest|most accurate|winner|wins|"
              r"outperforms?|highest (?:score|accuracy|f1)|scores? (?:the )?highest|performs? best|"
              r"number one|no\. ?1|first place|ranks? first|ranked first|comes? first|tops|topped|"
              r"leads|leading)\b|"
              r"(?<!\w)#1\b")
SCORE_LOW = (r"\b(?:worst|weakest|bottom|lowest[- ]scoring|least accurate|loser|lowest (?:score|"
             r"accuracy|f1)|scores? (?:the )?lowest|performs? worst|underperform\w*|(?:is|comes?|came|ranks?|ranked|"
             r"finish\w*|places?|placed) (?:dead )?last|dead last|last on)\b")
NEWEST = r"\b(?:newest|latest|most recent(?:ly)?(?: added| ingested)?|last (?:added|ingested))\b"
OLDEST = r"\b(?:oldest|earliest|first (?:added|ingested))\b"
DEEPEST = r"\b(?:deepest|most layers)\b"
SHALLOWEST = r"\b(?:shallowest|fewest layers|least layers)\b"
DISK = r"\b(?:disk|bytes|storage|file size|footprint|megabytes|gigabytes|space)\b"
COUNT = (r"\bhow many (?:\w+ ){0,3}(?:models?|checkpoints|of them|are there|do we have|do i have|"
         r"children|kids|descendants|parents|siblings|relatives|fine-?tunes|derivatives|copies)\b|"
         r"\bnumber of (?:\w+ )?(?:models|checkpoints)\b|\bcount (?:of |the |all )?(?:\w+ ){0,2}"
         r"(?:models|checkpoints)\b|"
         r"^\s*how many (?:are|were|is|have|has|do|does|of)\b")
LISTING = (r"\b(?:is|are) there (?:a|an|any|some)\b.{0,30}\b(?:models?|checkpoints?|copies|copy)\b|"
           r"\b(?:do|did) (?:we|you|i) have (?:a|an|any|some)\b.{0,30}\b(?:models?|checkpoints?)\b|"
           r"\b(?:list|enumerate|show(?: me)?|give me|what are)\b.{0,30}\bmodels\b|\bwhich "
           r"(?:\w+ )?models?\b|\bwhat (?:\w+ )?models\b|\bany (?:[\w-]+ )?models?\b|\bmodels "
           r"(?:with|without|under|over|above|below|that|of|in|stored|licensed|for|by|from)\b|"
           r"\blist (?:everything|all)\b|\beverything (?:in|here)\b|"
           r"\bwhat(?:'s| is) in the lake\b|\ball (?:the )?models\b|\bare there\b|\bwhich "
           r"(?:\w+ )?checkpoints?\b|\b(?:every|each) (?:single )?model\b|"
           r"\b(?:list|enumerate|table)\b.{0,30}\bmodels?\b")
SCORED = (r"\bhow good (?:is|are|was|were) (?:it|they|x|y)\b|\b(?:any|the|its|their) (?:benchmark )?numbers\b|"
          r"\b(?:rouge(?:-?\w+)?|bleu|wer|cer|auc|precision|recall|ndcg|bertscore|meteor|chrf|map@\d+)\b|"
          r"\b(?:scores?|scored|accuracy|f1|spearman|perplexity|how (?:well )?(?:did|does|do) "
          r"(?:x|y|it|they|(?:that|this|the) \w+)\b.{0,20}\b(?:do|did|perform|fare)|perform\w*|results? on|result|"
          r"benchmark runs?|benchmarked|been evaluated|(?:have|has|with|any) runs|recorded|"
          r"(?:does|did) the lake (?:actually |really )?(?:record|say|have|show))\b")
COMPARATIVE = {r"\b(?:bigger|larger|heavier)\b": ("parameters", "highest"),
               r"\b(?:smaller|lighter|tinier)\b": ("parameters", "lowest"),
               r"\b(?:better|stronger|more accurate)\b": ("score", "best"),
               r"\b(?:worse|weaker|less accurate)\b": ("score", "worst")}
NEED_VERBS = (r"\b(?:need|want|looking for|look for|recommend|suggest|find me|should i use|would "
              r"you use|could i use|can i use|something (?:for|to|that)|anything (?:for|to|that)|"
              r"any model (?:for|to|that))\b")
RANKING = r"\b(?:rank|ranking|ranked|leaderboard|order(?:ed)? by|sort(?:ed)? by)\b"
TOP_N = (r"\btop[- ](\d+|two|three|four|five)\b|\b(\d+|two|three|four|five) (?:best|largest|smallest|"
         r"biggest|worst|models? (?:do|does|did|score|scored|are|is) (?:the )?(?:best|worst))\b")
NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5}

# -- pointing back ------------------------------------------------------------------------
IT = (r"\b(?:it|its|it's|this model|that model|the model|this one|that one|the same model)\b|"
      r"\b(?:of|for|about|from|on) (?:that|this)\s*[?.!]*$")
OTHER = r"\bthe other(?: one| model)?\b"
THAT_ONE = (r"\b(?:that one|that model|that checkpoint|that something|the latter|this one|"
            r"(?:that|this|the) (?:base|parent|root|child)(?: model)?(?! of))\b")
WHICH_ONES = r"^\s*(?:and\s+)?(?:which|what) (?:ones|are they|were they)\b|^\s*(?:name|list) them\b"
THEM = (r"\b(?:them|they|those|these|their|of them|among them|the others|those models|these "
        r"models|both|the two|the three|either|neither|each one|each of (?:them|those|these))\b|"
        r"\b(?:on|for|of) each\s*[?.!]*$|\beach(?= (?:is|for|has|have|does|do|was|uses?)\b|'s\b|\s*[?,]|\s*$)")
ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1,
            "1st": 0, "2nd": 1, "3rd": 2, "bottom": -1, "runner-up": 1, "runner up": 1}
ORDINAL = (r"\bthe (first|second|third|fourth|fifth|last|1st|2nd|3rd|bottom|runner[- ]up)(?: one| model)?\b|"
           r"\b(?:in|at) (first|second|third|last|bottom) (?:place|spot|position)\b|\bat the (bottom)\b")
TOP_OF = r"\bthe (top|bottom|first|last) (two|three|2|3)\b"  # "the top two": the first two of a ranking
OPENER = (r"^\s*(?:and|what about|how about|and for|same (?:question |thing |again )?for|also|then|"
          r"ok(?:ay)?,? (?:and|what about)|(?:for|on|in|with|at|by|under) (?:how|what|which)|"
          r"(?:is|was) (?:that|this) (?:\w+ )?(?:right|true|correct|accurate|legit))\b")

CHIT_CHAT = (r"^\s*(?:hi|hello|hey|thanks?|thank you|good (?:morning|evening)|bye)\b")
_NAMEISH = re.compile(r"[`\"']([\w./@-]{3,})[`\"']|(?<![\w/])([A-Za-z][\w.]*(?:[-/_][\w.]+)+|"
                      r"[A-Za-z]+\d+[A-Za-z\d.]*)(?![\w/])")
_NOT_NAMES = re.compile(r"^[\w.]+-(?:licen[cs]ed|based|derived|descended|style|like|sized|free|only|level|aware|wise|"
                        r"specific|friendly|tuned|trained|ready|heavy|light|grade)$|^(?:apache|cc|gpl|mit|bsd|openrail|llama\d|gemma|top-?\d+|q\d\w*|"
                        r"int\d+|fp\d+|bf\d+|f\d+|[a-z]+-smoke|sts|\d+[kmb]|e\.g|i\.e|"
                        r"text-\w+|fill-mask|feature-extraction|sentence-similarity|"
                        r"token-classification|question-answering|zero-shot\S*|image-\S+|"
                        r"fine[- ]?tune\w*|pre-?train\w*|well-known|state-of-the-art|"
                        r"multi-\w+|non-\w+|half-\w+|open-\w+|safetensors|gguf)$", re.I)


@dataclass
class Reading:
    """What one question asks, before any tool runs."""

    text: str
    low: str                                   # lower case, model names replaced by x / y
    names: list[str] = field(default_factory=list)     # lake models named, in order
    exact: list[str] = field(default_factory=list)     # ... named exactly (safe to change)
    unknown: str | None = None                 # a model-like name that is not in the lake
    ambiguous: list[str] = field(default_factory=list)  # lake models a vague word fits
    relation: str | None = None
    relation_of: int | None = None             # index into names of the relation's model
    derivation: str | None = None              # finetune | quantized | ... named in the question
    rank: tuple[str, str] | None = None        # (fact or "score", "highest" | "lowest" | ...)
    top: int | None = None
    ranking: bool = False                      # a whole ranking, not one winner
    count: bool = False
    listing: bool = False
    facts: list[str] = field(default_factory=list)      # query facts asked about
    aspects: list[str] = field(default_factory=list)    # model aspects asked about
    task_words: str | None = None              # the words that may name a task
    filters: dict[str, object] = field(default_factory=dict)
    it: bool = False
    them: bool = False
    ordinal: int | None = None
    opener: bool = False
    paths: list[str] = field(default_factory=list)
    weak: list[str] = field(default_factory=list)      # models named only by a domain word
    need: bool = False                                 # asks for a model for some purpose
    asks_need: bool = False                            # ... in so many words ("I need", "recommend")
    comparative: tuple[str, str] | None = None         # "which is bigger?" (among models discussed)
    scored: bool = False                               # asks how models score on a task
    metric: str | None = None                          # a metric named ("macro f1", "pearson")
    other: bool = False                                # "the other one"
    that_one: bool = False                             # "that one": the model the answer named
    group_by: str | None = None                        # "how many of each architecture"
    trade: str | None = None                           # "the best score for the least disk": shown beside
    score_bounds: tuple[float | None, float | None] | None = None  # "still hits 0.95": (min, max) of a score
    kin_word: str | None = None  # "the MiniLM-derived models", "minilm family": the word that names a family
    quoted: bool = False  # the question quotes or pastes text (a claim to check, not words of the question)
    quoted_task: str | None = None  # the words that may name a task in what it quotes

    @property
    def content_words(self) -> list[str]:
        return [w for w in re.findall(r"[a-z]+", self.low) if w not in nlu.GENERIC
                and w not in ("x", "y", "z", "please", "and", "what", "about", "how")]


def read(text: str, linker: nlu.Linker, architectures: list[str], card_tasks: list[str],
         lake_archs: frozenset[str] | set[str] = frozenset(),
         domain: frozenset[str] | set[str] = frozenset(),
         benchmarks: frozenset[str] | set[str] = frozenset()) -> Reading:
    """``architectures``: words that name an architecture (the lake's and common ones);
    ``lake_archs``: those of the lake's models (a model name is not unknown for being one);
    ``domain``: words of the lake's vocabulary (task names...) that, alone, name no model;
    ``benchmarks``: the words of its task and benchmark names ("gsm8k", "squad_v2"): no model."""
    raw, text = text, _left_out(pasted_out(text))
    q = nlu.read(text, linker, architectures, card_tasks)
    weak = [m for m in q.models if m.kind == "partial" and _domain_word(text[m.start:m.end], domain)
            and not _set_against(text, m, q.models)]
    whole = [m for m in q.models if m.kind == "partial" and len(re.split(r"[-_]", text[m.start:m.end])) >= 3
             and re.fullmatch(r"[\w.-]+", text[m.start:m.end])  # "distilbert-base-uncased": another
             and not _ends_name(text[m.start:m.end], m.name)]   # model; "llama-3-8b": Meta-Llama-3-8B
    whole += [m for m in q.models if m.kind == "partial" and re.fullmatch(r"[\w.]+-[\w.-]+", text[m.start:m.end])
              and _other_head(text[m.start:m.end], m.name, linker.names, text)]  # "mistral-7b" is not
    # OpenHermes-2.5-Mistral-7B
    q.models = [m for m in q.models if m not in whole]
    q.models = [m for m in q.models if m not in weak]
    q.masked = nlu.mask(text, q.models)
    if weak and not q.task:  # a task word that was taken for a model name: read it again
        q.task = nlu.card_task(q.masked.lower(), card_tasks)
    spans = [(m.start(), m.end()) for p in q.paths for m in re.finditer(re.escape(p), text)]
    q.models = [m for m in q.models if not any(a <= m.start and m.end <= b for a, b in spans)]
    strong = [m for m in q.models if m.kind != "partial" or m.score >= 0.6
              or text[m.start:m.end].lower() not in lake_archs]
    weak += [m for m in q.models if m not in strong and m not in weak]
    if strong and all(m.kind == "partial" for m in strong) and re.search(LISTING, q.masked.lower()):
        weak, strong = weak + strong, []  # "which model detects medical entities": a need
        q.masked = nlu.mask(text, [m for m in q.models if m not in weak])  # "any int8 models": a word
    r = Reading(text=text, low=spelled(q.masked.lower()), names=[m.spec for m in strong],
                exact=[m.spec for m in q.models if m.kind == "exact"], paths=q.paths,
                weak=[m.spec for m in weak])
    low = r.low
    r.filters = _filters(q)
    r.it = bool(re.search(IT, low))
    r.them = bool(re.search(THEM, low)) or bool(re.search(WHICH_ONES, low))
    _relation(r, text, q)
    _ranking(r, low)
    r.count = bool(re.search(COUNT, low))
    r.listing = bool(re.search(LISTING, low))
    r.group_by = _group_by(low)
    r.facts = [f.name for f in FACTS if any(_has(low, w) for w in f.words)]
    if "base_model" not in r.facts and re.search(r"\bbase\b.{0,25}\bcards?\b.{0,10}\b(?:claims?|declares?|says?|lists?|"
                                                 r"names?|states?|gives?)\b|(?<!whose )\bcards?\b.{0,15}\b(?:claims?|"
                                                 r"declares?|"
                                                 r"says?|lists?|names?|gives?)\b.{0,20}\bbase\b", low):
        r.facts.append("base_model")  # "what base each card claims": the base its card declares
    if "parameters" in r.facts and "bytes" not in r.facts and re.search(
            r"\b(?:to store|storage|on disk|disk space|footprint|file size|download size)\b", low):
        r.facts.append("bytes")  # "is it smaller or faster to store?": its files too
    if "purpose" in r.facts and "task" not in r.facts:  # "what is each for?": the card's task and its words
        r.facts.insert(r.facts.index("purpose"), "task")
    r.aspects = [a for a, words in ASPECTS.items() if any(_has(low, w) for w in words)]
    if "config" in r.aspects and re.search(r"\bhow long\b.{0,25}\b(?:train\w*|took|take|run|ran|last\w*)\b|"
                                           r"\b(?:train\w*|took)\b.{0,20}\bhow long\b", low) and not re.search(
            r"\b(?:context|sequence|positions?|window|input)\b", low):
        r.aspects.remove("config")  # "how long was it trained?": time, which its card tells, not its context
    if re.search(r"\b(?:same|that|this|the other) (?:task|benchmark)\b", low):  # a benchmark task, not the card's
        r.facts = [f for f in r.facts if f != "task"]
        r.aspects = [a for a in r.aspects if a != "task"]
    _shape_words(r, low)
    if r.count and _counts_own_parts(low):  # "how many of those (parameters) are zero?": one model's
        r.count, r.them, r.it = False, False, True  # weights, not a count of models
    ranked = [f for f in r.facts if f in ("results", "card_completeness")]
    if ranked and r.rank is not None and r.rank[0] == "score" and "card_completeness" in ranked:
        r.rank = None  # "the best documented card": its completeness, not a benchmark score
    if r.rank is None and ranked:  # "which model reports the most eval results?", "the most complete card"
        most = re.search(r"\b(most|fewest|least|best|worst)\b", low)
        if most:
            r.rank = (ranked[0], "highest" if most.group(1) in ("most", "best") else "lowest")
    if re.search(r"(?<!hidden )(?<!embedding )(?<!vocab )(?<!context )(?<!vocabulary )\bsize of\b|"
                 r"^\s*size\b", low) and "parameters" not in r.aspects and "disk" not in r.aspects:
        r.aspects.append("parameters")  # "size of X": its parameter count, not a hidden size
    if re.search(r"\b(?:how (?:large|big|heavy)|size of|sized?|shr[iu]nk\w*|smaller|bigger|larger|grow\w*)\b.{0,30}"
                 r"\bfiles?\b|\bfiles?\b.{0,12}\b(?:size|large|big|smaller|bigger|shr[iu]nk\w*|grow\w*)\b",
                 low) and "disk" not in r.aspects and not re.search(r"\bparam", low):  # "how large is its file?"
        r.aspects = [a for a in r.aspects if a not in ("parameters", "files")] + ["disk"]
        r.facts = [f for f in r.facts if f != "parameters"] + ["bytes"] * ("bytes" not in r.facts)
        r.low = low = re.sub(r"\bhow (?:large|big|heavy)\b", "how much disk", low)
    for key in ("architecture", "license"):  # "is X a bert model?", "is X apache?"
        if len(r.names) == 1 and key in r.filters and key not in r.aspects and not r.listing:
            r.aspects.append(key)
            r.filters.pop(key)
    if re.search(r"\b(?:no|without|lack\w*|missing) (?:a |any )?(?:declared )?base models?\b|"
                 rf"{_NOT_STATED} (?:declared )?(?:base|parent)(?: models?)?\b", low):
        r.filters["base_model"] = "none"
        r.low = low = re.sub(_NOT_STATED, "have no", low)  # "don't document their base": not a word to search
    elif re.search(r"\b(?:declares?|declaring|with|have|has|name|names) (?:a |any )?(?:declared )?base "
                   r"models?\b", low) and not r.names:
        r.filters["base_model"] = "lake" if re.search(r"\bbase(?: model)?s? (?:that(?:'s| is| are)|which (?:is|are)|"
                                                      r"also)?\s*(?:also )?(?:in|stored in) (?:this|the|our) lake\b|"
                                                      r"\bbase(?: model)?s? (?:that(?:'s| is)|is) also here\b",
                                                      low) else "any"
    m = re.search(ORDINAL, low)
    r.ordinal = ORDINALS[next(g for g in m.groups() if g)] if m else None
    r.other = bool(re.search(OTHER, low))
    r.that_one = bool(re.search(THAT_ONE, low))
    if re.search(r"\b(?:actual |real )?weights (?:in|stored)|\b(?:with|have|has) (?:actual |real |their )?"
                 r"weights\b", low):
        r.filters["has_weights"] = True
    elif re.search(r"\b(?:without|no|lack\w*) (?:actual )?weights\b|\bcard[- ]only\b", low):
        r.filters["has_weights"] = False
        r.filters.pop("format", None)
    r.opener = bool(re.search(OPENER, low))
    r.score_bounds = _score_bounds(low)
    kin = re.search(r"\b([a-z][\w.]*[a-z0-9])[- ](?:derived|descended|based|family|derivatives|lineage)\b", low)
    r.kin_word = kin.group(1) if kin and kin.group(1) not in nlu.GENERIC and kin.group(1) not in lake_archs and \
        kin.group(1) not in ("x", "y", "same", "model", "which", "what") else None  # not "llama-based": an arch
    r.task_words = _task_words(low) or _bare_benchmark(low, benchmarks)
    r.scored = bool(re.search(SCORED, low))
    mm = re.search(r"\b(macro[ _-]?f1|micro[ _-]?f1|f1|accuracy|spearman|pearson|perplexity|"
                   r"pseudo[ _-]?perplexity)\b", low)
    r.metric = re.sub(r"[ -]", "_", mm.group(1)) if mm else None
    r.asks_need = bool(re.search(NEED_VERBS, low))
    if r.rank is None and re.search(r"\bwhich\b|\bwho\b", low):
        r.comparative = next((v for k, v in COMPARATIVE.items() if re.search(k, low)), None)
    if "bytes" in r.facts and not re.search(r"\bparam", low):  # "which is bigger on disk?": the files
        r.comparative = ("bytes", r.comparative[1]) if r.comparative and r.comparative[0] == "parameters" \
            else r.comparative
        r.rank = ("bytes", r.rank[1]) if r.rank and r.rank[0] == "parameters" else r.rank
    if r.rank is None and re.search(r"\bwhich (?:\w+ ){0,4}(?:is|was|does|did|scores?|performs?) "
                                    r"(?:the )?better\b|\bwho (?:is|does|did) better\b", low):
        r.rank = ("score", "best")
    r.need = bool(set(re.findall(r"[a-z][a-z-]+", low) + re.findall(r"[a-z]+", low))
                  & (NEED_WORDS | set(domain)))
    bare = text
    for m in sorted(q.models + weak, key=lambda m: -m.start):  # the names the lake knows
        bare = bare[:m.start] + " " * (m.end - m.start) + bare[m.end:]
    for p in q.paths:
        bare = bare.replace(p, " ")
    r.unknown = unknown_name(bare, linker.names, sorted(lake_archs), domain | benchmarks)
    _add_parts(r, bare, linker.names)
    if r.unknown is None and not q.models:  # "whats tinyllama's architecture"
        pos = re.search(r"\b([a-z][a-z0-9]{3,})'s\b", bare.lower())
        if pos and pos.group(1) not in nlu.GENERIC and pos.group(1) not in _PEOPLE | _CONTRACTED:
            r.unknown = pos.group(1)
    if r.unknown is None and not q.models:  # "license of mistral?": a family the lake lacks
        fam = re.search(r"\b(?:of|is|does|did|about|for)\s+(" + "|".join(sorted(
            nlu.ARCH_WORDS - set(lake_archs), key=len, reverse=True)) + r")\b\s*[?.!]*\s*$", bare.lower())
        if fam and fam.group(1) not in {a.lower() for a in architectures if a.lower() in lake_archs}:
            r.unknown = fam.group(1)
    if not q.models:
        r.ambiguous = _ambiguous(text, linker.names) if r.unknown is None else []
    tied = [m for m in q.models if m.alternatives and m.spec in r.names and "/" not in text[m.start:m.end]]
    if tied and len(r.names) == 1:  # "all minilm l6 v2": two models fit it as well
        r.ambiguous = [tied[0].spec, *tied[0].alternatives]
        r.names = []
    if not r.names and raw != text:  # "a draft says: 'X reaches 0.99 ...'. Is that right?": X
        r.names = [m.spec for m in linker.link(raw) if m.kind == "exact"][:2]
    for glob in re.findall(r"(?<![\w*])([A-Za-z0-9][\w./-]*\*[\w./*-]*)", text):  # "the enc-* models"
        matched = [n for n in linker.names if fnmatch.fnmatch(n.lower(), glob.lower())]
        if matched:
            r.names = list(dict.fromkeys([*r.names, *matched]))
            r.exact = list(dict.fromkeys([*r.exact, *matched]))
            r.low = r.low.replace(glob.lower(), "x")
    r.quoted = raw != text
    r.quoted_task = _task_words(raw.lower()) if r.quoted else None  # "'... 0.99 on sts-smoke'"
    return r


# words that make a question a request for a model ("text to sql model?", "summarize russian news")
NEED_WORDS = frozenset("""classifier classify classification detect detection detector
summarize summarise summarization summary translate translation translator sql code coding chat
chatbot assistant embedding embeddings embed encoder decoder sentiment emotion ner entity entities
question answering qa ocr speech audio asr transcribe transcription image images vision caption
captioning segmentation table tables document documents docs text generation generate generator
instruct instruction reasoning math retrieval rerank reranker search similarity paraphrase
multilingual english french german spanish chinese russian japanese arabic llm lm tokenizer
forecast forecasting series time-series anomaly tabular regression object segmentation depth
pose music video speech-to-text text-to-speech tts stt ocr rerank ranking agent tool function
calling name names tag tags language languages""".split())
DOMAIN = frozenset("""topic sentiment merge merged pruned prune quantized quant finetune
fine-tune tuned finetuned fine-tuned paraphrase base instruct chat similarity classification
summarization medical legal financial news code coder sql ner
summarizer encoder decoder embedding embeddings generation translation twin grand""".split())


def _domain_word(span: str, domain: frozenset[str] | set[str]) -> bool:
    """A single word that names a task, a derivation or a kind of model, not one model."""
    w = span.lower().strip()
    return " " not in w and "-" not in w and (w in DOMAIN or w in domain or w in NEED_WORDS)


_PASTED = re.compile(r"```.*?(?:```|$)|<!--.*?(?:-->|$)|(?m:^-{3,}[ \t]*$)(?s:.*)(?m:^-{3,}[ \t]*$)|"
                     r"\"[^\"]*\n[^\"]*\"|“[^”]*\n[^”]*”|"
                     r"(?:(?<=[:\s])|^)['\"](?=[A-Z<#])[^'\"\n]{30,}?['\"](?=[\s,.;:!?]|$)|"
                     r"(?:(?<=\bsays )|(?<=\bsaid )|(?<=\breads )|(?<=\bstates )|(?<=\bwrites )|"
                     r"(?<=\bsaying )|(?<=\bcontains )|(?<=: ))['\"“][^'\"”\n]{12,}?['\"”](?=[\s,.;:!?]|$)",
                     re.S)
_REAL_QUESTION = re.compile(r"\b(?:my|the|a|ok(?:ay)?,?\s+(?:the\s+)?)?(?:real|actual)\s+question"
                            r"(?:\s+is)?\s*[:,-]\s*", re.I)


_QUOTED = re.compile(r"[\"“”][^\"“”]*[\"“”]|(?<![A-Za-z])'[^'\n]*\s[^'\n]*'(?![A-Za-z])|`[^`]*`")
_ROLE = re.compile(r"\b(?:assistant|system|ai|bot|agent)\s*:.*?(?:[.!?\n]|$)", re.I)


def own_words(text: str) -> str:
    """The words that are the user's own: without anything quoted (a passage, a card, a
    README) and without instructions addressed to a role ("Assistant: remove ..."). A change
    to the lake is made only when asked in these words."""
    return _ROLE.sub(" ", _QUOTED.sub(" ", text))


def pasted_out(text: str) -> str:
    """The question without what was pasted into it (a fenced block, an HTML comment, a quote
    over several lines or a quoted instruction): pasted text is data to talk about, not words of
    the question. After "real question:" only what follows is the question."""
    real = list(_REAL_QUESTION.finditer(text))
    if real:
        text = text[real[-1].end():]
    return _PASTED.sub(" ", text)


_EXCLUDED = re.compile(r"(?i)\(\s*(?:not|no|excluding|except|but not|other than)\b[^()]*\)|"
                      r",\s*(?:not|but not)\s+(?:\w+\s+){0,2}(?:pruned|quantized|quantised|merged|merges|"
                      r"fine[- ]?tuned|fine[- ]?tunes|copies|adapters)(?:\s+(?:or|nor|and)\s+\w+)*\s*,")


def _left_out(text: str) -> str:
    """The question without a kind it sets aside in passing ("fine-tuned (not pruned or
    quantized) from x"): the kind asked for says it; the set-aside words would read as asked."""
    return _EXCLUDED.sub(lambda m: "," if m.group(0).startswith(",") else " ", text)


KEYWORDS = frozenset("""parent parents children child descendants descendant ancestors ancestor
siblings sibling license licence licenses quantized quantization quantize parameters params
architecture layers format derived derives smallest largest biggest benchmark benchmarks
accuracy merged merge pruned fine-tuned finetuned family relation related compare difference
dataset datasets language languages card cards weights lineage model models""".split())


def adjacent_swap(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with two neighbouring characters swapped ("parnet", "parent")."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def spelled(low: str) -> str:
    """The question with misspelt domain words put right ("parnet" -> "parent", "licnese" ->
    "license"): two letters swapped, the same letters in another order inside a word of six or more,
    or one letter off in a word of six or more."""
    def fix(m: re.Match[str]) -> str:
        w = m.group(0)
        if w in KEYWORDS or len(w) < 5 or w in nlu.GENERIC or "-" in w or _inflected(w):
            return w
        for k in KEYWORDS:
            if k[0] == w[0] and adjacent_swap(w, k):
                return k  # two neighbouring letters swapped
            if len(w) >= 6 and k[0] == w[0] and k[-1] == w[-1] and sorted(k) == sorted(w):
                return k  # the same letters, two of them in each other's place ("lisence")
        close = difflib.get_close_matches(w, KEYWORDS, n=1, cutoff=0.88)
        return close[0] if close and len(w) >= 6 and close[0][0] == w[0] else w
    return re.sub(r"[a-z][a-z-]+", fix, low)


_ENDINGS = ("s", "es", "d", "ed", "ing", "er", "ers")


def _inflected(w: str) -> bool:
    """A domain word with an ending ("benchmarked", "quantizing"): spelt right, not a typo."""
    return any(w.startswith(k) and w[len(k):] in _ENDINGS for k in KEYWORDS if len(k) >= 4) or \
        any(w.endswith(e) and w[:-len(e)] + "e" in KEYWORDS for e in ("ed", "ing"))


# how a model is built, asked loosely: "how wide", "query vs key/value heads", "mlp size"
_SHAPE = re.compile(r"\bhow wide\b|\b(?:embedding |hidden |model )?width\b|\b(?:query|key|value|kv|q)(?:[ /-]+"
                    r"(?:key|value|kv))*[ /-]*heads?\b|\b(?:mlp|ffn|feed[- ]?forward)(?: layer)? "
                    r"(?:size|dim\w*|width)\b|\bembedding (?:dim\w*|size)\b")


def _shape_words(r: Reading, low: str) -> None:
    """Loose words for a model's shape read as its configuration (and the facts a query shows)."""
    if not _SHAPE.search(low):
        return
    r.aspects = [a for a in r.aspects if a != "modules"] + ["config"] * ("config" not in r.aspects)
    r.facts += [f for f in ("hidden_size", "heads", "intermediate_size") if f not in r.facts]


def _has(low: str, phrase: str) -> bool:
    """``phrase`` as whole words, or its plural ("licenses", "formats")."""
    return re.search(rf"\b{re.escape(phrase)}(?:e?s)?\b", low) is not None


_BOUND = re.compile(r"\b(under|below|less than|fewer than|at most|up to|smaller than|over|above|"
                    r"more than|at least|larger than|bigger than)\s+([\d][\d,.]*)\s*(k|m|b|thousand|"
                    r"million|billion)?\s*(?:param\w*|weights)\b")


OTHER_FORMATS = r"\b(onnx|tflite|coreml|openvino|mlx|tensorrt|keras|tensorflow|jax|flax)\b"


_NOT = (rf"\b(?:{NEGATOR}|non)[- ]+(?:(?:a|an|the|one|of|in|stored as|saved as|"
        r"in the|based on|built on)\s+)*")


def _negated(low: str, value: str) -> str:
    """``value`` as a filter, ``"not VALUE"`` when the question rules it out ("which model
    isn't a BERT", "the non-gguf models")."""
    word = re.escape(value.lower())
    return f"not {value}" if re.search(rf"{_NOT}(?:\w+[- ])?{word}s?\b", low) else value


def _filters(q: nlu.Question) -> dict[str, object]:
    f: dict[str, object] = {}
    other = re.search(OTHER_FORMATS, q.masked.lower())
    if other and not q.formats:
        f["format"] = other.group(1)
    m = _BOUND.search(q.masked.lower())
    if m and q.min_params is None and q.max_params is None:
        n = int(nlu.parse_number(m.group(2), m.group(3)))
        low = m.group(1) in ("over", "above", "more than", "at least", "larger than", "bigger than")
        q.min_params, q.max_params = (n, None) if low else (None, n)
    if q.architectures:
        f["architecture"] = _negated(q.masked.lower(), q.architectures[0])
    if q.formats:
        f["format"] = _negated(q.masked.lower(), q.formats[0])
    if q.min_params is not None:
        f["min_parameters"] = q.min_params
    if q.max_params is not None:
        f["max_parameters"] = q.max_params
    if q.has_card is not None:
        f["has_card"] = q.has_card
    bare = re.search(r"\b(mit|apache(?:[- ]?2(?:\.0)?)?|gpl[\w.-]*|bsd[\w.-]*|cc-by[\w.-]*|"
                     r"openrail[\w.+-]*|llama\d[\w.]*|gemma)\s+(?:licen[cs]ed\s+)?models?\b", q.masked.lower())
    if not q.license and bare:  # "how many mit models"
        ids = [i for i in license_ids(bare.group(1) + " license") if "*" not in i]
        q.license = ids[0] if ids else None
    if q.license:
        ids = license_ids(q.masked) or [q.license]
        f["license"] = ",".join(ids) if q.license != "none" and len(ids) > 1 else q.license
    if "llama*" in str(f.get("license", "")) and f.get("architecture") == "llama":
        f.pop("architecture")  # "a llama license": the license, not the architecture
    methods = set(re.findall(r"\b(awq|gptq|exl2|bnb|bitsandbytes|q[2-8]_k(?:_[sml])?|q[4-8]_[01]|int[48]|gguf|"
                             r"[248][- ]?bit)\b", q.masked.lower()))
    method = re.search(r"\b(awq|gptq|exl2|bnb|bitsandbytes|q[2-8]_k(?:_[sml])?|q[4-8]_[01]|int[48]|[248][- ]?bit)\b",
                       q.masked.lower()) if len(methods) == 1 else None  # several: examples of quantized
    if method and (q.quantized or re.search(r"\bquant|\bcopies\b|\bversions?\b|\bmodels?\b", q.masked.lower())):
        f["quantization"] = method.group(1).replace(" ", "-")  # "which AWQ models": that method only
        q.quantized = None
    if q.quantized is not None:
        f["quantized"] = q.quantized
        named = re.findall(r"\b(?:gguf|awq|gptq|exl2|bnb|[48][- ]?bit|int[48])\b", q.masked.lower())
        if q.quantized and len(named) >= 2:  # "(AWQ, GGUF, 4-bit etc)": examples, not a format
            f.pop("format", None)
    if q.task:
        f["task"] = q.task
    return f


_CHECKS_BASE = re.compile(
    r"\b(?:declared|stated|claimed|card'?s?)\b.{0,40}\bbase\b.{0,60}\b(?:right|correct|wrong|true|accurate|"
    r"agrees?|match(?:es)?|real|really|actually|check|verify|confirm|consistent|weights? (?:show|say|agree))\b|"
    r"\bbase\b.{0,40}\b(?:is|was) (?:that|this|it) (?:what|right|correct)\b|"
    r"\b(?:right|correct|wrong|true|accurate|real)\s+base(?: model)?\b|"
    r"\b(?:is|was) (?:that|it) what the weights\b|"
    r"\b(?:claims?|declares?|names?|lists?)\b.{0,30}\bbase\b.{0,60}\b(?:weights?|lineage)\b.{0,20}\b(?:back|support|"
    r"confirm|agree|bear)\w*", re.I)


def _relation(r: Reading, text: str, q: nlu.Question) -> None:
    if re.search(r"\barch(?:itecture)?(?:al)? famil(?:y|ies)\b", r.low):  # the architecture, no relation
        r.low = re.sub(r"\b(arch(?:itecture)?(?:al)?) famil(?:y|ies)\b", r"\1", r.low)
    low = re.sub(r"\b(?:that|this|the) (?:parent|base)(?: model)?\b(?! of)(?='s|\s|[?.!,]|$)", "x", r.low) \
        if re.search(r"\b(?:came|come|derived|built|made)\b", r.low) else r.low  # "from that parent"
    if re.search(r"\b(?:scores?|scored|against|compared?|versus|vs|better|worse|accuracy|fares?|fared)\b", low):
        low = re.sub(r"\b(?:that|this|the) (?:child|parent|base)(?: model)?\b(?! of)", "x", low)  # "how does the
        # child score against it?": a pointer to a model of the last answer, not a relation asked for
    low = re.sub(r"\brelative(?:ly)? to\b", "against", low)  # "what it cost relative to X": no relatives asked
    low = re.sub(r"\b(?:that|this|those|these)(?: two| three)? (?:parents?|bases?|roots?|children|child|"
                 r"siblings?)(?: models?)?\b(?! of)", "x", low)  # "which of those two parents ..."
    for kind, rx in relations.KIND_WORDS.items():
        if re.search(rx, low):
            r.derivation = kind
            break
    else:
        if not r.names and re.search(r"\bderived (?:models?|ones|checkpoints?|versions?)\b|\bderivatives\b|"
                                   r"\b(?:derived|made|built|created) from (?:another|other|some other|a parent)\b",
                                   low):
            r.derivation = "any"  # "which derived models ...": every model with a parent in the lake
    found = [rel for rel, pats in relations.WORDS.items() if any(re.search(p, low) for p in pats)]
    verb = re.search(rf"\b{relations.DERIVE_VERBS}\b", low)
    if verb and not found:
        # "derived from x" -> x's descendants; "x was derived from" -> x's parents
        after = re.match(r"\s*(?:the\s+|my\s+|our\s+)?(x|y|it|this|that|them|these|those)\b",
                         low[verb.end():])
        head = re.sub(r"\b(?:everything|anything|something|all|models?|ones?|checkpoints?|those|what|which|"
                      r"whatever|others?|variants?|versions?)\s+(?:that|which)\b", " ", low[:verb.start()])
        before = bool({"x", "y", "it", "this", "that"} & set(re.findall(r"[a-z]+", head)))  # "that": not "all that"
        named_after = _NAMEISH.match(low[verb.end():].lstrip()) is not None
        plural = bool({"them", "they", "those", "these", "each"} & set(re.findall(r"[a-z]+", low[:verb.start()])))
        if (after or named_after) and not before:
            found = ["descendants"]
        elif before or plural:  # "where does each of them come from?"
            found = ["parents"]
        else:
            found = ["descendants"] if r.names else []
    kinds = [k for k, rx in relations.KIND_WORDS.items() if re.search(rx, low)]
    asks_kind = len(kinds) >= 2 or re.match(
        r"\s*(?:is|was)\s+(?:x|it|that one|this one|that|this|that model)\s+"
        r"(?:(?:really|actually|truly|just|only)\s+)?(?:a|an)\s+"
        r"(?:fine[- ]?tune|finetune|merge|quantized|pruned|quant|copy|distill\w*|adapter)\b", low)
    if asks_kind and not found and (r.names or r.it):  # "X: finetune, quant or prune?"
        found = ["parents"]
    if not found and (r.names or r.it or re.search(r"\b(?:that|this)\b", low)) and _CHECKS_BASE.search(low):
        found = ["parents"]  # "is X's declared base right?": the parents the weights show, beside the card's
    if not found and re.search(r"\b(?:its|x's|their)\s+(?:declared\s+)?(?:base|parent)(?:\s+models?)?\b", low) and \
            [f.name for f in FACTS if f.name not in ("base_model", "has_card") and any(_has(low, w) for w in f.words)]:
        found = ["parents"]  # "what license does its base model have?": a fact of the parent
    if found == ["parents"] and re.search(r"\b(?:what|which) (?:arch(?:itecture)?|model type|framework|library)\b",
                                          low) and not re.search(r"\b(?:parent|base model)\b", low):
        found = []  # "what architecture is X built on?": its architecture, not its parent
    if "parents" in found and "ancestors" in found:
        found.remove("parents")
    if found[:1] == ["descendants"] and re.search(r"(?<!just )(?<!only )(?<!just the )(?<!only the )"
                                                  r"\b(?:direct(?:ly)?|straight|immediate(?:ly)?|"
                                                  r"right)\b", low) and not re.search(
            r"\bindirect|\bdirectly or\b|\bor further\b|\bfurther down\b", low):
        found = ["children"]  # "direct or indirect", "directly or further down": all of them
    if found:
        r.relation = found[0]
        r.relation_of = 0
    if r.derivation == "duplicate" and re.search(r"\bwhose\b", low):  # "whose int8 copy is it?"
        r.derivation = None


def _ranking(r: Reading, low: str) -> None:
    disk = re.search(DISK, low) is not None
    for rx, rank in ((SIZE_HIGH, ("bytes" if disk else "parameters", "highest")),
                     (SIZE_LOW, ("bytes" if disk else "parameters", "lowest")),
                     (NEWEST, ("ingested", "highest")), (OLDEST, ("ingested", "lowest")),
                     (DEEPEST, ("layers", "highest")), (SHALLOWEST, ("layers", "lowest")),
                     (SCORE_LOW, ("score", "worst")), (SCORE_HIGH, ("score", "best")),
                     (r"\blowest\b", ("score", "lowest")), (r"\bhighest\b", ("score", "highest"))):
        if re.search(rx, low):
            r.rank = rank
            break
    if r.rank and r.rank[0] in ("bytes", "parameters") and re.search(SCORE_HIGH, low) and re.search(
            r"\b(?:quality|scores?|accura\w*|performance|spearman|f1)\b", low):
        r.trade, r.rank = r.rank[0], ("score", "best")  # "the best quality for the least disk"
    files = re.search(r"\b(largest|biggest|heaviest|smallest|lightest|tiniest)\s+(?:\w+\s+)?(?:files?|file size|"
                      r"size on disk|footprint|download)\b", low)
    if files and not r.rank and re.search(r"\bmodels?\b|\bcheckpoints?\b|\bin (?:the|this|our) lake\b", low):
        # "the model with the largest files on disk" (not "the smallest file" of one model's card)
        r.rank = ("bytes", "highest" if files.group(1) in ("largest", "biggest", "heaviest") else "lowest")
    by_config = _config_rank(low)
    if by_config:  # "the largest vocabulary", "the longest context window"
        r.rank = by_config
    sure = re.search(r"\b(shakiest|weakest|least (?:certain|confident|sure|reliable)|lowest[- ]confidence|most "
                     r"(?:doubtful|uncertain)|strongest|most (?:certain|confident|reliable)|highest[- ]confidence)\b"
                     r".{0,40}\b(?:parent|edge|link|lineage|inferred|derivation)|\b(lowest|highest) confidence\b", low)
    if sure:  # "which model has the shakiest inferred parent (lowest confidence edge)?"
        word = sure.group(1) or sure.group(2)
        r.rank = ("confidence", "highest" if re.match(r"strong|most (?:cert|conf|rel)|highest", word) else "lowest")
    m = re.search(TOP_N, low)
    if m:
        n = m.group(1) or m.group(2)
        r.top = NUMBER_WORDS.get(n) or int(n)
    elif r.rank and re.search(r"\brunner[- ]up\b|\bsecond (?:place|best)\b|\bby how much\b|\bmargin\b", low):
        r.top = 2  # "first on T and by how much over the runner-up": the two at the top
    r.ranking = bool(re.search(RANKING, low)) or (r.top or 0) > 1 or bool(r.rank and re.search(
        r"\b(?:list|show|name)\b.{0,60}\bwhich of (?:those|them|these)\b", low))  # "list X and which is best"


_SUPERLATIVE = (r"\b(largest|biggest|highest|most|longest|widest|max(?:imum)?|greatest|"
                r"smallest|lowest|fewest|least|shortest|narrowest|min(?:imum)?)\s+((?:\S+\s+){0,2}\S+)")


_MODEL_NOUNS = (r"\b(?:models?|checkpoints?|children|kids|descendants|parents|siblings|relatives|"
                r"fine-?tunes|derivatives|copies|versions|ones)\b")


def _counts_own_parts(low: str) -> bool:
    """"how many of its weights are zero", "how many of those are exactly zero" (after a
    parameter count): a count of one model's weights, not of models."""
    return bool(re.search(r"\b(?:zeros?|zeroes|zeroed|sparse)\b", low)) and not re.search(_MODEL_NOUNS, low)


def _config_rank(low: str) -> tuple[str, str] | None:
    """(config fact, highest | lowest) when a superlative names one ("the largest vocab")."""
    for m in re.finditer(_SUPERLATIVE, low):
        after = m.group(2)
        for name in CONFIG_FACTS:
            fact = BY_NAME[name]
            if any(re.search(rf"^(?:\S+\s+){{0,2}}?{re.escape(w)}\b", after) for w in fact.words):
                high = m.group(1) in ("largest", "biggest", "highest", "most", "longest", "widest",
                                      "max", "maximum", "greatest")
                return name, "highest" if high else "lowest"
    many = re.search(r"\b(most|fewest|least|largest number of|smallest number of)\s+(?:\w+\s+)?languages\b", low)
    if many:  # "which model supports the most languages?"
        return "language_count", "highest" if many.group(1) in ("most", "largest number of") else "lowest"
    return None


_TASK_LEAD = re.compile(r"\b(?:on|for|at|in|doing|does|do|with|by)\s+(?:the\s+|a\s+)?")
_TASK_PREPS = frozenset("on for at in by with".split())
_TASK_STOP = frozenset("best worst top bottom highest lowest better worse most least score scored "
                       "scores do does did perform performs performed "
                       "the a an it its them this that these those model models lake x y z "
                       "task tasks benchmark benchmarks score scores accuracy is are was which "
                       "what and or of me us anything something everything any all yet here there "
                       "isn aren doesn don t s in match matches have has use uses differ differs agree agrees "
                       "compare compares look looks say says come comes hold holds get gets work works".split())


TASK_STOP = _TASK_STOP  # words that never name a task


_GROUP_FACTS = {"architecture": r"architectures?|archs?|model types?|(?:architecture )?famil(?:y|ies)",
                "format": r"formats?|file (?:types?|formats?)|storage formats?",
                "license": r"licen[cs]es?", "quantization": r"quanti[sz]ations?|quant(?:s| types?)?|"
                r"precisions?|dtypes?", "task": r"tasks?|pipelines?|pipeline tags?|use cases?",
                "language": r"languages?", "base_model": r"base models?"}
_GROUP_CUE = (r"\b(?:per|by|for each|of each|in each|under each|with each|each|every|across)\s+(?:{f})\b|"
              r"\bhow many\b.{{0,40}}\b(?:of|in|for|with|per|under|use|using|have|has) (?:each|every)\b|"
              r"\b(?:breakdown|broken down|distribution|tally|split|grouped|group)\b.{{0,30}}\b(?:{f})\b|"
              r"\b(?:{f})\b.{{0,30}}\b(?:breakdown|distribution|tally)\b|\bcount (?:them |models )?by\b")


_GROUP_RX = re.compile(_GROUP_CUE.format(f="|".join(_GROUP_FACTS.values())))
_GROUP_FACT_RX = {fact: re.compile(rf"\b(?:{rx})\b") for fact, rx in _GROUP_FACTS.items()}


def _group_by(low: str) -> str | None:
    """The fact a count is broken down by ("how many models per architecture", "which formats
    are there and how many of each"), or None."""
    if not _GROUP_RX.search(low):
        return None
    found = [(m.start(), fact) for fact, rx in _GROUP_FACT_RX.items() for m in rx.finditer(low)]
    return min(found)[1] if found else None


_AT_LEAST = r"(?:hits?|hitting|reach(?:es|ing)?|gets?|getting|scores?|scoring|at least|above|over|more than|" \
            r"no less than|>=|≥|>|beats?|clears?|of at least|with at least)"
_AT_MOST = r"(?:below|under|less than|at most|no more than|<=|≤|<)"
_SCORE_NUMBER = r"\s+(\d+(?:\.\d+)?|\.\d+)\s*(%|percent)?(?![\w.])(?!\s*(?:params|parameters|layers|mb|gb|m\b|b\b|k\b))"


def _score_bounds(low: str) -> tuple[float | None, float | None] | None:
    """"still hits 0.95", "at least 90% accuracy", "under 0.5 perplexity": bounds on a score
    (a number that is no size: "under 50M params" is a size)."""
    lo = re.search(rf"\b{_AT_LEAST}{_SCORE_NUMBER}", low)
    hi = re.search(rf"(?<![\w])(?:{_AT_MOST}){_SCORE_NUMBER}", low)
    bound = lambda m: float(m.group(1)) if m else None  # noqa: E731
    if lo is None and hi is None:
        return None
    return bound(lo), bound(hi)


# the words that ask for a score and nothing else ("gsm8k score?", "its squad_v2 numbers?")
SCORE_WORDS = frozenset("score scores scored result results number numbers accuracy f1 metric metrics "
                        "benchmark benchmarks eval evals on".split())
_SCORE_ASK = SCORE_WORDS | frozenset("its their what whats what's and the".split())


def _bare_benchmark(low: str, benchmarks: frozenset[str] | set[str]) -> str | None:
    """"gsm8k score?", "and its squad_v2 numbers?": a benchmark of the lake named alone."""
    words = re.findall(r"[a-z0-9][\w./-]*[a-z0-9]|[a-z]", low)
    named = [w for w in words if w in benchmarks and w not in nlu.GENERIC]
    rest = [w for w in words if w not in named and w not in _SCORE_ASK]
    return named[0] if len(named) == 1 and not rest else None


def _task_words(low: str) -> str | None:
    """Words after "on / for / at / doing" that may name a task ("best on polarity")."""
    for m in _TASK_LEAD.finditer(low):
        words = []
        for w in re.findall(r"[a-z0-9][\w-]*", low[m.end():])[:3]:
            if w in _TASK_PREPS:
                break
            if w not in _TASK_STOP:
                words.append(w)
        if words:
            return " ".join(words)
    return None


_PLAIN = frozenset("""fine tune tuned tuning pre post trained training state of the art well known
open source zero few one shot long short context multi lingual high low quality end to cross
encoder decoder self supervised instruction following non state based like free only
real world follow up built in out up down side by step key value query natural language human machine
general purpose domain specific plain everyday day data driven hand written written made ready made
exact match score error rate word character accuracy precision recall top macro micro weighted f1 em
pass at mean average how what when where why which who long much many and or not hardware software time
size speed cost price input output train test dev val eval""".split())


def _add_parts(r: Reading, bare: str, names: list[str]) -> None:
    """"whisper turbo vs large-v3": a name-like part of lake names that, the models already
    named set aside, fits exactly one more of them."""
    if not r.names:
        return
    for m in _NAMEISH.finditer(bare):
        raw = (m.group(1) or m.group(2)).lower()
        if all(p in _PLAIN or p in NEED_WORDS for p in re.split(r"[-_]", raw) if p):
            continue  # "fine-tune" is a word, not a part of a name
        tok = re.sub(r"[^a-z0-9]", "", raw)
        fits = [n for n in names if tok in re.sub(r"[^a-z0-9]", "", n.lower()) and n not in r.names]
        if len(tok) >= 4 and len(fits) == 1 and not _other_head(raw, fits[0], names, r.text):
            r.names.append(fits[0])


def _ends_name(typed: str, name: str) -> bool:
    """Whether the lake's ``name`` ends with what was typed (only a prefix left out, "Meta-"):
    the same model, where a name that goes on after it ("-finetuned-sentiment") is another."""
    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())  # noqa: E731
    org, _, tail = name.rpartition("/")
    if not norm(tail).endswith(norm(typed)):
        return False
    dropped = norm(tail)[: len(norm(tail)) - len(norm(typed))]
    return not dropped or dropped in norm(org)  # "meta" of meta-llama, not "legal" of legal-bert


# "don't document their (base model)", "never state a (parent)"
_NOT_STATED = (r"\b(?:don'?t|doesn'?t|do not|does not|never|fail to|forgot to) "
               r"(?:document|declare|state|name|list|mention|give|say)\w* (?:their|its|a|any|the)\b")


def _other_head(typed: str, name: str, names: list[str], text: str) -> bool:
    """The lake's ``name`` ends with what was typed but puts words of its own before it, words
    that neither its organisation, nor the question, nor the lake's naming explains ("mistral-7b"
    and OpenHermes-2.5-Mistral-7B: another model built on the one typed; "sentiment-topic" in a
    lake of minilm-* models, "large-v3" after "whisper", "Groq's ... tool-use": the same)."""
    norm = lambda s: re.sub(r"[^a-z0-9]", "", s.lower())  # noqa: E731
    tail = name.rpartition("/")[2]
    if not norm(tail).endswith(norm(typed)) or _ends_name(typed, name):  # the same model (or not its end)
        return False
    head = norm(tail)[: len(norm(tail)) - len(norm(typed))]
    typed_words = set(re.findall(r"[a-z0-9]+", typed.lower()))
    words = [w for w in re.findall(r"[a-z0-9]+", tail.lower()) if w not in typed_words]
    if any(w in text.lower() for w in words if len(w) >= 3):
        return False
    return sum(norm(n.rpartition("/")[2]).startswith(head) for n in names) < 2


_PEOPLE = frozenset("""lake card model parent base child winner family root colleague coworker
teammate team boss manager friend company customer client user vendor author readme someone
everyone nobody today original source teacher student upstream other others""".split())


_CONTRACTED = frozenset("there here what that where who when how which this everything nothing something "
                        "anything everyone let one".split())  # "there's one model ...": no name


def _set_against(text: str, m: nlu.Mention, models: list[nlu.Mention]) -> bool:
    """A word set against another model's name ("pruned or paraphrase, who wins?", "paraphrase vs
    sentiment-topic"): it names a model, though alone it would be a word of the lake's vocabulary."""
    for o in models:
        if o is m or o.name == m.name:
            continue
        a, b = (m, o) if m.end <= o.start else (o, m)
        if re.fullmatch(r"\s*(?:,\s*)?(?:or|vs\.?|versus|against)\s*", text[a.end:b.start], re.I):
            return True
    return False


def unknown_name(text: str, names: list[str], architectures: list[str],
                 domain: frozenset[str] | set[str] = frozenset()) -> str | None:
    """A token that looks like a model name but names no model of the lake (nor a task or
    benchmark of its ``domain``: "gsm8k score?")."""
    known = {re.sub(r"[^a-z0-9]", "", n.lower()) for n in names}
    archs = {a.lower() for a in architectures}
    for m in _NAMEISH.finditer(text):
        tok = (m.group(1) or m.group(2)).strip(".-/")
        norm = re.sub(r"[^a-z0-9]", "", tok.lower())
        if len(tok) < 4 or _NOT_NAMES.match(tok) or tok.lower() in archs or norm in known or tok.lower() in domain:
            continue
        if re.fullmatch(r"[a-z]{1,4}/[a-z]{1,4}", tok.lower()):
            continue  # "pos/neg", "w/o", "i/o": words, not an org/model id
        if re.fullmatch(r"[\d.,]+[kmbt]?", tok.lower()) or license_ids(tok):
            continue  # "7b", "cc-by-nc": a size, a license
        if tok.lower() in NEED_WORDS or all(p in _PLAIN or p in NEED_WORDS or p in nlu.GENERIC
                                            for p in re.split(r"[-_/]", tok.lower()) if p):
            continue  # "fine-tuning", "text-to-sql", "time-series", "name/tags": words, not a name
        if re.search(r"-(?:quanti[sz]|prun|merg|tun|distill|train|convert|finetun)\w*(?:ing|ed)$",
                     tok.lower()) and "/" not in tok:
            continue  # "int8-quantizing", "4bit-quantized": a verb, not a name
        if len(re.split(r"[-_/]", tok)) < 3 and any(norm in k for k in known):
            continue  # "large-v3": a part of names the lake has ("distilbert-base-uncased" is not)
        return tok
    return None


def _ambiguous(text: str, names: list[str]) -> list[str]:
    """Lake models that a word of the question fits equally ("the sentiment one")."""
    for w in re.findall(r"[a-z][a-z0-9]{3,}", text.lower()):
        if w in nlu.GENERIC or w in nlu.ARCH_WORDS:
            continue
        owners = [n for n in names if w in re.split(r"[^a-z0-9]+", n.lower())]
        if 2 <= len(owners) <= 5 and re.search(rf"\b(?:the|my|our) {w}\b", text.lower()):
            return owners
    return []


def close_names(name: str, names: list[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, names, n=n, cutoff=0.5)
