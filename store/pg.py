"""The catalog on PostgreSQL (psycopg 3): a connection that speaks the part of ``sqlite3``
the store uses, so ``Catalog``, the run store, the lineage cache and the text index run
the same statements on both databases.

    Catalog("postgresql://user@host:5432/lake")      # or MODELLAKE_CATALOG=postgresql://...

What differs is kept here and in ``migrations.render``: ``?`` parameters become ``%s``;
``BEGIN IMMEDIATE`` (SQLite's writer lock) becomes ``BEGIN`` plus an advisory lock where
two writers could pick the same version number; errors map to the project's one-line
errors; full-text search uses a ``tsvector`` column and ``ts_rank`` (``PgTextIndex``).
psycopg is imported only when a PostgreSQL catalog is opened.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from modellake.store.errors import LakeError, UsageError

SCHEMES = ("postgresql://", "postgres://")
LOCK_SLOTS = 256


def is_pg_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(SCHEMES)


def safe_url(url: str) -> str:
    """The URL with its password hidden (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    """An SQLite statement with ``?`` parameters as a psycopg one (``%s``; literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection in autocommit mode, with ``execute``/``executemany`` taking
    ``?`` parameters and ``in_transaction`` as on ``sqlite3.Connection``."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise UsageError("a PostgreSQL catalog needs psycopg: pip install 'psycopg[binary]'") from exc
        self.url = url
        self._psycopg = psycopg
        try:
            self._c = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise LakeError(f"cannot reach the catalog at {safe_url(url)}: {_first_line(exc)}") from exc

    def execute(self, sql: str, args: Sequence[Any] | None = ()) -> Any:
        cur = self._c.cursor()
        cur.execute(to_pg(sql), tuple(args) if args else None)
        return cur

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cur = self._c.cursor()
        rows = [tuple(r) for r in rows]
        if rows:
            cur.executemany(to_pg(sql), rows)
        return cur

    @property
    def in_transaction(self) -> bool:
        return self._c.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE

    def lock(self, key: str) -> None:
        """Hold a lock on ``key`` until the transaction ends (two writers of one model name
        take turns instead of both picking the same next version). Keys share
        ``LOCK_SLOTS`` advisory locks, so one transaction storing 100,000 models holds at
        most that many (PostgreSQL's lock table is small), at the price of two unrelated
        names now and then waiting for each other."""
        self.execute("SELECT pg_advisory_xact_lock(7402152, (hashtext(?) & 2147483647) % ?)",
                     (key, LOCK_SLOTS))

    def close(self) -> None:
        self._c.close()

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions a database operation may raise."""
        return (self._psycopg.Error,)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def pg_error(exc: BaseException, url: str, action: str) -> LakeError:
    """A one-line project error for a PostgreSQL error."""
    msg = _first_line(exc)
    low = msg.lower()
    where = safe_url(url)
    if "read-only" in low or "permission denied" in low:
        return LakeError(f"the catalog at {where} cannot be written ({msg}); ask its owner for "
                         "write access, or use a catalog you may write")
    if "could not extend" in low or "no space" in low:
        return LakeError(f"the catalog's database at {where} is out of disk space ({msg})")
    if "deadlock" in low or "could not serialize" in low:
        return LakeError(f"the catalog at {where} is busy with another writer ({msg}); try again")
    return LakeError(f"cannot {action} the catalog at {where}: {msg}")


_TOKEN = re.compile(r'"((?:[^"]|"")*)"|\b(OR|AND)\b')


def websearch(match: str) -> str:
    """An FTS5 match string (quoted terms joined by ``OR`` or ``AND``, as
    ``store.fts.match_expression`` and the search engine write them) as
    ``websearch_to_tsquery`` input: the same phrases, ``or`` kept, ``AND`` implicit."""
    out: list[str] = []
    for term, op in _TOKEN.findall(match or ""):
        if op:
            if op == "OR" and out and out[-1] != "or":
                out.append("or")
            continue
        term = term.replace('""', " ").replace("-", " ").strip()
        if term:
            out.append(f'"{term}"')
    while out and out[-1] == "or":
        out.pop()
    return " ".join(out)
