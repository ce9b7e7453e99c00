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
from dataclasses import dataclass

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
chang: changes difference improvements compared
diffe: differences compared
lengt: length tokens sequence
input: input tokens
conte: context length tokens window
ctx: context length tokens
len: length
based: based built architecture
recom: recommended
long: time days hours
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
UNIT_CHARS = 420     # a unit is cut here (a sentence-long unit stays whole)


@dataclass
class Passage:
    section: str
    text: str
    score: float
    order: int


def best_passages(text: str, topic: str, k: int = 3) -> list[Passage]:
    """The ``k`` units of card ``text`` that best answer ``topic``, in card order; [] when
    none holds a word of it or means it."""
    want = _terms(topic)
    if not want:
        return []
    units = _units(text, code=bool(CODE_WORDS & set(WORD.findall(topic.lower()))))
    if not units:
        return []
    lex, words = _lexical(units, want)
    ranked = sorted(range(len(units)), key=lambda i: -lex[i])
    pool = [i for i in ranked[:CANDIDATES] if lex[i] > 0]
    pool += [i for i in _by_heading(units, topic) if i not in pool]
    if not pool:
        return []
    sims = _meaning(topic, [f"{units[i][0]}: {units[i][1]}" for i in pool])
    top = max(lex) or 1.0
    scored = [(sim + LEX_SHARE * lex[i] / top, i) for sim, i in zip(sims, pool) if lex[i] > 0 or sim >= MIN_SIM]
    best = _diverse(scored, {i: words[i] & want.keys() for _, i in scored},
                    k + (1 if sum(w == 1.0 for w in want.values()) >= 5 else 0))
    best = [(sc, i) for sc, i in best if sc >= RELATIVE * best[0][0]] if best else []
    out = sorted((Passage(units[i][0], _with_table(units, i) or _with_list(units, i), sc, i) for sc, i in best),
                 key=lambda p: p.order)
    kept: list[Passage] = []
    for p in sorted(out, key=lambda p: -len(p.text)):  # a passage inside a longer one is shown once
        if not any(p.text in o.text for o in kept):
            kept.append(p)
    return _one_table(sorted(kept, key=lambda p: p.order))


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


def _diverse(scored: list[tuple[float, int]], terms: dict[int, set[str]], k: int) -> list[tuple[float, int]]:
    """The best ``k``, each next one chosen for the words of the question (``terms``: those each
    unit holds) it adds ("gpus, how long, how many tokens": not three lines about tokens)."""
    left, out, covered = list(scored), [], set()
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
    lo = hi = i
    while lo > 0 and units[lo - 1][0] == head and units[lo - 1][1].startswith(first + "\n"):
        lo -= 1
    while hi + 1 < len(units) and units[hi + 1][0] == head and units[hi + 1][1].startswith(first + "\n"):
        hi += 1
    start = max(lo, min(i - rows // 2, hi + 1 - rows))
    return "\n".join([first] + [units[j][1].partition("\n")[2] for j in range(start, min(hi + 1, start + rows))])


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


def _units(text: str, code: bool) -> list[tuple[str, str]]:
    """(section heading, unit text) in card order."""
    out: list[tuple[str, str]] = []
    front = re.match(r"\A---\s*\n.*?\n---\s*\n", text, re.S)  # the YAML metadata is not prose
    text = text[front.end():] if front else text
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


def _lexical(units: list[tuple[str, str]], want: dict[str, float]) -> tuple[list[float], list[set[str]]]:
    """Per unit: the weight of the topic's words it holds, each by its rarity in the card (a
    table's header row counts once, not once per row under it); and the unit's words (by their
    first five letters)."""
    words = [{w[:5] for w in WORD.findall(u.lower())} for _, u in units]
    heads = [{w[:5] for w in WORD.findall(h.lower())} for h, _ in units]
    seen: set[str] = set()
    df_words = []
    for (_, u), ws in zip(units, words):
        first, _, rest = u.partition("\n")
        if first.startswith("|") and rest:
            df_words.append({w[:5] for w in WORD.findall(rest.lower())} | (set() if first in seen else ws))
            seen.add(first)
        else:
            df_words.append(ws)
    n = len(units)
    idf = {t: math.log((n + 1) / (0.5 + sum(t in ws for ws in df_words))) for t in want}
    return [sum(wt * idf[t] * (1.0 if t in ws else 0.5 if t in hs else 0.0) for t, wt in want.items())
            for ws, hs in zip(words, heads)], words


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
    from modellake.tools.embedding.embedder import embed, embed_query

    q = embed_query(topic)
    vecs = embed([t[:UNIT_CHARS] for t in texts])
    return [float(v @ q) for v in vecs]
