"""Keeping the search index in step with the catalog: ``sync_index`` and ``reindex``.

The index is the FTS5 table, facets and chunk texts in the catalog (``store.fts``)
plus the chunk and weight-sketch vectors in ``LAKE/index``, or on the Chroma server that
``Lake.index_url`` names (``store.index``). It covers the current version of every model.
``sync_index`` is incremental and cheap when nothing changed: it compares the catalog's
last event id with the one it last synced; when they differ it diffs current model ids
(and names) against indexed ones, drops what was removed, renames what was renamed (no
re-embedding: vectors are keyed by model id) and indexes what was added. Chunks whose
exact text is already indexed reuse their stored vector. A format change (``DOC_VERSION``,
``INDEX_VERSION``, the embedder) or a missing vector directory triggers a rebuild.

Crash safety (a kill or Ctrl-C at any moment leaves an index the next sync repairs):

* each batch of models is written as: ``writing`` = their ids and their documents
  (one commit), then their vectors, then ``writing`` cleared (one commit). A sync
  that finds ``writing`` set drops those models' vectors and documents first
  (:func:`_recover`): they are then simply not indexed yet. Removals work the same way.
* a rebuild commits the signature ``rebuilding`` before it touches anything and
  replaces documents batch by batch (nothing is cleared first, so a search never
  meets vectors without documents); each batch commits how far it got, and the
  signature comes back only with the last write. The next sync (a search included)
  resumes an interrupted rebuild where it stopped, with the usual progress.
* the vector store and the chunk table must hold the same chunks; when they do not
  (the vector directory damaged or copied from elsewhere), the next sync rebuilds.

Which vectors the chunk table describes is recorded too (``vectors_id``: the vector index's
identity, written with the documents' sync state). A catalog shared by several machines, each
with its own embedded index, or a lake pointed at a new or another server, meets vectors it
did not write: they count as missing (the search answers from the card text alone and says
so) until a sync that encodes (``search --wait``, ``ingest``, ``reindex``) rebuilds them there.
An embedded index is written under its file lock; a server is not locked.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
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
from modellake.tools.search.hits import STALE, behind_note

BATCH_MODELS = 64
ENCODE_STEP = 256  # passages encoded between two progress reports
REUSE_CACHE = 50_000  # chunk vectors kept in memory during one sync, by text hash
Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)
REBUILDING = "rebuilding"  # the signature while a rebuild runs (or was interrupted)
WRITING = "writing"  # state key: ids of the models whose documents and vectors are being written
REBUILT_UPTO = "rebuilt_upto"  # state key: "<signature> <last model id>" a rebuild has redone
VECTORS_ID = "vectors_id"  # state key: the identity of the vector index the chunk table describes


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
    stale: bool = False  # the index must be rebuilt (an older version's, or another vector index's)
    results: int = 0  # descriptions of stored results embedded (see tools.search.runs)

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
        if self.results:
            text += f", {self.results} result description{'s' if self.results != 1 else ''} embedded"
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
            self._vectors = _vector_index(self.lake, self.catalog)
        return self._vectors

    def close(self) -> None:
        if self.owns_catalog:
            self.catalog.close()

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_indexes: dict[tuple[str, str, str], Any] = {}


def _vector_index(lake: Lake, catalog: Catalog) -> Any:
    """One ``VectorIndex`` per directory (or server URL and catalog) and embedder per process
    (opening one costs ~25 ms); an embedded one whose directory went is opened afresh. On a
    server, the collections are named after the catalog, so lakes sharing it stay apart."""
    from modellake.store.index import VectorIndex

    namespace = catalog.text.catalog_id() if lake.index_url else ""
    where = lake.index_url or str(lake.index_dir.resolve())
    key = (where, namespace, embed.name())
    vi = _indexes.get(key)
    if vi is None or not (lake.index_url or lake.index_dir.is_dir()):
        vi = VectorIndex(None if lake.index_url else lake.index_dir, text_dim=embed.DIM,
                         embedder=embed.chroma_embedding_function(), embedder_name=embed.name(),
                         url=lake.index_url, namespace=namespace)
        _indexes[key] = vi
    return vi


class _NoVectors:
    """Stands in for vectors a search must not trust (another index's, or another embedder's)
    until a sync rebuilds them: the answer then comes from the card text alone."""

    def query_chunks(self, vector: np.ndarray, n: int,
                     chunk_ids: Sequence[str] | None = None) -> list[tuple[str, int, float]]:
        return []

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {}

    def query_sketches(self, vector: Sequence[float], layout_hash: str, n: int) -> list[tuple[int, float]]:
        return []


def _writer_lock(h: Handle) -> AbstractContextManager[Any]:
    """The embedded index's file lock, held by writers; a server takes no file lock."""
    from modellake.store.index import index_lock

    return nullcontext() if h.lake.index_url else index_lock(h.lake.index_dir)


def open_lake(lake: Lake | Catalog | str | Path) -> Handle:
    """A ``Handle`` from a ``Lake``, an open ``Catalog`` (borrowed) or a lake directory."""
    if isinstance(lake, Catalog):
        from modellake.store.lake import resolve_index

        return Handle(Lake(lake.root, lake.url, resolve_index()), lake, owns_catalog=False)
    if not isinstance(lake, Lake):
        lake = Lake.open(lake)
    return Handle(lake, lake.catalog(), owns_catalog=True)


def needs_sync(h: Handle) -> bool:
    """True when the catalog changed since the last sync (or the index format did)."""
    synced = h.text.state("synced_event")
    if synced is None or h.text.state("signature") != signature() or h.text.state(WRITING):
        return True
    if int(synced) != h.catalog.last_event_id():
        return True
    return h.lake.index_url is None and not h.lake.index_dir.is_dir()


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
                  report: IndexReport, progress: Progress | None = None) -> np.ndarray:
    """Vectors for ``(chunk id, text hash, text)``: cached, stored or freshly encoded.

    A stored vector is found through the chunk table, which always lists what the vector
    store holds (a rebuild replaces both, model by model).
    """
    vecs: dict[str, np.ndarray] = {}
    missing = [hsh for _, hsh, _ in items if hsh not in cache]
    if missing:
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


def _mark_writing(h: Handle, ids: list[int]) -> None:
    with h.catalog.transaction():
        h.text.set_state(WRITING, json.dumps(sorted(ids)))


def _recover(h: Handle) -> None:
    """Undo the step an interrupted sync left half done: the models it was writing lose
    their vectors and documents (a later sync indexes them again, as added models)."""
    raw = h.text.state(WRITING)
    if not raw:
        return
    ids = [int(i) for i in json.loads(raw)]
    h.vectors.delete_models(ids)
    with h.catalog.transaction():
        h.text.delete_docs(ids)
        h.text.set_state("synced_event", -1)
        h.text.clear_state(WRITING)


def _index_models(h: Handle, models: list[ModelRecord], cache: dict[str, np.ndarray],
                  report: IndexReport, progress: Progress | None = None,
                  upto: int | None = None) -> None:
    """Documents (committed with the ``writing`` mark), then vectors, then the mark cleared
    (with ``upto``, the last model id a rebuild has redone)."""
    docs = [build(m)[0] for m in models]
    items = [(cid, hsh, text) for d in docs for cid, _, text, hsh in d.chunks]
    vectors = _embed_chunks(h, items, cache, report, progress)
    ids = [d.model_id for d in docs]
    stale = set(h.text.chunk_ids_of(ids)) - {i[0] for i in items}
    with h.catalog.transaction():
        h.text.set_state(WRITING, json.dumps(sorted(ids)))
        h.text.put_docs(docs, utcnow())
    _write_vectors(h, models, items, vectors, stale, report)
    with h.catalog.transaction():
        h.text.clear_state(WRITING)
        if upto is not None:
            h.text.set_state(REBUILT_UPTO, f"{signature()} {upto}")


def _write_vectors(h: Handle, models: list[ModelRecord], items: list[tuple[str, str, str]],
                   vectors: np.ndarray, stale: set[str], report: IndexReport) -> None:
    """The chunk and weight-sketch vectors of these models; their ``stale`` chunks go."""
    h.vectors.add_chunks([i[0] for i in items], [int(i[0].split(":")[0]) for i in items], vectors)
    if stale:
        h.vectors.delete_chunks(sorted(stale))
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


@dataclass
class IndexStatus(Record):
    """How far the search index is behind the catalog."""

    indexed: int = 0  # models in the index
    behind: int = 0  # current models not indexed yet (their cards are not searchable)
    stale: int = 0  # removals and renames not applied yet (cheap: no encoding)
    rebuild: bool = False  # the index format or the embedder changed: everything is re-indexed
    interrupted: bool = False  # a rebuild was interrupted (or the vectors are out of step)

    @property
    def up_to_date(self) -> bool:
        return not (self.behind or self.stale or self.rebuild)

    def note(self) -> str:
        """One line for a person; empty when the index is up to date."""
        if self.interrupted:
            return ("a rebuild of the search index was interrupted; the next search, or "
                    "`modellake reindex`, finishes it")
        if self.rebuild:
            return (f"the search index must be rebuilt ({self.indexed} models indexed in an older "
                    "format, or into another vector index); run `modellake reindex`")
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
    resume: int | None = None  # an interrupted rebuild redid the models up to this id
    repair: bool = False  # interrupted or inconsistent: rebuilt now, even by a search


def _vectors_compatible(h: Handle) -> bool:
    """The vector store is the one the chunk table was written to and holds vectors of this
    embedder (and holds some when docs exist)."""
    return (_same_vectors(h) and h.vectors.is_compatible()
            and not (h.vectors.chunk_count() == 0 and h.text.doc_count() > 0))


def _same_vectors(h: Handle) -> bool:
    """The vector index in use is the one the last sync recorded. A lake indexed before
    identities were recorded trusts its own index folder (never a server)."""
    recorded = h.text.state(VECTORS_ID)
    if recorded is None:
        return h.lake.index_url is None
    return recorded == h.vectors.identity()


def _consistent(h: Handle) -> bool:
    """The vector store holds exactly the chunks the chunk table lists (counted afresh)."""
    return h.vectors.chunk_count(fresh=True) == h.text.chunk_count()


def _in_sync(h: Handle) -> bool:
    return not needs_sync(h) and _vectors_compatible(h) and _consistent(h)


def _resume_point(h: Handle) -> int | None:
    """The last model id an interrupted rebuild (of this signature) redid, if any."""
    if h.text.state("signature") != REBUILDING:
        return None
    sig, _, upto = (h.text.state(REBUILT_UPTO) or "").rpartition(" ")
    return int(upto) if sig == signature() and upto.isdigit() else None


def _plan(h: Handle, rebuild: bool = False) -> _Plan:
    """What a sync would do: rebuild (or resume a rebuild), or add / remove / rename models."""
    last_event = h.catalog.last_event_id()
    compatible = _vectors_compatible(h)
    interrupted = h.text.state("signature") == REBUILDING
    # vectors out of step with the chunk table (a half-written batch aside, undone first)
    repair = interrupted or (compatible and not h.text.state(WRITING) and not _consistent(h))
    rebuild = rebuild or repair or not compatible or h.text.state("signature") != signature()
    current = h.text.current_models()
    indexed = h.text.indexed()
    resume = _resume_point(h) if rebuild and compatible else None
    if rebuild:
        added = [i for i in sorted(current) if resume is None or i > resume or i not in indexed]
    else:
        added = sorted(set(current) - set(indexed))
    todo = set(added)
    return _Plan(rebuild, compatible, added, sorted(set(indexed) - set(current)),
                 sorted(i for i in set(current) & set(indexed)
                        if current[i] != indexed[i] and i not in todo),
                 current, last_event, resume, repair)


def index_status(lake: Lake | Catalog | str | Path) -> IndexStatus:
    """How far the index is behind the catalog (a few ms; changes nothing)."""
    with open_lake(lake) as h:
        if _in_sync(h):
            return IndexStatus(indexed=h.text.doc_count())
        p = _plan(h)
        writing = set(json.loads(h.text.state(WRITING) or "[]")) & set(p.current)  # half written
        return IndexStatus(indexed=0 if p.rebuild else h.text.doc_count() - len(writing),
                           behind=len(set(p.added) | writing), stale=len(p.removed) + len(p.renamed),
                           rebuild=p.rebuild, interrupted=p.repair)


def _start_rebuild(h: Handle, p: _Plan) -> None:
    """Mark the index as being rebuilt, committed before anything changes (an interrupted
    rebuild is found and resumed by the next sync), then drop the vectors not kept: the
    weight sketches (cheap to re-add), or every vector when they are of another embedder or
    another index's; the index written to is recorded. Documents stay until each is
    replaced: a search never meets vectors without one."""
    if p.resume is not None:
        return
    with h.catalog.transaction():
        h.text.set_state("signature", REBUILDING)
        h.text.set_state("synced_event", -1)
        h.text.clear_state(REBUILT_UPTO)
    if p.compatible:
        h.vectors.reset_sketches()
    else:
        h.vectors.reset()
    written_to = h.vectors.identity()
    with h.catalog.transaction():
        h.text.set_state(REBUILT_UPTO, f"{signature()} 0")
        h.text.set_state(VECTORS_ID, written_to)


def _apply_cheap(h: Handle, p: _Plan, report: IndexReport) -> None:
    """Renames and removals: no encoding, milliseconds."""
    if p.renamed:
        with h.catalog.transaction():
            for i in p.renamed:
                h.text.rename_doc(i, p.current[i])
    if p.removed:
        _mark_writing(h, p.removed)
        h.vectors.delete_models(p.removed)
        with h.catalog.transaction():
            h.text.delete_docs(p.removed)
            h.text.clear_state(WRITING)
    report.removed, report.renamed = len(p.removed), len(p.renamed)


def _add(h: Handle, p: _Plan, report: IndexReport, progress: Progress | None,
         batch: int) -> None:
    """Index the added models, batch by batch, reporting cards and passages."""
    cache: dict[str, np.ndarray] = {}
    for start in range(0, len(p.added), batch):
        if progress:
            progress("cards", start, len(p.added))
        ids = p.added[start:start + batch]
        _index_models(h, _load(h, ids, p.current), cache, report, progress,
                      upto=ids[-1] if p.rebuild else None)
    if progress:
        progress("cards", len(p.added), len(p.added))
    report.added = len(p.added)


def _drop_strays(h: Handle) -> None:
    """After a rebuild: vectors of chunks the chunk table does not list go."""
    known = {cid for cid, _ in h.text.chunk_hashes()}
    stray = [cid for cid in h.vectors.chunk_ids() if cid not in known]
    if stray:
        h.vectors.delete_chunks(stray)


def _finish(h: Handle, p: _Plan) -> None:
    """The sync marker, committed with (after) the last write."""
    written_to = h.vectors.identity()
    with h.catalog.transaction():
        h.text.set_state("synced_event", p.last_event)
        h.text.set_state("signature", signature())
        h.text.set_state(VECTORS_ID, written_to)
        h.text.clear_state(REBUILT_UPTO)


def _done(h: Handle, report: IndexReport, t0: float) -> IndexReport:
    report.models = h.text.doc_count()
    report.seconds = time.perf_counter() - t0
    return report


def sync(h: Handle, *, rebuild: bool = False, progress: Progress | None = None,
         batch: int = BATCH_MODELS, embed_new: bool = True) -> IndexReport:
    """Bring the index up to date with the catalog (see the module docstring).

    ``embed_new=False`` applies removals and renames only and leaves added models pending
    (``report.pending``): a search answers at once from what is indexed. An interrupted
    rebuild is resumed all the same. ``progress`` gets ``("cards", done, total)`` per batch
    of models and ``("passages", done, total)`` as card passages are encoded.
    """
    t0 = time.perf_counter()
    report = IndexReport()
    with _writer_lock(h):
        _recover(h)
        if not rebuild and _in_sync(h):
            return _done(h, report, t0)
        p = _plan(h, rebuild)
        embed_new = embed_new or p.repair
        if p.rebuild and not embed_new:
            report.pending, report.stale = len(p.current), True
            return _done(h, report, t0)
        if p.rebuild:
            _start_rebuild(h, p)
        report.rebuilt = p.rebuild
        if embed_new:
            _add(h, p, report, progress, batch)
        _apply_cheap(h, p, report)  # after the additions: a new version reuses its predecessor's vectors
        if p.rebuild:
            _drop_strays(h)
        if embed_new or not p.added:
            _finish(h, p)
        report.pending = 0 if embed_new else len(p.added)
    return _done(h, report, t0)


def catch_up(h: Handle, wait: bool = False, progress: Progress | None = None) -> tuple[int, int]:
    """Before a query: apply removals and renames (cheap); index added models only when
    ``wait`` (else they are left out). Returns (models the answer leaves out, models indexed)."""
    if _in_sync(h):
        return 0, 0
    rep = sync(h, embed_new=wait, progress=progress)
    if rep.pending and not _vectors_compatible(h):
        h._vectors = _NoVectors()  # not ours (yet): the search must not read them
    return rep.pending, (STALE if rep.stale else rep.models)

