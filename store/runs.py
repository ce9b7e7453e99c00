"""Benchmark runs in the catalog: every SQL statement about runs and fingerprints.

Reached as ``catalog.runs`` (a :class:`RunStore`). A run points at the exact
model version it evaluated (``model_id``) and also keeps that model's name and content hash,
so it stays meaningful after a rename (the current name is shown) or a removal (the stored
name is shown and ``model_id`` becomes NULL).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from modellake.store.errors import NotFoundError
from modellake.store.records import BenchmarkRun
from modellake.store.specs import parse_spec, utcnow

if TYPE_CHECKING:
    from modellake.store.catalog import Catalog

TRUST_LEVELS = ("measured", "reported")

_COLS = ("r.id, COALESCE(m.name, r.model), r.model_version, r.model_hash, r.task, r.task_kind, "
         "r.dataset_hash, r.task_hash, r.trust, r.source, r.metrics, r.stderr, r.seed, "
         "r.environment, r.config, r.duration_s, r.created_at, r.n_samples")
_FROM = "FROM runs r LEFT JOIN models m ON m.id = r.model_id"


def _no_run(run_id: int) -> NotFoundError:
    err = NotFoundError(f"no benchmark run with id {run_id}")
    err.hint = "see `modellake runs`"
    return err


def _row(row: tuple[Any, ...], outputs: str | None = None) -> BenchmarkRun:
    (rid, model, version, mhash, task, kind, dhash, thash, trust, source, metrics, stderr,
     seed, env, config, duration, created, n) = row
    return BenchmarkRun(
        model=model, task=task, metrics=json.loads(metrics), trust=trust, model_hash=mhash,
        dataset_hash=dhash, source=source, seed=seed, environment=json.loads(env),
        duration_s=duration, created_at=created,
        outputs=json.loads(outputs) if outputs is not None else None, id=rid,
        model_version=version, task_kind=kind, task_hash=thash, stderr=json.loads(stderr),
        config=json.loads(config), n_samples=n)


class RunStore:
    """Benchmark runs and their fingerprints: ``catalog.runs``."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def add(self, run: BenchmarkRun, model_id: int | None,
                fingerprint: np.ndarray | None = None) -> BenchmarkRun:
        """Store one run (and its fingerprint) in one transaction; sets ``run.id``."""
        if run.trust not in TRUST_LEVELS:
            raise ValueError(f"trust must be one of {TRUST_LEVELS}, not {run.trust!r}")
        run.created_at = run.created_at or utcnow()
        with self._catalog.transaction() as c:
            cur = c.execute(
                "INSERT INTO runs (model_id, model, model_version, model_hash, task, task_kind, "
                "dataset_hash, task_hash, trust, source, metrics, stderr, seed, environment, config, "
                "duration_s, created_at, n_samples, outputs) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (model_id, run.model, run.model_version, run.model_hash, run.task, run.task_kind,
                 run.dataset_hash, run.task_hash, run.trust, run.source,
                 json.dumps(run.metrics), json.dumps(run.stderr), run.seed,
                 json.dumps(run.environment, default=str), json.dumps(run.config, default=str),
                 run.duration_s, run.created_at, run.n_samples,
                 json.dumps(run.outputs) if run.outputs is not None else None))
            run.id = cur.fetchall()[0][0]
            if fingerprint is not None:
                fp = np.ascontiguousarray(fingerprint, dtype=np.float32)
                c.execute("INSERT INTO run_fingerprints (run_id, rows, dim, vector) VALUES (?,?,?,?)",
                          (run.id, fp.shape[0], fp.shape[1], fp.tobytes()))
            self._catalog._log("bench" if run.trust == "measured" else "import-results", run.model,
                         run_id=run.id, task=run.task, trust=run.trust)
        return run


    def get(self, run_id: int, with_outputs: bool = True) -> BenchmarkRun:
        row = self._catalog._conn.execute(f"SELECT {_COLS}, {'r.outputs' if with_outputs else 'NULL'} "
                                   f"{_FROM} WHERE r.id = ?", (run_id,)).fetchone()
        if row is None:
            raise _no_run(run_id)
        return _row(row[:-1], row[-1])


    def _model_filter(self, spec: str) -> tuple[str, list[Any]]:
        """SQL condition selecting the runs of one model (every version, or ``name@N``)."""
        name, version = parse_spec(spec)
        if not self._catalog.has_model(name):
            try:
                name = self._catalog.get_model(name).name  # unique case-insensitive match
            except NotFoundError:
                pass  # maybe a removed model: match the name stored with its runs
        if version is None:
            return "(m.name = ? OR (r.model_id IS NULL AND r.model = ?))", [name, name]
        return "((m.name = ? AND m.version = ?) OR (r.model_id IS NULL AND r.model = ? AND " \
               "r.model_version = ?))", [name, version, name, version]


    def find(self, *, model: str | None = None, task: str | None = None,
                  trust: str | None = None, task_hash: str | None = None,
                  current_only: bool = False, with_outputs: bool = False,
                  limit: int | None = None) -> list[BenchmarkRun]:
        """Runs, newest first, filtered by model (name or ``name@N``), task, trust, task hash."""
        where: list[str] = []
        args: list[Any] = []
        if model:
            cond, a = self._model_filter(model)
            where.append(cond)
            args += a
        if task:
            where.append("r.task = ?")
            args.append(task)
        if trust:
            if trust not in TRUST_LEVELS:
                raise ValueError(f"trust must be one of {TRUST_LEVELS}, not {trust!r}")
            where.append("r.trust = ?")
            args.append(trust)
        if task_hash:
            where.append("r.task_hash = ?")
            args.append(task_hash)
        if current_only:
            where.append("m.is_current = 1")
        sql = (f"SELECT {_COLS}, {'r.outputs' if with_outputs else 'NULL'} {_FROM} "
               f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY r.id DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_row(r[:-1], r[-1]) for r in self._catalog._conn.execute(sql, args)]


    def model_ids(self, run_ids: list[int]) -> dict[int, int | None]:
        """run id -> the model version id it evaluated (None once that model was removed)."""
        if not run_ids:
            return {}
        q = ",".join("?" * len(run_ids))
        return {r[0]: r[1] for r in self._catalog._conn.execute(
            f"SELECT id, model_id FROM runs WHERE id IN ({q})", run_ids)}


    def reported_exists(self, model_id: int, task: str, source_sha256: str) -> bool:
        """Whether this exact reported result (same model version, task, source file) is stored."""
        rows = self._catalog._conn.execute(
            "SELECT config FROM runs WHERE model_id = ? AND task = ? AND trust = 'reported'",
            (model_id, task)).fetchall()
        return any(json.loads(r[0]).get("source_sha256") == source_sha256 for r in rows)


    def fingerprint(self, run_id: int) -> np.ndarray | None:
        row = self._catalog._conn.execute("SELECT rows, dim, vector FROM run_fingerprints WHERE run_id = ?",
                                   (run_id,)).fetchone()
        if row is None:
            return None
        return np.frombuffer(row[2], dtype=np.float32).reshape(row[0], row[1]).copy()


    def latest_fingerprints(self, task_hash: str) -> list[tuple[BenchmarkRun, np.ndarray]]:
        """The newest measured fingerprint of every current model on one probe set (by task hash)."""
        rows = self._catalog._conn.execute(
            f"SELECT {_COLS}, f.rows, f.dim, f.vector {_FROM} "
            "JOIN run_fingerprints f ON f.run_id = r.id "
            "WHERE r.task_hash = ? AND r.trust = 'measured' AND m.is_current = 1 "
            "AND r.id = (SELECT MAX(r2.id) FROM runs r2 JOIN run_fingerprints f2 ON f2.run_id = r2.id "
            "            WHERE r2.model_id = r.model_id AND r2.task_hash = r.task_hash "
            "            AND r2.trust = 'measured') ORDER BY m.name", (task_hash,)).fetchall()
        out = []
        for r in rows:
            run = _row(r[:18])
            out.append((run, np.frombuffer(r[20], dtype=np.float32).reshape(r[18], r[19]).copy()))
        return out


    def delete(self, run_id: int) -> None:
        with self._catalog.transaction() as c:
            if c.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount == 0:
                raise _no_run(run_id)
            self._catalog._log("rm-run", str(run_id))
