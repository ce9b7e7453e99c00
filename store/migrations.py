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
