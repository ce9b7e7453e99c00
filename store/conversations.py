"""The agent's conversations: a SQLite file in the lake (``LAKE/agent.sqlite``).

The checkpointer that writes it (LangGraph's ``SqliteSaver``) owns its tables; the store
only opens the database the way every catalog file is opened here.
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
