"""Schema migrations of the catalog, applied in order: the same list for SQLite (tracked by
``PRAGMA user_version``) and PostgreSQL (tracked in ``schema_version``, applied under an
advisory lock so that two processes opening a new catalog do not both migrate it).

The scripts are written in SQLite's dialect; ``render`` gives the PostgreSQL form: 64-bit
integers, identity ids, ``DOUBLE PRECISION``, ``BYTEA``, and for the FTS5 table a table with
a weighted ``tsvector`` column and a GIN index (``store.pg``). Append new migrations to
``MIGRATIONS``; never edit one that has shipped.
"""
from __future__ import annotations

import re
import sqlite3
from typing import Any

MIGRATIONS: list[str] = [
    # 1: models, their files, tensors, cards, sketches, and an event log
    """
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        is_current INTEGER NOT NULL DEFAULT 1,
        format TEXT NOT NULL,
        source TEXT NOT NULL,
        architecture TEXT,
        model_type TEXT,
        num_parameters INTEGER,
        dtypes TEXT NOT NULL DEFAULT '[]',
        config TEXT NOT NULL DEFAULT '{}',
        adapter_base TEXT,
        quantization TEXT,
        content_hash TEXT NOT NULL,
        layout_hash TEXT,
        ingested_at TEXT NOT NULL,
        UNIQUE (name, version)
    );
    CREATE INDEX models_current ON models(name) WHERE is_current = 1;
    CREATE INDEX models_layout ON models(layout_hash);
    CREATE TABLE files (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (model_id, path)
    );
    CREATE TABLE tensors (
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        shape TEXT NOT NULL,
        dtype TEXT NOT NULL,
        numel INTEGER NOT NULL,
        nbytes INTEGER NOT NULL,
        hash TEXT NOT NULL,
        mean REAL, std REAL, absmax REAL, kurtosis REAL,
        zero_fraction REAL, distinct_estimate INTEGER, row_distinct INTEGER,
        PRIMARY KEY (model_id, idx)
    );
    CREATE INDEX tensors_hash ON tensors(hash);
    CREATE TABLE cards (
        model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE sketches (
        model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,
        layout_hash TEXT NOT NULL,
        total_numel INTEGER NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: search: a lexical index (FTS5, rowid = models.id), the indexed documents with their
    # facets, their card chunks (the vectors live in LAKE/index), and the sync state.
    # No foreign keys: rows outlive a removed model until the next sync drops its vectors too.
    """
    CREATE VIRTUAL TABLE search_fts USING fts5(
        name, title, meta, body, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TABLE search_docs (
        model_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        facets TEXT NOT NULL,
        indexed_at TEXT NOT NULL
    );
    CREATE INDEX search_docs_name ON search_docs(name);
    CREATE TABLE search_chunks (
        id TEXT PRIMARY KEY,
        model_id INTEGER NOT NULL,
        section TEXT NOT NULL,
        text TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX search_chunks_model ON search_chunks(model_id);
    CREATE INDEX search_chunks_hash ON search_chunks(hash);
    CREATE TABLE search_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: benchmark runs (measured here or reported elsewhere, never mixed: see `trust`), and
    # the behavioural fingerprints of probe runs. A run keeps the model's name and content hash
    # even after the model is removed (model_id becomes NULL).
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
        model TEXT NOT NULL,
        model_version INTEGER,
        model_hash TEXT NOT NULL DEFAULT '',
        task TEXT NOT NULL,
        task_kind TEXT NOT NULL DEFAULT '',
        dataset_hash TEXT NOT NULL DEFAULT '',
        task_hash TEXT NOT NULL DEFAULT '',
        trust TEXT NOT NULL CHECK (trust IN ('measured', 'reported')),
        source TEXT NOT NULL DEFAULT '',
        metrics TEXT NOT NULL DEFAULT '{}',
        stderr TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        environment TEXT NOT NULL DEFAULT '{}',
        config TEXT NOT NULL DEFAULT '{}',
        duration_s REAL,
        created_at TEXT NOT NULL,
        n_samples INTEGER,
        outputs TEXT
    );
    CREATE INDEX runs_model ON runs(model_id);
    CREATE INDEX runs_name_task ON runs(model, task);
    CREATE INDEX runs_task ON runs(task, trust);
    CREATE TABLE run_fingerprints (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        rows INTEGER NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL
    );
    """,
    # 4: lineage cache: pairwise weight comparisons and per-group results, keyed by model id
    # (so a rename keeps them and a removal drops them), plus the solve state of each group.
    """
    CREATE TABLE lineage_pairs (
        a INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        b INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (a, b, kind)
    );
    CREATE INDEX lineage_pairs_b ON lineage_pairs(b);
    CREATE TABLE lineage_edges (
        grp TEXT NOT NULL,
        parent_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        child_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        relation TEXT NOT NULL,
        confidence REAL NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (grp, parent_id, child_id)
    );
    CREATE INDEX lineage_edges_child ON lineage_edges(child_id);
    CREATE TABLE lineage_state (
        grp TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    """,
]


# The FTS5 table on PostgreSQL: the same columns (rowid = models.id), weighted A-D in the
# order of ``fts.FTS_COLUMNS`` for ``ts_rank``.
PG_FTS = """
    CREATE TABLE search_fts (
        rowid BIGINT PRIMARY KEY,
        name TEXT, title TEXT, meta TEXT, body TEXT,
        tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', coalesce(name, '')), 'A') ||
            setweight(to_tsvector('english', coalesce(title, '')), 'B') ||
            setweight(to_tsvector('english', coalesce(meta, '')), 'C') ||
            setweight(to_tsvector('english', coalesce(body, '')), 'D')) STORED
    );
    CREATE INDEX search_fts_tsv ON search_fts USING GIN (tsv);
"""
_PG_TYPES = [
    (re.compile(r"\bCREATE VIRTUAL TABLE search_fts USING fts5\(.*?\);", re.S), PG_FTS),
    (re.compile(r"\bid INTEGER PRIMARY KEY\b"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
]


def render(script: str, dialect: str = "sqlite") -> str:
    """A migration script in ``dialect`` ("sqlite" or "postgresql")."""
    if dialect == "sqlite":
        return script
    for pattern, repl in _PG_TYPES:
        script = pattern.sub(repl, script)
    return script


def migrate(conn: Any) -> int:
    """Bring the schema up to date; returns the resulting version."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        return _migrate_pg(conn)
    return _migrate_sqlite(conn)


def _migrate_pg(conn: Any) -> int:
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(7402151)")  # one migrating process at a time
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            conn.execute(render(script, "postgresql"))
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _migrate_sqlite(conn: sqlite3.Connection) -> int:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        try:
            conn.executescript(f"BEGIN IMMEDIATE;{script};PRAGMA user_version = {version};COMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
