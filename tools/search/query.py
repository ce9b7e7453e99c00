"""Reading a search query: constraints, lineage and results clauses, and the words left.

``parse_query("small Apache-2.0 chat model under 3B parameters")`` gives a
``ParsedQuery`` whose ``text`` ("small chat model") feeds lexical and semantic
ranking and whose ``constraints`` filter: license in {apache-2.0}, params <= 3e9,
task ~ text-generation (soft), size preference small (soft).

Hard constraints exclude models whose value is known and breaks them. When the
value is unknown (a card-only model that does not say), the model stays, ranked
lower and flagged, except for licenses: a model without a stated license is not
licensed for anything, so a license constraint excludes it. Flags given by the
caller (``--task``, ``--license``...) are strict: unknown values are excluded too.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from modellake.store.errors import ModelLakeError
from modellake.tools.search import vocab as V
from modellake.tools.search.families import FamilyMention, spelled
from modellake.tools.search.families import mentions as family_mentions
from modellake.tools.search.glossary import benchmarks_in
from modellake.tools.search.negation import COMPARATIVE, NEGATOR, NOT_ONLY


class SearchQueryError(ModelLakeError, ValueError):
    """A search flag that cannot be read (``--max-params lots``)."""

STOPWORDS = set("""a an the of for to in on at by with from and or not no is are was were be been being
that which who whom whose what where when how why this these those it its i me my we our you your
can could should would will shall may might must do does did done have has had any some all each
every only just also than then there their them they he she his her as into onto about over under
up down out off very more most less least such same other another both either neither so if but
model models one ones something anything everything thing things use used using want need find
show give get list me please""".split())

_NUM = r"(\d+(?:\.\d+)?)"
RANK_DROP_FIELDS: tuple[str, ...] = ()


@dataclass
class Constraint:
    """One structured condition on a model facet."""

    # task | license | params | context | format | quantization | language | library |
    # architecture | chat | words | relation (merge | quantized | adapter | finetune | base)
    field: str
    op: str  # in | max | min | range | approx | not | prefer_small | multilingual | monolingual
    value: Any
    hard: bool = True
    source: str = "query"  # query | flag
    text: str = ""
    any_of: bool = False  # values are alternatives, any one meets it fully ("German, Dutch or French")

    @property
    def strict(self) -> bool:
        """Unknown values exclude (flags, and licenses)."""
        return self.hard and (self.source == "flag" or self.field == "license")


@dataclass
class LineageClause:
    target: str
    relations: list[str] | None = None  # None: any relation
    exclude_relations: list[str] = field(default_factory=list)
    direct: bool = False
    text: str = ""


@dataclass
class ResultsClause:
    dataset: str | None = None
    metric: str | None = None
    op: str | None = None  # > >= < <= between best
    value: float | None = None
    upper: float | None = None  # "between": the upper bound (value is the lower)
    percent: bool = False
    text: str = ""


@dataclass
class ParsedQuery:
    raw: str
    text: str
    constraints: list[Constraint] = field(default_factory=list)
    lineage: LineageClause | None = None
    results: ResultsClause | None = None
    families: list[FamilyMention] = field(default_factory=list)  # named or ruled out
    situation: str = ""  # what the user has not or does not want ("no labelled data"): says what is needed

    @property
    def hard(self) -> list[Constraint]:
        return [c for c in self.constraints if c.hard]

    @property
    def soft(self) -> list[Constraint]:
        return [c for c in self.constraints if not c.hard]

    @property
    def rank_text(self) -> str:
        """The words to rank by: ``text`` without what hard constraints already settle.

        Format and quantization words (and a runtime that implies the format: llama.cpp for
        GGUF, Transformers.js for ONNX) and hard task phrases: every candidate has them.
        """
        out = self.text
        formats = {v for c in self.constraints if c.hard and c.field == "format" for v in c.value}
        implied = {"llama.cpp": "gguf", "transformers.js": "onnx", "mlx": "mlx"}
        for c in self.constraints:
            drop = (c.hard and c.field in ("format", "quantization") + RANK_DROP_FIELDS) or (
                c.field == "library" and implied.get(c.value[0]) in formats)
            if drop and c.source == "query":
                for piece in re.split(r",\s*", c.text):
                    if piece:
                        out = re.sub(rf"(?<![\w.-]){re.escape(piece)}(?![\w-])", " ", out, flags=re.I)
        out = re.sub(r"\bquanti[sz]ed\b", " ", out, flags=re.I) if any(
            c.field == "quantization" and c.hard for c in self.constraints) else out
        for m in self.families:  # "not Llama 2": its words must not rank Llama 2 models up
            if m.negated:
                out = re.sub(rf"(?<![\w.-]){re.escape(m.text)}(?![\w-])", " ", out, flags=re.I)
        return re.sub(r"\s+", " ", out).strip()

    def kind(self) -> str:
        """lineage | results | constraint | semantic: what drives the query."""
        if self.lineage:
            return "lineage"
        if self.results:
            return "results"
        if self.hard:
            return "constraint"
        return "semantic"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind(),
                "constraints": [asdict(c) for c in self.constraints],
                "families": [asdict(m) for m in self.families],
                "lineage": asdict(self.lineage) if self.lineage else None,
                "results": asdict(self.results) if self.results else None}


# -- sizes -----------------------------------------------------------------------------
_UNITS = {"b": 1e9, "bn": 1e9, "billion": 1e9, "m": 1e6, "mn": 1e6, "million": 1e6,
          "k": 1e3, "thousand": 1e3, "t": 1e12, "trillion": 1e12}
_UNIT = r"(billion|million|thousand|bn|mn|b|m|k)"
_NOT_PARAMS = (r"(?!\s*(?:tokens?|context|languages?|samples?|images?|steps?|hours?|words?|"
               r"examples?|documents?|pairs?|sentences?|ctx|seq))")
_MAX = (r"(?:under|below|less than|smaller than|fewer than|at most|up to|no more than|"
        r"not more than|max(?:imum)?(?: of)?|<=?|≤)")
_MIN = r"(?:over|above|more than|larger than|bigger than|greater than|at least|min(?:imum)?(?: of)?|>=?|≥)"


def _size(num: str, unit: str) -> float:
    return float(num) * _UNITS[unit.lower()]


def parse_size(text: str) -> float | None:
    """"7B" -> 7e9, "350M" -> 3.5e8, "1200000" -> 1.2e6."""
    m = re.fullmatch(rf"\s*{_NUM}\s*{_UNIT}?\s*", text, re.I)
    if not m:
        return None
    return _size(m.group(1), m.group(2)) if m.group(2) else float(m.group(1))


# -- lineage -----------------------------------------------------------------------------
_LINEAGE_TRIGGER = re.compile(
    r"\b(derived from|descend(?:ed|ing|ants?) (?:from|of)|built (?:up)?on(?: top of)?|built from|"
    r"based on|made from|(?:fine[- ]?tuned|finetuned|trained|distilled|adapted|quanti[sz]ed|merged|"
    r"derived|converted) (?:directly )?(?:from|off|on top of)|(?:fine[- ]?tunes?|finetunes?|adapters?|"
    r"loras?|quanti[sz]ations?|quants|merges?|derivatives?|descendants?|children|variants?|versions?|"
    r"offspring|re-?uploads?)(?: or \w+)? (?:of|on top of|for|on|from|with|using)|on top of|"
    r"(?:that|which) uses?(?=\s+\S+\s+(?:directly )?as (?:an? )?(?:ingredient|base|parent)))\s+",
    re.I)
_TARGET_STOP = re.compile(
    r"\s*(?:[,;?!()]|\s[-\u2013\u2014]\s|\s(?:that|which|who|with|for|under|below|above|over|and|but|not|licen[sc]ed|"
    r"in|to|as|trained|quantized|fine-?tuned|released|using|directly|rather|instead|except|excluding)\b|$)",
    re.I)
_REL_WORDS = [
    (r"\bfine[- ]?tun\w*|\bfinetun\w*|\bsft\b|\binstruction[- ]tuned", "finetune"),
    (r"\badapters?\b|\bloras?\b|\bpeft\b", "adapter"),
    (r"\bquanti[sz]\w*|\bquants?\b|\bgguf\b|\bgptq\b|\bawq\b", "quantized"),
    (r"\bmerge[sd]?\b|\bmerging\b|\bingredient", "merge"),
]


# "not fine-tuned from X", "I don't want anything from Alibaba or built on Qwen"
_RULED_OUT_BEFORE = re.compile(rf"\b{NEGATOR}\s+(?!{COMPARATIVE})(?:[\w'-]+\s+){{0,4}}[\w'-]*$", re.I)


_PRONOUN = re.compile(r"(?:it|its|them|this|that|these|those|one|each other|one another|the same)", re.I)
_ANTECEDENT_END = re.compile(r"\s*(?:,|;|\band\b|\bor\b|\bplus\b|\bas well as\b)\s+(?:(?:all|any|every|the)\s+)?"
                             r"(?:things?|models?|anything|everything|stuff|ones?|checkpoints?)?\s*$", re.I)


def _antecedent(before: str) -> tuple[str, int]:
    """What a pronoun target points back to: the phrase before "and things built on it"
    (its last clause), and where it starts; ("", -1) when there is none."""
    end = _ANTECEDENT_END.search(before)
    if not end:
        return "", -1
    start = max(before.rfind(p, 0, end.start()) for p in ",;:!?") + 1
    start = max(start, max((m.end() for m in re.finditer(r"\.(?:\s|$)", before[:end.start()])), default=0))
    lead = re.match(r"\s*(?:(?:find|show|list|give|get|me|all|the|a|an|i|want|need|looking for)\s+)*",
                    before[start:end.start()], re.I)
    start += lead.end() if lead else 0
    return before[start:end.start()].strip(), start


def _reads_as_need(target: str) -> bool:
    """A lineage target that names a language or a task and no model or family."""
    if re.search(r"[/\d_]|\w-\w", target) or family_mentions(target):
        return False
    found: list[Constraint] = []
    _text_constraints(target, found, negations=False)
    return any(c.field in ("language", "task") for c in found)


def _parse_lineage(q: str) -> tuple[LineageClause | None, str]:
    m = next((x for x in _LINEAGE_TRIGGER.finditer(q) if not _RULED_OUT_BEFORE.search(q[:x.start()])), None)
    if not m:  # "no straight re-quantizations of Meta's chat model" rules a relation out
        return None, q
    rest = q[m.end():]
    stop = _TARGET_STOP.search(rest)
    target = rest[: stop.start()] if stop else rest
    target = re.sub(r"^(?:the|a|an|any|one of the)\s+", "", target.strip(), flags=re.I)
    target = re.sub(r"\s+(?:models?|weights|checkpoints?|family|series|base|ones?)$", "", target, flags=re.I)
    target = target.strip(" .'\"`")
    if _reads_as_need(target):  # "a chat fine-tune for a language other than English": what
        return None, q  # it is for, not what it was made from
    head = m.start()
    if _PRONOUN.fullmatch(target):  # "BAAI's M3 model and things built on top of it": the
        target, head = _antecedent(q[:m.start()])  # model named before is the target, not the need
    if not target or not re.search(r"[A-Za-z0-9]", target):
        return None, q
    span_end = m.end() + (stop.start() if stop else len(rest))
    text_out = q[:head] + " " + q[span_end:]
    outside = q[: m.start()] + " " + m.group(1) + " " + q[span_end:]
    negated: list[str] = []
    for neg in re.finditer(r"\b(?:not|no|excluding|except|without)\s+((?:\w+[- ]?){1,3})", outside, re.I):
        for pat, rel in _REL_WORDS:
            if re.search(pat, neg.group(1), re.I):
                negated.append(rel)
        outside = outside.replace(neg.group(0), " ")
    asked = [rel for pat, rel in _REL_WORDS if re.search(pat, outside, re.I)]
    negated = [rel for rel in negated if rel not in asked]  # "merges ... except Mistral-based merges"
    rels = [rel for rel in asked if rel not in negated]
    if "finetune" in rels and "adapter" not in rels and "adapter" not in negated:
        rels.append("adapter")  # a LoRA fine-tune is a fine-tune
    if re.search(r"\bquanti[sz]ed\b.*\b(derived|built|based)\b", outside, re.I) and rels == ["quantized"]:
        rels = []  # "quantized chat model derived from X": quantized is a format wish, any path
    direct = bool(re.search(r"\bdirect(ly)?\b|\bimmediate\b", q, re.I))
    clause = LineageClause(target=target, relations=rels or None, exclude_relations=negated,
                           direct=direct, text=q[m.start():span_end].strip())
    return clause, text_out


# -- results -----------------------------------------------------------------------------
_METRIC = (r"(f1(?:[- ]score)?|word[- ]error[- ]rate|character[- ]error[- ]rate|"
           r"accuracy|acc|precision|recall|wer|cer|bleu|chrf|rouge[-\w]*|exact[- ]match|"
           r"em|map|ndcg(?:@\d+)?|mrr|auc|perplexity|ppl|top-?1|top-?5|spearman|pearson|mae|rmse|mse|"
           r"score|pass@1)")
_CMP = {"above": ">", "over": ">", "greater than": ">", "more than": ">", "higher than": ">",
        "better than": ">", "exceeding": ">", "at least": ">=", "no less than": ">=", ">=": ">=",
        ">": ">", "≥": ">=", "below": "<", "under": "<", "less than": "<", "lower than": "<",
        "at most": "<=", "no more than": "<=", "<=": "<=", "<": "<", "≤": "<=",
        "no lower than": ">=", "not below": ">=", "not less than": ">=", "a minimum of": ">=",
        "no higher than": "<=", "not above": "<=", "not more than": "<=", "a maximum of": "<=",
        "beyond": ">", "north of": ">", "in excess of": ">", "upwards of": ">=", "south of": "<"}
# "85% or more" and "10 or lower" read as "at least 85%" and "at most 10"; "between 60 and 70"
_OR_MORE = re.compile(r"(\d+(?:\.\d+)?)\s*(%?)\s+(?:or|and)\s+(?:more|higher|better|above|greater|over|up)\b", re.I)
_OR_LESS = re.compile(r"(\d+(?:\.\d+)?)\s*(%?)\s+or\s+(?:less|lower|fewer|below|under|worse)\b", re.I)
_BETWEEN = re.compile(r"\bbetween\s+(\d+(?:\.\d+)?)(?:\s*(%))?\s+and\s+(\d+(?:\.\d+)?)(?:\s*(%))?", re.I)
_RESULT_BEST = re.compile(
    rf"\b(?:best|top|highest[- ]scoring|strongest|leading|best[- ]performing|highest|lowest)\s+"
    rf"(?:{_METRIC}\s+)?(?:models?\s+|results?\s+|scores?\s+)?(?:on|for|at|in)\s+(?:the\s+)?"
    rf"([\w.\-/ ]+?)(?=\s*(?:[,;?!()]|\s(?:and|with|that|which|under|below)\b|$))", re.I)


_CMP_WORDS = "|".join(re.escape(w) for w in sorted(_CMP, key=len, reverse=True))  # ">=" before ">"
_NOT_SCORE_UNIT = re.compile(r"\s*(?:[kmbt]\b|bn\b|mn\b|billion|million|thousand|gb|mb|kb|tokens?|param|"
                             r"languages?|layers?|context|ctx|hours?|days?|samples?|images?|steps?|words?|"
                             r"dims?|dimensions?|x\b)", re.I)
# "at least 60 on MMLU (5-shot)", "scoring over 70% in HellaSwag"
_THRESHOLD_ON = re.compile(
    rf"\b(?:(?:{_METRIC})\s+(?:score\s+)?(?:of\s+)?)?(?P<cmp>{_CMP_WORDS})\s*(?P<val>\d+(?:\.\d+)?)\s*(?P<pct>%?)"
    rf"(?:\s+(?:{_METRIC}|average|avg|mean))?\s+(?:on|in|for)\s+(?:the\s+)?"
    rf"(?P<ds>[\w.\-/@ ]+?(?:\s*\([^()]{{1,30}}\))?)"
    rf"(?=\s*(?:[,;?!]|\s(?:and|with|for|that|which|under|below|but|or|by|from|per|according|as|in|on|not|"
    rf"than|without)\b|$))", re.I)
# "MMLU over 60", "HumanEval pass@1 above 40%", "GSM8K (8-shot) of at least 70", "60+ on MMLU"
_THRESHOLD_AFTER = re.compile(
    rf"(?P<lead>(?:[\w.\-/@]+\s+){{0,3}}[\w.\-/@]+(?:\s*\([^()]{{1,30}}\))?)\s+(?:score\s+|scores\s+)?"
    rf"(?:of\s+|is\s+)?(?P<cmp>{_CMP_WORDS})\s*(?P<val>\d+(?:\.\d+)?)\s*(?P<pct>%?)", re.I)
_PLUS_ON = re.compile(  # "60+ on MMLU", "90 or more on DocVQA", "reaching 85 on HellaSwag"
    rf"(?:{_NUM}\s*(%?)\s*(?:\+|or (?:more|higher|better|above)|and (?:up|above))|"
    rf"\b(?:reach(?:es|ed|ing)?|hit(?:s|ting)?|gets?|getting|scor(?:es|ed|ing)|achiev(?:es|ed|ing)|posts?|"
    rf"posting)\s+(?:an?\s+)?{_NUM}\s*(%?))\s+(?:on|in)\s+(?:the\s+)?"
    rf"([\w.\-/@ ]+?)(?=\s*(?:[,;?!]|$|\s(?:and|with|or|but|by|from|per|according|as|in|not|than|without)\b))", re.I)
_PLUS_BEFORE = re.compile(r"(\d+(?:\.\d+)?)\s*(%?)\s*\+\s+([\w.\-/@]+)", re.I)  # "86+ hellaswag": a known benchmark
_LEAD_STOP = re.compile(r"^(?:a|an|the|with|that|which|whose|where|has|have|having|reports?|reporting|"
                        r"scores?|scoring|gets?|getting|achieves?|achieving|reaches|reaching|models?|llms?|reported|measured|"
                        r"and|or|of|on|in|for|its|their|at|is|are|any|some|one|ones|show|find|me|"
                        r"chat|instruct|base|code|coding|language|lm)$", re.I)


def _split_lead(lead: str) -> tuple[str | None, str | None, str]:
    """(dataset, metric, the words read) from the words before a comparison: "HumanEval pass@1"."""
    words = lead.split()
    keep: list[str] = []
    for w in reversed(words):
        if _LEAD_STOP.match(w) and not keep:
            continue
        if _LEAD_STOP.match(w):
            break
        keep.insert(0, w)
    metric = None
    ds_words = []
    for w in keep:
        if re.fullmatch(_METRIC, w, re.I) and w.lower() != "score":
            metric = w.lower()
        else:
            ds_words.append(w)
    ds = " ".join(ds_words).strip() or None
    return ds, metric, " ".join(keep)


def _clause(metric: str | None, cmp_: str, val: str, pct: str, ds: str | None, text: str) -> ResultsClause:
    if ds and re.match(r"(?:any|all|each|every|some|one)\b(?!\w*[-\d])", ds.strip(), re.I):
        ds = None  # "under 5% on any of its test sets": whichever benchmark
    return ResultsClause(dataset=ds.strip() if ds else None, metric=metric.lower() if metric else None,
                         op=_CMP[cmp_.lower()], value=float(val), percent=bool(pct), text=text)


def _parse_results(q: str) -> tuple[ResultsClause | None, str]:
    """A results clause: a threshold (or a range) on a reported or measured number, or "best on D"."""
    upper = None
    between = _BETWEEN.search(q)
    if between:
        upper = float(between.group(3))
        rest = q[:between.start()] + f"at least {between.group(1)}{between.group(2) or between.group(4) or ''}"
        q2 = rest + q[between.end():]
    else:
        q2 = _OR_LESS.sub(r"at most \1\2", _OR_MORE.sub(r"at least \1\2", q))
    if q2 != q:
        clause, left = _parse_threshold(q2)
        if clause is not None and clause.op in (">", ">=", "<", "<="):
            if upper is not None and clause.op == ">=" and upper > (clause.value or 0):
                clause.op, clause.upper = "between", upper
            return clause, left
    return _parse_threshold(q)


def _parse_threshold(q: str) -> tuple[ResultsClause | None, str]:
    for m in _THRESHOLD_ON.finditer(q):
        if _NOT_SCORE_UNIT.match(q[m.end("val"):]) and not m.group("pct"):
            continue
        metric = re.search(rf"\b{_METRIC}\b", m.group(0), re.I)
        cmp_, val, pct, ds = m.group("cmp", "val", "pct", "ds")
        return (_clause(metric.group(1) if metric else None, cmp_, val, pct, ds, m.group(0)),
                q[: m.start()] + " " + q[m.end():])
    m = _PLUS_ON.search(q)
    if m:
        val, pct = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        ds = m.group(5)
        return _clause(None, ">=", val, pct, ds, m.group(0)), q[: m.start()] + " " + q[m.end():]
    m = _PLUS_BEFORE.search(q)
    if m and benchmarks_in(m.group(3), question=True):
        val, pct, ds = m.groups()
        return _clause(None, ">=", val, pct, ds, m.group(0)), q[: m.start()] + " " + q[m.end():]
    for m in _THRESHOLD_AFTER.finditer(q):
        lead, cmp_, val, pct = m.group("lead", "cmp", "val", "pct")
        if not pct and _NOT_SCORE_UNIT.match(q[m.end():]):
            continue
        ds, metric, kept = _split_lead(lead)
        if ds is None and metric is None:
            continue
        if ds is not None and not re.search(r"[A-Z]|\d|[-_@]", ds) and metric is None \
                and not benchmarks_in(ds, question=True):
            continue  # "models over 7": a benchmark is named as one (or known as one), not with plain words
        start = m.start("lead") + len(lead) - len(lead.rstrip()) - len(kept)
        start = q.rfind(kept.split()[0], m.start("lead"), m.end("lead")) if kept else start
        return _clause(metric, cmp_, val, pct, ds, q[start:m.end()]), q[:start] + " " + q[m.end():]
    m = _RESULT_BEST.search(q)
    if m:
        metric, ds = m.groups()
        ds = re.sub(r"^(?:task\s+)", "", ds.strip(), flags=re.I)
        clause = ResultsClause(dataset=ds, metric=metric.lower() if metric else None, op="best",
                               text=m.group(0))
        return clause, q[: m.start()] + " " + q[m.end():]
    return None, q


# -- constraints -------------------------------------------------------------------------
def size_bounds(text: str) -> tuple[float | None, float | None]:
    """(at least, at most) parameters that ``text`` asks for: "under 50M", "between 1B and 3B"."""
    found: list[Constraint] = []
    _params(text, found)
    for c in found:
        if c.op == "range":
            return c.value[0], c.value[1]
        if c.op in ("min", "max"):
            return (c.value, None) if c.op == "min" else (None, c.value)
    return None, None


def license_ids(text: str) -> list[str]:
    """The license ids (Hub spelling, ``*`` for families) that ``text`` names."""
    found: list[Constraint] = []
    _licenses(text, found)
    return list(found[0].value) if found else []


# a size that describes what a model was made of, not the model: "several existing 7B fine-tunes"
_INGREDIENT = re.compile(r"\b(?:several|multiple|many|two|three|four|five|eight|existing|already\s+[\w-]+|"
                         r"combin\w*|glu\w*|stack\w*|assembl\w*)\s+(?:[\w-]+\s+){0,3}$", re.I)


def _params(q: str, out: list[Constraint]) -> str:
    m = re.search(rf"\bbetween\s+{_NUM}\s*{_UNIT}?\s*(?:and|-)\s*{_NUM}\s*{_UNIT}\b{_NOT_PARAMS}"
                  rf"(?:\s*param\w*)?", q, re.I)
    if m:
        lo = _size(m.group(1), m.group(2) or m.group(4))
        hi = _size(m.group(3), m.group(4))
        out.append(Constraint("params", "range", [lo, hi], text=m.group(0)))
        return q.replace(m.group(0), " ")
    for pat, op in ((_MAX, "max"), (_MIN, "min")):
        m = re.search(rf"{pat}\s*{_NUM}\s*{_UNIT}\b{_NOT_PARAMS}(?:\s*(?:param\w*|weights))?", q, re.I)
        if m:
            out.append(Constraint("params", op, _size(m.group(1), m.group(2)), text=m.group(0)))
            return q.replace(m.group(0), " ")
    m = re.search(rf"(?<![\w.]){_NUM}\s*([bm])\s*(\+|\s*(?:or|and) (?:more|above|larger|bigger)\b)"
                  rf"(?:[\s-]*(?:param\w*|models?|llms?))?", q, re.I)
    if m:  # "30B+ parameters", "7B or more": at least
        out.append(Constraint("params", "min", _size(m.group(1), m.group(2)), text=m.group(0)))
        return q.replace(m.group(0), " ")
    sizes = [m for m in re.finditer(rf"(?<![\w.]){_NUM}\s*([bm])\b{_NOT_PARAMS}(?:[\s-]*(?:param\w*|models?|llms?))?",
                                    q, re.I) if not re.search(r"\d\s*x\s*$", q[: m.start()])]
    if sizes:  # several sizes ("layers of two 70B models stacked to get ~120B"): the one marked as
        # wanted ("~", "about"), else the first; a preference only, since the others describe
        marked = [m for m in sizes if re.search(r"(?:~|\babout|\baround|\broughly|\bapprox\w*)\s*$",
                                                q[: m.start()], re.I)]
        m = (marked or sizes)[0]
        parts = bool(_INGREDIENT.search(q[: m.start()]))  # "gluing several existing 7B fine-tunes"
        out.append(Constraint("params", "approx", _size(m.group(1), m.group(2)),
                              hard=len(sizes) == 1 and not parts, text=m.group(0)))
        return q
    if re.search(r"\b(small|tiny|lightweight|compact|little|mini)\b", q, re.I):
        out.append(Constraint("params", "prefer_small", None, hard=False,
                              text=re.search(r"\b(small|tiny|lightweight|compact|little|mini)\b",
                                             q, re.I).group(0)))
    return q


def _context(q: str, out: list[Constraint]) -> str:
    m = re.search(rf"(?:{_MIN}\s*)?{_NUM}\s*(k|m)?\s*(?:tokens?\s*(?:of\s*)?context|context|"
                  rf"tokens?\s+(?:long|window))", q, re.I)
    if m:
        n = float(m.group(1)) * {"k": 1000, "m": 1_000_000, None: 1}[(m.group(2) or "").lower() or None]
        out.append(Constraint("context", "min", n * 0.97, text=m.group(0)))
        return q.replace(m.group(0), " context ")
    if re.search(r"\blong[- ]context\b", q, re.I):
        out.append(Constraint("context", "min", 32000, hard=False, text="long context"))
    return q


def _licenses(q: str, out: list[Constraint]) -> str:
    found: list[str] = []
    spans: list[str] = []
    for pat, ids in V.LICENSE_PATTERNS:
        for m in re.finditer(pat, q, 0 if pat.startswith(r"\bMIT\b") else re.I):
            if pat.startswith(r"\bnon") and any("cc-by-nc*" in f for f in found):
                continue
            found.extend(i for i in ids if i not in found)
            spans.append(m.group(0))
    if not found:
        return q
    out.append(Constraint("license", "in", found, text=", ".join(spans)))
    for s in spans:
        q = q.replace(s, " ")
    q = re.sub(r"\b(?:permissively |openly )?licen[sc](?:ed|e)\b(?:\s+under)?|\bunder\s+(?=\s*$)|"
               r"\breleased under\b|\bcreative commons\b|\bor\b(?=\s*\))", " ", q, flags=re.I)
    return q


_NOT_TEXT = re.compile(
    r"(?:cartoons?|anime|manga|art|arts|artwork|styles?|paintings?|drawings?|illustrations?|photos?|"
    r"photographs?|pictures?|images?|films?|movies?|cinema|animations?|comics?|cuisine|food|dishes|"
    r"culture|fashion|gardens?|landscapes?|scenery|music|songs?|games?|characters?|aesthetics?)$")


def _of_text(after: str) -> bool:
    """Whether a language name names the language of the text the model reads or writes
    ("in Japanese", "Japanese reviews", "German BERT"); not when it describes pictures, art
    or culture ("art like in Japanese cartoons": a soft hint only)."""
    word = re.match(r"[\s-]*([a-z]+)", after)
    return not (word and _NOT_TEXT.match(word.group(1)))


def _languages(q: str, out: list[Constraint]) -> None:
    low = q.lower()
    for name, code in V.LANGUAGES.items():
        for m in re.finditer(rf"\b{name}\b", low):
            before = low[max(0, m.start() - 30): m.start()]
            only = NOT_ONLY.search(before)
            neg = re.search(rf"(?:\b{NEGATOR}|\bnon-?|\bbeyond)\s+(?:(?:the|any|all|in|written in|for)\s+)?$|"
                            r"non-$", before)
            if only:  # "not just English": more languages than that one
                out.append(Constraint("language", "multilingual", None, hard=False,
                                      text=f"{before[only.start():].strip()} {name}"))
            elif neg:  # the words that rule it out, as the reason shows them ("other than english")
                said = before[neg.start():].strip()
                said += "" if said.endswith("-") else " "
                out.append(Constraint("language", "not", [code], text=f"{said}{name}"))
            elif not any(c.field == "language" and code in c.value for c in out):
                _add_language(out, code, _of_text(low[m.end():]), name)
    for c in out:
        if c.field == "language" and c.op == "in" and len(c.value) > 1 and _ALTERNATIVES.search(low):
            c.any_of = True
    many = re.search(r"\b(multilingual|cross[- ]lingual|many languages|hundreds of languages|\d{2,} languages)",
                     low)
    if many and re.search(rf"\b{NEGATOR}\s+(?:[\w-]+\s+){{0,2}}$", low[max(0, many.start() - 30):many.start()]):
        out.append(Constraint("language", "monolingual", None, text=f"no {many.group(1)}"))  # "not a huge multilingual"
    elif many:
        out.append(Constraint("language", "multilingual", None, hard=False, text="multilingual"))


# languages offered as alternatives: "German, Dutch or French", "one of those languages", "are all fine"
_ALTERNATIVES = re.compile(r"\b(?:one of (?:these|those|the|them)|any (?:one )?of|either|whichever|(?:are|is) "
                           r"(?:all )?(?:fine|ok|okay)|any (?:single )?(?:european |asian )?language)\b|"
                           r"\b[a-z]+ or [a-z]+\b(?=[^.]*\blanguages?\b)")


def _add_language(out: list[Constraint], code: str, hard: bool, name: str) -> None:
    """Languages named together are alternatives ("for Dutch and German speakers"): one
    constraint any of them meets; a model serving several ranks by the words."""
    same = next((c for c in out if c.field == "language" and c.op == "in" and c.hard == hard), None)
    if same is None:
        out.append(Constraint("language", "in", [code], hard=hard, text=name))
    else:
        same.value = [*same.value, code]
        same.text = f"{same.text}, {name}"


def _formats(q: str, out: list[Constraint]) -> None:
    low = q.lower()
    if re.search(r"\bgguf\b|\bggml\b", low):
        out.append(Constraint("format", "in", ["gguf"], text="gguf"))
    if re.search(r"\bsafetensors\b", low):
        out.append(Constraint("format", "in", ["safetensors"], text="safetensors"))
    if re.search(r"\bonnx\b", low):
        out.append(Constraint("format", "in", ["onnx"], text="onnx"))
    if re.search(r"\bmlx\b", low):
        out.append(Constraint("format", "in", ["mlx"], text="mlx"))
    if re.search(r"\b(adapters?|loras?|qlora|peft)\b", low):
        hard = bool(re.search(r"adapter[- ]only|only (the )?adapter|adapter weights|not merged", low)) or \
            bool(re.search(r"\b(adapters?|loras?)\b", low))
        out.append(Constraint("format", "in", ["adapter"], hard=hard,
                              text=re.search(r"\b(adapters?|loras?|qlora|peft)\b", low).group(0)))


def _quantization(q: str, out: list[Constraint]) -> None:
    low = q.lower()
    methods = [m for m in ("gptq", "awq", "exl2", "bitsandbytes", "hqq", "aqlm") if
               re.search(V.QUANT_METHODS[m], low)]
    bits = []
    for m in re.finditer(r"\b([1-8])[- ]?bits?\b|\bint([48])\b|\bq([2-8])(?:_\w+)?\b", low):
        bits.append(float(next(g for g in m.groups() if g)))
    if methods:
        out.append(Constraint("quantization", "in", methods, text=", ".join(methods)))
    if bits:
        out.append(Constraint("quantization", "bits", sorted(set(bits)), text=f"{bits[0]:g}-bit"))
    elif not methods and re.search(r"\bquanti[sz](ed|ation)\b", low) and not \
            re.search(r"\bnot quanti[sz]ed|\bunquanti[sz]ed|\bnon-quanti", low):
        also = re.search(r"\b(?:including|incl\.?|plus|and also|as well as)\s+(?:\S+\s+){0,2}\S*quanti|"
                         r"quanti[sz]\w*\s+(?:\S+\s+){0,2}(?:included|too|as well)\b", low)
        # "re-quantized copies included": not only them
        out.append(Constraint("quantization", "any", None, hard=not also, text="quantized"))


def _libraries(q: str, out: list[Constraint]) -> None:
    for lib, pat in V.LIBRARIES.items():
        if lib in ("gguf", "onnx", "mlx", "peft"):
            continue  # formats
        m = re.search(pat, q, re.I)
        if m:
            out.append(Constraint("library", "in", [lib], hard=False, text=m.group(0)))


_UPSTREAM = re.compile(r"\s*(?:outputs?|transcripts?|transcriptions?|results?|predictions?|captions?|"
                       r"detections?|translations?)\b")  # "my speech-to-text output": the user's data


def _tasks(q: str, out: list[Constraint]) -> None:
    low = q.lower()
    hard_seen = False
    for pat, task, hard in V.TASK_PHRASES:
        m = re.search(pat, low)
        if not m or (_UPSTREAM.match(low[m.end():]) and re.search(r"\b(?:my|our|their|the)\s+$",
                                                                   low[max(0, m.start() - 8):m.start()])):
            continue  # what made the user's data, not the model wanted
        if any(c.field == "task" and c.op != "not" and task in c.value for c in out):
            continue
        if not hard and hard_seen:
            continue  # a named task already says what the model does
        if task == "object-detection" and any(c.field == "task" and "zero-shot-object-detection"
                                              in c.value for c in out):
            continue
        out.append(Constraint("task", "in", [task] + sorted(V.task_group(task) - {task}), hard=hard,
                              text=m.group(0)))
        hard_seen = hard_seen or hard


_AMBIGUOUS_ARCH = {"clip", "led", "opt", "yi", "dit", "bloom", "phi", "e5", "gte", "bge", "moe", "unet",
                   "falcon", "flux", "vit", "luke", "yolo"}


def _architectures(q: str, out: list[Constraint]) -> None:
    low = q.lower()
    for a in V.ARCHITECTURES:
        m = re.search(rf"(?<![\w.]){re.escape(a)}(?:[- ](?:based|architecture|style|like)|s)?(?![\w.])", low)
        if m and a in _AMBIGUOUS_ARCH and not re.search(r"[- ](based|architecture|style|like)$", m.group(0)):
            continue
        if m:
            hard = bool(re.search(r"[- ](based|architecture)$", m.group(0)))
            out.append(Constraint("architecture", "in", [a], hard=hard, text=m.group(0)))
    if re.search(r"mixture[- ]of[- ]experts|\bmoe\b", low) and not any(
            c.field == "architecture" and "moe" in c.value for c in out):
        out.append(Constraint("architecture", "in", ["moe"], hard=False, text="mixture-of-experts"))


def _clean_residual(text: str) -> str:
    text = re.sub(r"\(\s*\)|\(\s*(?:or|and)?\s*\)", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" ,;:-")
    return text


def content_terms(text: str) -> list[str]:
    """Words of a query worth matching lexically (no stopwords, no punctuation)."""
    words = re.findall(r"[\w][\w.+#-]*[\w+#]|[\w]", re.sub(r"['’]s\b", "", text.lower()))
    return [w for w in words if w not in STOPWORDS and not re.fullmatch(r"\d", w)]


def parse_query(query: str, *, task: str | None = None, license: str | None = None,  # noqa: A002
                max_params: float | str | None = None, format: str | None = None,  # noqa: A002
                language: str | None = None, library: str | None = None,
                architecture: str | None = None, quantization: str | None = None,
                min_params: float | str | None = None, parse: bool = True) -> ParsedQuery:
    """Read the constraints, lineage and results clauses out of ``query``; flags add strict ones."""
    raw = query.strip()
    cons: list[Constraint] = []
    lineage = results = None
    text = raw
    situation = ""
    if parse and raw:
        lineage, text = _parse_lineage(text)
        results, text = _parse_results(text)
        situation = _situation(text)
        text = _text_constraints(text, cons)
    cons = _with_flags(cons, task=task, license=license, max_params=max_params,
                       min_params=min_params, format=format, language=language, library=library,
                       architecture=architecture, quantization=quantization)
    return ParsedQuery(raw=raw, text=_clean_residual(text), constraints=cons, lineage=lineage,
                       results=results, families=family_mentions(spelled(raw)) if parse and raw else [],
                       situation=situation)


def _situation(text: str) -> str:
    """The negations that say what the user lacks ("no labelled training data", "without a GPU"):
    no model is ruled out by them, but they tell what kind of model is wanted (zero-shot, small)."""
    spans = [m.group(0).strip() for m in _NEGATION.finditer(text)
             if (words := _negated_words(m.group("span"))) and set(words) <= _SITUATION]
    return "; ".join(spans)


def _negated_words(span: str) -> list[str]:
    """The words of a negation that could name what it rules out ("other than PPO": ppo)."""
    return [t for t in re.findall(r"[a-z][a-z0-9]+", span.lower()) if t not in _NOT_NAME_WORDS and t not in STOPWORDS]


_NEGATION = re.compile(
    rf"\b{NEGATOR}\s+(?!{COMPARATIVE})"
    r"(?:(?:a|an|the|just|only|one of|any|anything|something|from|made by|by)\s+){0,2}"
    r"(?:(?:one|ones|something|anything|models?) (?:that|which) (?:(?:just|only|simply|merely) )?[\w'-]+\s+)?"
    r"(?P<span>[^,;:.()!?]+?)"
    r"(?=\s*(?:[,;:.()!?]|\s[-\u2013\u2014]\s|\bbut\b|\band\b|\bthat\b|\bwhich\b|$))", re.I)
_LIST_REST = re.compile(r"(?:\s*\([^()]{1,30}\))?(?:,\s*[^,;:.()!?]+?)*,?\s+(?:or|nor)\s+[^,;:.()!?]+?"
                        r"(?=\s*(?:[,;:.()!?]|\bbut\b|\band\b|\bthat\b|\bwhich\b|$))", re.I)
NEGATABLE = ("task", "format", "quantization", "architecture", "library", "license", "chat", "relation")
# how a ruled-out model was made: "not a merge", "no quantized copies", "no fine-tunes"
_RELATION_WORDS = {
    "merge": r"\bmerge[sd]?\b|\bmergekit\b|\bslerp\b|\bfrankenmerge",
    "quantized": r"\b(?:re-?)?quanti[sz](?:ed|ations?)\b|\bquants\b",
    "adapter": r"\badapters?\b|\blora\b|\bpeft\b|\blow[- ]rank\b",
    "finetune": r"\bfine[- ]?tun(?:es?|ed|ing)\b|\bfinetun(?:es?|ed)\b|\bderivatives?\b",
    "base": r"\bbase models?\b|\bfoundation models?\b|\bpre-?trained (?:base )?(?:models?|checkpoints?)\b",
}


def _negations(text: str, out: list[Constraint]) -> str:
    """Constraints the query rules out ("not GGUF", "not an ASR->MT->TTS chain", "no
    vision"): each becomes a ``not`` constraint, and its words leave the text."""
    for m in list(_NEGATION.finditer(text)):
        span, whole = m.group("span"), m.group(0)
        more = _LIST_REST.match(text, m.end())
        if more:  # "not from the Llama, Mistral or Qwen families": the list shares the negation
            span, whole = span + more.group(0), whole + more.group(0)
        if re.match(r"\s*(?:english|[a-z]+)[- ]only\b", span, re.I):
            continue  # "not English-only": the language reader handles it
        found: list[Constraint] = []
        _text_constraints(span, found, negations=False)
        if any(c.field == "language" for c in found):
            continue  # "other than English": the language reader handles it
        relations = [r for r, pat in _RELATION_WORDS.items() if re.search(pat, span, re.I)]
        families = family_mentions(span)
        if relations == ["finetune"] and families and not re.search(r"\b(?:of|from)\b", span, re.I):
            relations = []  # "no SDXL derivatives": the family and what derives from it, not every fine-tune
        source = re.search(r"\b(?:of|from)\b", span, re.I)
        if relations and families and source and all(
                m.start() > source.end() for r in relations for m in re.finditer(_RELATION_WORDS[r], span, re.I)):
            relations = []  # "anything made out of Mistral 7B fine-tunes": the family they come from is out
        if relations:
            if re.search(r"\b(?:of|from)\b", span, re.I):  # "no re-quantizations of Meta's chat model":
                found = []  # what follows "of" names their source, which is not ruled out
            found.append(Constraint("relation", "in", relations))
        kept = [c for c in found if c.field in NEGATABLE and c.op in ("in", "is")]
        if any(c.field == "license" for c in kept) and re.search(r"[- ]licen[cs]", span, re.I):
            kept = [c for c in kept if c.field != "architecture"]  # "no Llama-licensed stuff": its license
        if any(re.search(r"\d", k) for f in families for k in f.keys):
            kept = [c for c in kept if c.field != "architecture"]  # "rather than Llama 2": that version
            # of the family (ruled out as a family), not every llama
        for c in kept:
            out.append(Constraint(c.field, "not", c.value, hard=c.field != "task", text=whole.strip()))
        words = _negated_words(span)
        if not kept and words and not families and not set(words) <= _SITUATION:  # "other than PPO"
            out.append(Constraint("words", "not", words[:6], hard=False, text=whole.strip()))
        text = text.replace(whole, " ")
    return text


# what a user does not have or want to do ("no labeled training data", "no GPU", "without
# fine-tuning"): their situation, not words that rule models out
_SITUATION = {"labeled", "labelled", "label", "labels", "training", "train", "data", "dataset", "datasets",
              "examples", "example", "annotations", "annotated", "gpu", "gpus", "budget", "internet",
              "connection", "cloud", "finetuning", "tuning", "retraining", "setup", "time", "money", "backend",
              "server", "python", "coding", "code", "my", "side", "own", "our", "we", "i"}
# words that say nothing about which models a negation rules out ("not one of the ... models")
_NOT_NAME_WORDS = {"by", "trained", "made", "released", "published", "built", "copies", "re",
                   "uploads", "reuploads", "model", "models", "one", "ones", "of", "the", "a", "an", "its",
                   "their", "any", "just",
                   "only", "based", "fine", "tuned", "tune", "tunes", "version", "versions", "variant",
                   "variants", "size", "sized", "checkpoint", "checkpoints", "weights", "or", "nor", "and",
                   "something", "anything", "kind", "type", "sort", "straight", "originals", "original",
                   "from", "parent", "parents", "stuff"}


def _listed(text: str, spans: list[str]) -> bool:
    """Whether the phrases are items of one list ("LoRAs, merges or quantized copies")."""
    low = text.lower()
    at = sorted((low.find(s.lower()), s) for s in spans if s and low.find(s.lower()) >= 0)
    gaps = [low[a + len(s):b] for (a, s), (b, _) in zip(at, at[1:])]
    return bool(gaps) and all(re.fullmatch(r"[\w\s-]{0,20}?(?:,|/|;|\bor\b|\band/or\b)\s*(?:and\s+)?[\w\s-]{0,12}",
                                           g) for g in gaps)


def _text_constraints(text: str, out: list[Constraint], negations: bool = True) -> str:
    """Add to ``out`` the constraints ``text`` states; the text less the phrases (licenses,
    sizes, context lengths, what is ruled out) that only constrain."""
    if negations:
        text = _negations(text, out)
    text = _licenses(text, out)
    text = _params(text, out)
    text = _context(text, out)
    scan = text  # formats, languages... stay in the text: they describe the model too
    _formats(scan, out)
    _quantization(scan, out)
    _languages(scan, out)
    _libraries(scan, out)
    _tasks(scan, out)
    _architectures(scan, out)
    _chat(scan, out)
    _made(scan, out)
    made = [c for c in out if c.op in ("in", "any") and (c.field in ("relation", "quantization") or (
        c.field == "format" and c.value == ["adapter"]))]
    if len({(c.field, str(c.value)) for c in made}) > 1 and _listed(text, [c.text for c in made]):
        for c in made:  # "LoRAs, merges, quantized copies": any of them (not "a quantized merge")
            c.hard = False
    if negations:  # "a base LLM, not instruction-tuned": what the query asks for is not ruled out
        asked = {(c.field, v) for c in out if c.op in ("in", "is")
                 for v in (c.value if isinstance(c.value, list) else [c.value])}
        out[:] = [c for c in out if c.op != "not" or not any(
            (c.field, v) in asked for v in (c.value if isinstance(c.value, list) else [c.value]))]
    return text


_MADE = {"merge": r"\bmerged\s+(?:[\w-]+\s+)?(?:models?|llms?|checkpoints?|weights|versions?)\b|"
                  r"\b(?:a|the|any)\s+(?:model\s+)?merge\b|\bmerges\b(?!\s+(?:of|from))"}


def _made(q: str, out: list[Constraint]) -> None:
    """How the model was made, asked for without naming what it was made from ("a merged LLM"):
    a preference (a model made from several of the lake's is found by lineage instead)."""
    for rel, pat in _MADE.items():
        m = re.search(pat, q, re.I)
        if m and not any(c.field == "relation" and c.op == "in" for c in out):
            out.append(Constraint("relation", "in", [rel], hard=False, text=m.group(0)))


def _chat(q: str, out: list[Constraint]) -> None:
    m = re.search(r"\b(chat\w*|instruct\w*|assistants?|conversational|dialog(ue)?)\b", q, re.I)
    if m:
        out.append(Constraint("chat", "is", True, hard=False, text=m.group(0)))


# -- flags -------------------------------------------------------------------------------
def _with_flags(cons: list[Constraint], *, task: str | None, license: str | None,  # noqa: A002
                max_params: float | str | None, min_params: float | str | None,
                format: str | None, language: str | None, library: str | None,  # noqa: A002
                architecture: str | None, quantization: str | None) -> list[Constraint]:
    """``cons`` with the (strict) constraint of each flag given in place of what the text
    said on its field."""
    if task:
        cons = _replace(cons, _task_flag(task))
    if license:
        ids = [x.strip().lower() for x in license.split(",") if x.strip()]
        cons = _replace(cons, Constraint("license", "in", ids, source="flag", text=f"--license {license}"))
    for value, op in ((max_params, "max"), (min_params, "min")):
        if value is not None:
            cons = _replace(cons, _params_flag(value, op), ops=(op, "approx", "prefer_small"))
    if format:
        cons = _replace(cons, Constraint("format", "in", [format.lower()], source="flag",
                                         text=f"--format {format}"))
    if language:
        code = V.normalize_language(language) or language.lower()
        cons = _replace(cons, Constraint("language", "in", [code], source="flag",
                                         text=f"--language {language}"))
    if library:
        cons = _replace(cons, Constraint("library", "in", [library.lower()], source="flag",
                                         text=f"--library {library}"))
    if architecture:
        cons = _replace(cons, Constraint("architecture", "in", [architecture.lower()], source="flag",
                                         text=f"--architecture {architecture}"))
    if quantization:
        cons = _replace(cons, _quantization_flag(quantization))
    return cons


def _replace(cons: list[Constraint], c: Constraint,
             ops: tuple[str, ...] | None = None) -> list[Constraint]:
    """``cons`` without the constraints on ``c``'s field (only those with an op in ``ops``,
    when given), then ``c``."""
    keep = [x for x in cons if not (x.field == c.field and (ops is None or x.op in ops))]
    return keep + [c]


def _task_flag(task: str) -> Constraint:
    t = V.normalize_task(task)
    return Constraint("task", "in", [t] + sorted(V.task_group(t) - {t}), source="flag",
                      text=f"--task {task}")


def _params_flag(value: float | str, op: str) -> Constraint:
    n = parse_size(value) if isinstance(value, str) else float(value)
    if n is None:
        raise SearchQueryError(f"cannot read a parameter count from {value!r} (try 350M or 7B)")
    return Constraint("params", op, n, source="flag", text=f"--{op}-params {value}")


def _quantization_flag(quantization: str) -> Constraint:
    """``--quantization 4bit`` (a bit width) or ``--quantization gptq`` (a method)."""
    q = quantization.lower()
    if re.fullmatch(r"\d+(\.\d+)?(-?bits?)?", q):
        return Constraint("quantization", "bits", [float(re.match(r"[\d.]+", q).group(0))],
                          source="flag", text=f"--quantization {quantization}")
    return Constraint("quantization", "in", [q], source="flag", text=f"--quantization {quantization}")
