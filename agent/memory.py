"""Conversation memory: a LangGraph checkpointer persisted in the lake (``LAKE/agent.sqlite``).

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

    def __init__(self, lake_root: Path | None) -> None:
        self.path: Path | None = None
        self._conn: sqlite3.Connection | None = None
        self.persistent = False
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

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
