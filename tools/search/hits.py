"""What a search returns: the models that answer, each with why."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modellake.store.records import Record


@dataclass
class SearchHit(Record):
    """One model that answers the query, and why."""

    name: str
    score: float
    why: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": round(self.score, 4), "why": self.why}


@dataclass
class SearchResult(Record):
    hits: list[SearchHit]
    query: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"hits": [h.to_dict() for h in self.hits], "query": self.query,
                "candidates": self.candidates}

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hits]
