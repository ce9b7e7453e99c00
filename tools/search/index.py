"""Keeping the search index in step with the catalog: ``sync_index`` and ``reindex``.

The index is the FTS5 table, facets and chunk texts in the catalog (``store.fts``)
plus the chunk and weight-sketch vectors in ``LAKE/index`` (``store.index``). It
covers the current version of every model. ``sync_index`` is incremental and
cheap when nothing changed: it compares the catalog's last event id with the one
it last synced; when they differ it diffs current model ids (and names) against
indexed ones, drops what was removed, renames what was renamed (no re-embedding:
vectors are keyed by model id) and indexes what was added. Chunks whose exact
text is already indexed reuse their stored vector. A format change (``DOC_VERSION``,
``INDEX_VERSION``, the embedder) or a missing vector directory triggers a rebuild.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog, utcnow
from modellake.store.fts import TextIndex
from modellake.store.lake import Lake
from modellake.store.records import ModelRecord, Record
from modellake.tools.embedding import embedder as embed
from modellake.tools.search.doc import DOC_VERSION, build

BATCH_MODELS = 256
REUSE_CACHE = 50_000  # chunk vectors kept in memory during one sync, by text hash
Progress = Callable[[str, int, int], None]


@dataclass
class IndexReport(Record):
    """What one sync did."""

    added: int = 0
    removed: int = 0
    renamed: int = 0
    chunks: int = 0
    embedded: int = 0  # chunk texts encoded by the model
    reused: int = 0  # chunk vectors copied from identical, already indexed texts
    sketches: int = 0
    rebuilt: bool = False
    seconds: float = 0.0
    models: int = 0  # indexed models after the sync


def signature() -> str:
    from modellake.store.index import INDEX_VERSION

    return f"doc{DOC_VERSION}-vec{INDEX_VERSION}-{embed.name()}"


@dataclass
class Handle:
    """An open lake for search: its catalog (maybe borrowed) and its vector index."""

    lake: Lake
    catalog: Catalog
    owns_catalog: bool
    _vectors: Any = None

    @property
    def text(self) -> TextIndex:
        return self.catalog.text

    @property
    def vectors(self):  # noqa: ANN201 - store.index.VectorIndex, opened on first use
        if self._vectors is None:
            self._vectors = _vector_index(self.lake.index_dir)
        return self._vectors

    def close(self) -> None:
        if self.owns_catalog:
            self.catalog.close()

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_indexes: dict[tuple[str, str], Any] = {}


def _vector_index(index_dir: Path) -> Any:
    """One ``VectorIndex`` per directory and embedder per process (opening one costs ~25 ms)."""
    from modellake.store.index import VectorIndex

    key = (str(index_dir.resolve()), embed.name())
    vi = _indexes.get(key)
    if vi is None or not index_dir.is_dir():
        vi = VectorIndex(index_dir, text_dim=embed.DIM, embedder=embed.chroma_embedding_function(),
                         embedder_name=embed.name())
        _indexes[key] = vi
    return vi


def open_lake(lake: Lake | Catalog | str | Path) -> Handle:
    """A ``Handle`` from a ``Lake``, an open ``Catalog`` (borrowed) or a lake directory."""
    if isinstance(lake, Catalog):
        return Handle(Lake(lake.path.parent), lake, owns_catalog=False)
    if not isinstance(lake, Lake):
        lake = Lake.open(lake)
    return Handle(lake, lake.catalog(), owns_catalog=True)


def needs_sync(h: Handle) -> bool:
    """True when the catalog changed since the last sync (or the index format did)."""
    synced = h.text.state("synced_event")
    if synced is None or h.text.state("signature") != signature():
        return True
    if int(synced) != h.catalog.last_event_id():
        return True
    return not h.lake.index_dir.is_dir()


def _load(h: Handle, ids: list[int], current: dict[int, str]) -> list[ModelRecord]:
    if len(ids) > 64:
        wanted = set(ids)
        return [m for m in h.catalog.list_models() if m.id in wanted]
    out = []
    for mid in ids:
        m = h.catalog.get_model(current[mid])
        if m.id == mid:
            out.append(m)
    return out


def _embed_chunks(h: Handle, items: list[tuple[str, str, str]], cache: dict[str, np.ndarray],
                  report: IndexReport, previous: dict[str, str] | None = None) -> np.ndarray:
    """Vectors for ``(chunk id, text hash, text)``: cached, stored or freshly encoded.

    ``previous`` (text hash -> chunk id still in the vector store) serves a rebuild.
    """
    vecs: dict[str, np.ndarray] = {}
    missing = [hsh for _, hsh, _ in items if hsh not in cache]
    if missing:
        if previous is not None:
            stored = {hsh: previous[hsh] for hsh in missing if hsh in previous}
        else:
            stored = h.text.chunk_ids_by_hash(missing)
        if stored:
            got = h.vectors.chunk_vectors(list(stored.values()))
            for hsh, cid in stored.items():
                if cid in got:
                    vecs[hsh] = got[cid]
    todo: dict[str, str] = {}
    for _, hsh, text in items:
        if hsh not in cache and hsh not in vecs:
            todo.setdefault(hsh, text)
    if todo:
        enc = embed.embed(list(todo.values()))
        for hsh, v in zip(todo, enc):
            vecs[hsh] = v
        report.embedded += len(todo)
    report.reused += len(items) - len(todo)
    out = np.zeros((len(items), embed.DIM), np.float32)
    for i, (_, hsh, _) in enumerate(items):
        v = cache.get(hsh)
        if v is None:
            v = vecs[hsh]
            if len(cache) < REUSE_CACHE:
                cache[hsh] = v
        out[i] = v
    return out


def _index_models(h: Handle, models: list[ModelRecord], cache: dict[str, np.ndarray],
                  report: IndexReport, previous: dict[str, str] | None = None) -> list[str]:
    docs = [build(m)[0] for m in models]
    items = [(cid, hsh, text) for d in docs for cid, _, text, hsh in d.chunks]
    vectors = _embed_chunks(h, items, cache, report, previous)
    h.vectors.add_chunks([i[0] for i in items], [int(i[0].split(":")[0]) for i in items], vectors)
    report.chunks += len(items)
    sk_ids, sk_hashes, sk_vecs = [], [], []
    for m in models:
        if m.has_weights and m.id is not None:
            sk = h.catalog.sketch(m.id)
            if sk is not None and sk.vector:
                sk_ids.append(m.id)
                sk_hashes.append(sk.layout_hash)
                sk_vecs.append(sk.vector)
    h.vectors.add_sketches(sk_ids, sk_hashes, sk_vecs)
    report.sketches += len(sk_ids)
    with h.catalog.transaction():
        h.text.put_docs(docs, utcnow())
    return [i[0] for i in items]


def sync(h: Handle, *, rebuild: bool = False, progress: Progress | None = None,
         batch: int = BATCH_MODELS) -> IndexReport:
    """Bring the index up to date with the catalog (see the module docstring)."""
    from modellake.store.index import index_lock

    t0 = time.perf_counter()
    report = IndexReport()
    with index_lock(h.lake.index_dir):
        last_event = h.catalog.last_event_id()
        compatible = h.vectors.is_compatible() and not (
            h.vectors.chunk_count() == 0 and h.text.doc_count() > 0)
        previous: dict[str, str] | None = None
        old_ids: set[str] = set()
        if rebuild or not compatible or h.text.state("signature") != signature():
            if compatible:  # keep the vectors until the end: unchanged texts reuse them
                old = h.text.chunk_hashes()
                previous = {hsh: cid for cid, hsh in old}
                old_ids = {cid for cid, _ in old}
                h.vectors.reset_sketches()
            else:
                h.vectors.reset()
            with h.catalog.transaction():
                h.text.clear()
            report.rebuilt = True
        elif not needs_sync(h):
            report.models = h.text.doc_count()
            report.seconds = time.perf_counter() - t0
            return report
        current = h.text.current_models()
        indexed = h.text.indexed()
        removed = sorted(set(indexed) - set(current))
        added = sorted(set(current) - set(indexed))
        renamed = sorted(i for i in set(current) & set(indexed) if current[i] != indexed[i])
        if renamed:
            with h.catalog.transaction():
                for i in renamed:
                    h.text.rename_doc(i, current[i])
        cache: dict[str, np.ndarray] = {}
        new_ids: set[str] = set()
        for start in range(0, len(added), batch):
            ids = added[start:start + batch]
            if progress:
                progress("index", start, len(added))
            new_ids.update(_index_models(h, _load(h, ids, current), cache, report, previous))
        if progress:
            progress("index", len(added), len(added))
        if old_ids - new_ids:
            h.vectors.delete_chunks(sorted(old_ids - new_ids))
        if removed:  # after the additions: a new version reuses its predecessor's vectors
            h.vectors.delete_models(removed)
            with h.catalog.transaction():
                h.text.delete_docs(removed)
        with h.catalog.transaction():
            h.text.set_state("synced_event", last_event)
            h.text.set_state("signature", signature())
        report.added, report.removed, report.renamed = len(added), len(removed), len(renamed)
        report.models = h.text.doc_count()
    report.seconds = time.perf_counter() - t0
    return report


def sync_index(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Index what changed in the catalog since the last sync (nothing to do: a few ms).

    Call it after ``ingest``, ``rm`` and ``rename``; ``search`` also calls it first.
    """
    with open_lake(lake) as h:
        return sync(h, progress=progress)


def reindex(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Drop the search index and rebuild it from the catalog."""
    with open_lake(lake) as h:
        return sync(h, rebuild=True, progress=progress)
