"""What a card says a model is, in its own first sentence of prose."""
from __future__ import annotations

import re


def cut(line: str, most: int = 220) -> str:
    return line[:most] + ("…" if len(line) > most else "")


def without_metadata(text: str) -> str:
    """A card's text without its YAML front matter (metadata, not prose)."""
    return re.sub(r"\A---\s*\n.*?\n---\s*\n", "", text, flags=re.S)


def summary_line(prose: str) -> str | None:
    """The card's first sentence of prose (not a heading, badge, table or link list)."""
    prose = without_metadata(re.sub(r"```.*?```", " ", prose, flags=re.S))
    prose = re.sub(r"^#.*$", "\n", prose, flags=re.M)  # a heading ends a paragraph
    for para in re.split(r"\n\s*\n", prose):
        p = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", para).strip()  # links as their words
        if len(p) < 40 or p.startswith(("#", "|", "!", "<", "[", "-", "*", ">")):
            continue
        first = re.split(r"(?<=[.!?])\s", re.sub(r"\s+", " ", re.sub(r"[*_`]+", "", p)))[0]
        return cut(first)
    return None
