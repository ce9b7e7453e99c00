"""Well-known benchmarks and datasets by their usual spellings, with what they are about in
plain words (``data/benchmarks.json``). Search reads result rows through it (a question about
"grade-school maths" finds gsm8k runs) and a card's datasets (a model fine-tuned on EuroSAT is
found by "satellite imagery").
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources


@dataclass
class Benchmark:
    key: str
    names: list[re.Pattern[str]]
    about: str
    query: list[re.Pattern[str]]  # how a question names it (plain words like "math" do not)


_benchmarks: list[Benchmark] | None = None


def benchmarks() -> list[Benchmark]:
    global _benchmarks
    if _benchmarks is None:
        raw = json.loads(resources.files("modellake.tools.search").joinpath("data/benchmarks.json").read_text())
        _benchmarks = [Benchmark(b["key"], [re.compile(p, re.I) for p in b["names"]], b["about"],
                                  [re.compile(p, re.I) for p in b.get("query", b["names"])])
                       for b in raw["benchmarks"]]
    return _benchmarks


@functools.lru_cache(maxsize=20_000)
def benchmarks_in(text: str, question: bool = False) -> frozenset[str]:
    """The benchmarks a text names (by their usual spellings; in a ``question``, only by
    names that are not plain words)."""
    return frozenset(b.key for b in benchmarks()
                     if any(p.search(text) for p in (b.query if question else b.names)))


def about(text: str, limit: int = 3) -> list[str]:
    """What the benchmarks and datasets a text names are about (at most ``limit``)."""
    return [b.about for b in benchmarks() if any(p.search(text) for p in b.names)][:limit]
