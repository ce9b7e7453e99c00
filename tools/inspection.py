"""Inspect one model from what the catalog stores (``modellake show NAME``).

Everything here is computed from the catalog's records: the model row, its
per-tensor statistics and its card. No model file is opened, so a model whose
files have left the disk can still be inspected.

Tensor names are sorted into module groups (embeddings, attention, mlp, norms,
heads, other) by name patterns that cover Hugging Face names (BERT, GPT-2,
Llama, Gemma, T5, NeoX, ...) and GGUF names (``token_embd``, ``blk.N.attn_q``,
``ffn_up``, ``attn_norm``, ``output_norm``, ``output``).
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.records import CardInfo, FileRecord, ModelRecord, Record, TensorSummary
from modellake.tools.formats import markdown

GROUPS = ("embeddings", "attention", "mlp", "norms", "heads", "other")

# Excess kurtosis above which a tensor is flagged as having outliers. A Gaussian
# has 0, a Laplace 3, a Student-t with 5 degrees of freedom 6; trained dense
# weights usually sit between 0 and ~10. A Gaussian in which 0.1% of the values
# have 10x the scale of the rest has ~24, and a tensor like that loses most of
# its resolution under per-tensor absmax quantization. 20 therefore separates
# "heavy-tailed but ordinary" from "a few values dominate the range".
OUTLIER_KURTOSIS = 20.0
SPARSE_TENSOR_FRACTION = 0.10   # a tensor with more exact zeros than this is listed as sparse
QUANT_ROW_DISTINCT = 256        # <= this many distinct values per row: int8-like
QUANT_ROW_DISTINCT_4BIT = 16    # <= this many: int4-like
QUANT_MIN_REPEAT = 0.75         # distinct values per row must be this far below the row's non-zeros
TOP_N = 5
NO_WEIGHTS_NOTE = "the weights are not in the lake: this entry is a model card only"
NO_STATS_NOTE = "no tensor statistics are stored for this model"
LARGEST_N = 10
SPARSE_LIST_N = 10

_INT_DTYPES = re.compile(r"^(I|U|INT|UINT)\d+$|^BOOL$", re.I)
_LAYER = re.compile(r"(?:^|\.)(layers?|h|blk|blocks?)\.(\d+)(?:\.|$)")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_LM_ARCH = re.compile(r"ForCausalLM|LMHead|ForMaskedLM|ForConditionalGeneration|ForPreTraining|"
                      r"WithLMHead|ForSeq2SeqLM")

# -- name patterns of module groups (matched on lower-cased dotted names) ----------
_HEAD_PARTS = {"lm_head", "classifier", "pooler", "qa_outputs", "pre_classifier", "score",
               "vocab_projector", "vocab_transform", "vocab_layer_norm", "embed_out",
               "seq_relationship", "predictions", "head", "heads", "proj_out", "cls"}
_NORM_PARTS = re.compile(r"norm|^ln(_\w+|\d*|f)$")  # LayerNorm, RMSNorm, attn_norm, ln_1, ln_f
_EMBED_PARTS = re.compile(r"embed|^wte$|^wpe$|^shared$|^tok_embeddings$|^token_embd$|"
                          r"^position_embd$|^token_types$")
_ATTN_PARTS = re.compile(r"attn|attention|^(q|k|v|o|qkv|wq|wk|wv|wqkv|query|key|value|"
                         r"query_key_value|q_proj|k_proj|v_proj|o_proj|qkv_proj|out_proj)$")
_MLP_PARTS = re.compile(r"mlp|ffn|ffw|feed_?forward|intermediate|densereludense|moe|experts?|"
                        r"^(fc1|fc2|fc_in|fc_out|c_fc|gate_proj|up_proj|down_proj|gate_up_proj|"
                        r"w1|w2|w3|wi|wi_0|wi_1|wo|lin1|lin2|dense_h_to_4h|dense_4h_to_h|"
                        r"gate|router)$")
_GGUF_HEAD = {"output", "cls"}  # GGUF top-level output layer: output.weight, cls.output.weight

# -- card sections the Hub's model card guidance asks for (matched on headings) ---
_SECTIONS = {
    "intended uses": re.compile(r"\bintended\b|\buses\b|\bdirect use|\bdownstream use|"
                                r"out[- ]of[- ]scope|\buse[- ]cases?\b|^\W*use\W*$"),
    "limitations": re.compile(r"limitation|\bbias|\brisks?\b|caveat|out[- ]of[- ]scope|ethic|"
                              r"\bharms?\b"),
    "training": re.compile(r"\btrain|fine-?tun|pre-?train"),
}
_EVAL_HEADING = re.compile(r"\beval|\bresults?\b|benchmark|performance")
_DERIVED_TAGS = {"generated_from_trainer", "finetuned", "fine-tuned", "merge", "mergekit", "lora",
                 "peft", "trl", "sft", "dpo", "quantized", "distillation", "base_model:finetune",
                 "base_model:quantized", "base_model:adapter", "base_model:merge"}
_DERIVED_TEXT = re.compile(
    r"fine-?tuned (?:version )?(?:of|from)\b|\b(?:distilled|quantized|merged|converted|"
    r"derived) (?:version )?(?:of|from)\b|\bbased on (?:the )?\[?`?[\w.-]+/[\w.-]+|"
    r"\bpre-?trained \[?`?[\w.-]+/[\w.-]+`?\]?(?:\([^)]*\))? model", re.I)


# -- records --------------------------------------------------------------------------
@dataclass
class GroupStats(Record):
    """Parameters of one module group."""

    group: str
    tensors: int
    parameters: int
    fraction: float
    mean_std: float | None = None  # unweighted mean of the tensors' standard deviations


@dataclass
class DtypeStats(Record):
    """Tensors of one stored dtype (or GGUF tensor type)."""

    dtype: str
    tensors: int
    parameters: int  # elements (integer buffers included, they are listed separately)
    nbytes: int
    is_parameter: bool = True  # False for integer buffers (position_ids, ...)


@dataclass
class TensorNote(Record):
    """One tensor in a top list, with the statistics the list is about."""

    name: str
    group: str
    shape: list[int]
    dtype: str
    numel: int
    std: float | None = None
    absmax: float | None = None
    absmax_ratio: float | None = None  # absmax / std
    kurtosis: float | None = None
    zero_fraction: float | None = None
    outlier: bool = False


@dataclass
class TiedGroup(Record):
    """Tensors stored more than once with identical contents."""

    names: list[str]
    shape: list[int]
    numel: int
    kind: str  # "embeddings tied to head" | "identical tensors"


@dataclass
class CardSummary(Record):
    """The card's metadata and what the Hub's card guidance expects that it lacks."""

    present: bool
    license: str | None = None
    base_model: list[str] = field(default_factory=list)
    base_model_relation: str | None = None
    datasets: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    language: list[str] = field(default_factory=list)
    library_name: str | None = None
    tags: list[str] = field(default_factory=list)
    num_results: int = 0
    metadata_error: str | None = None
    sections: list[str] = field(default_factory=list)  # guidance sections found in the text
    text_chars: int = 0
    missing: list[str] = field(default_factory=list)
    completeness: float | None = None  # 0-1, by the Hub's card guidance


@dataclass
class Inspection(Record):
    """Everything ``modellake show`` reports about one model version."""

    # identity
    name: str
    version: int
    format: str
    source: str
    architecture: str | None
    model_type: str | None
    num_parameters: int | None
    num_parameters_human: str | None
    dtypes: list[str]
    quantization: str | None
    quantization_source: str | None  # gguf | config | dtype | detected
    files: list[FileRecord]
    total_size: int
    ingested_at: str
    content_hash: str
    adapter_base: str | None = None
    has_weights: bool = True
    weights_in_lake: bool = True  # False for card-only entries: no tensor statistics stored
    unique_parameters: int | None = None  # parameters with tied duplicates counted once
    num_tensors: int | None = None
    weights_nbytes: int | None = None
    # structure
    num_layers: int | None = None  # layers detected from tensor names
    config_layers: int | None = None  # layers the config declares
    groups: list[GroupStats] | None = None
    dtype_breakdown: list[DtypeStats] | None = None
    quantization_evidence: str | None = None
    # sparsity
    zero_fraction: float | None = None  # parameter-weighted, all float tensors
    matrix_zero_fraction: float | None = None  # the same over tensors of 2+ dimensions
    sparse_tensor_count: int | None = None
    sparse_tensors: list[TensorNote] | None = None
    # norms and outliers
    outlier_kurtosis: float = OUTLIER_KURTOSIS
    outlier_count: int | None = None
    top_absmax_ratio: list[TensorNote] | None = None
    top_kurtosis: list[TensorNote] | None = None
    largest: list[TensorNote] | None = None
    # tied weights
    tied: list[TiedGroup] | None = None
    tie_notes: list[str] = field(default_factory=list)
    # card
    card: CardSummary = field(default_factory=lambda: CardSummary(present=False))
    notes: list[str] = field(default_factory=list)


# -- helpers --------------------------------------------------------------------------
def human_count(n: int | None) -> str | None:
    """22713216 -> '22.7M' (the form ``modellake list`` prints)."""
    if n is None:
        return None
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def human_bytes(n: int | None, byte_unit: str = "B") -> str | None:
    """1536 -> '1.5 KiB' (binary units, labelled as such); under a KiB, '512 B' (or '512 bytes'
    with ``byte_unit="bytes"``)."""
    if n is None:
        return None
    if n < 1024:
        return f"{int(n)} {byte_unit}"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            break
    return f"{size:.1f} {unit}"


def is_parameter(t: TensorSummary) -> bool:
    """Float or quantized-float tensors are parameters; integer buffers are not."""
    return t.is_float or not _INT_DTYPES.match(t.dtype or "")


def classify(name: str) -> str:
    """The module group of a tensor name (HF or GGUF naming)."""
    parts = name.lower().split(".")
    if parts and parts[-1] in ("weight", "bias", "scale", "scales", "qweight", "qzeros", "g_idx",
                               "weight_scale", "weight_packed", "lora_a", "lora_b"):
        stem = parts[:-1]
    else:
        stem = parts
    if len(stem) == 1 and stem[0] in _GGUF_HEAD or stem[:1] == ["cls"] and len(stem) <= 2:
        return "heads"
    if any(p in _HEAD_PARTS for p in stem) and not _LAYER.search(name.lower()):
        return "heads"
    if any(_NORM_PARTS.search(p) for p in stem):
        return "norms"
    if any(_EMBED_PARTS.search(p) for p in stem):
        return "embeddings"
    if any(_ATTN_PARTS.search(p) for p in stem):
        return "attention"
    if any(_MLP_PARTS.search(p) for p in stem):
        return "mlp"
    # BERT-style feed-forward output: encoder.layer.N.output.dense
    if _LAYER.search(name.lower()) and "output" in stem:
        return "mlp"
    return "other"


def _note(t: TensorSummary, group: str) -> TensorNote:
    ratio = t.absmax / t.std if t.absmax is not None and t.std else None
    return TensorNote(name=t.name, group=group, shape=list(t.shape), dtype=t.dtype, numel=t.numel,
                      std=t.std, absmax=t.absmax, absmax_ratio=ratio, kurtosis=t.kurtosis,
                      zero_fraction=t.zero_fraction,
                      outlier=t.kurtosis is not None and t.kurtosis > OUTLIER_KURTOSIS)


def _layers(names: list[str]) -> int | None:
    seen = set()
    for n in names:
        m = _LAYER.search(n)
        if m:
            seen.add((n[:m.start(1)], m.group(2)))
    return len(seen) or None


def _config_layers(config: dict[str, Any]) -> int | None:
    for key in ("num_hidden_layers", "n_layer", "num_layers", "n_layers"):
        v = config.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    for scope in (config, config.get("kv") if isinstance(config.get("kv"), dict) else {}):
        for key, v in scope.items():
            if str(key).endswith("block_count") and isinstance(v, int):
                return v
    text = config.get("text_config")
    return _config_layers(text) if isinstance(text, dict) else None


def _quant_from_config(config: dict[str, Any]) -> str | None:
    q = config.get("quantization_config")
    if not isinstance(q, dict) or not q:
        return None
    method = str(q.get("quant_method") or "quantized")
    bits = q.get("bits") or q.get("w_bit") or ("4" if q.get("load_in_4bit") else
                                              "8" if q.get("load_in_8bit") else None)
    detail = f"{bits}-bit" if bits else q.get("fmt") or q.get("weight_dtype") or q.get("quant_type")
    return f"{method} ({detail})" if detail else method


def _detect_quantization(params: list[tuple[TensorSummary, str]]) -> tuple[str, str] | None:
    """Float weights that hold only a few values per row: quantized then stored as float."""
    linear = [t for t, g in params if g in ("attention", "mlp", "heads") and len(t.shape) == 2
              and t.numel >= 1024 and t.is_float]
    if not linear:
        return None
    flagged = []
    for t in linear:
        if t.row_distinct is None:
            continue
        nonzero_per_row = t.shape[-1] * (1.0 - (t.zero_fraction or 0.0))
        if (t.row_distinct <= QUANT_ROW_DISTINCT
                and t.row_distinct <= QUANT_MIN_REPEAT * nonzero_per_row):
            flagged.append(t)
    if len(flagged) * 2 < len(linear):
        return None
    widest = max(t.row_distinct or 0 for t in flagged)
    bits = "int4" if widest <= QUANT_ROW_DISTINCT_4BIT else "int8"
    return (f"looks {bits}-quantized (stored as float)",
            f"{len(flagged)} of {len(linear)} linear weights have <= {widest} distinct values per "
            f"row (rows of up to {max(t.shape[-1] for t in flagged)} values)")


def _tied(params: list[tuple[TensorSummary, str]]) -> list[TiedGroup]:
    by_hash: dict[str, list[tuple[TensorSummary, str]]] = defaultdict(list)
    for t, g in params:
        if t.hash and t.numel > 1 and t.std:  # constant tensors (fresh zeros/ones) are not ties
            by_hash[t.hash].append((t, g))
    out = []
    for members in by_hash.values():
        if len(members) < 2:
            continue
        groups = {g for _, g in members}
        kind = ("embeddings tied to head" if {"embeddings", "heads"} <= groups
                else "identical tensors")
        t0 = members[0][0]
        out.append(TiedGroup([t.name for t, _ in members], list(t0.shape), t0.numel, kind))
    return sorted(out, key=lambda g: -g.numel)


def _tie_notes(model: ModelRecord, params: list[tuple[TensorSummary, str]]) -> list[str]:
    names = {t.name for t, _ in params}
    embeds = [t for t, g in params if g == "embeddings" and len(t.shape) == 2]
    if model.format == "gguf":
        if "token_embd.weight" in names and "output.weight" not in names:
            return ["no output.weight: the output layer reuses token_embd.weight (tied embeddings)"]
        return []
    cfg = model.config or {}
    tie = cfg.get("tie_word_embeddings")
    if tie is None and isinstance(cfg.get("text_config"), dict):
        tie = cfg["text_config"].get("tie_word_embeddings")
    archs = cfg.get("architectures") or []
    if tie is not True or not any(_LM_ARCH.search(str(a)) for a in archs) or not embeds:
        return []
    vocab = cfg.get("vocab_size") or max(t.shape[0] for t in embeds)
    head = [t for t, g in params if g == "heads" and len(t.shape) == 2 and vocab in t.shape]
    if head:
        return []
    emb = max(embeds, key=lambda t: t.numel)
    return [f"config sets tie_word_embeddings and no output head is stored: the head reuses "
            f"{emb.name} {list(emb.shape)}"]


def card_headings(text: str) -> list[str]:
    """Markdown headings (ATX, setext, any whole-line bold text), outside fenced code."""
    secs = markdown.sections(text, bold=markdown.ANY_BOLD)
    return [re.sub(r"[*_`]", "", s.title).strip() for s in secs[1:]]


def _derived_hint(model: ModelRecord, card: CardInfo | None) -> str | None:
    """Why a model looks derived from another (so it should name a base_model)."""
    if model.adapter_base:
        return f"adapter on {model.adapter_base}"
    if card is not None:
        tags = {t.lower() for t in card.tags}
        hit = sorted(tags & _DERIVED_TAGS)
        if hit:
            return f"tagged {hit[0]}"
    src = (model.config or {}).get("_name_or_path")
    if (isinstance(src, str) and _HUB_ID.match(src) and src.lower() != model.name.lower()
            and not model.name.lower().endswith("/" + src.split("/")[-1].lower())):
        return f"config _name_or_path is {src}"
    if card is not None:
        m = _DERIVED_TEXT.search(card.text)
        if m:
            return f"card text says \"{m.group(0).strip()}\""
    return None


def summarize_card(model: ModelRecord) -> CardSummary:
    """Card metadata plus the list of what the Hub's model card guidance expects but is absent."""
    card = model.card
    if card is None:
        return CardSummary(present=False, missing=["model card (no README.md in the lake)"])
    heads = [h.lower() for h in card_headings(card.text)]
    sections = [s for s, rx in _SECTIONS.items() if any(rx.search(h) for h in heads)]
    missing = []
    if not card.license:
        missing.append("license")
    if not card.base_model:
        hint = _derived_hint(model, card)
        if hint:
            missing.append(f"base_model (looks derived: {hint})")
    if not card.datasets:
        missing.append("datasets")
    if not card.pipeline_tag:
        missing.append("pipeline_tag")
    if not card.results:
        if any(_EVAL_HEADING.search(h) for h in heads):
            missing.append("evaluation results in metadata (model-index); the text has an "
                           "evaluation section")
        else:
            missing.append("evaluation results")
    missing += [f"{s} section" for s in _SECTIONS if s not in sections]
    return CardSummary(present=True, license=card.license, base_model=list(card.base_model),
                       base_model_relation=card.base_model_relation,
                       datasets=list(card.datasets), pipeline_tag=card.pipeline_tag,
                       language=list(card.language), library_name=card.library_name,
                       tags=list(card.tags), num_results=len(card.results),
                       metadata_error=card.metadata_error, sections=sections,
                       text_chars=len(card.text), missing=missing, completeness=_completeness(card))


def _completeness(card: CardInfo) -> float:
    from modellake.tools.cards.score import score_card

    return score_card(card).overall


# -- the tool ----------------------------------------------------------------------------
def inspect_model(catalog: Catalog, name: str) -> Inspection:
    """Inspect the current version of ``name`` (or ``name@N``) from the catalog alone.

    Raises ``NotFoundError`` when no such model is in the lake.
    """
    model = catalog.get_model(name)
    tensors = catalog.tensors(model.id) if model.id is not None else []
    insp = Inspection(
        name=model.name, version=model.version, format=model.format, source=model.source,
        architecture=model.architecture, model_type=model.model_type,
        num_parameters=model.num_parameters, num_parameters_human=human_count(model.num_parameters),
        dtypes=list(model.dtypes), quantization=None, quantization_source=None,
        files=list(model.files), total_size=sum(f.size for f in model.files),
        ingested_at=model.ingested_at, content_hash=model.content_hash,
        adapter_base=model.adapter_base, has_weights=model.has_weights,
        config_layers=_config_layers(model.config or {}), card=summarize_card(model))
    _quantization_identity(insp, model)
    if not tensors:
        insp.weights_in_lake = False
        insp.notes.append(NO_WEIGHTS_NOTE if model.format == "card" else NO_STATS_NOTE)
        return insp
    _weights(insp, model, tensors)
    return insp


def _quantization_identity(insp: Inspection, model: ModelRecord) -> None:
    if model.format == "gguf":
        if model.quantization:
            insp.quantization, insp.quantization_source = f"GGUF {model.quantization}", "gguf"
        return
    from_config = _quant_from_config(model.config or {})
    if from_config or model.quantization:
        insp.quantization, insp.quantization_source = from_config or model.quantization, "config"


def _weights(insp: Inspection, model: ModelRecord, tensors: list[TensorSummary]) -> None:
    params = [(t, classify(t.name)) for t in tensors if is_parameter(t)]
    total = sum(t.numel for t, _ in params)
    _counts(insp, tensors, total)
    insp.groups = _group_stats(params, total)
    insp.num_layers = _layers([t.name for t, _ in params])
    insp.dtype_breakdown = _dtype_stats(tensors)
    _detected_quantization(insp, model, params, total)
    _sparsity(insp, params)
    _outliers(insp, params)
    insp.tied = _tied(params)
    insp.unique_parameters = total - sum(g.numel * (len(g.names) - 1) for g in insp.tied)
    insp.tie_notes = _tie_notes(model, params)


def _counts(insp: Inspection, tensors: list[TensorSummary], total: int) -> None:
    """Tensor and parameter counts, with a note where they disagree with the catalog."""
    buffers = [t for t in tensors if not is_parameter(t)]
    insp.num_tensors = len(tensors)
    insp.weights_nbytes = sum(t.nbytes for t in tensors)
    if insp.num_parameters is None:
        insp.num_parameters, insp.num_parameters_human = total, human_count(total)
    elif insp.num_parameters != total:
        insp.notes.append(f"catalog records {insp.num_parameters} parameters; the stored tensors "
                          f"add up to {total}")
    if buffers:
        values = human_count(sum(t.numel for t in buffers))
        insp.notes.append(f"{len(buffers)} integer buffer(s) ({values} values, e.g. "
                          f"{buffers[0].name}) are not counted as parameters")


def _group_stats(params: list[tuple[TensorSummary, str]], total: int) -> list[GroupStats]:
    """Parameters by module group, in the order of ``GROUPS``."""
    by_group: dict[str, list[TensorSummary]] = defaultdict(list)
    for t, g in params:
        by_group[g].append(t)
    out = []
    for g in GROUPS:
        ts = by_group.get(g)
        if not ts:
            continue
        stds = [t.std for t in ts if t.std is not None]
        n = sum(t.numel for t in ts)
        out.append(GroupStats(g, len(ts), n, n / total if total else 0.0,
                              sum(stds) / len(stds) if stds else None))
    return out


def _dtype_stats(tensors: list[TensorSummary]) -> list[DtypeStats]:
    """Tensors by stored dtype, parameters first, the largest first."""
    by_dtype: dict[str, list[TensorSummary]] = defaultdict(list)
    for t in tensors:
        by_dtype[t.dtype].append(t)
    return sorted(
        (DtypeStats(d, len(ts), sum(t.numel for t in ts), sum(t.nbytes for t in ts),
                    is_parameter(ts[0])) for d, ts in by_dtype.items()),
        key=lambda s: (not s.is_parameter, -s.parameters))


def _detected_quantization(insp: Inspection, model: ModelRecord,
                           params: list[tuple[TensorSummary, str]], total: int) -> None:
    """Quantization read from the dtypes (FP8, GGUF types) or the values, where nothing said so."""
    if insp.quantization is None:
        f8 = sum(s.parameters for s in insp.dtype_breakdown if s.dtype.upper().startswith("F8"))
        if f8 * 2 > total:
            kinds = sorted(s.dtype for s in insp.dtype_breakdown
                           if s.dtype.upper().startswith("F8"))
            insp.quantization, insp.quantization_source = f"FP8 ({', '.join(kinds)})", "dtype"
        elif model.format != "gguf":
            found = _detect_quantization(params)
            if found:
                insp.quantization, insp.quantization_evidence = found
                insp.quantization_source = "detected"
    if insp.quantization is None and model.format == "gguf":
        quant = [s for s in insp.dtype_breakdown if s.is_parameter
                 and not s.dtype.upper().startswith(("F", "BF"))]
        if quant:
            insp.quantization = "GGUF " + "/".join(s.dtype for s in quant[:3])
            insp.quantization_source = "gguf"


def _sparsity(insp: Inspection, params: list[tuple[TensorSummary, str]]) -> None:
    """Exact zeros, parameter-weighted, and the sparsest tensors."""
    with_zeros = [(t, g) for t, g in params if t.zero_fraction is not None]
    counted = sum(t.numel for t, _ in with_zeros)
    if counted:
        insp.zero_fraction = sum(t.zero_fraction * t.numel for t, _ in with_zeros) / counted
        mats = [t for t, _ in with_zeros if len(t.shape) >= 2]
        m_n = sum(t.numel for t in mats)
        insp.matrix_zero_fraction = (sum(t.zero_fraction * t.numel for t in mats) / m_n
                                     if m_n else None)
    sparse = [(t, g) for t, g in with_zeros if t.zero_fraction > SPARSE_TENSOR_FRACTION]
    sparse.sort(key=lambda tg: (-tg[0].zero_fraction * tg[0].numel, tg[0].name))
    insp.sparse_tensor_count = len(sparse)
    insp.sparse_tensors = [_note(t, g) for t, g in sparse[:SPARSE_LIST_N]]


def _outliers(insp: Inspection, params: list[tuple[TensorSummary, str]]) -> None:
    """Heavy-tailed tensors, the largest absmax/std ratios and the largest tensors."""
    notes = [_note(t, g) for t, g in params if t.std]
    insp.top_absmax_ratio = sorted((n for n in notes if n.absmax_ratio is not None),
                                   key=lambda n: -n.absmax_ratio)[:TOP_N]
    insp.top_kurtosis = sorted((n for n in notes if n.kurtosis is not None),
                               key=lambda n: -n.kurtosis)[:TOP_N]
    insp.outlier_count = sum(n.outlier for n in notes)
    insp.largest = [_note(t, g) for t, g in
                    sorted(params, key=lambda tg: (-tg[0].numel, tg[0].name))[:LARGEST_N]]
