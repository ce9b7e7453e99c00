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
from modellake.tools.search.hits import behind_note

BATCH_MODELS = 64
ENCODE_STEP = 256  # passages encoded between two progress reports
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
    pending: int = 0  # current models left unindexed (a sync that did not encode)

    def describe(self) -> str:
        """For a person: '3 cards indexed (41 passages encoded, 12 reused) in 2.1 s'."""
        if self.pending:
            return f"{self.pending} models left out of the search index"
        if not (self.added or self.removed or self.renamed):
            return "search index up to date"
        text = f"{self.added} card{'s' if self.added != 1 else ''} indexed ({self.embedded} passages encoded"
        text += f", {self.reused} reused)" if self.reused else ")"
        if self.removed or self.renamed:
            text += f", {self.removed} removed, {self.renamed} renamed"
        return text + f" in {self.seconds:.1f} s" + (" (rebuilt)" if self.rebuilt else "")


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
                  report: IndexReport, previous: dict[str, str] | None = None,
                  progress: Progress | None = None) -> np.ndarray:
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
        for hsh, v in zip(todo, _encode(list(todo.values()), progress)):
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


def _encode(texts: list[str], progress: Progress | None) -> np.ndarray:
    """Card passages encoded in steps of ``ENCODE_STEP``, each step reported."""
    if progress is None or len(texts) <= ENCODE_STEP:
        out = embed.embed(texts)
        if progress:
            progress("passages", len(texts), len(texts))
        return out
    parts = []
    for start in range(0, len(texts), ENCODE_STEP):
        progress("passages", start, len(texts))
        parts.append(embed.embed(texts[start:start + ENCODE_STEP]))
    progress("passages", len(texts), len(texts))
    return np.concatenate(parts)


def _index_models(h: Handle, models: list[ModelRecord], cache: dict[str, np.ndarray],
                  report: IndexReport, previous: dict[str, str] | None = None,
                  progress: Progress | None = None) -> list[str]:
    docs = [build(m)[0] for m in models]
    items = [(cid, hsh, text) for d in docs for cid, _, text, hsh in d.chunks]
    vectors = _embed_chunks(h, items, cache, report, previous, progress)
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


@dataclass
class IndexStatus(Record):
    """How far the search index is behind the catalog."""

    indexed: int = 0  # models in the index
    behind: int = 0  # current models not indexed yet (their cards are not searchable)
    stale: int = 0  # removals and renames not applied yet (cheap: no encoding)
    rebuild: bool = False  # the index format or the embedder changed: everything is re-indexed

    @property
    def up_to_date(self) -> bool:
        return not (self.behind or self.stale or self.rebuild)

    def note(self) -> str:
        """One line for a person; empty when the index is up to date."""
        if self.rebuild:
            return (f"the search index must be rebuilt ({self.indexed} models indexed in an older "
                    "format); run `modellake reindex`")
        return behind_note(self.behind, self.indexed) if self.behind else ""


@dataclass
class _Plan:
    rebuild: bool
    compatible: bool
    added: list[int]
    removed: list[int]
    renamed: list[int]
    current: dict[int, str]
    last_event: int


def _vectors_compatible(h: Handle) -> bool:
    """The vector store holds vectors of this embedder (and holds some when docs exist)."""
    return h.vectors.is_compatible() and not (h.vectors.chunk_count() == 0 and h.text.doc_count() > 0)


def _plan(h: Handle, rebuild: bool = False) -> _Plan:
    """What a sync would do: rebuild, or add / remove / rename these models."""
    last_event = h.catalog.last_event_id()
    compatible = _vectors_compatible(h)
    rebuild = rebuild or not compatible or h.text.state("signature") != signature()
    current = h.text.current_models()
    indexed = {} if rebuild else h.text.indexed()
    return _Plan(rebuild, compatible, sorted(set(current) - set(indexed)),
                 sorted(set(indexed) - set(current)),
                 sorted(i for i in set(current) & set(indexed) if current[i] != indexed[i]),
                 current, last_event)


def index_status(lake: Lake | Catalog | str | Path) -> IndexStatus:
    """How far the index is behind the catalog (a few ms; changes nothing)."""
    with open_lake(lake) as h:
        if not needs_sync(h) and _vectors_compatible(h):
            return IndexStatus(indexed=h.text.doc_count())
        p = _plan(h)
        return IndexStatus(indexed=0 if p.rebuild else h.text.doc_count(), behind=len(p.added),
                           stale=len(p.removed) + len(p.renamed), rebuild=p.rebuild)


def _start_rebuild(h: Handle, p: _Plan) -> tuple[dict[str, str] | None, set[str]]:
    """Clear the index, marked unsynced in the same transaction (an interrupted rebuild is
    found and redone by the next sync); returns the vectors an unchanged text may reuse."""
    previous: dict[str, str] | None = None
    old_ids: set[str] = set()
    if p.compatible:  # keep the vectors until the end: unchanged texts reuse them
        old = h.text.chunk_hashes()
        previous = {hsh: cid for cid, hsh in old}
        old_ids = {cid for cid, _ in old}
        h.vectors.reset_sketches()
    else:
        h.vectors.reset()
    with h.catalog.transaction():
        h.text.set_state("signature", "rebuilding")
        h.text.set_state("synced_event", -1)
        h.text.clear()
    return previous, old_ids


def _apply_cheap(h: Handle, p: _Plan, report: IndexReport) -> None:
    """Renames and removals: no encoding, milliseconds."""
    if p.renamed:
        with h.catalog.transaction():
            for i in p.renamed:
                h.text.rename_doc(i, p.current[i])
    if p.removed:
        h.vectors.delete_models(p.removed)
        with h.catalog.transaction():
            h.text.delete_docs(p.removed)
    report.removed, report.renamed = len(p.removed), len(p.renamed)


def _add(h: Handle, p: _Plan, report: IndexReport, previous: dict[str, str] | None,
         progress: Progress | None, batch: int) -> set[str]:
    """Index the added models, batch by batch, reporting cards and passages."""
    cache: dict[str, np.ndarray] = {}
    new_ids: set[str] = set()
    for start in range(0, len(p.added), batch):
        if progress:
            progress("cards", start, len(p.added))
        ids = p.added[start:start + batch]
        new_ids.update(_index_models(h, _load(h, ids, p.current), cache, report, previous,
                                     progress))
    if progress:
        progress("cards", len(p.added), len(p.added))
    report.added = len(p.added)
    return new_ids


def sync(h: Handle, *, rebuild: bool = False, progress: Progress | None = None,
         batch: int = BATCH_MODELS, embed_new: bool = True) -> IndexReport:
    """Bring the index up to date with the catalog (see the module docstring).

    ``embed_new=False`` applies removals and renames only and leaves added models pending
    (``report.pending``): a search answers at once from what is indexed. ``progress`` gets
    ``("cards", done, total)`` per batch of models and ``("passages", done, total)`` as card
    passages are encoded.
    """
    from modellake.store.index import index_lock

    t0 = time.perf_counter()
    report = IndexReport()
    with index_lock(h.lake.index_dir):
        if not rebuild and not needs_sync(h) and _vectors_compatible(h):
            report.models = h.text.doc_count()
            report.seconds = time.perf_counter() - t0
            return report
        p = _plan(h, rebuild)
        if p.rebuild and not embed_new:
            report.pending, report.models = len(p.current), h.text.doc_count()
            report.seconds = time.perf_counter() - t0
            return report
        previous, old_ids = _start_rebuild(h, p) if p.rebuild else (None, set())
        report.rebuilt = p.rebuild
        new_ids = _add(h, p, report, previous, progress, batch) if embed_new else set()
        if old_ids - new_ids:
            h.vectors.delete_chunks(sorted(old_ids - new_ids))
        _apply_cheap(h, p, report)  # after the additions: a new version reuses its predecessor's vectors
        if embed_new or not p.added:
            with h.catalog.transaction():
                h.text.set_state("synced_event", p.last_event)
                h.text.set_state("signature", signature())
        report.pending = 0 if embed_new else len(p.added)
        report.models = h.text.doc_count()
    report.seconds = time.perf_counter() - t0
    return report


def catch_up(h: Handle, wait: bool = False, progress: Progress | None = None) -> tuple[int, int]:
    """Before a query: apply removals and renames (cheap); index added models only when
    ``wait`` (else they are left out). Returns (models the answer leaves out, models indexed)."""
    if not needs_sync(h) and _vectors_compatible(h):
        return 0, 0
    rep = sync(h, embed_new=wait, progress=progress)
    return rep.pending, rep.models


def sync_index(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Index what changed in the catalog since the last sync (nothing to do: a few ms).

    ``ingest`` calls it for the models it adds; after ``rm`` and ``rename`` a search applies
    the change itself (no encoding needed).
    """
    with open_lake(lake) as h:
        return sync(h, progress=progress)


def reindex(lake: Lake | Catalog | str | Path, *, progress: Progress | None = None) -> IndexReport:
    """Drop the search index and rebuild it from the catalog."""
    with open_lake(lake) as h:
        return sync(h, rebuild=True, progress=progress)
