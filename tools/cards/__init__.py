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

Implementation: :mod:`.facts` (evidence); :mod:`.draft` (the drafting steps, in order) over
:mod:`.drafting` (the draft and its evidence shortcuts), one module per group of card
sections (:mod:`.identity`, :mod:`.details`, :mod:`.usage`, :mod:`.training`,
:mod:`.evaluation`, :mod:`.technical`), :mod:`.prose` (the optional writer) and
:mod:`.render` (``templates/modelcard_template.md``); :mod:`.claims` (claims in card text),
:mod:`.audit`, :mod:`.score`, :mod:`.verify`, :mod:`.writer`. Card text is read through
:mod:`modellake.tools.formats.markdown`.
"""
from __future__ import annotations

from modellake.tools.lazy import exports

# name -> the module that defines it: imported on first use, so that reading a card's numbers
# or its own name (``.reported``, ``.naming``, used by search) does not load the drafting
_WHERE = {
    "CardDraft": "modellake.store.records", "KINDS": ".audit", "SEVERITIES": ".audit",
    "CardAudit": ".audit", "CardFinding": ".audit", "check_card": ".audit",
    "TEMPLATE_PATH": ".draft", "WRITER_SECTIONS": ".draft", "Writer": ".draft", "draft_card": ".draft",
    "SECTIONS": ".score", "CardScore": ".score", "score_card": ".score",
    "validate_card": ".verify", "verify_draft": ".verify", "llm_writer": ".writer", "write_card": ".writer",
}
__all__ = sorted(_WHERE)


__getattr__ = exports(__name__, _WHERE, globals())
