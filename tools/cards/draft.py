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

import re
from collections.abc import Callable

from modellake.store.catalog import Catalog
from modellake.store.records import CardDraft
from modellake.tools.cards import details, evaluation, identity, prose, technical, training, usage
from modellake.tools.cards import score as cs
from modellake.tools.cards.drafting import Draft, Writer
from modellake.tools.cards.facts import gather
from modellake.tools.cards.prose import WRITER_SECTIONS
from modellake.tools.cards.render import TEMPLATE_PATH, render, unknown_label
from modellake.tools.rendering import join, plural

__all__ = ["TEMPLATE_PATH", "WRITER_SECTIONS", "Writer", "describe_draft", "draft_card",
           "draft_summary"]

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
    return DraftedCard(
        model=facts.model.name, markdown=text, metadata=card.data.to_dict(),
        evidence=[e.to_dict() | {"marker": e.marker} for e in d.ev.items],
        missing=score.missing, completeness=dict(score.sections),
        version=facts.model.version, overall=score.overall, notes=list(d.notes),
        prose="writer" if writer else "deterministic")


# ------------------------------------------------------------------ the draft in words
class DraftedCard(CardDraft):
    """The result of :func:`draft_card`: a :class:`CardDraft` that says what it rests on."""

    def summary(self) -> str:
        return draft_summary(self)

    def text(self) -> str:
        return describe_draft(self)


# (``DraftedCard.summary()`` / ``DraftedCard.text()`` call these)
_MARKER = re.compile(r"\[E\d+ (measured|inferred|weights|declared): [^\]]+\]")
_NOT_CLAIMS = ("glossary", "more information", "evidence", "model card authors",
               "model card contact")  # sections that state nothing about the model
_KIND_WORDS = {"declared": ("fact declared in the model's files", "facts declared in the model's files"),
               "weights": ("reading of the stored tensors", "readings of the stored tensors"),
               "inferred": ("lineage edge inferred from the weights",
                            "lineage edges inferred from the weights"),
               "measured": ("benchmark run", "benchmark runs")}
_KIND_SHORT = {"declared": "its files", "weights": "the tensors", "inferred": "the lineage",
               "measured": "runs"}


def _sections(text: str) -> tuple[int, list[tuple[str, list[str]]]]:
    """How many lines cite evidence, and (title, evidence kinds cited, in order) of each
    ``##`` section that states something about the model."""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        text = text[end + 4:] if end >= 0 else text
    out: list[tuple[str, list[str]]] = []
    statements = 0
    title, kinds, skip = "", [], False  # the summary under the card's title counts too
    for line in text.splitlines():
        if line.startswith("## "):
            if title and not skip:
                out.append((title, kinds))
            title = line[3:].replace("[optional]", "").strip()
            kinds, skip = [], title.lower().startswith(_NOT_CLAIMS)
            continue
        if skip:
            continue
        found = _MARKER.findall(line)
        if found:
            statements += 1
        for k in found:
            if k not in kinds:
                kinds.append(k)
    if title and not skip:
        out.append((title, kinds))
    return statements, out


def draft_summary(draft: CardDraft) -> str:
    """One line about a drafted card."""
    statements, _ = _sections(draft.markdown)
    return (f"Drafted card for {draft.model}: {draft.overall:.0%} complete, "
            f"{plural(statements, 'statement')} citing evidence, "
            f"{plural(len(draft.missing), 'item')} unknown.")


def describe_draft(draft: CardDraft) -> str:
    """A paragraph on what the draft rests on and what it lacks, then the whole card."""
    card = draft.markdown
    statements, sections = _sections(card)
    kinds: dict[str, int] = {}
    for e in draft.evidence:
        kinds[str(e.get("kind"))] = kinds.get(str(e.get("kind")), 0) + 1
    version = f" (version {draft.version})" if draft.version is not None else ""
    para = [f"Draft model card for {draft.model}{version}, {draft.overall:.0%} complete by the "
            "Hub's card guidance."]
    if draft.evidence:
        counts = [plural(n, *_KIND_WORDS[k]) if k in _KIND_WORDS else f"{n} {k}"
                  for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])]
        para.append(f"{plural(statements, 'statement')} "
                    f"{'cites' if statements == 1 else 'cite'} "
                    f"{plural(len(draft.evidence), 'piece of evidence', 'pieces of evidence')}: "
                    f"{join(counts)}.")
    else:
        para.append("No statement cites evidence: the lake holds nothing about this model "
                    "beyond its name.")
    filled = [f"{t} from {join([_KIND_SHORT.get(k, k) for k in ks])}"
              for t, ks in sections if ks]
    empty = [t for t, ks in sections if not ks]
    if filled:
        para.append("By section: " + "; ".join(filled) + ".")
    if empty:
        para.append(f"Nothing the lake knows fills {join(empty)}.")
    unknown = [unknown_label(m) if not m.startswith("metadata:")
               else f"{m.split(': ', 1)[1]} (metadata)" for m in draft.missing]
    if unknown:
        para.append(f"Still unknown: {join(unknown)}.")
    if draft.notes:
        para.append("Notes for the reviewer: " + "; ".join(n.rstrip(".") for n in draft.notes)
                    + ".")
    if draft.prose == "writer":
        para.append("A language model wrote the prose of some sections from that evidence only.")
    para.append("The card follows.")
    return " ".join(para) + "\n\n" + card
