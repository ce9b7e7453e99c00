"""What a question asks of the numbers in a model's card: a benchmark's figure, the model's
strongest and weakest benchmark, the gap to another row (its base, or a model the question
names), one benchmark across the variants a family card lists.

The tables are read by :mod:`modellake.tools.cards.reported` (which finds the model's own row or
column by its name); this module answers questions over them in sentences, and keeps the
table's other rows for a comparison. A row that names the model's declared base and nothing
that sets the model apart from it ("whisper-large-v3" in Belle-whisper-large-v3-zh's card) is
the base's, not the model's. Pure text in, sentences out: nothing here reads the lake.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from modellake.tools.cards.passages import STOP
from modellake.tools.cards.reported import METRIC_WORDS, Grid, alias_tokens, read_grid, reported_numbers, tables

NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?%?$")
# columns that hold no score: sizes, speeds, versions, errors, dates, settings
NOT_SCORE = re.compile(r"\b(?:size|params?|parameters|flops|speed|latency|ms|version|stderr|std|context|pixels|"
                       r"year|date|tokens?|batch|epochs?|steps?|#|n|count|shots?|layers|heads|dim|dimensions?|gb|mb|"
                       r"release|power|carbon|emissions?|co2\w*|hours|gpus?|alpha|dropout|rate|lr|warmup|decay|"
                       r"length|vocab\w*|d_\w+|n_\w+|loss|rank|clipping|gradient|lora|bits|ram)\b|\\\\", re.I)
AVERAGE = re.compile(r"^\s*(?:avg\.?|average|mean|overall|total)\b", re.I)
VALUE_HEADER = re.compile(r"^\s*(?:value|score|scores|result|results|accuracy|acc|performance|ours)\s*$", re.I)
LOWER_BETTER = re.compile(r"\b(?:ppl|perplexity|wer|cer|loss|error|latency|speed|ms|bpb)\b|↓", re.I)
# words a model's name carries that its row in a table leaves out
NAME_FILLER = frozenset("awq gptq gguf ggml exl2 hf bnb int4 int8 4bit 8bit fp16 bf16 q4 q8 onnx mlx the model "
                        "instruct chat base v1".split())
BEST = re.compile(r"\b(?:best|strongest|highest|top|max(?:imum)?|stronger|leads?|excels?)\b", re.I)
WORST = re.compile(r"\b(?:worst|weakest|lowest|min(?:imum)?|weaker|struggles?|poorest)\b", re.I)
GAP = re.compile(r"\b(?:drops?|dropped|cost|costs|lose|loses|lost|loss|differ\w*|vs\.?|versus|compared?|against|"
                 r"than|degrad\w*|gap|worse|better|hurt|gain\w*|improv\w*|relative)\b", re.I)
WHERE = "In the table of its card"


@dataclass(frozen=True)
class Series:
    """The figures of one model (or one variant) in one table: (benchmark, cell as written)."""

    grid: Grid
    label: str
    cells: list[tuple[str, str]]
    by_row: bool  # the model is a row of the table (its benchmarks are the columns)
    beside: bool = True  # the table sets other models beside it (its other rows or columns)


def _words(s: str) -> list[str]:
    """Words and numbers, a version kept whole ("3.1", "v0.1")."""
    return re.findall(r"[a-z0-9]+(?:\.[0-9]+)*", s.lower())


def _own_words(name: str) -> set[str]:
    return {w for w in _words(name.split("/")[-1]) if w not in NAME_FILLER}


def _apart(label: str, name: str, base: str | None) -> bool:
    """The label names the model, not a relative: it covers most of the model's name ("DeepSeek R1"
    is not DeepSeek-R1-Distill-Qwen-1.5B), and it has what sets the model apart from its base
    ("OpenBioLLM" of Llama3-OpenBioLLM-8B), or the model's name has nothing that does."""
    own, words = _own_words(name), set(_words(label))
    if own and len(own & words) < 0.6 * len(own):
        return False
    apart = own - set(_words(base or ""))
    return not base or not apart or bool(words & apart)


def _variant(label: str, name: str) -> bool:
    """"YOLOv8n" in YOLOv8's card: the label's first word extends the name's one word."""
    own = [w for w in _words(name.split("/")[-1]) if w not in NAME_FILLER]
    words = _words(label)
    return len(own) == 1 and len(own[0]) >= 4 and bool(words) and words[0].startswith(own[0]) and words[0] != own[0]


_SHOTS = re.compile(r"\(?\b(?:\d+|zero|few)[- ]?shots?\b\)?", re.I)  # "MMLU 5-shot": a setting, not a column


def _scores(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(b, v) for b, v in pairs if b and NUMBER.match(v) and not NOT_SCORE.search(
        _SHOTS.sub(" ", b).replace("_", " ")) and not NUMBER.match(b)]


def series(text: str, name: str, base: Any = None) -> list[Series]:
    """The model's own figures in each table of its card (its variants' when it has no row)."""
    base = base if isinstance(base, str) else None  # a card may declare several bases: none is told apart
    own = alias_tokens([name])
    out = []
    for raw in tables(text):
        g = read_grid(raw, own)
        if g is not None and g.value_cols[0] != 0:
            out += [s for s in _own(g, name, base) if s.cells]
    return out


def _own(g: Grid, name: str, base: str | None) -> list[Series]:
    if g.col is not None and _apart(g.header[g.col], name, base) and g.header.count(g.header[g.col]) == 1:
        return [Series(g, g.header[g.col], _scores(_column(g, g.col)), False)]
    if g.row is not None and _apart(g.label(g.body[g.row]), name, base):
        r = g.body[g.row]
        return [Series(g, g.label(r), _scores([(g.header[j], r[j]) for j in g.value_cols]), True)]
    if g.col is not None or g.row is not None:
        return []
    values = [j for j in g.value_cols if VALUE_HEADER.match(g.header[j])]
    j = (values or g.value_cols)[0]
    if (values or len(g.value_cols) == 1) and not NOT_SCORE.search(g.header[j]):  # one value column: the
        return [Series(g, name.split("/")[-1], _scores(_column(g, j)), False, beside=False)]  # card's own
    if g.metric_columns():  # "| Dataset | F1 | Accuracy |": the model's own datasets
        pairs = [(g.label(r) if g.label(r).lower() == g.header[j].lower() else f"{g.label(r)} {g.header[j]}", r[j])
                 for r in g.body for j in g.value_cols if METRIC_WORDS.match(g.header[j].strip())]
        return [Series(g, name.split("/")[-1], _scores(pairs), False, beside=False)]
    return [Series(g, g.label(r), _scores([(g.header[j], r[j]) for j in g.value_cols]), True, beside=False)
            for r in g.body if _variant(g.label(r), name)]


def _column(g: Grid, j: int) -> list[tuple[str, str]]:
    """(row label, cell) down column j; a row with an empty label continues the one above
    (lm-evaluation-harness prints a task once and its other metrics below it)."""
    out, task = [], ""
    metric = next((i for i, h in enumerate(g.header) if h.lower().strip() in ("metric", "metrics")), None)
    for r in g.body:
        task = g.label(r) or task
        label = f"{task} {r[metric]}".strip() if metric is not None and r[metric] else task
        out.append((label, r[j]))
    return out


# -- what a question asks of them -----------------------------------------------------------------
def findings(text: str, name: str, question: str, base: Any = None, limit: int = 3) -> list[str]:
    """Sentences that answer a question about the numbers in the card, or none."""
    own = series(text, name, base)
    base = base if isinstance(base, str) else None
    named: dict[tuple[int, str], list[Series]] = {}
    for s, bench in _benchmarks_named(own, question, name):
        named.setdefault((id(s.grid), bench), []).append(s)
    if named:
        return [_figure(ss[0], bench, question, base) if len(ss) == 1 else _variants(ss, bench)
                for (_, bench), ss in list(named.items())[:limit]]
    said = _in_sentences(text, name, question)
    if said:
        return said[:limit]
    if BEST.search(question) or WORST.search(question):
        return [_extremes(s, question) for s in own[:limit] if len(_ranked(s.cells)) >= 2]
    if GAP.search(question):  # "did it cost accuracy against the base? numbers": every benchmark of the row
        return [x for x in (_row_gap(s, question, base) for s in own[:limit]) if x]
    return []


def _grams(question: str, name: str) -> set[str]:
    """The question's words, run together by twos and threes ("truthful qa"), the words of the
    model's name left out ("128k" of Yarn-Mistral-7b-128k names no benchmark)."""
    q = [w for w in re.findall(r"[a-z0-9]+", question.lower()) if w not in STOP and w not in _words(name)]
    return {g for g in ("".join(q[i:i + n]) for n in (1, 2, 3) for i in range(len(q))) if len(g) >= 3}


def _names(label: str, grams: set[str]) -> bool:
    """The benchmark label is named by the question: its words or the start of them ("MMLU" for
    "MMLU (5-shot)", "truthfulqa" for "truthfulqa_mc mc2", "mAP" for "mAPval 50-95")."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"\(.*?\)|\[.*?\]", " ", label.lower())) or \
        re.findall(r"[a-z0-9]+", label.lower())
    if not words:
        return False
    starts = {"".join(words[:k]) for k in range(1, len(words) + 1)}
    return bool(grams & starts) or any(words[0].startswith(g) for g in grams if not g.isdigit())


def _benchmarks_named(own: list[Series], question: str, name: str) -> list[tuple[Series, str]]:
    grams = _grams(question, name)
    return [(s, bench) for s in own for bench, _ in s.cells if _names(bench, grams)]


def _in_sentences(text: str, name: str, question: str) -> list[str]:
    """"achieves an AP of 42.0 on COCO 2017": a benchmark the question names, stated in a sentence."""
    grams = _grams(question, name)
    said = [r.passage for r in reported_numbers(text, [name]) if r.where == "text" and (
        _names(r.dataset or "", grams) or _names(r.metric or "", grams) and r.dataset)]
    return [f"Its card says: \u201c{p}\u201d" for p in dict.fromkeys(said)]


def _variants(ss: list[Series], bench: str) -> str:
    """One benchmark across a card's variants: "mAP 37.3 for YOLOv8n, 44.9 for YOLOv8s, ..."."""
    cells = ", ".join(f"{dict(s.cells)[bench]} for {s.label}" for s in ss[:8])
    return f"{WHERE}, {bench} is {cells}."


def _num(cell: str) -> float:
    return float(cell.rstrip("%"))


def _ranked(cells: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(b, v) for b, v in cells if not AVERAGE.match(b)]


def _extremes(s: Series, question: str) -> str:
    cells = _ranked(s.cells)
    lower = all(LOWER_BETTER.search(b) for b, _ in cells)
    if not lower:  # "PIQA ↑" beside "LAMBADA PPL ↓": the higher-is-better ones are ranked
        cells = [(b, v) for b, v in cells if not LOWER_BETTER.search(b)] or cells
    hi = max(cells, key=lambda c: _num(c[1]))
    lo = min(cells, key=lambda c: _num(c[1]))
    best, worst = (lo, hi) if lower else (hi, lo)
    if WORST.search(question) and not BEST.search(question):
        return f"{WHERE}, {s.label} is weakest on {worst[0]} ({worst[1]}); its strongest is {best[0]} ({best[1]})."
    return f"{WHERE}, {s.label} is strongest on {best[0]} ({best[1]}) and weakest on {worst[0]} ({worst[1]})."


def _figure(s: Series, bench: str, question: str, base: str | None) -> str:
    value = dict(s.cells)[bench]
    head = f"{WHERE}, {s.label} has {bench} {value}"
    other = _other_row(s, question, base) if GAP.search(question) else None
    theirs = _cell(s, other, bench) if other else None
    if theirs is None or not NUMBER.match(theirs):
        return head + "."
    if _num(value) == _num(theirs):
        return f"{head}, the same as {other} ({theirs})."
    return f"{head} against {theirs} for {other}: {_gap_words(value, theirs)}."


def _row_gap(s: Series, question: str, base: str | None, most: int = 8) -> str | None:
    other = _other_row(s, question, base)
    pairs = [(b, v, _cell(s, other, b)) for b, v in s.cells[:most]] if other else []
    pairs = [(b, v, w) for b, v, w in pairs if w is not None and NUMBER.match(w)]
    if not pairs:
        return None
    said = "; ".join(f"{b} {v} against {w} ({_signed(v, w)})" for b, v, w in pairs)
    return f"{WHERE}, {s.label} against {other}: {said}."


def _places(cell: str) -> int:
    return len(cell.rstrip("%").split(".")[1]) if "." in cell else 0


def _gap(value: str, theirs: str) -> tuple[float, str]:
    """The difference of two cells, and its size written with the cells' decimals."""
    gap = _num(value) - _num(theirs)
    return gap, f"{abs(gap):.{max(_places(value), _places(theirs))}f}"


def _signed(value: str, theirs: str) -> str:
    gap, size = _gap(value, theirs)
    return f"{'+' if gap > 0 else '-' if gap < 0 else '±'}{size}"


def _gap_words(value: str, theirs: str) -> str:
    gap, size = _gap(value, theirs)
    return f"{size} {'higher' if gap > 0 else 'lower'}"


def _labels(s: Series) -> list[str]:
    """The other rows (or columns) of the table: the models the card sets beside this one."""
    g = s.grid
    labels = [g.label(r) for r in g.body] if s.by_row else [g.header[j] for j in g.value_cols]
    return [x for x in labels if x and x != s.label]


def _other_row(s: Series, question: str, base: str | None) -> str | None:
    """The row (or column) the question compares with: a model it names, else the declared base,
    else the plain model the own row's name extends ("Mistral-7B-v0.1" beside "Yarn-Mistral-7b-128k")."""
    if not s.beside:  # the card's own numbers, or a variant's: nothing to set beside them
        return None
    labels, q = _labels(s), set(_words(question))
    named = [x for x in labels if _core(x) and _core(x) <= q]
    if named:
        return max(named, key=lambda x: len(_core(x)))
    based = [x for x in labels if base and _core(x) and _core(x) <= set(_words(base))]
    plain = sorted((x for x in labels if _core(x) and _core(x) < _core(s.label)),  # "large-v2" before "large-v3"
                   key=lambda x: -len(set(_words(x)) & set(_words(s.label))))  # beside "distil-large-v2"
    return (based or plain or [None])[0]


def _core(label: str) -> set[str]:
    """A label's words without version numbers: "Mistral-7B-v0.1" -> {mistral, 7b}."""
    return {w for w in _words(label) if not re.fullmatch(r"v?\d+(?:\.\d+)*", w)}


def _cell(s: Series, label: str, bench: str) -> str | None:
    g = s.grid
    if s.by_row:  # models are rows, benchmarks columns
        row = next((r for r in g.body if g.label(r) == label), None)
        j = next((j for j in g.value_cols if g.header[j] == bench), None)
        return row[j] if row is not None and j is not None else None
    j = next((j for j in g.value_cols if g.header[j] == label), None)
    return next((r[j] for r in g.body if g.label(r) == bench), None) if j is not None else None


# -- a size in a card's table ---------------------------------------------------------------------
_SIZE_HEADER = re.compile(r"^\s*(?:#\s*)?(?:params?|parameters|param(?:eter)? count|model size|size \(params?\)|"
                          r"#\s*of\s+params?)\s*$", re.I)
_SIZE_CELL = re.compile(r"^\s*~?\s*(\d+(?:[.,]\d+)?)\s*([KMB])\b", re.I)
_UNIT = {"k": 1e3, "m": 1e6, "b": 1e9}


def table_size(text: str, name: str) -> tuple[float, str] | None:
    """The parameter count a table of the card gives in the model's own row ("| large-v3-turbo |
    809 M |" in whisper-large-v3-turbo's card): the row whose label ends the model's name, the
    longest such: (the count, the cell as written); None when no table says."""
    tail = re.sub(r"[^a-z0-9]+", "-", name.split("/")[-1].lower()).strip("-")
    best: tuple[int, float, str] | None = None
    for rows in tables(text):
        if len(rows) < 2:
            continue
        cols = [j for j, h in enumerate(rows[0]) if _SIZE_HEADER.match(h)]
        if not cols:
            continue
        for r in rows[1:]:
            label = re.sub(r"[^a-z0-9]+", "-", (r[0] if r else "").lower()).strip("-")
            m = _SIZE_CELL.match(r[cols[0]]) if len(r) > cols[0] else None
            if not m or len(label) < 3 or not (tail == label or tail.endswith("-" + label)):
                continue
            value = float(m.group(1).replace(",", ".")) * _UNIT[m.group(2).lower()]
            if best is None or len(label) > best[0]:
                best = (len(label), value, f"{m.group(1)} {m.group(2).upper()}")
    return (best[1], best[2]) if best else None
