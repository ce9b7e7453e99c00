"""Card text out of the lake: a draft saved as ``README.md``, and an LLM as the section writer."""
from __future__ import annotations

from pathlib import Path

from modellake.store.records import CardDraft
from modellake.tools.cards.drafting import Writer


def write_card(draft: CardDraft, path: str | Path) -> Path:
    """Write a draft's card text to ``path`` (UTF-8, ``\\n`` line endings); returns the path."""
    p = Path(path)
    if p.is_dir():
        p = p / "README.md"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(draft.markdown if draft.markdown.endswith("\n") else draft.markdown + "\n", encoding="utf-8")
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
