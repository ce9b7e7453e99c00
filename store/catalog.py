"""The catalog: every SQL statement of modellake lives in store/.

One ``Catalog`` wraps one connection: an SQLite file (the default; WAL mode, foreign keys
on) or a PostgreSQL database (``Catalog("postgresql://...")``, see ``store.pg``), running
the same statements. Writes that belong together run inside ``transaction()``: all of them
or none.
"""
from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modellake.store.errors import (
    LakeError,
    NameConflictError,
    NotFoundError,
    UsageError,
    from_db_error,
    from_os_error,
)
from modellake.store.fts import TextIndex
from modellake.store.lineage_store import LineageCache
from modellake.store.migrations import migrate
from modellake.store.pg import is_pg_url
from modellake.store.records import (
    CardInfo,
    FileRecord,
    ModelRecord,
    TensorSummary,
    WeightSketch,
)
from modellake.store.runs import RunStore
from modellake.store.specs import parse_spec, split_spec, utcnow

__all__ = ["Catalog", "check_name", "parse_spec", "split_spec", "utcnow"]

MAX_NAME = 256
_BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _control_char(name: str) -> str | None:
    import unicodedata

    return next((c for c in name if unicodedata.category(c) in ("Cc", "Zl", "Zp")
                 or ord(c) in _BIDI), None)


def check_name(name: str) -> str:
    """``name`` if it can name a model the user types: not blank, no control characters, no
    ``@N`` ending (that reads as a version), at most ``MAX_NAME`` characters."""
    if not name.strip():
        raise UsageError(f"a model name cannot be blank (got {name!r}); give a name")
    if name != name.strip():
        raise UsageError(f"model name {name!r} starts or ends with spaces; drop them")
    if (c := _control_char(name)) is not None:
        raise UsageError(f"model name {name!r} holds the control character {c!r}; "
                         "use visible characters only")
    if split_spec(name)[1] is not None:
        raise UsageError(f"model name {name!r} ends in @NUMBER, which reads as a version; "
                         "pick a name without it")
    if len(name) > MAX_NAME:
        raise UsageError(f"model name is too long ({len(name)} characters, at most {MAX_NAME})")
    return name

_MODEL_COLS = (
    "id, name, version, format, source, architecture, model_type, num_parameters, dtypes, "
    "config, adapter_base, quantization, content_hash, layout_hash, ingested_at"
)
_TENSOR_COLS = (
    "name, shape, dtype, numel, nbytes, hash, mean, std, absmax, kurtosis, "
    "zero_fraction, distinct_estimate, row_distinct"
)


class Catalog:
    """Typed access to the lake's database: an SQLite file, or a PostgreSQL URL."""

    def __init__(self, path: str | Path, root: str | Path | None = None) -> None:
        """``path``: the SQLite file, or a ``postgresql://`` URL; ``root``: the lake folder
        (its index, staged files, task definitions); default: the SQLite file's folder."""
        self.storage_error: LakeError | None = None  # the last write the lake refused
        if is_pg_url(path):
            self.root = Path(root) if root is not None else Path.cwd()
            self._open_pg(str(path))
            return
        self.url: str | None = None
        self.path = Path(path)
        self.root = Path(root) if root is not None else self.path.parent
        self.dialect = "sqlite"
        self._db_errors: tuple[type[BaseException], ...] = (sqlite3.DatabaseError,)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                        check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate(self._conn)
        except sqlite3.DatabaseError as exc:
            raise self._open_error(exc) from exc
        except OSError as exc:
            raise from_os_error(exc, self.path.parent) from exc

    def _open_pg(self, url: str) -> None:
        from modellake.store.pg import PgConnection, pg_error

        self.url, self.path, self.dialect = url, self.root / "catalog.db", "postgresql"
        self._conn = PgConnection(url)  # type: ignore[assignment]
        self._db_errors = self._conn.errors
        try:
            migrate(self._conn)
        except self._db_errors as exc:
            self._conn.close()
            raise pg_error(exc, url, "open") from exc

    @property
    def address(self) -> str:
        """The catalog as ``Catalog()`` takes it: the database URL, or the SQLite file (what
        a worker process opens to reach the same catalog)."""
        return self.url or str(self.path)

    def _open_error(self, exc: sqlite3.DatabaseError) -> LakeError:
        import os

        if "unable to open" in str(exc) and not os.access(self.path.parent, os.W_OK):
            exc = sqlite3.OperationalError(f"readonly directory: {exc}")
        return from_db_error(exc, self.path.parent, "open")

    def _storage(self, exc: BaseException) -> LakeError | None:
        """The project error for a write SQLite refused (read-only, full, busy...), else None.
        It is also kept in ``storage_error``, for callers that report failures per item."""
        if self.url is not None:
            if not isinstance(exc, self._db_errors):
                return None
            from modellake.store.pg import pg_error

            self.storage_error = pg_error(exc, self.url, "write")
            return self.storage_error
        if type(exc) not in (sqlite3.OperationalError, sqlite3.DatabaseError):
            return None
        self.storage_error = from_db_error(exc, self.path.parent, "write")
        return self.storage_error

    # -- the parts of the catalog --------------------------------------------
    @property
    def runs(self) -> RunStore:
        """Benchmark runs and their fingerprints."""
        return RunStore(self)

    @property
    def lineage(self) -> LineageCache:
        """The lineage cache: compared pairs, solved groups, inferred edges."""
        return LineageCache(self)

    @property
    def text(self) -> TextIndex:
        """The lexical search index and the indexed documents."""
        if self.url is not None:
            from modellake.store.fts import PgTextIndex

            return PgTextIndex(self)
        return TextIndex(self)

    # -- plumbing -----------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all (nests as a no-op)."""
        if self._conn.in_transaction:
            yield self._conn
            return
        self._execute_storage("BEGIN IMMEDIATE" if self.url is None else "BEGIN")
        try:
            yield self._conn
        except BaseException as exc:
            if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
                self._conn.execute("ROLLBACK")
            err = self._storage(exc)
            if err is None:
                raise
            raise err from exc
        self._execute_storage("COMMIT")

    def _execute_storage(self, sql: str) -> None:
        try:
            self._conn.execute(sql)
        except self._db_errors as exc:
            err = self._storage(exc)
            if err is None:
                raise
            if sql == "COMMIT" and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise err from exc

    def _log(self, kind: str, name: str, **detail: Any) -> None:
        self._conn.execute("INSERT INTO events (at, kind, name, detail) VALUES (?, ?, ?, ?)",
                          (utcnow(), kind, name, json.dumps(detail)))

    # -- models -------------------------------------------------------------
    def add_model(self, model: ModelRecord, tensors: list[TensorSummary] | None = None,
                  sketch: WeightSketch | None = None) -> ModelRecord:
        """Store a new version of ``model.name`` with its files, tensors, card, sketch.

        Earlier versions stay, marked not current. Returns the stored record
        (with ``id``, ``version`` and ``ingested_at`` set).
        """
        if not model.name.strip():
            raise UsageError(f"a model needs a name ({model.source or 'no source'} gave a blank "
                             "one); give one with --name")
        with self.transaction() as c:
            self.lock_name(model.name)  # writers of one name take turns for its next version
            row = c.execute("SELECT MAX(version) FROM models WHERE name = ?", (model.name,)).fetchone()
            model.version = (row[0] or 0) + 1
            model.ingested_at = model.ingested_at or utcnow()
            if sketch is not None:
                model.layout_hash = sketch.layout_hash
            c.execute("UPDATE models SET is_current = 0 WHERE name = ?", (model.name,))
            cur = c.execute(
                "INSERT INTO models (name, version, is_current, format, source, architecture, "
                "model_type, num_parameters, dtypes, config, adapter_base, quantization, "
                "content_hash, layout_hash, ingested_at) VALUES (?,?,1,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (model.name, model.version, model.format, model.source, model.architecture,
                 model.model_type, model.num_parameters, json.dumps(model.dtypes),
                 json.dumps(model.config, default=str), model.adapter_base, model.quantization,
                 model.content_hash, model.layout_hash, model.ingested_at))
            model.id = cur.fetchall()[0][0]
            c.executemany("INSERT INTO files (model_id, path, size, sha256) VALUES (?,?,?,?)",
                          [(model.id, f.path, f.size, f.sha256) for f in model.files])
            if tensors:
                c.executemany(
                    f"INSERT INTO tensors (model_id, idx, {_TENSOR_COLS}) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(model.id, i, t.name, json.dumps(t.shape), t.dtype, t.numel, t.nbytes,
                      t.hash, t.mean, t.std, t.absmax, t.kurtosis, t.zero_fraction,
                      t.distinct_estimate, t.row_distinct) for i, t in enumerate(tensors)])
            if model.card is not None:
                data = model.card.to_dict()
                text = data.pop("text")
                c.execute("INSERT INTO cards (model_id, text, data) VALUES (?,?,?)",
                          (model.id, text, json.dumps(data, default=str)))
            if sketch is not None:
                vec = array("f", sketch.vector).tobytes()
                c.execute("INSERT INTO sketches (model_id, layout_hash, total_numel, vector) "
                          "VALUES (?,?,?,?)", (model.id, sketch.layout_hash, sketch.total_numel, vec))
            self._log("ingest", model.name, version=model.version, source=model.source)
        return model

    def _row_to_model(self, row: tuple[Any, ...], with_card: bool = True,
                      files: list[FileRecord] | None = None, card: Any = False) -> ModelRecord:
        """A model from its row; ``files`` and ``card`` when the caller read them in bulk."""
        (mid, name, version, fmt, source, arch, mtype, nparams, dtypes, config, abase, quant,
         chash, lhash, at) = row
        if files is None:
            files = [FileRecord(*r) for r in self._conn.execute(
                "SELECT path, size, sha256 FROM files WHERE model_id = ? ORDER BY path", (mid,))]
        if card is False:
            card = self.card(mid) if with_card else None
        return ModelRecord(name=name, format=fmt, source=source, architecture=arch,
                           model_type=mtype, num_parameters=nparams, dtypes=json.loads(dtypes),
                           files=files, ingested_at=at, version=version, id=mid,
                           content_hash=chash, config=json.loads(config), adapter_base=abase,
                           quantization=quant, card=card, layout_hash=lhash)

    def card(self, model_id: int) -> CardInfo | None:
        row = self._conn.execute("SELECT text, data FROM cards WHERE model_id = ?",
                                (model_id,)).fetchone()
        if row is None:
            return None
        return CardInfo.from_dict({"text": row[0], **json.loads(row[1])})

    def get_model(self, spec: str) -> ModelRecord:
        """The current version of a model, or ``name@N`` for version N."""
        name, version = (spec, None) if self.has_model(spec) else parse_spec(spec)
        if version is None:
            row = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE name = ? "
                                    "AND is_current = 1", (name,)).fetchone()
        else:
            row = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE name = ? "
                                    "AND version = ?", (name, version)).fetchone()
        if row is None:
            if version is not None and self.has_model(name):
                raise NotFoundError(f"model {name!r} has no version {version}")
            folded = [n for n in self.model_names() if n.casefold() == name.casefold()]
            if len(folded) == 1:
                return self.get_model(folded[0] + (f"@{version}" if version else ""))
            raise NotFoundError(f"no model named {spec!r} in the lake{self._did_you_mean(name)}")
        return self._row_to_model(row)

    def _did_you_mean(self, name: str) -> str:
        import difflib

        names = self.model_names()
        lowered = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=0.6)
        return f"; did you mean {', '.join(lowered[c] for c in close)}?" if close else ""

    def lock_name(self, name: str) -> None:
        """Inside a transaction: writers of ``name`` take turns until it ends (SQLite's
        ``BEGIN IMMEDIATE`` already admits one writer; PostgreSQL takes an advisory lock)."""
        if self.url is not None:
            self._conn.lock("model:" + name)

    def current_with_hash(self, name: str, content_hash: str) -> ModelRecord | None:
        """The current version of ``name`` when its files hash to ``content_hash``."""
        row = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE name = ? AND is_current = 1 "
                                 "AND content_hash = ?", (name, content_hash)).fetchone()
        return self._row_to_model(row) if row else None

    def has_model(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM models WHERE name = ? LIMIT 1",
                                 (name,)).fetchone() is not None

    def list_models(self, all_versions: bool = False, with_card: bool = True) -> list[ModelRecord]:
        """Every model (current versions unless ``all_versions``), by name: three queries in
        all, not three per model (100,000 models list in seconds, also over a network)."""
        where = "" if all_versions else "WHERE is_current = 1"
        rows = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models {where} "
                                 "ORDER BY name, version").fetchall()
        files: dict[int, list[FileRecord]] = {r[0]: [] for r in rows}
        for mid, *f in self._conn.execute(
                f"SELECT f.model_id, f.path, f.size, f.sha256 FROM files f JOIN models m ON m.id = f.model_id "
                f"{where.replace('is_current', 'm.is_current')} ORDER BY f.model_id, f.path"):
            files.setdefault(mid, []).append(FileRecord(*f))
        cards: dict[int, CardInfo] = {}
        if with_card:
            for mid, text, data in self._conn.execute(
                    f"SELECT c.model_id, c.text, c.data FROM cards c JOIN models m ON m.id = c.model_id "
                    f"{where.replace('is_current', 'm.is_current')}"):
                cards[mid] = CardInfo.from_dict({"text": text, **json.loads(data)})
        return [self._row_to_model(r, with_card, files.get(r[0], []), cards.get(r[0])) for r in rows]

    def model_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT name FROM models WHERE is_current = 1 ORDER BY name")]

    def versions(self, name: str) -> list[ModelRecord]:
        rows = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE name = ? "
                                 "ORDER BY version", (name,)).fetchall()
        if not rows:
            raise NotFoundError(f"no model named {name!r} in the lake")
        return [self._row_to_model(r) for r in rows]

    def find_current_by_source(self, source: str) -> ModelRecord | None:
        row = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE source = ? AND "
                                "is_current = 1 ORDER BY id DESC LIMIT 1", (source,)).fetchone()
        return self._row_to_model(row) if row else None

    def find_by_content_hash(self, content_hash: str) -> list[ModelRecord]:
        rows = self._conn.execute(f"SELECT {_MODEL_COLS} FROM models WHERE content_hash = ? "
                                 "AND is_current = 1", (content_hash,)).fetchall()
        return [self._row_to_model(r) for r in rows]

    def rename(self, old: str, new: str) -> None:
        """Rename every version of ``old``; fails if ``new`` is taken or not a usable name."""
        check_name(new)
        with self.transaction() as c:
            if not self.has_model(old):
                raise NotFoundError(f"no model named {old!r} in the lake")
            if self.has_model(new):
                raise NameConflictError(f"a model named {new!r} already exists; "
                                        "pick another name or remove it first")
            c.execute("UPDATE models SET name = ? WHERE name = ?", (new, old))
            self._log("rename", new, old=old)

    def remove(self, spec: str) -> int:
        """Remove a model (all versions) or one version ``name@N``; returns rows removed."""
        name, version = (spec, None) if self.has_model(spec) else parse_spec(spec)
        with self.transaction() as c:
            if version is None:
                n = c.execute("DELETE FROM models WHERE name = ?", (name,)).rowcount
            else:
                n = c.execute("DELETE FROM models WHERE name = ? AND version = ?",
                              (name, version)).rowcount
                c.execute("UPDATE models SET is_current = 1 WHERE id = (SELECT id FROM models "
                          "WHERE name = ? ORDER BY version DESC LIMIT 1) AND NOT EXISTS "
                          "(SELECT 1 FROM models WHERE name = ? AND is_current = 1)", (name, name))
            if n == 0:
                raise NotFoundError(f"no model named {spec!r} in the lake")
            self._log("rm", name, version=version)
        return n

    # -- tensors and sketches ---------------------------------------------
    def tensors(self, model_id: int) -> list[TensorSummary]:
        rows = self._conn.execute(f"SELECT {_TENSOR_COLS} FROM tensors WHERE model_id = ? "
                                 "ORDER BY idx", (model_id,)).fetchall()
        return [TensorSummary(r[0], json.loads(r[1]), *r[2:]) for r in rows]

    def sketch(self, model_id: int) -> WeightSketch | None:
        row = self._conn.execute("SELECT layout_hash, total_numel, vector FROM sketches "
                                "WHERE model_id = ?", (model_id,)).fetchone()
        if row is None:
            return None
        return WeightSketch(row[0], row[1], array("f", row[2]).tolist())

    def sketches(self, layout_hash: str | None = None) -> dict[str, WeightSketch]:
        """Sketches of current models by name, optionally for one layout only."""
        sql = ("SELECT m.name, s.layout_hash, s.total_numel, s.vector FROM sketches s "
               "JOIN models m ON m.id = s.model_id WHERE m.is_current = 1")
        args: tuple[Any, ...] = ()
        if layout_hash is not None:
            sql += " AND s.layout_hash = ?"
            args = (layout_hash,)
        return {r[0]: WeightSketch(r[1], r[2], array("f", r[3]).tolist())
                for r in self._conn.execute(sql, args)}

    def storage_bytes(self) -> int:
        """Bytes the catalog takes: the SQLite file with its write-ahead log, or the
        PostgreSQL database's size."""
        if self.url is not None:
            return int(self._conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        return sum(p.stat().st_size for p in (self.path, self.path.with_name(self.path.name + "-wal"))
                   if p.exists())

    def last_event_id(self) -> int:
        """Id of the newest event (0 for a new lake): anything derived from the catalog is
        up to date when it was made at this event."""
        return self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def events(self, since_id: int = 0) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT id, at, kind, name, detail FROM events WHERE id > ? "
                                 "ORDER BY id", (since_id,)).fetchall()
        return [{"id": r[0], "at": r[1], "kind": r[2], "name": r[3], **json.loads(r[4])}
                for r in rows]
