"""The facts a query attaches to models or ranks them by, each declared once.

A fact has a name (what a tool call says), a label (what an answer says), the words people
use for it (read by the offline planner), how it is read from a model record and how it is
written for a reader. Scores on a task are facts too (``score:TASK``), read from the runs
(see :mod:`.scores`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modellake.store.records import ModelRecord
from modellake.tools.inspection import human_bytes, human_count
from modellake.tools.query.filters import declared_bases


@dataclass(frozen=True)
class Fact:
    """One thing the lake knows about every model."""

    name: str
    label: str
    words: tuple[str, ...]
    get: Callable[[ModelRecord], Any]
    show: Callable[[Any], str] = str
    numeric: bool = False
    more: str = "largest"   # the word for the top of a ranking by this fact
    less: str = "smallest"  # the word for the bottom

    def value(self, m: ModelRecord) -> Any:
        v = self.get(m)
        return None if v in (None, "", []) else v

    def text(self, v: Any) -> str:
        if v is None:
            return "unknown"
        if isinstance(v, (list, tuple)):  # "en, zh, de ... and 91 more": a list a reader can take in
            shown = ", ".join(str(x) for x in v[:8])
            return (f"{len(v)} in all: " if len(v) > 8 else "") + shown + (f" and {len(v) - 8} more" if len(v) > 8
                                                                          else "")
        return self.show(v)


class Stated(float):
    """A number a card-only model's card states (its weights are not in the lake to count)."""


_STATED: dict[tuple[str, int], tuple[Stated | None, Stated | None]] = {}


def _stated(m: ModelRecord) -> tuple[Stated | None, Stated | None]:
    """(parameters, layers) a card-only model's card states; read once per card text (a
    ranking of a lake of card-only models asks every card)."""
    key = (m.name, hash(m.card.text if m.card else ""))
    got = _STATED.get(key)
    if got is None:
        from modellake.tools.cards.claims import stated_layers, stated_parameters

        claim, n = stated_parameters(m.card, m.name), stated_layers(m.card)
        got = (Stated(claim.value) if claim else None, Stated(n) if n else None)
        if len(_STATED) >= 20_000:
            _STATED.clear()
        _STATED[key] = got
    return got


def _parameters(m: ModelRecord) -> float | None:
    if m.num_parameters or m.has_weights or m.card is None:
        return m.num_parameters
    return _stated(m)[0]


def _bytes(m: ModelRecord) -> int | None:
    return sum(f.size for f in m.files) if m.files and m.has_weights else None


def _layers(m: ModelRecord) -> float | None:
    cfg = m.config or {}
    for key in ("num_hidden_layers", "n_layer", "num_layers", "block_count", "n_layers"):
        if isinstance(cfg.get(key), int):
            return cfg[key]
    if m.has_weights or m.card is None:
        return None
    return _stated(m)[1]


def _config(*keys: str) -> Callable[[ModelRecord], int | None]:
    """A number of the model's configuration, under the first of ``keys`` it has."""
    def get(m: ModelRecord) -> int | None:
        cfg = m.config or {}
        for key in keys:
            v = cfg.get(key)
            if isinstance(v, int) and not isinstance(v, bool):
                return v
        return None
    return get


def _by_card(v: Any) -> str:
    return " (stated by its card, not measured)" if isinstance(v, Stated) else ""


def _card(attr: str) -> Callable[[ModelRecord], Any]:
    return lambda m: getattr(m.card, attr) if m.card is not None else None


def _language_count(m: ModelRecord) -> int | None:
    """How many languages the card lists ("multilingual" alone counts no number)."""
    langs = m.card.language if m.card is not None else None
    langs = [langs] if isinstance(langs, str) else list(langs or [])
    named = [x for x in langs if isinstance(x, str) and x.lower() not in ("multilingual", "code")]
    return len(named) or None


def _card_summary(m: ModelRecord) -> str | None:
    """The first sentence of the card's prose ("Sentiment of product reviews, fine-tuned ...")."""
    from modellake.tools.cards.summary import summary_line

    line = summary_line(m.card.text) if m.card is not None and m.card.text else None
    return line.rstrip(". ") if line else None


def _count(v: Any) -> str:
    """Exact below a million (26,784 parameters), rounded above (22.7M parameters)."""
    n = int(v)
    return (f"{n:,} parameters" if n < 1_000_000 else f"{human_count(n)} parameters") + _by_card(v)


def _quantization(m: ModelRecord) -> str | None:
    """What the weights store; for a card-only model what its name says, marked as such."""
    if m.quantization:
        return m.quantization
    if m.has_weights:
        return "none stored"
    from modellake.tools.model_view import name_facts

    said = name_facts(m.name, m.card.tags if m.card else None).get("quantization")
    return f"{said} (by its name)" if said else None


def _maker(m: ModelRecord) -> str | None:
    """Who made the model and how the lake knows: what its card says ("Developed by ..."), else
    the namespace of the repo it is published under (its name, or the repo id its card declares),
    else the Hub namespace its card links to; and whose its declared base model is, when that is
    another maker (a conversion or fine-tune of someone else's model)."""
    from modellake.tools.cards.naming import declared_repo_id
    from modellake.tools.search.families import link_namespace, maker_name, stated_maker

    text = m.card.text if m.card is not None else ""
    bases = [b for b in declared_bases(m) if "/" in b]
    own = m.name if "/" in m.name else (declared_repo_id(m.card, bases) if m.card is not None else None)
    who, how = stated_maker(text), "its card says"
    kv = (m.config or {}).get("kv") or {}
    header = next((k for k in ("general.organization", "general.author") if isinstance(kv.get(k), str)), None)
    if who is None and header:
        who, how = maker_name(kv[header].strip()[:60]), f"its GGUF header's {header}"
    if who is None and own and "/" in own:
        who, how = maker_name(own.split("/")[0]), f"published as {own}"
    if who is None and (space := link_namespace(text, bases)):
        who, how = maker_name(space), "the Hub namespace its card links to"
    base = next((b for b in bases if who is None or maker_name(b.split("/")[0]).lower() not in who.lower()), None)
    base_by = f"its declared base model {base} is by {maker_name(base.split('/')[0])}" if base else ""
    if who is None:
        return f"not stated; {base_by}" if base_by else None
    publisher = maker_name(own.split("/")[0]) if own and "/" in own and not how.startswith("published") else None
    also = f"; published as {own}" if publisher and publisher.lower() not in who.lower() else ""
    return f"{who} ({how}){also}" + (f"; {base_by}" if base_by else "")


def _completeness(m: ModelRecord) -> float | None:
    """How complete the model's card is by the Hub's card guidance (0-1), None without a card."""
    if m.card is None:
        return None
    from modellake.tools.cards.score import score_card

    return score_card(m.card).overall


def _license_text(v: Any) -> str:
    from modellake.tools.model_view import license_text

    return license_text(v)

FACTS: tuple[Fact, ...] = (
    Fact("parameters", "parameters", ("parameters", "params", "parameter count", "weights count",
                                      "size", "big", "large", "small", "tiny", "huge", "bigger",
                                      "smaller", "largest", "smallest", "biggest", "tiniest"),
         _parameters, _count, numeric=True),
    Fact("bytes", "size on disk", ("disk", "bytes", "storage", "file size", "megabytes", "gigabytes", "memory",
                                   "ram",
                                   "footprint", "space", "mb", "gb", "heavy", "lightest",
                                   "heaviest"),
         _bytes, lambda v: human_bytes(int(v)) or "", numeric=True),
    Fact("format", "format", ("format", "stored as", "file type", "saved as", "gguf",
                              "safetensors", "pytorch"), lambda m: m.format),
    Fact("quantization", "quantization", ("quantized", "quantization", "quant", "int8", "int4",
                                          "bits", "precision"),
         _quantization),
    Fact("architecture", "architecture", ("architecture", "model type", "kind of model", "backbone"),
         lambda m: m.architecture or m.model_type),
    Fact("layers", "layers", ("layers", "depth", "deep", "blocks", "deepest", "shallowest"),
         _layers, lambda v: f"{int(v)} layers{_by_card(v)}", numeric=True, more="deepest", less="shallowest"),
    Fact("hidden_size", "hidden size", ("hidden size", "hidden dim", "hidden dimension", "embedding size",
                                        "embedding width", "embedding dimension", "embedding dim", "d_model",
                                        "model dimension", "hidden width"),
         _config("hidden_size", "n_embd", "d_model", "embedding_length", "dim"), lambda v: f"{int(v):,}",
         numeric=True, more="widest", less="narrowest"),
    Fact("vocab_size", "vocabulary size", ("vocab", "vocab size", "vocabulary", "vocabulary size",
                                           "tokenizer size", "tokens in the vocabulary"),
         _config("vocab_size", "n_vocab"), lambda v: f"{int(v):,} tokens", numeric=True),
    Fact("intermediate_size", "feed-forward size", ("intermediate size", "feed-forward", "feedforward",
                                                    "feed forward", "ffn", "mlp size", "mlp width"),
         _config("intermediate_size", "n_inner", "feed_forward_length", "d_ff", "ffn_dim"),
         lambda v: f"{int(v):,}", numeric=True),
    Fact("heads", "attention heads", ("attention heads", "heads", "num heads", "head count"),
         _config("num_attention_heads", "n_head", "attention.head_count", "num_heads"),
         lambda v: f"{int(v)} heads", numeric=True, more="most", less="fewest"),
    Fact("context_length", "context length", ("context length", "context window", "context size",
                                              "max sequence length", "maximum sequence length",
                                              "sequence length", "max positions", "max tokens", "context"),
         _config("max_position_embeddings", "n_positions", "context_length", "n_ctx", "max_seq_len",
                 "seq_length"), lambda v: f"{int(v):,} tokens", numeric=True, more="longest",
         less="shortest"),
    Fact("license", "license", ("license", "licence", "licensed", "lic", "commercial", "commercially",
                                "terms"),
         _card("license"), lambda v: _license_text(v)),
    Fact("task", "task (card)", ("pipeline", "task", "used for", "purpose", "meant for", "intended for",
                                 "designed for", "built for"), _card("pipeline_tag")),
    Fact("purpose", "in its card's words", ("what is each one for", "what is each for", "what they're for",
                                                 "what they are for", "what each is for", "what is it for",
                                                 "what's it for", "what it's for", "what it is for",
                                                 "what are they for", "what does each do", "what do they do",
                                                 "what's x for", "what is x for", "whats x for", "what x is for",
                                                 "what are x and y for", "what does x do", "what x does",
                                                 "what's each for", "what's each one for", "whats each for",
                                                 "what each one is for", "what are they each for"),
         _card_summary),
    Fact("language", "languages", ("language", "languages", "multilingual"), _card("language")),
    Fact("language_count", "languages", ("number of languages", "how many languages"), _language_count,
         lambda v: f"{int(v)} languages" if v != 1 else "1 language", numeric=True, more="most", less="fewest"),
    Fact("datasets", "datasets", ("dataset", "datasets", "trained on", "training data", "corpus", "tuned on",
                                  "fine-tuned on", "finetuned on"),
         _card("datasets")),
    Fact("maker", "maker", ("who made", "maker", "makers", "developed by", "developer", "developers",
                            "who developed", "creator", "created by", "who created", "who built", "who trained",
                            "who released", "who published", "publisher", "which company", "what company",
                            "which organization", "which organisation", "what organization"),
         _maker),
    Fact("base_model", "declared base model", ("base model", "declared", "card says"),
         declared_bases),
    Fact("results", "reported results", ("eval results", "reported results", "evaluation results",
                                          "most results", "benchmarks reported", "reports results",
                                          "report results", "reported numbers", "published numbers"),
         lambda m: len(m.card.results) if m.card is not None and m.card.results else None,
         lambda v: f"{v} numbers reported in its card", numeric=True, more="most", less="fewest"),
    Fact("card_completeness", "card completeness", ("complete", "completeness", "how complete", "more complete",
                                                    "most complete", "least complete", "best documented",
                                                    "well documented", "better documented", "worse documented",
                                                    "worse shape", "better shape", "best shape", "worst shape",
                                                    "card quality"),
         _completeness, lambda v: f"{v:.0%} complete", numeric=True, more="highest", less="lowest"),
    Fact("has_card", "model card", ("card", "documented", "documentation", "readme"),
         lambda m: m.has_card, lambda v: "has a card" if v else "no card"),
    Fact("ingested", "ingested", ("newest", "latest", "recent", "oldest", "added", "ingested"),
         lambda m: m.ingested_at, lambda v: str(v)[:19].replace("T", " "), numeric=False,
         more="newest", less="oldest"),
)
BY_NAME: dict[str, Fact] = {f.name: f for f in FACTS}
SIZE_FACTS = ("parameters", "bytes", "layers", "ingested")  # what "the largest model" ranks by
CONFIG_FACTS = ("hidden_size", "vocab_size", "intermediate_size", "heads", "context_length")
ALIASES = {"params": "parameters", "num_parameters": "parameters", "size": "parameters",
           "disk": "bytes", "size_on_disk": "bytes", "total_size_bytes": "bytes",
           "arch": "architecture", "quant": "quantization", "pipeline_tag": "task",
           "licence": "license", "base": "base_model", "card": "has_card", "newest": "ingested"}


def get_fact(name: str) -> Fact | None:
    key = name.strip().lower().replace(" ", "_")
    return BY_NAME.get(ALIASES.get(key, key))
