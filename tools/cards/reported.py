"""Numbers a card reports outside its model-index: Markdown and HTML tables, and sentences.

    reported_numbers(card_text, aliases=["meta-llama/Meta-Llama-3-8B", "Llama 3 8B"],
                     datasets=["conll2003"])
    -> [Reported(dataset="MMLU (5-shot)", metric=None, value=66.6, where="table",
                 passage="MMLU (5-shot) | Llama 3 8B: 66.6"), ...]

Cards compare their model with others in wide tables, so a table gives numbers only where
it is clear which column (or row) is this model's: a header that names the model (by any of
its ``aliases``), a table of one value column or one row, or columns of metrics (a training
log: its last row). Sentences give "reaches 71.3 on ARC-Challenge (25-shot)", "an F1 of
91.3 on CoNLL-2003", "MMLU: 66.6", and the "- F1: 0.9433" lists of Trainer cards (their
dataset is the card's own when it names one). Every number keeps the passage it came from.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

MAX_TEXT = 200_000  # characters of a card read for numbers
MAX_ROWS = 400  # numbers kept per card

METRIC_WORDS = re.compile(
    r"^(?:(?:eval(?:uation)?|validation|val|test|dev|micro|macro|weighted|overall|avg|average|mean)[ _-]*)*"
    r"(f1(?:[ -]?score)?|f-?score|accuracy|acc(?:_norm)?|precision|recall|loss|wer|cer|bleu|chrf\+*|"
    r"rouge[-\w]*|exact[ _-]?match|em|map(?:@\d+)?|ndcg(?:@\d+)?|mrr(?:@\d+)?|auc|roc[ -]?auc|"
    r"perplexity|ppl|pass@\d+|top-?\d|spearman|pearson|mae|rmse|mse|score|meteor|ter|sari|"
    r"bertscore|matthews(?:[ _]corr(?:elation)?)?|mcc|iou|miou|psnr|ssim|fid)$", re.I)
_NUM_CELL = re.compile(r"^[~≈]?\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*(?:[±(+]\s*\d+(?:\.\d+)?\)?\s*%?)?\s*[*†‡]*$")
_STEP_HEADERS = re.compile(r"^(epoch|step|steps|training loss|train loss|iteration|iter)$", re.I)
_TOKEN = re.compile(r"[a-z]+|\d+[a-z]*")
_GENERIC = {"model", "models", "ours", "our", "the", "base", "hf", "v", "version", "new", "chat"}


@dataclass
class Reported:
    dataset: str | None
    metric: str | None
    value: float
    where: str  # table | text
    passage: str

    def to_row(self) -> list[object]:
        return [self.dataset, self.metric, self.value, self.where, self.passage]


def reported_numbers(text: str, aliases: list[str], datasets: list[str] | None = None) -> list[Reported]:
    """The numbers ``text`` reports for the model known by ``aliases`` (see the module doc)."""
    text = text[:MAX_TEXT]
    own = alias_tokens(aliases)
    default_ds = datasets[0] if datasets and len(datasets) == 1 else None
    out: list[Reported] = []
    for grid in tables(text):
        out.extend(_from_table(grid, own, default_ds))
    out.extend(_from_sentences(_without_tables(text), default_ds))
    out.extend(_from_eval_json(text, default_ds))
    seen, kept = set(), []
    for r in out:  # one number per benchmark and metric: the first (a card states its own model's
        # table first; a second table with the same names is usually another variant's)
        key = ((r.dataset or "").lower(), (r.metric or "").lower())
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept[:MAX_ROWS]


# -- names -------------------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    """Lower-case word and number tokens; "Llama3" -> llama 3 (a letter-digit boundary splits,
    a digit-letter one does not: "8B" stays one token)."""
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text.lower())
    text = re.sub("[\u03b1-\u03c9]", lambda m: " " + _GREEK.get(m.group(0), m.group(0)) + " ", text)  # "Zephyr-7b-β"
    return _TOKEN.findall(text)


_GREEK = {"\u03b1": "alpha", "\u03b2": "beta", "\u03b3": "gamma", "\u03b4": "delta"}


def alias_tokens(aliases: list[str]) -> set[str]:
    out: set[str] = set()
    for a in aliases:
        out.update(tokens(a))
        out.update(tokens(a.rsplit("/", 1)[-1]))
    return out


def model_match(cell: str, own: set[str]) -> int:
    """How well ``cell`` names the model known by the name tokens ``own``: 0 when it names
    another (a size or version the model does not have: "Llama 3 70B" for Llama 3 8B), else
    the number of its tokens that are the model's. Its organisation ("meta-llama/") and
    parentheses ("(MoE-236B)") are left out; "Ins" counts for "Instruct"."""
    cell = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", _plain(cell))
    cell = re.sub(r"^\s*[\w.-]+/", "", cell)
    toks = [t for t in tokens(cell) if t not in {"ours", "our", "this", "shot"}]
    if not toks or not own:
        return 0

    def has(t: str) -> bool:
        return t in own or (len(t) >= 3 and any(o.startswith(t) for o in own))

    versions = [t for t in toks if any(ch.isdigit() for ch in t)]
    words = [t for t in toks if t not in versions and t not in _GENERIC]
    if not words or not all(has(t) for t in versions):
        return 0
    hits = sum(has(t) for t in words)
    return hits + len(versions) if hits * 5 >= len(words) * 3 else 0


def _best(cells: list[str], own: set[str]) -> int | None:
    """The index of the one cell that names the model best, or None (none, or a tie)."""
    scores = [model_match(c, own) for c in cells]
    top = max(scores, default=0)
    if top == 0 or scores.count(top) > 1:
        return None
    return scores.index(top)


# -- tables ------------------------------------------------------------------------------
def _plain(cell: str) -> str:
    cell = re.sub(r"<br\s*/?>", " ", cell, flags=re.I)
    cell = re.sub(r"</?(?:span|strong|b|i|em|a|code)\b[^>]{0,200}>", "", cell, flags=re.I)
    cell = re.sub(r"<[^>]{0,200}>", " ", cell)
    cell = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cell)  # [text](link) -> text
    cell = html.unescape(cell).replace("**", "").replace("__", "").replace("`", "")
    return re.sub(r"\s+", " ", cell).strip(" *_")


def tables(text: str) -> list[list[list[str]]]:
    """The card's Markdown and HTML tables as grids of plain-text cells, the header row first."""
    return _markdown_tables(text) + _html_tables(text)


def _markdown_tables(text: str) -> list[list[list[str]]]:
    grids, block = [], []
    for line in text.splitlines() + [""]:
        s = line.strip()
        if s.startswith("|") or (block and s.count("|") >= 2):
            block.append(s)
            continue
        if len(block) >= 3 and re.fullmatch(r"\|?[\s:|-]+\|?", block[1]):
            grids.append([_split_row(r) for r in [block[0]] + block[2:]])
        block = []
    return grids


def _split_row(row: str) -> list[str]:
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    return [_plain(c) for c in row.split("|")]


def _html_tables(text: str) -> list[list[list[str]]]:
    grids = []
    for t in re.finditer(r"<table\b.*?</table>", text, re.S | re.I):
        rows = []
        for tr in re.finditer(r"<tr\b[^>]*>(.*?)</tr>", t.group(0), re.S | re.I):
            cells = re.findall(r"<t[dh]\b[^>]*>(.*?)(?=<t[dh]\b|$)", tr.group(1), re.S | re.I)
            rows.append([_plain(c) for c in cells])
        if len(rows) >= 2:
            grids.append(rows)
    return grids


def _number(cell: str) -> tuple[float, bool] | None:
    m = _NUM_CELL.match(cell.strip())
    if not m:
        return None
    return float(m.group(1)), bool(m.group(2))


@dataclass(frozen=True)
class Grid:
    """A card's table read for one model: the columns of numbers, the column of row labels, and
    the model's own column or row where a header or a label names it."""

    header: list[str]
    body: list[list[str]]
    label_col: int
    value_cols: list[int]  # columns mostly of numbers; the first is 0 in a table of numbers only
    col: int | None  # the model's column (an index into the header), named by its header
    row: int | None  # the model's row (an index into the body), named by its label

    def label(self, r: list[str]) -> str:
        return r[self.label_col] or next((c for c in reversed(r[:self.value_cols[0]]) if c), "")

    def metric_columns(self) -> bool:
        """Columns named by metrics ("F1", "Accuracy"): the rows are the model's own datasets."""
        heads = [self.header[j] for j in self.value_cols]
        return sum(bool(METRIC_WORDS.match(h.strip())) for h in heads) * 2 > len(heads)


def read_grid(grid: list[list[str]], own: set[str]) -> Grid | None:
    """The grid's shape, and where the model of name tokens ``own`` is in it (None: no numbers)."""
    header, body = grid[0], [r for r in grid[1:] if any(c for c in r)]
    width = len(header)
    if width < 2 or not body:
        return None
    body = [(["" for _ in range(width - len(r))] + r)[-width:] for r in body]  # rowspans: right-align
    value_cols = [j for j in range(width)
                  if sum(_number(r[j]) is not None for r in body) * 2 > len(body)]
    if not value_cols:
        return None
    # the label column: of those before the values, the one whose cells differ most from row
    # to row ("MMLU", "BBH"... rather than a category or a domain repeated down the table)
    label_col = max(range(value_cols[0]), key=lambda j: (len({r[j] for r in body if r[j]}), bool(re.match(
        r"\s*(?:benchmarks?|tasks?|datasets?|evals?|evaluations?)\s*$", header[j], re.I)), -j), default=0)
    g = Grid(header, body, label_col, value_cols, None, None)
    col = _best([header[j] for j in value_cols], own)
    row = _best([g.label(r) for r in body], own)
    return Grid(header, body, label_col, value_cols, value_cols[col] if col is not None else None, row)


def _from_table(grid: list[list[str]], own: set[str], default_ds: str | None) -> list[Reported]:
    g = read_grid(grid, own)
    if g is None:
        return []
    if g.value_cols[0] == 0:  # numbers only: a training log, whose last row is the final model
        return _training_log(g.header, g.body[-1], default_ds)
    header, body = g.header, g.body

    def make(ds: str | None, metric: str | None, cell: str, passage: str) -> Reported | None:
        n = _number(cell)
        if n is None or (ds is not None and not re.search(r"[A-Za-z]", ds)):
            return None
        ds_metric = _metric_in(ds or "")
        return Reported(ds or default_ds, metric or ds_metric, n[0], "table", passage[:300])

    out: list[Reported | None] = []
    if g.metric_columns():
        rows = body[-1:] if any(_STEP_HEADERS.match(h.strip()) for h in header) else body
        for r in rows:
            label = g.label(r)
            ds = None if _STEP_HEADERS.match(header[g.label_col].strip()) or _number(label) else label
            for j in g.value_cols:
                if METRIC_WORDS.match(header[j].strip()):
                    out.append(make(ds, header[j], r[j], f"{label} | {header[j]}: {r[j]}"))
        return [r for r in out if r]
    if g.col is not None or len(g.value_cols) == 1:
        j = g.col if g.col is not None else g.value_cols[0]
        metric = header[j] if METRIC_WORDS.match(header[j].strip()) else None
        for r in body:
            label = g.label(r)
            if METRIC_WORDS.match(label.strip()):
                out.append(make(default_ds, label, r[j], f"{label}: {r[j]}"))
            else:
                out.append(make(label, metric, r[j], f"{label} | {header[j]}: {r[j]}"))
    elif g.row is not None or len(body) == 1:
        r = body[g.row] if g.row is not None else body[0]
        for j in g.value_cols:
            out.append(make(header[j], None, r[j], f"{g.label(r)} | {header[j]}: {r[j]}"))
    return [r for r in out if r]


def _training_log(header: list[str], last: list[str], default_ds: str | None) -> list[Reported]:
    if not any(_STEP_HEADERS.match(h.strip()) for h in header):
        return []
    out = []
    for h, cell in zip(header, last):
        n = _number(cell)
        if n is not None and METRIC_WORDS.match(h.strip()) and not _STEP_HEADERS.match(h.strip()):
            out.append(Reported(default_ds, h.strip(), n[0], "table", f"{h}: {cell} (last row)"))
    return out


def _metric_in(label: str) -> str | None:
    for part in re.split(r"[()\[\],/]", label):
        if METRIC_WORDS.match(part.strip()):
            return part.strip()
    return None


def _without_tables(text: str) -> str:
    """The card's prose: no tables, no code (configuration values are not results)."""
    text = re.sub(r"<table\b.*?</table>", " ", text, flags=re.S | re.I)
    text = re.sub(r"```.*?(?:```|$)", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("|"))


# -- the Trainer's eval_results.json pasted into a card -----------------------------------
_EVAL_KEY = re.compile(r'^\s*"eval_(?P<metric>[a-z][a-z0-9_@]*)"\s*:\s*(?P<val>-?\d+(?:\.\d+)?)\s*,?\s*$', re.M)


def _from_eval_json(text: str, default_ds: str | None) -> list[Reported]:
    """``"eval_f1": 84.0``, ``"eval_exact": 80.9`` (the final evaluation a Trainer writes), for
    the card's one dataset; per-subset keys ("eval_HasAns_f1", "eval_best_f1") are left out."""
    if default_ds is None:
        return []
    out = []
    for m in _EVAL_KEY.finditer(text):
        metric = "exact_match" if m.group("metric") == "exact" else m.group("metric")
        if METRIC_WORDS.match(metric) and metric != "loss":
            out.append(Reported(default_ds, metric, float(m.group("val")), "text", m.group(0).strip()[:300]))
    return out


# -- sentences ---------------------------------------------------------------------------
_METRIC_PROSE = (r"f1(?:[- ]score)?|accuracy|precision|recall|wer|cer|bleu|chrf\+*|rouge-?\w*|exact match|"
                 r"em|pass@\d+|auc|perplexity|score|map|ndcg(?:@\d+)?|mrr")
_DS = r"(?P<ds>[A-Z0-9][\w.+\-]*(?:[ -][A-Z0-9][\w.+\-]*){0,3}(?:\s*\([^()\n]{1,30}\))?)"
_VAL = r"(?<![\w.\-/])(?P<val>\d+(?:\.\d+)?)\s*(?P<pct>%)?(?![\w.])"
_SENTENCE_PATTERNS = [
    # "an F1 of 91.3 on CoNLL-2003", "reaches 71.3 on ARC-Challenge (25-shot)", "scores 45% on GSM8K"
    re.compile(rf"(?:(?P<metric>(?i:{_METRIC_PROSE}))\s+(?i:score\s+)?(?i:of\s+)?)?{_VAL}"
               rf"(?:\s+(?P<metric2>(?i:{_METRIC_PROSE})))?\s+(?i:on|in)\s+(?i:the\s+)?{_DS}"),
    # "MMLU: 66.6", "HumanEval pass@1 of 72.1", "GSM8K (8-shot) = 79.6"
    re.compile(rf"{_DS}\s*(?:(?P<metric>(?i:{_METRIC_PROSE}))\s+)?(?i:score\s+)?(?::|=|(?i:of|is)\s)\s*{_VAL}"),
]
_LIST_ITEM = re.compile(rf"^\s*[-*]\s*(?P<metric>[A-Za-z][\w@ \-]{{0,30}}?)\s*:\s*{_VAL}\s*$")
_NOT_A_SCORE = re.compile(r"^\s*(?:[kmb]\b|bn\b|billion|million|gb|mb|tokens?|params|parameters|languages?|"
                          r"hours?|epochs?|steps?|samples?|examples?|images?|layers?|x\b|times)", re.I)
_NOT_DATASETS = {"the", "a", "an", "average", "all", "this", "our", "layers", "number of layers", "steps",
                 "gpu", "gpus", "seed", "size", "n", "k", "batch size", "epochs", "temperature", "top p",
                 "topp", "topk", "version", "port", "hidden size"}
_RESULTS_CONTEXT = re.compile(r"results?|evaluation|achieves|metrics?|performance", re.I)


def _from_sentences(text: str, default_ds: str | None) -> list[Reported]:
    out: list[Reported] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _LIST_ITEM.match(line)
        if m and METRIC_WORDS.match(m.group("metric").strip()):
            context = " ".join(lines[max(0, i - 12):i])
            if _RESULTS_CONTEXT.search(context):
                out.append(Reported(default_ds, m.group("metric").strip(), float(m.group("val")), "text",
                                    line.strip()[:300]))
            continue
        if not re.search(r"\d", line):
            continue
        for pat in _SENTENCE_PATTERNS:
            for m in pat.finditer(line):
                r = _sentence_number(m, line)
                if r is not None:
                    r.dataset = r.dataset or default_ds
                    out.append(r)
    return out


def _sentence_number(m: re.Match[str], line: str) -> Reported | None:
    after = line[m.end("val"):]
    if _NOT_A_SCORE.match(after[1:] if after.startswith("%") else after):
        return None
    val = float(m.group("val"))
    if re.fullmatch(r"(19|20)\d\d", m.group("val")) or val > 1000:
        return None
    ds = m.group("ds").strip(" .,-")
    if ds.lower() in _NOT_DATASETS or re.fullmatch(r"[\d.\- ]+|[A-Z_]+_[A-Z_]+", ds):
        return None
    if METRIC_WORDS.match(ds):
        ds, metric_word = None, ds
    else:
        metric_word = None
    groups = m.groupdict()
    metric = groups.get("metric") or groups.get("metric2") or metric_word
    start = max(0, line.rfind(".", 0, m.start()) + 1)
    end = line.find(". ", m.end())
    passage = line[start: end + 1 if end >= 0 else len(line)].strip()
    return Reported(ds, metric.strip() if metric else None, val, "text", passage[:300])
