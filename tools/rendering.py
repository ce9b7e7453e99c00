"""How a tool's result speaks for itself: one line, a short text, structured data.

Every result record a tool returns offers ``summary()`` (one line), ``text()`` (what a person
reads: the direct answer first, in plain sentences, a table when a list is long) and
``to_dict()`` (structured data for citations and ``--json``). The CLI, the agent's answers
and the web chat all print ``text()``; nothing else writes a tool's result in words.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

TABLE_FROM = 7  # a list this long or longer is written as a table


@runtime_checkable
class Rendered(Protocol):
    def summary(self) -> str: ...

    def text(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


def join(items: Sequence[str], word: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    items = [str(i) for i in items]
    if len(items) <= 2:
        return f" {word} ".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (the chat renders it; a terminal shows it as aligned text)."""
    cells = [[_cell(c) for c in r] for r in rows]
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(r) + " |" for r in cells])


def flow(v: Any, number: Any = None) -> str:
    """A value as people read it, never a Python repr: lists as ``[a, b]`` and mappings as
    ``{k: v}`` (YAML's flow style, no quotes), ``None`` as ``-``, booleans as yes/no;
    ``number`` formats ints and floats (``str`` by default)."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return number(v) if number is not None else str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {flow(x, number)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple, set, frozenset)):
        return "[" + ", ".join(flow(x, number) for x in v) + "]"
    return str(v)


def _cell(v: Any) -> str:
    if v is None or v == "":
        return "-"
    return str(v).replace("|", "/").replace("\n", " ")


def text_of(result: Any) -> str | None:
    """The result's own text, when it renders itself."""
    fn = getattr(result, "text", None)
    return fn() if callable(fn) else None


def score_pair(a: float, b: float) -> tuple[str, str]:
    """Two scores rounded alike and told apart: 0.28 against 0.2795, not 0.28 against 0.28."""
    x, y = round_score(a), round_score(b)
    digits = 4
    while x == y and a != b and digits <= 6:
        x, y = f"{a:.{digits}g}", f"{b:.{digits}g}"
        digits += 1
    return x, y


def round_score(v: float) -> str:
    """Three significant digits, without a trailing zero run: 0.95, 1520; a score between 10
    and 1000 (a percentage) with up to two decimals: 79.93."""
    if v in (0, 1):
        return f"{v:.1f}"  # accuracy 1.0, not "1"
    if 10 <= abs(v) < 1000:  # a percentage-like score keeps two decimals: 79.93, not 79.9
        return f"{v:.2f}".rstrip("0").rstrip(".")
    text = f"{v:.3g}"
    if "e" in text:
        return f"{v:.0f}"
    return text
