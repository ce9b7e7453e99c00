"""Schema migrations of the catalog, applied in order, tracked by PRAGMA user_version.

Append new migrations to ``MIGRATIONS``; never edit one that has shipped.
"""
from __future__ import annotations

import sqlite3

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


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        try:
            conn.executescript(f"BEGIN IMMEDIATE;{script};PRAGMA user_version = {version};COMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
