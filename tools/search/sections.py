"""A card's Markdown as search reads it: cleaned sections (links, badges, HTML and tables
flattened to words), through the one Markdown section parser of :mod:`modellake.tools.formats`.
"""
from __future__ import annotations

import functools
import re

from modellake.tools.formats import markdown


def clean_inline(line: str) -> str:
    line = re.sub(r"<!--.*?-->", " ", line)
    line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r" \1 ", line)          # images -> alt text
    line = re.sub(r"\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)", " ", line)   # badges
    line = re.sub(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)", r"\1", line)  # links -> their text
    line = re.sub(r"<[^>]{0,400}>", " ", line)                           # HTML tags
    line = re.sub(r"https?://\S+", " ", line)
    line = re.sub(r"`+|(?<![\w*])[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?![\w*])", "", line)
    line = line.replace("&nbsp;", " ").replace("&amp;", "&")
    if re.fullmatch(r"\s*\|?[\s:|-]*\|?\s*", line):                      # table rule rows
        return ""
    if "|" in line:
        line = " ; ".join(c.strip() for c in line.strip().strip("|").split("|") if c.strip())
    return re.sub(r"\s+", " ", line).strip()


def sections(text: str) -> list[tuple[list[str], str]]:
    """``(heading path, cleaned body)`` per section, in order (text before any heading first)."""
    return [(list(path), body) for path, body in _sections(text)]


@functools.lru_cache(maxsize=16)
def _sections(text: str) -> tuple[tuple[tuple[str, ...], str], ...]:
    """The parse behind :func:`sections`, kept for the few texts in use (one card's facets and
    chunks read the same text several times)."""
    text = re.sub(r"<!--.*?-->|<(style|script)\b.*?</\1\s*>", " ", text, flags=re.S | re.I)
    out = [(tuple(sec.path), _section_body(sec.lines))
           for sec in markdown.sections(text, setext=False, title=clean_inline)]
    return tuple((p, body) for p, body in out if body or p)


def _section_body(lines: list[markdown.Line]) -> str:
    """Cleaned prose lines, plus the first lines of each code block (commands, ids)."""
    out: list[str] = []
    code_lines = 0
    for ln in lines:
        if ln.kind == "fence":
            code_lines = 0
        elif ln.kind == "code":
            code_lines += 1
            if code_lines <= 3 and ln.text.strip():
                out.append(ln.text.strip()[:160])
        elif line := clean_inline(ln.text):
            out.append(line)
    return "\n".join(out)
