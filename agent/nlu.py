"""Reading a question: model names linked against the catalog (fuzzy), numbers and
constraints, formats, architectures, paths. Plain Python, no model calls.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from modellake.tools.search import license_ids, size_bounds
from modellake.tools.search.vocab import GENERATIVE

_JOINERS = frozenset("on of for the and in to at by with vs or from is a an".split())
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:\.[0-9]+)?")
# Words too common to identify a model on their own (a partial name match needs a rarer one).
GENERIC = frozenset("""
a an the of on in to for and or is are was be it its this that with by from about as at
model models base small large tiny mini big medium new old v1 v2 v3 v4 final best test demo
my our your their all any some one two three first second last latest current version
instruct chat hf fp16 fp32 bf16 f16 f32 gguf safetensors pytorch bin pt card cards
lake weights weight params parameters parameter layers what which how many much does do
have has show tell me list compare vs versus bigger smaller larger same different
fine tuned finetuned finetune tune tuning uncased cased release releases variant variants
4bit 8bit awq gptq bnb exl2
""".split())
ARCH_WORDS = frozenset("""
bert roberta distilbert deberta albert electra xlm gpt gpt2 gptj gpt_neox neox llama mistral
mixtral gemma gemma2 gemma3 qwen qwen2 qwen3 phi phi3 t5 mt5 bart opt bloom falcon mpt
starcoder codegen whisper vit clip mpnet minilm smollm smollm2 olmo granite stablelm
""".split())

FORMATS = {
    "gguf": r"\bgguf\b|\bllama\.?cpp\b",
    "safetensors": r"\bsafetensors?\b",
    "pytorch": r"\bpytorch\b|\.bin\b|\bpickle|\btorch (?:checkpoint|file)s?\b|\.pth?\b",
    "adapter": r"\badapters?\b|\blora\b|\bpeft\b",
    "card": r"\bcard[- ]only\b|\bonly (?:a )?cards?\b|\bwithout weights\b|\bno weights\b|"
            r"\bweights (?:are )?(?:not|missing)\b",
}
_UNITS = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6,
          "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "t": 1e12, "trillion": 1e12}
_NUM = r"(\d+(?:[.,]\d+)*)\s*(k|thousand|mn|m|million|millions|bn|b|billion|billions|t|trillion)?\b"
_PATH = re.compile(r"(?:(?<=\s)|^)((?:~|\.{1,2})?/[^\s'\"`]+|[\w.-]+/[\w./-]*\.(?:safetensors|gguf|bin|pt|pth|md)\b|"
                   r"[\w.-]+\.(?:safetensors|gguf|bin|pt|pth))")


@dataclass
class Mention:
    """A model named in the question: the catalog name, where, how sure."""

    name: str
    start: int
    end: int
    score: float
    kind: str  # exact | fuzzy | partial
    version: int | None = None
    alternatives: list[str] = field(default_factory=list)  # other names it fits as well

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}" if self.version else self.name


@dataclass
class Question:
    """What was read from one question."""

    text: str
    models: list[Mention] = field(default_factory=list)
    min_params: int | None = None
    max_params: int | None = None
    formats: list[str] = field(default_factory=list)
    architectures: list[str] = field(default_factory=list)
    has_card: bool | None = None
    superlative: str | None = None  # largest | smallest | newest
    count: bool = False  # "how many models"
    paths: list[str] = field(default_factory=list)
    license: str | None = None  # "none" for "without a license"
    quantized: bool | None = None
    task: str | None = None
    numbers: list[float] = field(default_factory=list)
    masked: str = ""  # the text with model names replaced by X, Y

    @property
    def names(self) -> list[str]:
        return [m.spec for m in self.models]


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


class Linker:
    """Finds catalog model names in free text: exact, fuzzy (typos, spacing), or a unique part."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self._forms: list[tuple[str, str, list[str]]] = []  # (name, joined form, tokens)
        for n in self.names:
            toks = [t for t, _, _ in _tokens(n)]
            self._forms.append((n, _norm(n), toks))
            if "/" in n:  # org/name: the name alone works too
                tail = n.split("/", 1)[1]
                self._forms.append((n, _norm(tail), [t for t, _, _ in _tokens(tail)]))
        self._part_owners: dict[str, set[str]] = {}
        for n, _, toks in self._forms:
            for i in range(len(toks)):
                for j in range(i + 1, len(toks) + 1):
                    self._part_owners.setdefault("".join(toks[i:j]), set()).add(n)

    def link(self, text: str) -> list[Mention]:
        toks = _tokens(text)
        found: list[Mention] = []
        max_len = max((len(t) for _, _, t in self._forms), default=0) + 1
        for i in range(len(toks)):
            for j in range(i + 1, min(len(toks), i + max_len) + 1):
                window = "".join(t for t, _, _ in toks[i:j])
                start, end = toks[i][1], toks[j - 1][2]
                wt = [t for t, _, _ in toks[i:j]]
                joiners = any(t in _JOINERS for t in wt[1:-1]) or (j - i > 1 and (
                    wt[0] in _JOINERS or wt[-1] in _JOINERS))
                flat = _norm(window)  # as the names' joined forms: "qwen2.5" is "qwen25"
                for name, joined, ntoks in self._forms:
                    if joiners and flat != joined:
                        continue  # "minilm on sentiment" is not a typo of "minilm-sentiment"
                    m = self._match(flat, joined, ntoks, j - i)
                    if m:
                        found.append(Mention(name, start, end, m[0], m[1]))
                moved = self._reordered([t for t, _, _ in toks[i:j]])
                if moved:
                    found.append(Mention(moved, start, end, 0.9, "fuzzy"))
                part = None if _glued(text, start, end) else (
                    self._partial(window, wt) or self._loose(wt))
                if part:
                    found.append(Mention(part[0], start, end, part[1], "partial"))
        # "minilm-sentiment-v2", "tiny-llama-7b": another model than the name it starts with
        found = [m for m in found if not re.match(
            r"[-_](?:v\d+|\d+(?:\.\d+)?[bmk]?|fp16|fp32|bf16|int8|int4|gguf|awq|gptq|onnx|mlx)\b",
            text[m.end:], re.I)]
        tie: dict[tuple[int, int, float], set[str]] = {}
        for m in found:
            tie.setdefault((m.start, m.end, m.score), set()).add(m.name)
        chosen: list[Mention] = []
        for m in sorted(found, key=lambda m: (-m.score, -(m.end - m.start), m.start)):
            m.alternatives = sorted(tie[(m.start, m.end, m.score)] - {m.name})
            if any(m.start < c.end and c.start < m.end for c in chosen):
                continue
            if any(c.name == m.name for c in chosen):
                continue
            chosen.append(m)
        chosen.sort(key=lambda m: m.start)
        for m in chosen:
            v = re.match(r"@(\d+)|\s+(?:version|v)\s*(\d+)\b", text[m.end:])
            if v:
                m.version = int(v.group(1) or v.group(2))
                m.end += len(v.group(0))
        return chosen

    def _reordered(self, wtoks: list[str]) -> str | None:
        """A name whose words the window has in another order ("paraphrase minilm")."""
        if len(wtoks) < 2:
            return None
        key = sorted(wtoks)
        owners = {n for n, _, toks in self._forms if len(toks) == len(wtoks) and sorted(toks) == key}
        return next(iter(owners)) if len(owners) == 1 else None

    @staticmethod
    def _match(window: str, joined: str, ntoks: list[str], n_window: int) -> tuple[float, str] | None:
        if window == joined:
            return 1.0, "exact"
        if window.startswith(joined) and re.fullmatch(r"v\d+|\d+(?:\.\d+)?[bmk]?", window[len(joined):]):
            return None  # "minilm-sentiment-v2", "tiny-llama-7b": another model, not a typo
        if len(joined) < 5 or abs(len(window) - len(joined)) > max(2, len(joined) // 5):
            return None
        if n_window > len(ntoks) + 1:
            return None
        if re.findall(r"\d+", window) != re.findall(r"\d+", joined):
            return None  # "whisper-large-v2" is not a typo of "whisper-large-v3"
        ratio = difflib.SequenceMatcher(None, window, joined).ratio()
        if ratio >= 0.88 or (len(joined) >= 8 and ratio >= 0.85):
            return ratio * 0.95, "fuzzy"
        return None

    def _loose(self, wtoks: list[str]) -> tuple[str, float] | None:
        """Words of one name, in order, with words left out ("qwen 14b awq", "whisper turbo",
        "llama 3 8b"); of several names the one that adds least after them (derived names add
        suffixes: "llama 3 8b" is Meta-Llama-3-8B, not Llama-3-8b-Ita)."""
        if len(wtoks) < 2 or any(t in _JOINERS for t in wtoks) or \
                all(t in GENERIC or t in ARCH_WORDS or t.isdigit() for t in wtoks) or _size_and_words(wtoks):
            return None
        fits: dict[str, tuple[int, int]] = {}
        for n, _, ntoks in self._forms:
            fit = _subsequence(wtoks, ntoks)
            if fit is not None and (n not in fits or fit < fits[n]):
                fits[n] = fit
        if not fits:
            return None
        best = min(fits.values())
        owners = [n for n, f in fits.items() if f == best]
        return (owners[0], 0.5) if len(owners) == 1 else None

    def _partial(self, window: str, wtoks: list[str]) -> tuple[str, float] | None:
        """A part of exactly one model's name; weaker when the part is an architecture word."""
        if len(window) < 4 or window.isdigit() or window in GENERIC or all(t in GENERIC for t in wtoks) or \
                _size_and_words(wtoks):  # "7b chat": a size and a common word
            return None
        owners = self._part_owners.get(window)
        if not owners or len(owners) != 1:
            return None
        weak = len(wtoks) == 1 and wtoks[0] in ARCH_WORDS
        return next(iter(owners)), 0.45 if weak else 0.6


def _size_and_words(wtoks: list[str]) -> bool:
    """"7b chat", "the 8b instruct": a size among common words, which names no one model."""
    sized = [t for t in wtoks if re.fullmatch(r"\d+(?:\.\d+)?[bmk]", t)]
    return bool(sized) and len(wtoks) > 1 and all(t in GENERIC or t in sized for t in wtoks)


def _glued(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is only a piece of a longer identifier ("meta-llama" of
    "meta-llama/Llama-2-7b-chat-hf"), which then names another model than its words."""
    before = re.search(r"[A-Za-z0-9][-/_.]$", text[:start])
    after = re.match(r"[-/_.][A-Za-z0-9]", text[end:])
    return bool(before or after)


def _subsequence(wtoks: list[str], ntoks: list[str]) -> tuple[int, int] | None:
    """(name words after the last one matched, name words not matched) when every word of
    ``wtoks`` is, in order, a name word or the start of one ("qwen" of "qwen2.5"; numbers
    whole: "3" is not "3.1"), matched as late in the name as possible; else None."""
    k = len(ntoks) - 1
    last = None
    for w in reversed(wtoks):
        while k >= 0 and not (ntoks[k] == w or (w.isalpha() and len(w) >= 3 and ntoks[k].startswith(w))):
            k -= 1
        if k < 0:
            return None
        last = k if last is None else last
        k -= 1
    return len(ntoks) - 1 - last, len(ntoks) - len(wtoks)


def parse_number(value: str, unit: str | None) -> float:
    v = float(value.replace(",", "")) if value.count(",") != 1 or len(value.split(",")[1]) == 3 \
        else float(value.replace(",", "."))
    return v * _UNITS.get((unit or "").lower(), 1.0)


def mask(text: str, models: list[Mention]) -> str:
    out, last = [], 0
    for i, m in enumerate(models):
        out.append(text[last:m.start])
        out.append("X" if i == 0 else "Y" if i == 1 else "Z")
        last = m.end
    out.append(text[last:])
    return "".join(out)


def read(text: str, linker: Linker, architectures: list[str] | None = None,
         tasks: list[str] | None = None) -> Question:
    """Everything the offline backend needs from one question."""
    q = Question(text=text)
    archs = {a.lower() for a in architectures or []}
    q.models = [m for m in linker.link(text)  # "the llama models": an architecture, not a name
                if not (m.kind == "partial" and m.score < 0.6 and text[m.start:m.end].lower() in archs)]
    q.masked = mask(text, q.models)
    low = q.masked.lower()
    for p in _PATH.findall(text):
        q.paths.append(p.rstrip(".,;:?!)"))
    low_nopath = low
    for p in q.paths:
        low_nopath = low_nopath.replace(p.lower(), " ")
    _constraints(q, low_nopath)
    for fmt, rx in FORMATS.items():
        if re.search(rx, low_nopath):
            q.formats.append(fmt)
    for arch in architectures or []:
        a = _norm(arch)
        if a and re.search(rf"\b{re.escape(arch.lower())}(?:'?s)?\b", low) or (
                a and any(_norm(t) == a for t, _, _ in _tokens(low))):
            if arch not in q.architectures:
                q.architectures.append(arch)
    if re.search(r"\b(?:without|no|lack(?:s|ing)?|missing|has no|have no|don'?t have|"
                 r"doesn'?t have|not have)\s+(?:a\s+|any\s+)?(?:model\s+)?(?:(?:readme|docs?)\s*(?:/|or)\s*)?"
                 r"(?:cards?|readmes?)\b|"
                 r"\bundocumented\b|\bcard-?less\b", low):
        q.has_card = False
    elif re.search(r"\b(?:with|have|has|having)\s+(?:a\s+)?(?:model\s+)?(?:cards?|readmes?)\b|\bdocumented\b", low):
        q.has_card = True
    if re.search(r"\b(?:largest|biggest|heaviest|most parameters|greatest number of parameters|"
                 r"most params)\b", low):
        q.superlative = "largest"
    elif re.search(r"\b(?:smallest|tiniest|lightest|fewest parameters|least parameters|"
                   r"fewest params)\b", low):
        q.superlative = "smallest"
    elif re.search(r"\b(?:newest|latest|most recent(?:ly)?|last) (?:added|ingested|model)", low):
        q.superlative = "newest"
    named = license_ids(q.masked)  # families too: "gpl*", "cc-by-nc*"
    if re.search(r"\b(?:without|no|lack(?:s|ing)?|missing|has no|have no)\s+(?:a\s+|any\s+)?licen[cs]e|"
                 r"\b(?:don't|doesn't|do not|does not|never)\s+(?:declare|have|state|give|list|name)s?\s+"
                 r"(?:a\s+|any\s+)?licen[cs]e", low):
        q.license = "none"
    elif named:
        q.license = named[0]
    if re.search(r"\b(?:not|non|un)[- ]?quanti[sz]ed\b|\bfull[- ]precision\b", low):
        q.quantized = False
    elif re.search(r"\bquanti[sz]ed\b", low):
        q.quantized = True
    q.task = card_task(low, tasks or [])
    q.count = bool(re.search(r"\bhow many (?:\w+ ){0,3}models?\b|\bnumber of models\b|"
                             r"\bcount (?:the )?models\b", low))
    return q


def card_task(low: str, tasks: list[str]) -> str | None:
    """The card task (pipeline tag) that ``low`` names ("text-generation models")."""
    for t in sorted(tasks, key=len, reverse=True):
        words = re.split(r"[-_ ]+", t.lower())
        pattern = r"[- ]".join(re.escape(w) for w in words)
        short = r"[- ]".join([re.escape(words[0])] + [re.escape(w[:3]) + r"\w*" for w in words[1:]])
        if re.search(rf"\b{pattern}\b", low) or (len(words) > 1 and re.search(rf"\b{short}\b", low)):
            return t  # "text-gen models": text-generation
        if t == "text-generation" and re.search(_GENERATIVE, low):
            return t  # "the cheapest generative model", "our LLMs"
    return None


_GENERATIVE = rf"{GENERATIVE}|\bllms?\b|\blarge language models?\b|\bchat ?bots?\b|\bchat models?\b"


def _constraints(q: Question, low: str) -> None:
    """Size bounds through the search's own constraint parser; every number, for the router."""
    lo, hi = size_bounds(low)
    q.min_params = None if lo is None else int(lo)
    q.max_params = None if hi is None else int(hi)
    for m in re.finditer(_NUM, low):
        try:
            q.numbers.append(parse_number(m.group(1), m.group(2)))
        except ValueError:
            continue
