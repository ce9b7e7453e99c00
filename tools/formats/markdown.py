"""Markdown structure of card text: which lines are code, the headings, the sections.

The one reader of Markdown structure for every user of card text (the card scorer,
drafter and verifier, inspection, the ``read_card`` tool, the search index). Card
text is real-world Markdown, so the reader is deliberately small and forgiving:

* fenced code: a line starting (after indentation) with three backticks or tildes
  opens a fence, and the next line starting with the same three characters closes it;
  nothing inside is a heading;
* ATX headings: ``# Title`` to ``###### Title`` (at most 3 spaces of indentation,
  closing ``#``s dropped);
* setext headings (``setext=True``): a short prose line underlined with ``===``
  (level 1) or ``---`` (level 2); lines that start a list, table, quote or HTML tag
  are not titles;
* whole-line bold labels (``bold=LABELS``): ``**Training data**`` or ``__Usage:__`` on a
  line of their own, level ``BOLD_LEVEL`` (deeper than any real heading), as many
  cards use them instead of headings; ``bold`` bounds the label's length in characters.

``sections(text)`` cuts text into sections: the text before the first heading (level 0),
then one per heading, each holding its lines up to the next heading of any level;
``lines(text)`` marks each line as prose, fence or code.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

FENCES = ("```", "~~~")
BOLD_LEVEL = 7
LABELS = (2, 80)        # bold lines read as headings: short labels (the card scorer)...
ANY_BOLD = (1, None)    # ...or any whole-line bold text (inspection's heading list)
SETEXT_MAX_CHARS = 120  # a longer line above a rule is a paragraph, not a title

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_UNDERLINE = re.compile(r"=+|-{2,}")
_BOLD = re.compile(r"\*\*([^*]+)\*\*:?|__([^_]+)__:?")
_NOT_TITLES = ("-", "*", "|", ">", "<")  # list items, tables, quotes, HTML


@dataclass(frozen=True)
class Line:
    """One line of the text, as written."""

    number: int  # 1-based
    text: str
    kind: str    # "text", "fence" (a line opening or closing a fence) or "code" (inside one)


@dataclass
class Section:
    """A heading and the lines under it, up to the next heading of any level."""

    title: str                # "" for the text before the first heading
    level: int                # 1-6 (ATX, setext), BOLD_LEVEL (bold label), 0 (before any heading)
    line: int                 # 1-based line of the heading (of its title, for setext); 0 before any
    path: tuple[str, ...]     # titles of the enclosing headings, then this one's
    lines: list[Line] = field(default_factory=list)

    @property
    def body(self) -> str:
        """The lines under the heading (code and fence lines included), joined."""
        return "\n".join(ln.text for ln in self.lines)


class _Fence:
    """Which fence is open while lines are read in order."""

    def __init__(self) -> None:
        self.open: str | None = None

    def kind(self, line: str) -> str:
        s = line.strip()
        if self.open:
            if s.startswith(self.open):
                self.open = None
                return "fence"
            return "code"
        if s.startswith(FENCES):
            self.open = s[:3]
            return "fence"
        return "text"


def _split(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


def lines(text: str, *, fences: bool = True) -> list[Line]:
    """Every line of ``text``, marked as prose, fence or code (all prose if not ``fences``)."""
    fence = _Fence()
    return [Line(n, raw, fence.kind(raw) if fences else "text")
            for n, raw in enumerate(_split(text), 1)]


def unclosed_fence(text: str) -> bool:
    """Whether ``text`` ends inside a fenced code block."""
    fence = _Fence()
    for raw in _split(text):
        fence.kind(raw)
    return fence.open is not None


def _setext_title(current: Section) -> Line | None:
    """The last line of the current section, when it can be a setext heading's title."""
    if not current.lines or current.lines[-1].kind != "text":
        return None
    prev = current.lines[-1]
    s = prev.text.strip()
    if s and not s.startswith(_NOT_TITLES) and len(s) < SETEXT_MAX_CHARS:
        return prev
    return None


def _bold_label(s: str, bold: tuple[int, int | None] | None) -> str | None:
    """The label of a whole-line bold text whose length is within ``bold = (min, max)``."""
    m = _BOLD.fullmatch(s) if bold else None
    if m is None:
        return None
    label, (low, high) = m.group(1) or m.group(2), bold
    return label if len(label) >= low and (high is None or len(label) <= high) else None


def _heading(ln: Line, current: Section, setext: bool,
             bold: tuple[int, int | None] | None) -> tuple[int, str, int] | None:
    """(level, raw title, line number) when ``ln`` makes a heading (a setext one takes the
    current section's last line as its title)."""
    m = _ATX.match(ln.text)
    if m:
        return len(m.group(1)), m.group(2), ln.number
    s = ln.text.strip()
    if setext and _UNDERLINE.fullmatch(s):
        prev = _setext_title(current)
        if prev is not None:
            return (1 if s[0] == "=" else 2), prev.text, prev.number
    label = _bold_label(s, bold)
    return None if label is None else (BOLD_LEVEL, label, ln.number)


def sections(text: str, *, fences: bool = True, setext: bool = True,
             bold: tuple[int, int | None] | None = None,
             title: Callable[[str], str] | None = None) -> list[Section]:
    """The text before the first heading (always first, level 0), then one section per heading.

    ``fences=False`` reads headings inside fenced code too; ``setext`` turns setext headings
    on; ``bold=(min, max)`` reads whole-line bold labels of that many characters as headings
    (``LABELS``, ``ANY_BOLD``; max ``None``: any length). ``title`` cleans a heading's text
    into its title (default: strip it); a heading whose title cleans to nothing is read as
    a line of text.
    """
    out = [Section("", 0, 0, ())]
    stack: list[tuple[int, str]] = []
    for ln in lines(text, fences=fences):
        head = _heading(ln, out[-1], setext, bold) if ln.kind == "text" else None
        if head is not None:
            level, raw, number = head
            name = title(raw) if title else raw.strip()
        if head is None or (title is not None and not name):
            out[-1].lines.append(ln)
            continue
        if number != ln.number:  # setext: its title was read as the section's last line
            out[-1].lines.pop()
        stack = [p for p in stack if p[0] < level] + [(level, name)]
        out.append(Section(name, level, number, tuple(t for _, t in stack)))
    return out


def subtree(secs: list[Section], i: int) -> list[Section]:
    """Section ``i`` and every deeper section right below it (the text before the first
    heading has none)."""
    top = secs[i]
    out = [top]
    if not top.level:
        return out
    for s in secs[i + 1:]:
        if s.level <= top.level:
            break
        out.append(s)
    return out
