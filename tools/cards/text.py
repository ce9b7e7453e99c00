"""How a drafted card writes numbers, and the check that each one comes from its evidence.

Shared by the drafter (:mod:`.draft`) and the verifier (:mod:`.verify`): the verifier
accepts a number in a statement only when it is one of the forms these helpers write for
a value held by that statement's evidence.
"""
from __future__ import annotations

import re
from typing import Any

from modellake.tools.cards.facts import Evidence
from modellake.tools.inspection import human_count


def num(v: Any) -> str:
    """A metric value or statistic as shown in a card."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if abs(v) >= 100:
        return f"{v:.2f}"
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s if s not in ("-0", "") else "0"


def uniq(evs: list[Evidence]) -> list[Evidence]:
    seen: dict[str, Evidence] = {}
    for e in evs:
        seen.setdefault(e.id, e)
    return list(seen.values())


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def count(n: int) -> str:
    return f"{n:,} ({human_count(n)})" if n >= 1000 else str(n)


def mbytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


_NUM = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")


def number_forms(value: Any) -> set[str]:
    """Every way a drafted card may write a number from the evidence."""
    out: set[str] = set()
    if isinstance(value, bool):
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            out |= number_forms(v)
            out |= number_forms(k)
        return out
    if isinstance(value, (list, tuple)):
        for v in value:
            out |= number_forms(v)
        return out
    if isinstance(value, str):
        return {m.group(0).rstrip("%") for m in _NUM.finditer(value)}
    if not isinstance(value, (int, float)):
        return out
    v = float(value)
    out |= {num(value), num(v), str(value), f"{v:.1f}", f"{v:.2f}", f"{v:.3f}", f"{v:.4f}",
            f"{100 * v:.1f}", f"{100 * v:.0f}", f"{v / 1e6:.1f}", f"{v:,.0f}", f"{int(v)}"}
    h = human_count(int(v)) if abs(v) >= 1000 else None
    if h:
        out.add(h[:-1])
    return {x.lstrip("+") for x in out}


def unsupported_numbers(text: str, evs: list[Evidence], *names: str) -> list[str]:
    """Numbers written in ``text`` that none of ``evs`` holds (names and markers excluded)."""
    text = re.sub(r"\[E\d+ [^\]]*\]", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    for n in sorted({*names, *(e.source for e in evs)}, key=len, reverse=True):
        if n:
            text = text.replace(n, " ")
    allowed: set[str] = set()
    metric_values: list[float] = []
    for e in evs:
        allowed |= number_forms(e.data) | number_forms(e.source) | number_forms(e.claim)
        metric_values += [v for v in (e.data.get("metrics") or {}).values()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for a in metric_values:  # differences between two measured values ("(+0.125)")
        for b in metric_values:
            allowed.add(num(a - b).lstrip("-"))
    bad = []
    for m in _NUM.finditer(text):
        tok = m.group(0).rstrip("%").lstrip("+-").rstrip(",")
        if tok and tok not in allowed and tok.replace(",", "") not in allowed:
            bad.append(m.group(0))
    return bad


# ============================================================================ rendering
