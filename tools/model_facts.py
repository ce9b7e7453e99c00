"""A model's facts in words: the one place that decides what is said about a model and how.

The CLI (``modellake show``), the web app (model details) and the agent (``show_model``)
all render an :class:`~modellake.tools.inspection.Inspection` through these functions:

* :func:`overview_facts` -> labelled rows (identity, size, structure, quantization, files);
* :func:`card_facts` -> labelled rows of what the model's card declares;
* :func:`summary` -> the same facts as one paragraph a person would write.

A :class:`Fact` carries a ``tone`` (``warn``, ``accent``, ``dim``) that each front end maps to
its own styling; the words are the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass

from modellake.tools.inspection import (
    NO_STATS_NOTE,
    NO_WEIGHTS_NOTE,
    CardSummary,
    Inspection,
    human_bytes,
    human_count,
)
from modellake.tools.rendering import join

MAX_FILES = 8
MAX_LIST = 6  # datasets / tags shown before "+N more"


@dataclass(frozen=True)
class Fact:
    """One labelled statement about a model (an empty label continues the row above)."""

    label: str
    text: str
    tone: str = ""  # "" | "warn" | "accent" | "dim" | "error"


def count_text(n: int | None) -> str:
    """22713216 -> '22.7M' ('-' when unknown)."""
    return "-" if n is None else str(human_count(n))


def bytes_text(n: int | None) -> str:
    """1536 -> '1.5 KiB' ('-' when unknown)."""
    return human_bytes(n) or "-"


def listing(items: list[str], most: int = MAX_LIST) -> str:
    """At most ``most`` items, then "(+N more)"; '-' for none."""
    if not items:
        return "-"
    shown = ", ".join(items[:most])
    return shown + (f" (+{len(items) - most} more)" if len(items) > most else "")


def join_words(items: list[str], word: str = "and") -> str:
    """``["a", "b", "c"]`` -> "a, b and c" (empty items left out)."""
    return join([str(i) for i in items if str(i)], word)


def params_text(n: int | None) -> str:
    """'22.7M (22,713,216)'; small counts as they are."""
    return "-" if n is None else f"{human_count(n)} ({n:,})" if n >= 1000 else str(n)


# -- rows ------------------------------------------------------------------------------
def _identity(i: Inspection) -> list[Fact]:
    adapter = f"  ·  adapter on {i.adapter_base}" if i.adapter_base else ""
    arch = i.architecture or "-"
    if i.model_type and i.model_type != i.architecture:
        arch += f"  (model_type {i.model_type})"
    return [Fact("model", f"{i.name}  (version {i.version})", "strong"),
            Fact("format", i.format + adapter), Fact("architecture", arch)]


def _structure(i: Inspection) -> list[Fact]:
    if not i.weights_in_lake:
        return [Fact("weights", NO_WEIGHTS_NOTE if i.format == "card" else NO_STATS_NOTE, "warn")]
    params = params_text(i.num_parameters)
    if i.unique_parameters is not None and i.unique_parameters != i.num_parameters:
        params += f"  ·  {human_count(i.unique_parameters)} unique (tied copies counted once)"
    layers = "-" if i.num_layers is None else str(i.num_layers)
    if i.config_layers is not None and i.config_layers != i.num_layers:
        layers += f"  (config says {i.config_layers})"
    return [Fact("parameters", params), Fact("layers", layers),
            Fact("tensors", f"{i.num_tensors}  ·  {bytes_text(i.weights_nbytes)} of weights"),
            Fact("dtypes", ", ".join(i.dtypes) or "-")]


def quantized_from(made: list[dict] | None) -> list[str]:
    """The parents a model is a quantized copy of, by its weights (``made``: see ``overview_facts``)."""
    return [m["parent"] for m in made or [] if m.get("relation") == "quantized"]


def _quantization(i: Inspection, made: list[dict] | None = None) -> list[Fact]:
    rows = []
    copy_of = quantized_from(made)
    if i.weights_in_lake or i.quantization:
        quant = i.quantization or (f"none stored (its weights show a quantized copy of {', '.join(copy_of)})"
                                   if copy_of else "none")
        if i.quantization_source:
            quant += f"  [{i.quantization_source}]"
        rows.append(Fact("quantization", quant, "accent" if i.quantization else ""))
    if i.quantization_evidence:
        rows.append(Fact("", i.quantization_evidence, "dim"))
    return rows


def _made(made: list[dict] | None) -> list[Fact]:
    from modellake.tools.lineage.words import VERBS

    return [Fact("made from" if n == 0 else "", f"{VERBS.get(m.get('relation'), 'derived from')} {m['parent']}"
                 f" (inferred from the weights, confidence {m.get('confidence', 0):.2f})")
            for n, m in enumerate(made or [])]


def _files(i: Inspection) -> Fact:
    files = sorted(i.files, key=lambda f: -f.size)
    if not files:
        return Fact("files", "-")
    shown = ", ".join(f"{f.path} ({bytes_text(f.size)})" for f in files[:MAX_FILES])
    if len(files) > MAX_FILES:
        shown += f", +{len(files) - MAX_FILES} more"
    plural = "s" if len(files) != 1 else ""
    return Fact("files", f"{len(files)} file{plural}, {bytes_text(i.total_size)}: {shown}")


def overview_facts(i: Inspection, made: list[dict] | None = None) -> list[Fact]:
    """The overview of ``modellake show``: identity, structure, quantization, how the weights
    show it was made (``made``: its parents, each with the relation and confidence), files, notes."""
    rows = _identity(i) + _structure(i) + _quantization(i, made) + _made(made) + [_files(i)]
    rows += [Fact("source", i.source), Fact("ingested", i.ingested_at or "-"),
             Fact("content hash", i.content_hash[:16] + "…" if i.content_hash else "-")]
    rows += [Fact("note", n, "warn") for n in i.notes if n not in (NO_WEIGHTS_NOTE, NO_STATS_NOTE)]
    return rows


def card_facts(c: CardSummary) -> list[Fact]:
    """What a card declares, row by row (empty when there is no card)."""
    if not c.present:
        return []
    base = listing(c.base_model)
    if c.base_model_relation:
        base += f"  ({c.base_model_relation})"
    count = f"  [{len(c.datasets)}]" if c.datasets else ""
    rows = [Fact("license", c.license or "-", "" if c.license else "error"),
            Fact("base_model", base), Fact("datasets", listing(c.datasets) + count),
            Fact("pipeline_tag", c.pipeline_tag or "-"), Fact("language", listing(c.language)),
            Fact("library_name", c.library_name or "-"), Fact("tags", listing(c.tags)),
            Fact("eval results", str(c.num_results)), Fact("sections", listing(c.sections))]
    if c.metadata_error:
        rows.append(Fact("metadata error", c.metadata_error, "error"))
    return rows


# -- one paragraph ------------------------------------------------------------------------
def _identity_sentence(i: Inspection) -> str:
    num_layers = i.num_layers or i.config_layers
    return (f"{i.name} (version {i.version}) is "
            + (f"a {i.architecture} model" if i.architecture else "a model of unknown architecture")
            + (f" with {i.num_parameters:,} parameters ({human_count(i.num_parameters)})"
               if i.num_parameters is not None else "")
            + f", stored as {i.format}"
            + (f" in {join_words(i.dtypes)}" if i.dtypes else "")
            + (f", {num_layers} layers" if num_layers else "") + ".")


def _card_sentences(c: CardSummary) -> list[str]:
    if not c.present:
        return ["It has no model card."]
    declared = [f"license {c.license}" if c.license else "",
                f"base model {join_words(c.base_model)}" if c.base_model else "",
                f"task {c.pipeline_tag}" if c.pipeline_tag else "",
                f"datasets {join_words(c.datasets)}" if c.datasets else ""]
    declared = [d for d in declared if d]
    out = ["Its card declares " + (join_words(declared) if declared
                                   else "no license, base model, task or datasets") + "."]
    if c.missing:
        shown = c.missing[:4] + ([f"{len(c.missing) - 4} more"] if len(c.missing) > 4 else [])
        out.append(f"The card is missing {len(c.missing)} item{'s' * (len(c.missing) > 1)}: {join_words(shown)}.")
    return out


def summary(i: Inspection) -> str:
    """The model in one paragraph: what it is, how big, how stored, what its card says."""
    bits = [_identity_sentence(i)]
    if i.quantization:
        bits.append(f"Quantization: {i.quantization}.")
    if not i.weights_in_lake:
        bits.append("It is a card-only entry: only its card is in the lake, not its weights.")
    return " ".join(bits + _card_sentences(i.card))


def markdown(i: Inspection) -> str:
    """The overview and card rows as a Markdown list, "**label**: value" (for the web app: it
    reads in a narrow column, where a two-column table squeezes its labels)."""
    out = [f"### {i.name}", ""]
    for f in overview_facts(i) + card_facts(i.card):
        text = f.text.replace("\n", " ")
        text = '_' + text + '_' if f.tone == 'dim' else text
        # a row without a label continues the one above it (the evidence of a quantization)
        out.append(f"- **{f.label}**: {text}" if f.label.strip() else f"    - {text}")
    return "\n".join(out)
