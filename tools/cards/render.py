"""A draft rendered as a card: YAML through ``huggingface_hub.ModelCardData``, the text with
``ModelCard.from_template`` from ``templates/modelcard_template.md``, the evidence listed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from modellake.tools.cards import score as cs
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import Evidence
from modellake.tools.cards.text import num
from modellake.tools.rendering import flow

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "modelcard_template.md"
GLOSSARY = (
    "Evidence markers: `[E3 measured: run 12]` is a benchmark run the lake measured "
    "(its id); `[E1 inferred: edge a -> b]` is a lineage edge inferred from the weights "
    "(its numbers are listed under Evidence); `[E2 weights: tensor statistics]` is read "
    "from the stored tensors; `[E4 declared: config.json]` is what a file of the model "
    "(or a reported, not re-measured, result) says.")
# every template variable, passed even when empty: the ones the YAML also sets are overridden,
# not inherited from the metadata
TEMPLATE_FIELDS = (
    "model_summary", "model_description", "developers", "funded_by", "shared_by",
    "model_type", "language", "license", "finetuned_from", "repo", "paper", "demo",
    "direct_use", "downstream_use", "out_of_scope_use", "bias_risks_limitations",
    "bias_recommendations", "get_started_code", "training_data", "training_procedure",
    "preprocessing", "training_regime", "speeds_sizes_times", "testing_data",
    "testing_factors", "testing_metrics", "results", "results_summary",
    "model_examination", "hardware_type", "hours_used", "cloud_provider",
    "cloud_region", "co2_emitted", "model_specs", "compute_infrastructure",
    "hardware_requirements", "software", "citation", "model_card_contact")


def unknown_label(missing: str) -> str:
    """"Direct use (Uses)" for the scorer's "uses: Direct use"."""
    section, _, label = missing.partition(": ")
    return f"{label} ({cs.SECTIONS[section][0]})"


def render(draft: Draft, model_id: str, unknowns: list[str] | None = None) -> tuple[str, Any]:
    """The card text and its ``ModelCard``, from the template shipped in the package."""
    from huggingface_hub import ModelCard

    evidence = [{"id": e.id, "kind": e.kind, "source": e.source, "claim": e.claim,
                 "shown": _evidence_summary(e)} for e in draft.ev.items]
    fields = {k: v for k, v in draft.fields.items() if v}
    card = ModelCard.from_template(
        _card_data(draft, model_id), template_path=str(TEMPLATE_PATH), model_id=model_id,
        evidence=evidence, unknowns=unknowns or [], notes=draft.notes, glossary=GLOSSARY,
        model_card_authors=("Drafted by modellake from the evidence listed above "
                            + ("(prose sections written by a language model from that evidence "
                               "only)" if draft.writer else "(deterministic, no language model)")
                            + "; review before publishing."),
        **{k: fields.get(k, "") for k in TEMPLATE_FIELDS})
    return str(card), card


def _card_data(draft: Draft, model_id: str) -> Any:
    """The YAML header: ``ModelCardData`` from the draft's metadata and model-index."""
    from huggingface_hub import ModelCardData

    meta = dict(draft.meta)
    eval_results = meta.pop("eval_results", None)
    return ModelCardData(
        base_model=meta.pop("base_model", None), license=meta.pop("license", None),
        language=meta.pop("language", None), library_name=meta.pop("library_name", None),
        pipeline_tag=meta.pop("pipeline_tag", None), tags=meta.pop("tags", None),
        datasets=meta.pop("datasets", None), eval_results=eval_results or None,
        model_name=model_id if eval_results else None, **meta)


def _evidence_summary(e: Evidence) -> str:
    """One line of the Evidence section: what the item holds (lists and mappings in YAML's
    flow style, never as Python reprs)."""
    d = e.data
    if e.kind in ("measured",) or e.source.startswith("run "):
        ms = ", ".join(f"{k}={num(v)}" for k, v in sorted((d.get("metrics") or {}).items()))
        n = f", n={d['n_samples']}" if d.get("n_samples") is not None else ""
        return (f"task {d.get('task')}, {ms}{n}, model {d.get('model')}"
                f"@{d.get('model_version')}, {d.get('trust')}")
    if e.kind == "inferred":
        ev = d.get("evidence") or {}
        flat = ", ".join(f"{k}={flow(v, num)}" for k, v in ev.items() if v is not None)
        return f"{d.get('relation')}, confidence {num(d.get('confidence'))}; {flat}"
    parts = []
    for k, v in d.items():
        if v is None or v == [] or v == {}:
            continue
        s = f"{k}={flow(v, num)}"
        parts.append(s if len(s) <= 160 else s[:157] + "...")
    return ", ".join(parts)
