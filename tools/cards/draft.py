"""Draft a model card from the lake's evidence (``modellake card NAME``).

Each section of the Hub's model card template is filled only with facts the lake
holds (see :mod:`modellake.tools.cards.facts`), each followed by its evidence marker;
a field the lake knows nothing about says "[More Information Needed]" and is listed.
The YAML header is built as a ``huggingface_hub.ModelCardData`` and the card is
rendered with ``ModelCard.from_template`` from ``tools/cards/templates/modelcard_template.md``.

The draft (:class:`~.drafting.Draft`) is filled by one function per group of sections, in
order: :mod:`.identity` (base model, license, library, tags), :mod:`.evaluation` (the
model-index, then Evaluation), :mod:`.details`, :mod:`.usage` (Uses, limitations, Get
Started), :mod:`.training`, :mod:`.technical`; then :mod:`.prose` (the optional writer)
and :mod:`.render`.
"""
from __future__ import annotations

from collections.abc import Callable

from modellake.store.catalog import Catalog
from modellake.store.records import CardDraft
from modellake.tools.cards import details, evaluation, identity, prose, technical, training, usage
from modellake.tools.cards import score as cs
from modellake.tools.cards.drafting import Draft, Writer
from modellake.tools.cards.facts import gather
from modellake.tools.cards.prose import WRITER_SECTIONS
from modellake.tools.cards.render import TEMPLATE_PATH, render, unknown_label

__all__ = ["TEMPLATE_PATH", "WRITER_SECTIONS", "Writer", "draft_card"]

# the order matters: later parts read what earlier ones found (base model, pipeline, ...)
# and evidence is numbered in the order it is first cited
_PARTS: tuple[Callable[[Draft], None], ...] = (
    identity.base_model, identity.card_license, identity.library_and_pipeline,
    identity.tags_language_datasets, evaluation.model_index, details.details, usage.uses,
    usage.limitations, usage.get_started, training.training, evaluation.evaluation,
    technical.examination, technical.specs, technical.environment, technical.citation,
    prose.apply_writer)


def draft_card(catalog: Catalog, name: str, *, writer: Writer | None = None,
               repo_id: str | None = None, infer_lineage: bool = True) -> CardDraft:
    """Draft a Hugging Face model card for ``name`` (or ``name@N``) from the lake's evidence.

    ``writer(section, evidence) -> str``, when given, writes the prose of the sections in
    ``WRITER_SECTIONS`` from that section's evidence only (a list of dicts with ``id``,
    ``kind``, ``source``, ``claim``, ``data`` and ``marker``); text holding a number that
    is not in the evidence is rejected and the deterministic text kept. ``repo_id`` is
    the Hub id the card will be published under (used in the code snippet; default: the
    model's path in the lake). ``infer_lineage=False`` uses only lineage edges already
    cached. Raises ``NotFoundError`` for an unknown model.
    """
    from modellake.tools.formats.card_fmt import parse_card

    facts = gather(catalog, name, infer_lineage=infer_lineage)
    d = Draft(facts, writer, repo_id)
    if facts.lineage.note and facts.model.has_weights:
        d.notes.append(facts.lineage.note)
    if facts.runs_note:
        d.notes.append(facts.runs_note)
    for fill in _PARTS:
        fill(d)
    model_id = repo_id or facts.model.name
    text, card = render(d, model_id)
    score = cs.score_card(parse_card(text))
    unknowns = [unknown_label(m) for m in score.missing if not m.startswith("metadata:")]
    if unknowns:  # the same card, with what it lacks listed under "More Information"
        text, card = render(d, model_id, unknowns)
    return CardDraft(
        model=facts.model.name, text=text, metadata=card.data.to_dict(),
        evidence=[e.to_dict() | {"marker": e.marker} for e in d.ev.items],
        missing=score.missing, completeness=dict(score.sections),
        version=facts.model.version, overall=score.overall, notes=list(d.notes),
        prose="writer" if writer else "deterministic")
