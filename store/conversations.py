"""The agent's conversations: a SQLite file in the lake (``LAKE/agent.sqlite``), or the
team's PostgreSQL catalog database when the lake has one (so that every machine serving the
lake continues the same conversations).

The checkpointer that writes them (LangGraph's ``SqliteSaver`` / ``PostgresSaver``) owns its
tables; the store only opens the database the way every catalog is opened here.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

FILE_NAME = "agent.sqlite"


def open_conversations(lake_root: Path) -> tuple[Path, sqlite3.Connection]:
    """The conversation database of a lake and a connection to it (WAL, shared by threads)."""
    path = Path(lake_root) / FILE_NAME
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    return path, conn


def open_pg_conversations(url: str):  # noqa: ANN201 - a psycopg connection
    """A connection to the catalog's PostgreSQL database as LangGraph's ``PostgresSaver``
    wants it (autocommit, rows as dicts, no server-side prepared statements)."""
    import psycopg
    from psycopg.rows import dict_row

    from modellake.store.errors import LakeError
    from modellake.store.pg import safe_url

    try:
        return psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row,
                               connect_timeout=10)
    except psycopg.Error as exc:
        raise LakeError(f"cannot reach the catalog at {safe_url(url)} for the conversations: "
                        f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
