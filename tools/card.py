"""Model cards from evidence, and existing cards audited against it (``modellake card``).

The library behind ``modellake card NAME [--out README.md] [--json]`` and
``modellake card --check NAME [--json]``:

* :func:`draft_card` -> :class:`~modellake.store.records.CardDraft`: a Hugging Face model
  card (YAML the Hub accepts + the sections of the Hub's template) filled only with what
  the lake knows, each statement with its evidence marker;
* :func:`write_card` saves a draft's text (a ``README.md``);
* :func:`check_card` -> :class:`CardAudit`: findings where the model's card disagrees
  with the weights, the lineage or the measured runs;
* :func:`score_card` -> :class:`CardScore`: per-section completeness of any card text;
* :func:`verify_draft` / :func:`validate_card`: self-checks (every statement backed,
  the card parses and round-trips through ``huggingface_hub.ModelCard``).

Implementation: :mod:`card_facts` (evidence), :mod:`card_draft` (sections, rendering with
``tools/templates/modelcard_template.md``), :mod:`card_claims` (claims in card text),
:mod:`card_audit`, :mod:`card_score`, :mod:`card_verify`.
"""
from __future__ import annotations

from pathlib import Path

from modellake.store.records import CardDraft
from modellake.tools.card_audit import KINDS, SEVERITIES, CardAudit, CardFinding, check_card
from modellake.tools.card_draft import TEMPLATE_PATH, WRITER_SECTIONS, Writer, draft_card
from modellake.tools.card_score import SECTIONS, CardScore, score_card
from modellake.tools.card_verify import validate_card, verify_draft

__all__ = [
    "KINDS", "SECTIONS", "SEVERITIES", "TEMPLATE_PATH", "WRITER_SECTIONS", "CardAudit",
    "CardDraft", "CardFinding", "CardScore", "Writer", "check_card", "draft_card",
    "llm_writer", "score_card", "validate_card", "verify_draft", "write_card",
]


def write_card(draft: CardDraft, path: str | Path) -> Path:
    """Write a draft's card text to ``path`` (UTF-8, ``\\n`` line endings); returns the path."""
    p = Path(path)
    if p.is_dir():
        p = p / "README.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(draft.text if draft.text.endswith("\n") else draft.text + "\n", encoding="utf-8")
    return p


PROMPT = (
    "Write the \"{section}\" part of a model card in plain English, in at most five sentences. "
    "Use ONLY the facts below; do not add any fact, number, name or opinion that is not in "
    "them; keep every number exactly as written. End each sentence with the marker(s) of the "
    "fact(s) it uses.\n\nFacts:\n{facts}\n")


def llm_writer(generate) -> Writer:
    """A ``writer`` for :func:`draft_card` from any text generator.

    ``generate`` is a callable ``prompt -> str`` or an object with ``invoke(prompt)``
    (a LangChain chat model, as the agent's backends are), whose answer may be a message
    with ``.content``. The drafter still rejects text holding a number not in the evidence.
    """
    def call(prompt: str) -> str:
        out = generate.invoke(prompt) if hasattr(generate, "invoke") else generate(prompt)
        return str(getattr(out, "content", out))

    def writer(section: str, evidence: list[dict]) -> str:
        facts = "\n".join(f"- {e['marker']} {e['claim']}: {e.get('data')}" for e in evidence)
        return call(PROMPT.format(section=section.replace("_", " "), facts=facts))

    return writer
