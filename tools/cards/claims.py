"""Claims a model card makes that the lake can check: size, architecture, base model, scores.

Parsed from the card's text and YAML, tolerant of how people write them:
"22M parameters", "110M params", "a 7B-parameter model", "22,713,216 parameters",
"a BERT-base model", "fine-tuned version of [org/x](...)", model-index results,
Markdown result tables and sentences like "accuracy of 91.2% on sst2".
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import CardInfo, Record

_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9,
          "billion": 1e9, "t": 1e12, "trillion": 1e12}
_PARAMS = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(k|m|mn|b|bn|t|thousand|million|billion|trillion)\b"
    r"[\s-]*(?:trainable\s+|total\s+|active\s+)?(?:parameters?|params?)\b", re.I)
_PARAMS_EXACT = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3}){2,}|\d{7,})\s+(?:trainable\s+|total\s+)?"
                           r"(?:parameters?|params?)\b", re.I)
_PARAMS_LABEL = re.compile(r"(?:number of parameters|parameters|params|model size|parameter count)"
                           r"\s*(?:\*\*)?\s*[:|=]\s*(?:\*\*)?\s*(?:~|about|approx\.?)?\s*"
                           r"(\d+(?:\.\d+)?)\s*(k|m|b|t|million|billion)?\b", re.I)
_ACTIVE = re.compile(r"\bactive\b|\bactivated\b|\bper token\b", re.I)

# family name as written -> model_type stems it is compatible with
FAMILIES: dict[str, tuple[str, ...]] = {
    "bert": ("bert",), "minilm": ("bert",), "roberta": ("roberta", "xlm-roberta", "xlm_roberta"),
    "xlm-roberta": ("xlm-roberta", "xlm_roberta"), "distilbert": ("distilbert",),
    "albert": ("albert",), "electra": ("electra",), "deberta": ("deberta", "deberta-v2"),
    "mpnet": ("mpnet",), "gpt-2": ("gpt2",), "gpt2": ("gpt2",), "gpt-neox": ("gpt_neox", "gptneox"),
    "gpt-j": ("gptj",), "llama": ("llama",), "mistral": ("mistral",), "mixtral": ("mixtral",),
    "qwen": ("qwen",), "gemma": ("gemma",), "phi": ("phi",), "t5": ("t5", "mt5"), "bart": ("bart",),
    "opt": ("opt",), "bloom": ("bloom",), "falcon": ("falcon",), "mpt": ("mpt",),
    "whisper": ("whisper",), "vit": ("vit",), "clip": ("clip",), "smollm": ("llama",),
}
# approximate size of "<family>-<size>" checkpoints, for "a BERT-base model"
SIZE_CLASSES: dict[tuple[str, str], float] = {
    ("bert", "tiny"): 4.4e6, ("bert", "mini"): 11.2e6, ("bert", "small"): 29e6,
    ("bert", "medium"): 41.7e6, ("bert", "base"): 110e6, ("bert", "large"): 340e6,
    ("roberta", "base"): 125e6, ("roberta", "large"): 355e6, ("xlm-roberta", "base"): 278e6,
    ("xlm-roberta", "large"): 560e6, ("distilbert", "base"): 66e6, ("albert", "base"): 12e6,
    ("albert", "large"): 18e6, ("electra", "small"): 14e6, ("electra", "base"): 110e6,
    ("electra", "large"): 335e6, ("deberta", "base"): 140e6, ("deberta", "large"): 400e6,
    ("mpnet", "base"): 110e6, ("t5", "small"): 60e6, ("t5", "base"): 220e6, ("t5", "large"): 770e6,
    ("bart", "base"): 140e6, ("bart", "large"): 400e6, ("gpt2", "medium"): 355e6,
    ("gpt2", "large"): 774e6, ("gpt2", "xl"): 1.5e9, ("vit", "base"): 86e6, ("vit", "large"): 307e6,
}
_FAMILY_ALT = "|".join(sorted((re.escape(f) for f in FAMILIES), key=len, reverse=True))
_ARCH_CLAIM = re.compile(
    rf"\b(?:is|as|uses?|a|an|on|the)\s+(?:pre-?trained\s+|fine-?tuned\s+|small\s+|distilled\s+)?"
    rf"({_FAMILY_ALT})(?:[- ](tiny|mini|small|medium|base|large|xl|xxl))?(?:[- ](?:uncased|cased))?"
    rf"[- ](?:model|architecture|encoder|decoder|transformer|checkpoint|based|style|sized?)\b", re.I)
_ARCH_LABEL = re.compile(rf"(?:model type|architecture|model architecture)\s*(?:\*\*)?\s*[:|]\s*"
                         rf"(?:\*\*)?\s*[`\"']?({_FAMILY_ALT})", re.I)
_DERIVED = re.compile(
    r"(?:fine-?tuned (?:version |checkpoint )?(?:of|from|on top of)|(?:distilled|quantized|merged|"
    r"converted|derived|pruned|quantization|conversion) (?:version )?(?:of|from)|"
    r"(?:is )?based on|finetuned from model|(?:gguf|gptq|awq|exl2) (?:version|quants?|"
    r"conversion) of)\s*(?:the\s+)?(?:model\s+)?(?:"
    r"\[[^\]\n]{1,80}\]\((?:https?://)?huggingface\.co/([A-Za-z0-9][\w.-]*/[\w.-]+)/?\)|"
    r"\[?`?(?:https?://huggingface\.co/)?([A-Za-z0-9][\w.-]*/[\w.-]+))", re.I)
METRIC_ALIASES = {"acc": "accuracy", "accuracy": "accuracy", "f1": "f1", "macro_f1": "macro_f1",
                  "macro-f1": "macro_f1", "f1_macro": "macro_f1", "spearman": "spearman",
                  "spearmanr": "spearman", "cosine_spearman": "spearman", "pearson": "pearson",
                  "pearsonr": "pearson", "cosine_pearson": "pearson", "perplexity": "perplexity",
                  "ppl": "perplexity", "pseudo_perplexity": "pseudo_perplexity",
                  "mcc": "matthews_correlation", "matthews_correlation": "matthews_correlation",
                  "exact_match": "exact_match", "em": "exact_match", "bleu": "bleu",
                  "rouge1": "rouge1", "rougel": "rougeL", "wer": "wer", "loss": "loss"}
_METRIC_WORDS = r"accuracy|acc|macro[-_ ]?f1|f1|spearman|pearson|perplexity|ppl|exact[_ ]match|mcc"
_NOT_SCORE = re.compile(r"stderr|±|\bstd\b|error|\bci\b|interval|samples|^n$|\brun\b|\bid\b|"
                        r"evidence|seed|count|size|params|parameters", re.I)
_SCORE_SENTENCE = re.compile(
    rf"\b({_METRIC_WORDS})\b[^.\n|]{{0,40}}?(?:of|:|=|is|reaches|achieves)?\s*"
    rf"(?<![\w.])(\d+(?:\.\d+)?)(?!\.?\d)(?![A-Za-z_])\s*(%)?", re.I)


@dataclass
class Claim(Record):
    """One checkable statement of a card."""

    kind: str          # parameters | architecture | base_model | score
    value: Any         # parameters: float count; architecture: family; score: float
    text: str          # the words as written (or the YAML path)
    where: str         # "yaml" | "text line N" | "model-index"
    detail: dict[str, Any] = field(default_factory=dict)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _line_text(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:end if end >= 0 else len(text)]


def _prose(text: str) -> str:
    """The card text without fenced code (line numbers kept) and evidence markers."""
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"\[E\d+ (?:measured|inferred|weights|declared): [^\]\n]*\]", " ", text)


def parameter_claims(card: CardInfo) -> list[Claim]:
    """Parameter counts the card states ("22M parameters", "a BERT-base model" -> ~110M)."""
    text = _prose(card.text or "")
    out: list[Claim] = []
    seen: set[int] = set()
    for rx in (_PARAMS, _PARAMS_LABEL):
        for m in rx.finditer(text):
            if m.start() in seen:
                continue
            unit = (m.group(2) or "").lower()
            if rx is _PARAMS_LABEL and not unit:
                continue
            seen.add(m.start())
            value = float(m.group(1)) * _SCALE.get(unit, 1.0)
            line = _line_text(text, m.start())
            out.append(Claim("parameters", value, m.group(0).strip(), f"text line {_line_of(text, m.start())}",
                             {"precision": _precision(m.group(1), unit),
                              "active": bool(_ACTIVE.search(line)), "line": line.strip()[:200]}))
    for m in _PARAMS_EXACT.finditer(text):
        value = float(m.group(1).replace(",", ""))
        line = _line_text(text, m.start())
        out.append(Claim("parameters", value, m.group(0).strip(), f"text line {_line_of(text, m.start())}",
                         {"precision": 1.0, "active": bool(_ACTIVE.search(line)),
                          "line": line.strip()[:200]}))
    for m in _ARCH_CLAIM.finditer(text):
        fam, size = m.group(1).lower(), (m.group(2) or "").lower()
        key = (FAMILIES.get(fam, (fam,))[0] if fam != "minilm" else "bert", size)
        if size and (fam, size) in SIZE_CLASSES or key in SIZE_CLASSES and size:
            value = SIZE_CLASSES.get((fam, size)) or SIZE_CLASSES[key]
            line = _line_text(text, m.start())
            out.append(Claim("parameters", value, m.group(0).strip(),
                             f"text line {_line_of(text, m.start())}",
                             {"precision": 0.3 * value, "size_class": f"{fam}-{size}",
                              "active": False, "line": line.strip()[:200]}))
    return out


_MENTIONS_SIZE = re.compile(r"param|model size", re.I)  # what every claim stated_parameters keeps says
_NAME_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([mb])(?![a-z])", re.I)
_LAYERS_LABEL = re.compile(r"(?:number of (?:hidden |transformer )?layers|num_hidden_layers|n_layers?|"
                           r"(?:hidden |transformer )?layers)\s*(?:\*\*)?\s*[:|=]\s*(?:\*\*)?\s*(\d{1,3})\b", re.I)


def stated_parameters(card: CardInfo, name: str) -> Claim | None:
    """The parameter count a card states for its own model: a spec line ("Number of
    Parameters: 14.7B") when it gives one value; else the claim closest to the size in the
    model's name (a card of several sizes); else the value its claims state most often."""
    if not _MENTIONS_SIZE.search(card.text or ""):  # most of the cost is reading every claim
        return None
    claims = [c for c in parameter_claims(card) if "size_class" not in c.detail and not c.detail["active"]]
    if not claims:
        return None
    labelled = [c for c in claims if _PARAMS_LABEL.match(c.text)]
    if len({c.value for c in labelled}) == 1:
        return labelled[0]
    size = _NAME_SIZE.search(name.rsplit("/", 1)[-1])
    if size:
        want = float(size.group(1)) * _SCALE[size.group(2).lower()]
        near = min(claims, key=lambda c: abs(c.value - want))
        return near if abs(near.value - want) <= 0.35 * want else None  # names round: 1B for 1.24B
    counts = Counter(c.value for c in claims)
    (top, n), *rest = counts.most_common()
    if not rest or (n >= 2 and n > rest[0][1]):  # one value, or one stated most often
        return next(c for c in claims if c.value == top)
    return None


def stated_layers(card: CardInfo) -> int | None:
    """The number of layers a card states in a spec line ("Number of Layers: 28"), when it
    states one."""
    if not re.search(r"layer", card.text or "", re.I):
        return None
    found = {int(m.group(1)) for m in _LAYERS_LABEL.finditer(_prose(card.text or ""))}
    return found.pop() if len(found) == 1 else None


def _precision(digits: str, unit: str) -> float:
    """Half a unit of the last written digit, in parameters ("22M" -> 0.5M)."""
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return 0.5 * 10 ** (-decimals) * _SCALE.get(unit, 1.0)


def architecture_claims(card: CardInfo) -> list[Claim]:
    """Model families the card says this model is ("a BERT-base model", "Architecture: Llama")."""
    text = _prose(card.text or "")
    out = []
    for rx in (_ARCH_CLAIM, _ARCH_LABEL):
        for m in rx.finditer(text):
            fam = m.group(1).lower()
            line = _line_text(text, m.start())
            out.append(Claim("architecture", fam, m.group(0).strip(),
                             f"text line {_line_of(text, m.start())}",
                             {"compatible": list(FAMILIES.get(fam, (fam,))),
                              "line": line.strip()[:200]}))
    return out


def base_model_claims(card: CardInfo) -> list[Claim]:
    """Base models the card names: YAML ``base_model`` and "fine-tuned version of X" in text."""
    out = [Claim("base_model", b, f"base_model: {b}", "yaml",
                 {"relation": card.base_model_relation}) for b in card.base_model]
    text = _prose(card.text or "")
    for m in _DERIVED.finditer(text):
        named = (m.group(1) or m.group(2)).rstrip(".)]`,")
        if named.lower().startswith(("http", "www.")) or named.count("/") != 1:
            continue
        out.append(Claim("base_model", named, m.group(0).strip()[:160],
                         f"text line {_line_of(text, m.start())}"))
    return out


def norm_name(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(s).lower())


def norm_metric(s: str) -> str:
    k = re.sub(r"[\s-]+", "_", str(s).strip().lower())
    k = k.split(",")[0]
    return METRIC_ALIASES.get(k, k)


def score_claims(card: CardInfo, tasks: list[str], others: list[str] = ()) -> list[Claim]:
    """Scores the card claims on tasks the lake knows (by name): model-index, tables, sentences.

    ``tasks``: the names of the lake's tasks with measured runs for this model; a claim
    counts only when it names one of them (its dataset or task name, compared without
    case or punctuation). A line of text that names one of ``others`` (other models) is
    about that model, not this one, and is skipped.
    """
    by_norm = {norm_name(t): t for t in tasks}
    out: list[Claim] = []
    for r in card.results:
        for key in (r.get("dataset"), r.get("dataset_type"), r.get("task")):
            if key and norm_name(key) in by_norm and isinstance(r.get("value"), (int, float)):
                out.append(Claim("score", float(r["value"]),
                                 f"{r.get('metric')} = {r.get('value')} on {key}", "model-index",
                                 {"task": by_norm[norm_name(key)],
                                  "metric": norm_metric(r.get("metric") or ""),
                                  "percent": False}))
                break
    if not by_norm:
        return out
    text = _prose(card.text or "")
    other = [re.compile(r"(?<![\w.-])" + re.escape(o.lower()) + r"(?![\w-])")
             for o in others if o]
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if any(rx.search(line.lower()) for rx in other):
            lines[k] = ""
    text = "\n".join(lines)
    out += _table_claims(text, by_norm)
    for m in _SCORE_SENTENCE.finditer(text):
        line = _line_text(text, m.start())
        if line.lstrip().startswith("|"):
            continue
        hit = [t for n, t in by_norm.items() if n and n in norm_name(line)]
        if len(hit) != 1:
            continue
        out.append(Claim("score", float(m.group(2)), m.group(0).strip(),
                         f"text line {_line_of(text, m.start())}",
                         {"task": hit[0], "metric": norm_metric(m.group(1)),
                          "percent": bool(m.group(3))}))
    return out


def _cells(line: str) -> list[str]:
    return [c.strip().strip("*`") for c in line.strip().strip("|").split("|")]


def _table_claims(text: str, by_norm: dict[str, str]) -> list[Claim]:
    """Scores in Markdown tables: a task in a row (metrics in the header) or in the header."""
    out: list[Claim] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
            header = _cells(lines[i])
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                row = _cells(lines[j])
                task_cells = [(k, by_norm[norm_name(c)]) for k, c in enumerate(row)
                              if norm_name(c) in by_norm]
                metric_col = next((k for k, h in enumerate(header)
                                   if norm_name(h) in ("metric", "metrics")), None)
                for col, cell in enumerate(row):
                    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%)?(?:\s*±.*)?", cell)
                    if not m or col >= len(header) or _NOT_SCORE.search(header[col]):
                        continue
                    metric = row[metric_col] if metric_col is not None and metric_col < len(row) \
                        else header[col]
                    task = task_cells[0][1] if task_cells else by_norm.get(norm_name(header[col]))
                    if task is None or not re.search(_METRIC_WORDS, metric, re.I):
                        continue
                    out.append(Claim("score", float(m.group(1)), lines[j].strip()[:160],
                                     f"text line {j + 1}",
                                     {"task": task, "metric": norm_metric(metric),
                                      "percent": bool(m.group(2))}))
                j += 1
            i = j
        else:
            i += 1
    return out
