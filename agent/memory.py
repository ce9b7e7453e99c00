"""Conversation memory: a LangGraph checkpointer persisted in the lake (``LAKE/agent.sqlite``),
or in the team's PostgreSQL catalog (``langgraph-checkpoint-postgres``) when the lake has one.

``langgraph-checkpoint-sqlite`` provides ``SqliteSaver``; without it, memory lasts
for the process only (an ``InMemorySaver``), and ``persistent`` says so.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from modellake.store.conversations import open_conversations


class Memory:
    """The checkpointer of one lake, and the connection it owns."""

    def __init__(self, lake_root: Path | None, catalog_url: str | None = None) -> None:
        self.path: Path | None = None
        self._conn: sqlite3.Connection | Any | None = None
        self.persistent = False
        if lake_root is not None and catalog_url is not None and self._open_pg(catalog_url):
            return
        try:
            from langgraph.checkpoint.sqlite import SqliteSaver
        except ImportError:
            SqliteSaver = None  # noqa: N806
        if lake_root is not None and SqliteSaver is not None:
            self.path, self._conn = open_conversations(Path(lake_root))
            self.saver: Any = SqliteSaver(self._conn)
            self.persistent = True
        else:
            from langgraph.checkpoint.memory import InMemorySaver

            self.saver = InMemorySaver()

    def _open_pg(self, url: str) -> bool:
        """Conversations in the shared PostgreSQL catalog (False: its saver is not installed)."""
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError:
            return False
        from modellake.store.conversations import open_pg_conversations

        self._conn = open_pg_conversations(url)
        self.saver = PostgresSaver(self._conn)
        self.saver.setup()  # its own tables and migrations, idempotent
        self.persistent = True
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
