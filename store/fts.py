"""SQL of search: the FTS5 lexical index, indexed documents, card chunks, sync state.

Tables come from migration 2 (``search_fts``, ``search_docs``, ``search_chunks``,
``search_state``), reached as ``catalog.text`` (a :class:`TextIndex`); callers
group writes in ``Catalog.transaction()``. ``search_fts`` rows use the model's
id as rowid, with four columns weighted in ``bm25``: name, title, meta (tags,
datasets, task, languages, license, base models...), body (the card text).
"""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modellake.store.pg import websearch

if TYPE_CHECKING:
    from modellake.store.catalog import Catalog

FTS_COLUMNS = ("name", "title", "meta", "body")
DEFAULT_WEIGHTS = (4.0, 4.0, 2.0, 1.0)


@dataclass
class IndexedDoc:
    """What the search index stores for one model version."""

    model_id: int
    name: str
    title: str
    meta: str
    body: str
    facets: dict[str, Any]
    chunks: list[tuple[str, str, str, str]] = field(default_factory=list)  # id, section, text, hash


def _chunked(seq: Sequence[Any], n: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def match_expression(terms: Iterable[str]) -> str:
    """An FTS5 MATCH string that ORs the given terms (each quoted, so it cannot fail)."""
    seen: list[str] = []
    for t in terms:
        t = t.strip()
        if t and _TOKEN.search(t) and t.lower() not in seen:
            seen.append(t.lower())
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in seen)


class TextIndex:
    """The lexical index and the indexed documents of the search: ``catalog.text``.

    Writes join the caller's ``catalog.transaction()``.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._conn = catalog._conn

# -- documents -----------------------------------------------------------------
    def put_docs(self, docs: Sequence[IndexedDoc], at: str) -> None:
        """Insert (or replace) the lexical rows, facets and chunks of these models."""
        ids = [d.model_id for d in docs]
        self.delete_docs(ids)
        self._conn.executemany("INSERT INTO search_fts (rowid, name, title, meta, body) VALUES (?,?,?,?,?)",
                         [(d.model_id, d.name, d.title, d.meta, d.body) for d in docs])
        self._conn.executemany("INSERT INTO search_docs (model_id, name, facets, indexed_at) VALUES (?,?,?,?)",
                         [(d.model_id, d.name, json.dumps(d.facets, default=str), at) for d in docs])
        self._conn.executemany("INSERT INTO search_chunks (id, model_id, section, text, hash) "
                         "VALUES (?,?,?,?,?)",
                         [(cid, d.model_id, sec, text, h) for d in docs for cid, sec, text, h in d.chunks])


    def delete_docs(self, model_ids: Sequence[int]) -> None:
        for part in _chunked(list(model_ids)):
            marks = ",".join("?" * len(part))
            self._conn.execute(f"DELETE FROM search_fts WHERE rowid IN ({marks})", part)
            self._conn.execute(f"DELETE FROM search_docs WHERE model_id IN ({marks})", part)
            self._conn.execute(f"DELETE FROM search_chunks WHERE model_id IN ({marks})", part)


    def rename_doc(self, model_id: int, name: str) -> None:
        self._conn.execute("UPDATE search_docs SET name = ? WHERE model_id = ?", (name, model_id))
        self._conn.execute("UPDATE search_fts SET name = ? WHERE rowid = ?", (name, model_id))


    def indexed(self) -> dict[int, str]:
        """model id -> name of every indexed document."""
        return dict(self._conn.execute("SELECT model_id, name FROM search_docs"))


    def current_models(self) -> dict[int, str]:
        """model id -> name of the current version of every model in the catalog."""
        return dict(self._conn.execute("SELECT id, name FROM models WHERE is_current = 1"))


    def docs_facets(self) -> list[tuple[int, str, dict[str, Any]]]:
        """(model id, name, facets) of every indexed document."""
        return [(r[0], r[1], json.loads(r[2])) for r in
                self._conn.execute("SELECT model_id, name, facets FROM search_docs ORDER BY model_id")]


    def doc_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM search_docs").fetchone()[0]


    # -- chunks ----------------------------------------------------------------------
    def chunks(self, chunk_ids: Sequence[str]) -> dict[str, tuple[int, str, str]]:
        """chunk id -> (model id, section, text)."""
        out: dict[str, tuple[int, str, str]] = {}
        for part in _chunked(list(chunk_ids)):
            marks = ",".join("?" * len(part))
            for cid, mid, sec, text in self._conn.execute(
                    f"SELECT id, model_id, section, text FROM search_chunks WHERE id IN ({marks})", part):
                out[cid] = (mid, sec, text)
        return out


    def chunk_ids_of(self, model_ids: Sequence[int]) -> list[str]:
        """Ids of every chunk of these models."""
        out: list[str] = []
        for part in _chunked(list(model_ids)):
            marks = ",".join("?" * len(part))
            out += [r[0] for r in self._conn.execute(
                f"SELECT id FROM search_chunks WHERE model_id IN ({marks})", part)]
        return out


    def model_chunks(self, model_id: int) -> list[tuple[str, str, str]]:
        """(chunk id, section, text) of one model, in card order."""
        rows = self._conn.execute("SELECT id, section, text FROM search_chunks WHERE model_id = ?",
                            (model_id,)).fetchall()
        return sorted(rows, key=lambda r: int(r[0].rsplit(":", 1)[1]))


    def chunk_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM search_chunks").fetchone()[0]

    def chunk_hashes(self) -> list[tuple[str, str]]:
        """(chunk id, text hash) of every indexed chunk."""
        return self._conn.execute("SELECT id, hash FROM search_chunks").fetchall()

    def chunk_ids_by_hash(self, hashes: Sequence[str]) -> dict[str, str]:
        """text hash -> the id of one indexed chunk with that text (to reuse its vector)."""
        out: dict[str, str] = {}
        for part in _chunked(list(set(hashes))):
            marks = ",".join("?" * len(part))
            for h, cid in self._conn.execute(
                    f"SELECT hash, MIN(id) FROM search_chunks WHERE hash IN ({marks}) GROUP BY hash",
                    part):
                out[h] = cid
        return out


    # -- lexical search ----------------------------------------------------------------
    def lexical(self, match: str, limit: int = 100,
                weights: Sequence[float] = DEFAULT_WEIGHTS,
                model_ids: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """BM25 over the FTS index: ``(model id, score)``, best first (score > 0, higher better).

        ``model_ids`` restricts the search to those documents.
        """
        if not match:
            return []
        w = ",".join(f"{float(x):g}" for x in weights)
        sql = f"SELECT rowid, -bm25(search_fts, {w}) AS s FROM search_fts WHERE search_fts MATCH ?"
        args: list[Any] = [match]
        if model_ids is not None:
            ids = list(model_ids)
            if not ids:
                return []
            sql += f" AND rowid IN ({','.join(str(int(i)) for i in ids)})"
        sql += " ORDER BY s DESC LIMIT ?"
        args.append(int(limit))
        try:
            return [(r[0], r[1]) for r in self._conn.execute(sql, args)]
        except sqlite3.OperationalError:  # a query FTS5 cannot parse: no lexical hits
            return []


    def matching(self, match: str, limit: int = 1000) -> list[int]:
        """Ids of documents that match (unranked: no BM25 to compute)."""
        try:
            return [r[0] for r in self._conn.execute(
                "SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT ?", (match, limit))]
        except sqlite3.OperationalError:
            return []


    def doc_frequency(self, term: str) -> int:
        """How many documents contain ``term`` (after the index's tokenizer and stemmer)."""
        try:
            return self._conn.execute("SELECT COUNT(*) FROM search_fts WHERE search_fts MATCH ?",
                                (match_expression([term]),)).fetchone()[0]
        except sqlite3.OperationalError:
            return 0


    def snippet(self, model_id: int, match: str, tokens: int = 20) -> str | None:
        """A short passage of a document's card text around the ``match`` terms (marked «»)."""
        if not match:
            return None
        try:
            row = self._conn.execute(
                "SELECT snippet(search_fts, 3, '«', '»', '…', ?) FROM search_fts "
                "WHERE search_fts MATCH ? AND rowid = ?", (tokens, match, model_id)).fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row and row[0] and "«" in row[0] else None


    # -- sync state ----------------------------------------------------------------------
    def state(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM search_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default


    def set_state(self, key: str, value: Any) -> None:
        self._conn.execute("INSERT INTO search_state (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, str(value)))


    def catalog_id(self) -> str:
        """This catalog's own random id, made once (the first of two writers wins): names
        what belongs to it elsewhere, such as its collections on a shared Chroma server."""
        import uuid

        known = self.state("catalog_id")  # a search reads it: no write once it is there
        if known is not None:
            return known
        self._conn.execute("INSERT INTO search_state (key, value) VALUES ('catalog_id', ?) "
                           "ON CONFLICT(key) DO NOTHING", (uuid.uuid4().hex[:12],))
        return str(self.state("catalog_id"))

    def clear_state(self, *keys: str) -> None:
        self._conn.executemany("DELETE FROM search_state WHERE key = ?", [(k,) for k in keys])


    def side_tables_version(self) -> tuple[int, int]:
        """(last benchmark run id, lineage-edge count): search results depend on them too."""
        out = []
        for sql in ("SELECT COALESCE(MAX(id), 0) FROM runs", "SELECT COUNT(*) FROM lineage_edges"):
            try:
                out.append(self._conn.execute(sql).fetchone()[0])
            except sqlite3.OperationalError:  # a catalog without those tables
                out.append(0)
        return out[0], out[1]


class PgTextIndex(TextIndex):
    """The same index on PostgreSQL: a weighted ``tsvector`` column (name A, title B, meta C,
    body D; ``migrations.PG_FTS``) ranked by ``ts_rank`` with the column weights, queried with
    ``websearch_to_tsquery`` from the same match strings."""

    def lexical(self, match: str, limit: int = 100,
                weights: Sequence[float] = DEFAULT_WEIGHTS,
                model_ids: Sequence[int] | None = None) -> list[tuple[int, float]]:
        query = websearch(match)
        if not query:
            return []
        top = max(float(w) for w in weights) or 1.0
        rank_w = [float(w) / top for w in reversed(list(weights))]  # ts_rank wants {D, C, B, A}
        sql = ("SELECT rowid, ts_rank(?::float4[], tsv, q) AS s FROM search_fts, "
               "websearch_to_tsquery('english', ?) q WHERE tsv @@ q")
        args: list[Any] = [rank_w, query]
        if model_ids is not None:
            ids = [int(i) for i in model_ids]
            if not ids:
                return []
            sql += " AND rowid = ANY(?)"
            args.append(ids)
        sql += " ORDER BY s DESC, rowid LIMIT ?"
        args.append(int(limit))
        return [(r[0], float(r[1])) for r in self._conn.execute(sql, args)]

    def matching(self, match: str, limit: int = 1000) -> list[int]:
        query = websearch(match)
        if not query:
            return []
        return [r[0] for r in self._conn.execute(
            "SELECT rowid FROM search_fts WHERE tsv @@ websearch_to_tsquery('english', ?) "
            "ORDER BY rowid LIMIT ?", (query, limit))]

    def doc_frequency(self, term: str) -> int:
        query = websearch(match_expression([term]))
        if not query:
            return 0
        return self._conn.execute("SELECT COUNT(*) FROM search_fts WHERE tsv @@ "
                                  "websearch_to_tsquery('english', ?)", (query,)).fetchone()[0]

    def snippet(self, model_id: int, match: str, tokens: int = 20) -> str | None:
        query = websearch(match)
        if not query:
            return None
        row = self._conn.execute(
            "SELECT ts_headline('english', body, q, ?) FROM search_fts, "
            "websearch_to_tsquery('english', ?) q WHERE rowid = ? AND tsv @@ q",
            (f"StartSel=«, StopSel=», MaxWords={tokens}, MinWords={max(3, tokens // 2)}, "
             "FragmentDelimiter=…, MaxFragments=1", query, model_id)).fetchone()
        return row[0] if row and row[0] and "«" in row[0] else None
