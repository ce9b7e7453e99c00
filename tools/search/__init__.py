"""Search the lake: by need, by constraint, by lineage, by results, by weights.

Public API (behind ``modellake search``, ``similar`` and ``reindex``): :func:`search`,
:func:`similar`, :func:`search_runs`, :func:`sync_index`, :func:`reindex`, :func:`parse_query`.

Inside: :mod:`.query` (a query's constraints and clauses), :mod:`.vocab` (the words they are
written in), :mod:`.doc` (a model's searchable document), :mod:`.index` (FTS5 and Chroma kept
in sync with the catalog), :mod:`.family` (declared and inferred descent), :mod:`.rank`
(constraint checks, result rows, fusion), :mod:`.engine` (answering a query), :mod:`.runs`
(benchmark runs as results), :mod:`.state` (what is kept per lake and process),
:mod:`.hits` (the result records).
"""
from __future__ import annotations

from modellake.tools.search.engine import search, similar
from modellake.tools.search.hits import SearchHit, SearchResult
from modellake.tools.search.index import IndexReport, IndexStatus, index_status
from modellake.tools.search.query import license_ids, parse_query, size_bounds
from modellake.tools.search.runs import search_runs
from modellake.tools.search.state import RESULT_SOURCES
from modellake.tools.search.sync import reindex, sync_index

__all__ = ["IndexReport", "IndexStatus", "RESULT_SOURCES", "SearchHit", "SearchResult", "index_status",
           "license_ids", "parse_query", "reindex", "search", "search_runs", "similar", "size_bounds",
           "sync_index"]
