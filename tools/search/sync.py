"""Keeping what search reads up to date: the card index (:mod:`.index`) and the vectors of
the stored results' descriptions (:mod:`.runs`)."""
from __future__ import annotations

import logging
from pathlib import Path

from modellake.store.catalog import Catalog
from modellake.store.lake import Lake
from modellake.tools.search.index import Handle, IndexReport, Progress, open_lake, sync
from modellake.tools.search.runs import sync_result_docs

log = logging.getLogger(__name__)


def sync_index(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Index what changed in the catalog since the last sync (nothing to do: a few ms).

    ``ingest`` calls it for the models it adds; after ``rm`` and ``rename`` a search applies
    the change itself (no encoding needed). The descriptions of stored results the vector
    index lacks are embedded too (``progress`` gets ``("results", done, total)``).
    """
    with open_lake(lake) as h:
        report = sync(h, progress=progress)
        _sync_results(h, report, progress)
        return report


def reindex(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Drop the search index and rebuild it from the catalog."""
    with open_lake(lake) as h:
        report = sync(h, rebuild=True, progress=progress)
        _sync_results(h, report, progress)
        return report


def _sync_results(h: Handle, report: IndexReport, progress: Progress | None) -> None:
    try:
        report.results = sync_result_docs(h, progress)
    except Exception:  # noqa: BLE001 - a search embeds what is missing itself
        log.debug("embedding result documents failed", exc_info=True)
