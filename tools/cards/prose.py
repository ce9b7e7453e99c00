"""The LLM hook: a writer rewrites the prose of some sections from their evidence only."""
from __future__ import annotations

from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.text import uniq, unsupported_numbers

WRITER_SECTIONS = ("model_description", "direct_use", "bias_risks_limitations",
                   "training_procedure", "results_summary")


def apply_writer(d: Draft) -> None:
    """Each of ``WRITER_SECTIONS`` written by ``d.writer`` from that section's evidence; text
    that fails, is empty or holds a number not in the evidence leaves the deterministic text."""
    if d.writer is None:
        return
    for key in WRITER_SECTIONS:
        evs = uniq(d.section_ev.get(key, []))
        if not evs or not d.fields.get(key):
            continue
        payload = [dict(e.to_dict(), marker=e.marker) for e in evs]
        try:
            text = d.writer(key, payload)
        except Exception as exc:  # noqa: BLE001 - a failing writer leaves the draft as is
            d.notes.append(f"writer failed on {key} ({type(exc).__name__}); "
                           "the deterministic text is kept")
            continue
        bad = unsupported_numbers(text or "", evs, d.m.name)
        if not text or not text.strip() or bad:
            why = f"numbers not in the evidence: {', '.join(bad[:5])}" if bad else "empty text"
            d.notes.append(f"writer text for {key} rejected ({why}); "
                           "the deterministic text is kept")
            continue
        text = text.strip()
        missing = [e.marker for e in evs if e.marker not in text]
        d.fields[key] = text + (" " + " ".join(missing) if missing else "")
