"""How complete a model card is, section by section (the Hub's model card template).

One scorer serves every card: a drafted one and a real one from the Hub alike.
A card is split into heading blocks; each *field* of a section (``Direct use``,
``Training data``, ``Results``...) is filled when its YAML key is set, when a
``**Label:** value`` bullet gives it a real value, or when a heading that names it
holds real content. Placeholders ("[More Information Needed]"), HTML comments and
the template's boilerplate sentences are not content. A section's score is the
share of its fields that are filled.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import CardInfo, Record
from modellake.tools.formats import markdown

PLACEHOLDER = "[More Information Needed]"
MIN_WORDS = 3          # a block with fewer meaningful words is empty
DESCRIPTION_WORDS = 8  # an untitled intro paragraph must be this long to describe the model

_PLACEHOLDERS = re.compile(
    r"\[?\s*more information needed\s*\]?|\[?\s*needs? more information\s*\]?|\[optional\]|"
    r"\{\{[^}]*\}\}|\bTBD\b|\bTODO\b|\bcoming soon\b|\bto be (?:added|announced|updated)\b",
    re.I)
_BOILERPLATE = [re.compile(p, re.I) for p in (
    r"^use the code below to get started with the model\.?$",
    r"^users \(both direct and downstream\) should be made aware of the risks, biases and "
    r"limitations of the model\..*$",
    r"^carbon emissions can be estimated using the .*$",
    r"^\*\*(bibtex|apa):\*\*$",
)]
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CODE_HINT = re.compile(r"from_pretrained|pipeline\(|^\s*(?:import|from)\s+\w|SentenceTransformer\(|"
                        r"llama[-_.]cli|llama_cpp|ollama\s+run|\bpip install\b|\bcurl\b", re.M)
_BULLET_BOLD = re.compile(r"^\s*(?:[-*+]\s+)?\*\*([^*]{2,60}?):?\*\*:?\s*(.*)$")
_BULLET_PLAIN = re.compile(r"^\s*[-*+]\s+([A-Za-z][\w ()/'&.-]{1,50}?):\s+(.+)$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_OPTIONAL = re.compile(r"\s*\[optional\]\s*", re.I)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a card section and how a card can fill it."""

    key: str
    label: str
    headings: str = ""            # regex on the lower-cased heading text
    bullets: str = ""             # regex on the lower-cased label of a "**Label:** value" bullet
    yaml: tuple[str, ...] = ()    # metadata keys that fill the field
    needs: str = "words"          # words | code | numbers


SECTIONS: dict[str, tuple[str, tuple[FieldSpec, ...]]] = {
    "details": ("Model Details", (
        FieldSpec("description", "Model description",
                  r"^model description$|^description$|^overview$|^model summary|^summary$|"
                  r"^about\b|^introduction$|^model overview$|^model information$"),
        FieldSpec("developers", "Developed by", r"^developers?$|^developed by|^model creators?$",
                  r"^developed by|^developers?$|^model developers?|^created by|^organi[sz]ation|"
                  r"^model creator"),
        FieldSpec("model_type", "Model type", r"^model type$",
                  r"^model type|^type$|^architecture$|^model architecture$"),
        FieldSpec("language", "Language(s)", r"^languages?$", r"^languages?\b|^language\(s\)",
                  ("language",)),
        FieldSpec("license", "License", r"^licen[sc]e", r"^licen[sc]e", ("license", "license_name")),
        FieldSpec("base_model", "Finetuned from", r"^base model|^parent model",
                  r"^finetuned from|^fine-tuned from|^base model|^parent model|^original model",
                  ("base_model",)),
    )),
    "uses": ("Uses", (
        FieldSpec("direct_use", "Direct use",
                  r"^direct use|^uses?$|^intended uses?|^use cases?|^intended purpose|"
                  r"^applications?$|^intended use"),
        FieldSpec("downstream_use", "Downstream use", r"downstream"),
        FieldSpec("out_of_scope_use", "Out-of-scope use",
                  r"out[- ]of[- ]scope|misuse|not intended|prohibited|unintended"),
    )),
    "bias_risks_limitations": ("Bias, Risks, and Limitations", (
        FieldSpec("limitations", "Bias, risks and limitations",
                  r"limitation|\bbias|\brisks?\b|caveat|ethic|\bharms?\b|\bsafety\b"),
        FieldSpec("recommendations", "Recommendations", r"recommendation"),
    )),
    "get_started": ("How to Get Started with the Model", (
        FieldSpec("code", "Code to get started",
                  r"get(?:ting)? started|usage|how to use|quick ?start|inference|example|"
                  r"^use with|^running|^install|^use\b|^downloading|^run\b", needs="code"),
    )),
    "training": ("Training Details", (
        FieldSpec("training_data", "Training data",
                  r"training data|^datasets?$|^data$|training dataset|fine-?tuning data|"
                  r"pre-?training data|training and evaluation data", yaml=("datasets",)),
        FieldSpec("training_procedure", "Training procedure",
                  r"training procedure|^training$|^training details|^fine-?tuning|^pre-?training|"
                  r"^method|training setup|training process|^how (?:it|the model) was trained"),
        FieldSpec("hyperparameters", "Training hyperparameters",
                  r"hyper-?parameters|training regime|training arguments|training config",
                  r"^training regime|^learning[ _]rate|^epochs|^batch[ _]size|^optimizer"),
    )),
    "evaluation": ("Evaluation", (
        FieldSpec("testing_data", "Testing data",
                  r"testing data|^test data|evaluation data|eval\w* datasets?|^benchmarks?$",
                  yaml=("model-index",)),
        FieldSpec("metrics", "Metrics", r"^metrics$|evaluation metrics", yaml=("model-index",)),
        FieldSpec("results", "Results",
                  r"^results|evaluation results|^evaluation$|benchmark|performance|^scores?$|"
                  r"leaderboard", yaml=("model-index",), needs="numbers"),
    )),
    "environmental_impact": ("Environmental Impact", (
        FieldSpec("emissions", "Carbon emitted", r"environmental impact|carbon|emissions?|co2",
                  r"^carbon emitted|^co2|^emissions", ("co2_eq_emissions",)),
        FieldSpec("compute_used", "Hardware and hours",
                  bullets=r"^hardware type|^hours used|^cloud provider|^compute region|"
                          r"^training time|^gpu hours"),
    )),
    "technical_specifications": ("Technical Specifications", (
        FieldSpec("architecture", "Model architecture and objective",
                  r"model architecture|architecture and objective|^architecture|model specs|"
                  r"^technical specifications?|^model specifications?",
                  r"^architecture$|^number of parameters|^parameters$|^layers$|^context length"),
        FieldSpec("compute", "Compute infrastructure and hardware",
                  r"compute infrastructure|^hardware$|^compute$|hardware requirements",
                  r"^hardware$|^compute infrastructure"),
        FieldSpec("software", "Software", r"^software$|framework versions|^dependencies|^requirements",
                  r"^software$|^framework"),
    )),
    "metadata": ("YAML metadata", (
        FieldSpec("license", "license", yaml=("license", "license_name")),
        FieldSpec("language", "language", yaml=("language",)),
        FieldSpec("pipeline_tag", "pipeline_tag", yaml=("pipeline_tag",)),
        FieldSpec("library_name", "library_name", yaml=("library_name",)),
        FieldSpec("tags", "tags", yaml=("tags",)),
        FieldSpec("datasets", "datasets", yaml=("datasets",)),
        FieldSpec("model_index", "model-index results", yaml=("model-index",)),
    )),
}


@dataclass
class Block:
    """A heading and the text under it (up to the next heading of any level)."""

    heading: str
    level: int           # 1-6 for ATX/setext headings, 7 for a whole-line bold label
    line: int            # 1-based line of the heading (0 for the text before any heading)
    content: str = ""
    subtree: str = ""    # content of this block and of every deeper block below it

    @property
    def key(self) -> str:
        return _norm_heading(self.heading)


@dataclass
class CardScore(Record):
    """Completeness of one card: per section (0-1), overall, and what is missing."""

    sections: dict[str, float] = field(default_factory=dict)
    overall: float = 0.0
    filled: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)   # "section: field label"
    empty_sections: list[str] = field(default_factory=list)  # headings with no real content


def _norm_heading(text: str) -> str:
    text = _OPTIONAL.sub(" ", re.sub(r"[*_`#]", "", text))
    text = re.sub(r"^[\W\d.]+", "", text.strip().lower())  # numbering, emoji
    return re.sub(r"\s+", " ", text).strip(" :")


def split_blocks(body: str) -> list[Block]:
    """Heading blocks of a Markdown body (fenced code is never a heading): ATX, setext and
    short whole-line bold labels, after the text before the first heading."""
    secs = markdown.sections(body, bold=markdown.LABELS)
    return [Block(s.title, s.level, s.line, s.body,
                  "\n".join(d.body for d in markdown.subtree(secs, i)))
            for i, s in enumerate(secs)]


def _bullet(line: str) -> tuple[str, str] | None:
    m = _BULLET_BOLD.match(line) or _BULLET_PLAIN.match(line)
    if not m:
        return None
    return _norm_heading(m.group(1)), m.group(2).strip()


def is_placeholder(text: str) -> bool:
    """Whether a value says nothing (empty, a placeholder, only markup)."""
    rest = _PLACEHOLDERS.sub(" ", _COMMENT.sub(" ", text))
    return not re.search(r"[A-Za-z0-9]", rest)


def meaningful(text: str) -> str:
    """The text without comments, placeholders, boilerplate and placeholder-only bullets."""
    out = []
    for line in _COMMENT.sub("\n", text).split("\n"):
        s = line.strip()
        if not s or any(rx.match(s) for rx in _BOILERPLATE):
            continue
        if _TABLE_RULE.match(s) and out and out[-1].startswith("|"):
            out.append(s)  # a table's header rule: kept so quoted tables still render
            continue
        bl = _bullet(s)
        if bl and is_placeholder(bl[1]):
            continue
        s = _PLACEHOLDERS.sub(" ", s)
        if re.search(r"[A-Za-z0-9]", s):
            out.append(s)
    return "\n".join(out)


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w.%/-]*", text))


def _has(text: str, needs: str) -> bool:
    mtext = meaningful(text)
    if needs == "code":
        return "```" in mtext or "~~~" in mtext or bool(re.search(r"^(?: {4}|\t)\S", text, re.M))
    if needs == "numbers":
        return _words(mtext) >= MIN_WORDS and bool(re.search(r"\d", mtext))
    return _words(mtext) >= MIN_WORDS


def _yaml_set(meta: dict[str, Any], key: str) -> bool:
    v = meta.get(key)
    if key == "model-index":
        return any(isinstance(e, dict) and e.get("results") for e in v or []) \
            if isinstance(v, list) else False
    if isinstance(v, (list, tuple, dict)):
        return any(x not in (None, "") for x in v)
    return v not in (None, "")


def _field_filled(spec: FieldSpec, meta: dict[str, Any], blocks: list[Block],
                  bullets: list[tuple[str, str]]) -> bool:
    if any(_yaml_set(meta, k) for k in spec.yaml):
        return True
    if spec.bullets and any(re.search(spec.bullets, label) and not is_placeholder(value)
                            for label, value in bullets):
        return True
    if spec.headings:
        for b in blocks:
            if b.level and re.search(spec.headings, b.key) and _has(b.subtree, spec.needs):
                return True
    return False


def _intro_describes(blocks: list[Block]) -> bool:
    """An untitled paragraph (before any heading or right under the H1 title) describes it."""
    first_levels = [b for b in blocks if b.level]
    candidates = [blocks[0].content]
    if first_levels and first_levels[0].level == 1:
        candidates.append(first_levels[0].content)
    for text in candidates:
        prose = "\n".join(ln for ln in meaningful(text).split("\n")
                          if not ln.lstrip().startswith(("<", "|", "!", "[!", "```")))
        if _words(prose) >= DESCRIPTION_WORDS:
            return True
    return False


def _any_code(body: str) -> bool:
    return any(_CODE_HINT.search(m.group(1)) for m in re.finditer(r"```[^\n]*\n(.*?)```", body, re.S))


def score_card(card: CardInfo | str) -> CardScore:
    """Per-section completeness of a card (a ``CardInfo`` or the card's full text)."""
    if isinstance(card, str):
        from modellake.tools.formats.card_fmt import parse_card

        card = parse_card(card)
    meta = card.metadata or {}
    blocks = split_blocks(card.text or "")
    bullets = [bl for bl in (_bullet(ln) for ln in (card.text or "").split("\n")) if bl]
    result = CardScore()
    for sec, (_title, fields) in SECTIONS.items():
        filled = []
        for spec in fields:
            ok = _field_filled(spec, meta, blocks, bullets)
            if not ok and spec.key == "description":
                ok = _intro_describes(blocks)
            if not ok and spec.key == "code":
                ok = _any_code(card.text or "")
            if ok:
                filled.append(spec.key)
            else:
                result.missing.append(f"{sec}: {spec.label}")
        result.filled[sec] = filled
        result.sections[sec] = round(len(filled) / len(fields), 4)
    result.overall = round(sum(result.sections.values()) / len(result.sections), 4)
    result.empty_sections = empty_sections(blocks)
    return result


def empty_sections(blocks: list[Block]) -> list[str]:
    """Headings (levels 1-4) under which nothing real is written, subsections included."""
    out = []
    for b in blocks:
        if not b.level or b.level > 4 or b.level == 1:
            continue
        if not _has(b.subtree, "words") and "```" not in b.subtree and "|" not in b.subtree \
                and not re.search(r"!\[|<img|https?://", b.subtree):
            out.append(b.heading.strip())
    return out


def field_label(section: str, key: str) -> str:
    for spec in SECTIONS[section][1]:
        if spec.key == key:
            return spec.label
    raise KeyError(f"{section}.{key}")


def field_spec(section: str, key: str) -> FieldSpec:
    for spec in SECTIONS[section][1]:
        if spec.key == key:
            return spec
    raise KeyError(f"{section}.{key}")


def find_bullet(text: str, pattern: str) -> tuple[str, str] | None:
    """The first ``**Label:** value`` bullet whose label matches and whose value is real."""
    for ln in markdown.lines(text or ""):
        bl = _bullet(ln.text) if ln.kind == "text" else None
        if bl and re.search(pattern, bl[0]) and not is_placeholder(bl[1]):
            return bl
    return None


def find_field(card: CardInfo, section: str, key: str) -> tuple[str, str] | None:
    """(heading, meaningful text) of the card block that fills a field, if one does.

    Only heading blocks count (YAML and bullets are read by the callers that need them);
    the text keeps code fences, minus comments, placeholders and boilerplate.
    """
    spec = field_spec(section, key)
    if not spec.headings:
        return None
    for b in split_blocks(card.text or ""):
        if b.level and re.search(spec.headings, b.key) and _has(b.subtree, spec.needs):
            return b.heading, meaningful(b.subtree)
    return None
