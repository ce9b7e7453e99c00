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


def behind_note(behind: int, indexed: int) -> str:
    """What a person is told when ``behind`` models are not in the search index yet."""
    plural = "s are" if behind != 1 else " is"
    return (f"{behind} model{plural} not in the search index yet; answering from the {indexed} "
            "indexed (run `modellake reindex`, or search with --wait)")


@dataclass
class SearchResult(Record):
    hits: list[SearchHit]
    query: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0
    behind: int = 0  # models in the catalog that the index did not cover for this answer
    note: str = ""  # what a person should know about this answer (e.g. the index is behind)

    def to_dict(self) -> dict[str, Any]:
        out = {"hits": [h.to_dict() for h in self.hits], "query": self.query,
               "candidates": self.candidates}
        if self.note:
            out.update(index_behind=self.behind, note=self.note)
        return out

    def behind_by(self, behind: int, indexed: int) -> SearchResult:
        """This result, noting the ``behind`` models that the index does not cover yet."""
        if behind:
            self.behind, self.note = behind, behind_note(behind, indexed)
        return self

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hits]
