"""The passages of a card that answer a question about it: lines, list items, table rows.

A card is cut into small units (a paragraph, a list item, a sentence of a long paragraph, a
table row under its header row); code blocks count only when the question is about code or
usage. Each unit is scored by the question's words it holds, each word weighed by how rare it
is in this card (a word on every line says nothing), and by meaning (MiniLM, no torch) for
the best of them and for the units of the sections whose headings mean what was asked, so
that "is there a commercial option" finds "To request an Enterprise License".
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from modellake.tools.cards.summary import without_metadata
from modellake.tools.formats import markdown

WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
STOP = frozenset("the a an of on in to for and or is are was were be what which does do did its it this that "
                 "with by from as at how much many any some there their they them me my i you your we our "
                 "can could would should has have had about card model models say says said tell "
                 "according one each than then into out up so if not no vs versus".split())
SYNONYMS = dict(line.split(": ", 1) for line in """
risk: limitations bias risks
bias: limitations bias risks
limit: limitations risks
danger: limitations risks
harm: limitations risks bias
weakn: limitations
use: uses intended usage
purpo: intended uses
meant: intended uses
train: training trained procedure
hyper: training hyperparameters learning rate epochs
eval: evaluation results
perfo: evaluation results
data: datasets data trained
cite: citation
autho: authors developed
licen: license commercial
comme: commercial license enterprise
deep: layers depth
depth: layers
wide: hidden width dimension
width: hidden dimension
big: parameters size
size: parameters size
param: parameters
langu: languages language
quant: quantization quantized bits
memor: memory ram
speed: faster speed latency
chang: changes difference improvements compared except
diffe: differences compared except unlike instead
lengt: length tokens sequence
input: input tokens
conte: context length tokens window
ctx: context length tokens
len: length
based: based built architecture
recom: recommended
long: time days hours steps epochs
gpu: gpus hardware
hardw: gpus hardware
acc: accuracy
compu: gpus hardware hours
cutof: cutoff knowledge
token: tokens trillion
""".strip().splitlines())  # card guidance's words for what people ask about
CODE_WORDS = frozenset("code usage use using example examples install run running snippet python api call "
                       "load loading inference pipeline command".split())
TABLE_ROWS = 14      # a matched row comes with up to this many rows of its table
CANDIDATES = 20      # units scored by meaning after the word ranking
HEADINGS = 4         # ... and the units of this many sections whose headings mean the question best
REPEAT = 0.7         # a passage that adds no word of the question to those already chosen weighs this much
LEX_SHARE = 0.35     # how much the words found add to the meaning's cosine (at the best unit's words)
RELATIVE = 0.35      # a passage scoring under this share of the best one is left out
MIN_SIM = 0.3        # a unit (or heading) with none of the words counts from this cosine
TINY = 2             # a card of at most this many units is quoted whole
UNIT_CHARS = 420     # a unit is cut here (a sentence-long unit stays whole)
LIST_ITEMS = 12      # a list of at most this many items is shown whole when two of them match
OTHER_ITEM = 200     # ... its items not chosen cut here
PART_CANDIDATES = 5  # units of each part of a topic of several parts scored by meaning
MAX_PARTS = 5        # at most this many parts get a passage of their own
PART_LEX = 1.0       # a part's words weigh more than its meaning: a part is short ("gpu hours for the 8b")


@dataclass
class Passage:
    section: str
    text: str
    score: float
    order: int


def best_passages(text: str, topic: str, k: int = 3) -> list[Passage]:
    """The ``k`` units of card ``text`` that best answer ``topic``, in card order; [] when
    none holds a word of it or means it. A topic of several parts ("gpus, how long, how many
    tokens") gets the best unit of each part first."""
    want = _terms(topic)
    if not want:
        return []
    units = card_units(text, code=bool(CODE_WORDS & set(WORD.findall(topic.lower()))))
    if not units:
        return []
    if len(units) <= TINY:  # a card of a few lines: all it says is the answer
        return [Passage(h, u, 1.0, i) for i, (h, u) in enumerate(units)]
    read = _words(units)
    words, lex = read.units, _lexical(read, want)
    parts = [(part, _lexical(read, terms)) for part, terms in _parts(topic)]
    pool = _top(lex, CANDIDATES)
    for _, plex in parts:
        pool += [i for i in _top(plex, PART_CANDIDATES) if i not in pool]
    pool += [i for i in _by_heading(units, topic) if i not in pool]
    if not pool:
        return []
    vecs = _vectors([f"{units[i][0]}: {units[i][1]}" for i in pool])
    sims = _cosines(topic, vecs)
    top = max(lex) or 1.0
    scored = [(sim + LEX_SHARE * lex[i] / top, i) for sim, i in zip(sims, pool) if lex[i] > 0 or sim >= MIN_SIM]
    firsts = _part_picks(parts, pool, vecs, sims)
    titled = _titled(units, topic)  # "training data" and a section "Training Data": its opening line
    if titled is not None and titled not in firsts:
        firsts = [titled, *firsts]
    rest = [si for si in scored if si[1] not in firsts]
    want_k = max(k + (1 if sum(w == 1.0 for w in want.values()) >= 5 else 0), min(len(firsts) + 1, MAX_PARTS + 1))
    best = _diverse(rest, {i: words[i] & want.keys() for _, i in rest}, want_k - len(firsts),
                    covered=set().union(*(words[i] & want.keys() for i in firsts)))
    best = [(sc, i) for sc, i in best if sc >= RELATIVE * best[0][0]] if best else []
    score_of = {i: sc for sc, i in scored}
    best += [(score_of.get(i, 0.0), i) for i in firsts]
    out = sorted((Passage(units[i][0], _with_table(units, i) or _whole_list(units, i, {i for _, i in best})
                          or _with_list(units, i), sc, i) for sc, i in best), key=lambda p: p.order)
    kept: list[Passage] = []
    for p in sorted(out, key=lambda p: -len(p.text)):  # a passage inside a longer one is shown once
        if not any(p.text in o.text for o in kept):
            kept.append(p)
    return _one_table(sorted(kept, key=lambda p: p.order))


def _top(scores: list[float], n: int) -> list[int]:
    return [i for i in sorted(range(len(scores)), key=lambda i: -scores[i])[:n] if scores[i] > 0]


def _parts(topic: str) -> list[tuple[str, dict[str, float]]]:
    """The parts of a topic that asks several things ("knowledge cutoff, tokens and gpu hours"),
    each with its words; [] for a topic of one part."""
    parts = [p.strip() for p in re.split(r"[,;?]|\s+(?:-|and|&|plus|also)\s+", topic.lower())]
    out = [(p, t) for p in parts if 1.0 in (t := _terms(p)).values()]
    return out if len(out) >= 2 else []


def _part_picks(parts: list[tuple[str, list[float]]], pool: list[int], vecs, whole: list[float]) -> list[int]:
    """Per part of the topic, the unit that answers it best among those holding its words, by
    the part's meaning and the whole topic's ("how long" in "training: gpus, how long")."""
    out: list[int] = []
    for part, plex in parts[:MAX_PARTS]:
        top = max(plex) or 0.0
        if not top:
            continue
        sims = _cosines(part, vecs)
        cands = [((sim + w) / 2 + PART_LEX * plex[i] / top, i)
                 for sim, w, i in zip(sims, whole, pool) if plex[i] > 0]
        if cands:
            i = max(cands)[1]
            if i not in out:
                out.append(i)
    return out


def _one_table(passages: list[Passage]) -> list[Passage]:
    """Rows of one table under one header."""
    out: list[Passage] = []
    for p in passages:
        last = out[-1] if out else None
        head = p.text.split("\n", 1)[0]
        if last is not None and last.section == p.section and head.startswith("|") and \
                last.text.split("\n", 1)[0] == head and "\n" in p.text:
            seen = set(last.text.split("\n"))
            last.text += "".join("\n" + row for row in p.text.split("\n")[1:] if row not in seen)
            last.score = max(last.score, p.score)
        else:
            out.append(p)
    return out


def _diverse(scored: list[tuple[float, int]], terms: dict[int, set[str]], k: int,
             covered: set[str] | None = None) -> list[tuple[float, int]]:
    """The best ``k``, each next one chosen for the words of the question (``terms``: those each
    unit holds) it adds ("gpus, how long, how many tokens": not three lines about tokens);
    ``covered``: the words the passages already chosen hold."""
    left, out, covered = list(scored), [], set(covered or ())
    while left and len(out) < k:
        pick = max(left, key=lambda si: si[0] * (1.0 if terms[si[1]] - covered or not terms[si[1]] else REPEAT))
        left.remove(pick)
        out.append(pick)
        covered |= terms[pick[1]]
    return sorted(out, reverse=True)


def _with_table(units: list[tuple[str, str]], i: int, rows: int = TABLE_ROWS) -> str | None:
    """A table row with the other rows of its table (a small table whole: "which variant..."
    reads the rows around the one that matched); None for a unit that is no table row."""
    head, text = units[i]
    first, _, row = text.partition("\n")
    if not (first.startswith("|") and row):
        return None
    lo, hi = _span(len(units), i, lambda j: units[j][0] == head and units[j][1].startswith(first + "\n"))
    start = max(lo, min(i - rows // 2, hi + 1 - rows))
    return "\n".join([first] + [units[j][1].partition("\n")[2] for j in range(start, min(hi + 1, start + rows))])


def _whole_list(units: list[tuple[str, str]], i: int, chosen: set[int], most: int = LIST_ITEMS) -> str | None:
    """A short list whole when two or more of its items were chosen ("* GPUs: 512", "* Training
    time: 10 days": the list of the model's facts, not two lines of it); None otherwise."""
    def item(j: int) -> bool:
        return units[j][0] == units[i][0] and bool(re.match(r"(?:[-*+]|\d+[.)])\s", units[j][1]))

    if not item(i):
        return None
    lo, hi = _span(len(units), i, item)
    if hi - lo + 1 > most or len(chosen & set(range(lo, hi + 1))) < 2:
        return None
    items = [(j, units[j][1]) for j in range(lo, hi + 1)]
    return "\n".join(u if j in chosen or len(u) <= OTHER_ITEM else u[:OTHER_ITEM - 3] + "..." for j, u in items)


def _span(n: int, i: int, same: Callable[[int], bool]) -> tuple[int, int]:
    """The first and last index of the run of units around ``i`` for which ``same`` holds."""
    lo = hi = i
    while lo > 0 and same(lo - 1):
        lo -= 1
    while hi + 1 < n and same(hi + 1):
        hi += 1
    return lo, hi


def _with_list(units: list[tuple[str, str]], i: int, items: int = 4) -> str:
    """A unit that introduces a list ("... except for the following differences:") with the
    list's first items."""
    head, text = units[i]
    if not text.rstrip().endswith(":"):
        return text
    more = [u for h, u in units[i + 1:i + 1 + items] if h == head and re.match(r"(?:[-*+]|\d+[.)])\s", u)]
    return "\n".join([text, *more])


def _terms(topic: str) -> dict[str, float]:
    """The topic's words by their first five letters, with what cards call them (weighing less)."""
    out: dict[str, float] = {}
    for w in WORD.findall(topic.lower()):
        if w in STOP or len(w) < 2:
            continue
        out[w[:5]] = 1.0
        for key, syn in SYNONYMS.items():
            if w.startswith(key):
                for s in syn.split():
                    out.setdefault(s[:5], 0.5)
    return out


def card_units(text: str, code: bool = False) -> list[tuple[str, str]]:
    """(section heading, unit text) in card order: a table row comes under its header row."""
    out: list[tuple[str, str]] = []
    text = without_metadata(text)
    text = _html_rows(text)
    if not code:  # a "# comment" in a code block is no heading
        text = re.sub(r"^\s*(```|~~~).*?^\s*\1[^\n]*$", "", text, flags=re.S | re.M)
    for s in markdown.sections(text, fences=False, setext=False):
        if not (s.level or s.body.strip()):
            continue
        heading = re.sub(r"<[^>]+>", "", s.title).strip() or "(untitled)" if s.level else "(top)"
        out += [(heading, u) for u in _split(s.body, code)]
    return out


def _html_rows(text: str) -> str:
    """An HTML table's rows as Markdown rows (its first row is then their header)."""
    def row(m: re.Match[str]) -> str:
        cells = [re.sub(r"<[^>]+>", " ", c).strip() for c in
                 re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", m.group(1), re.S | re.I)]
        return "\n| " + " | ".join(" ".join(c.split()) for c in cells) + " |\n" if cells else "\n"
    text = re.sub(r"<tr[^>]*>(.*?)</tr>", row, text, flags=re.S | re.I)
    text = re.sub(r"</table\s*>", "\n\x00\n", text, flags=re.I)
    return re.sub(r"</?(?:table|thead|tbody|tr)[^>]*>", "", text, flags=re.I)


def _split(body: str, code: bool) -> list[str]:
    body = re.sub(r"<!--.*?-->", " ", body, flags=re.S)
    body = re.sub(r"!?\[([^\]\n]*)\]\([^)\s]+\)", r"\1", body)  # a link reads as its text
    body = re.sub(r"<br\s*/?>", " ", body, flags=re.I)
    body = re.sub(r"</?(?:div|p|span|strong|b|i|em|sup|sub|a|img|center|details|summary)\b[^>]*>", "", body,
                  flags=re.I)
    units: list[str] = []
    para: list[str] = []
    header: str | None = None
    fenced = False

    def flush() -> None:
        if para:
            units.extend(_sentences(" ".join(para)))
            para.clear()

    for line in body.splitlines():
        s = line.strip()
        if s.startswith(("```", "~~~")):
            flush()
            fenced = not fenced
            continue
        if fenced:
            if code and s:
                units.append(s[:UNIT_CHARS])
            continue
        if s == "\x00":  # the end of an HTML table
            header = None
            continue
        if s.startswith("|"):
            flush()
            if re.fullmatch(r"\|?[\s:|-]+\|?", s):  # under a Markdown table's header row
                if header is not None and units and units[-1].startswith(header + "\n"):
                    header = units.pop()[len(header) + 1:]
                continue
            if header is None:
                header = s
            else:
                units.append(f"{header}\n{s}"[: UNIT_CHARS * 2])
            continue
        if not s:
            flush()
            continue
        header = None
        if re.match(r"(?:[-*+]|\d+[.)])\s", s) or s.startswith(">"):
            flush()
            units.append(s[:UNIT_CHARS])
        else:
            para.append(s)
    flush()
    return [u for u in units if WORD.search(u.lower())]


def _sentences(text: str) -> list[str]:
    """A paragraph as one unit, or as sentences grouped up to ``UNIT_CHARS`` when longer."""
    if len(text) <= UNIT_CHARS:
        return [text]
    out, cur = [], ""
    for sent in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])", text):
        if cur and len(cur) + len(sent) > UNIT_CHARS:
            out.append(cur)
            cur = ""
        cur = f"{cur} {sent}".strip()
    if cur:
        out.append(cur[: UNIT_CHARS * 2])
    return out


@dataclass
class _Words:
    """The words of a card's units and of their headings (by their first five letters), read once
    for the whole topic and each of its parts; ``counted``: the words that count toward a word's
    rarity (a table's header row once, not once per row under it)."""

    units: list[set[str]]
    heads: list[set[str]]
    counted: list[set[str]]


def _words(units: list[tuple[str, str]]) -> _Words:
    words = [{w[:5] for w in WORD.findall(u.lower())} for _, u in units]
    heads = [{w[:5] for w in WORD.findall(h.lower())} for h, _ in units]
    seen: set[str] = set()
    counted = []
    for (_, u), ws in zip(units, words):
        first, _, rest = u.partition("\n")
        if first.startswith("|") and rest:
            counted.append({w[:5] for w in WORD.findall(rest.lower())} | (set() if first in seen else ws))
            seen.add(first)
        else:
            counted.append(ws)
    return _Words(words, heads, counted)


def _lexical(read: _Words, want: dict[str, float]) -> list[float]:
    """Per unit: the weight of the topic's words it holds (in a heading, half), each by its rarity
    in the card."""
    n = len(read.units)
    idf = {t: math.log((n + 1) / (0.5 + sum(t in ws for ws in read.counted))) for t in want}
    return [sum(wt * idf[t] * (1.0 if t in ws else 0.5 if t in hs else 0.0) for t, wt in want.items())
            for ws, hs in zip(read.units, read.heads)]


def _titled(units: list[tuple[str, str]], topic: str) -> int | None:
    """The first unit of a section whose heading says the topic word for word."""
    want = [w for w in WORD.findall(topic.lower()) if w not in STOP]
    if not want or len(want) > 4:
        return None
    return next((i for i, (h, _) in enumerate(units)
                 if [w for w in WORD.findall(h.lower()) if w not in STOP] == want), None)


def _by_heading(units: list[tuple[str, str]], topic: str) -> list[int]:
    """The first units of the sections whose headings mean the topic best."""
    heads = list(dict.fromkeys(h for h, _ in units if h != "(top)"))
    if not heads:
        return []
    sims = _meaning(topic, heads)
    keep = {h for sim, h in sorted(zip(sims, heads), reverse=True)[:HEADINGS] if sim >= MIN_SIM}
    out: list[int] = []
    for h in keep:
        out += [i for i, (hh, _) in enumerate(units) if hh == h][:5]
    return out


def _meaning(topic: str, texts: list[str]) -> list[float]:
    return _cosines(topic, _vectors(texts))


def _vectors(texts: list[str]):
    from modellake.tools.embedding.embedder import embed

    return embed([t[:UNIT_CHARS] for t in texts])


def _cosines(topic: str, vecs) -> list[float]:
    from modellake.tools.embedding.embedder import embed_query

    q = embed_query(topic)
    return [float(v @ q) for v in vecs]
