"""Ingest on a Ray cluster: one task per model (hash, statistics, sketch, store).

The driver only discovers which files make each model; every task opens the lake's
catalog itself, reads its model's files where they lie (a file system all nodes see), and
stores it in one transaction, as ``Ingestor.ingest_unit`` does in a single process. A task
whose worker dies mid-way is run again: its transaction never committed, so the catalog
holds nothing of it; a task that stores a model another task (or process) just stored
finds it unchanged. A second ingest of the same files changes nothing.

Several machines need a shared catalog (PostgreSQL, ``--catalog``); the lake's SQLite file
serves a cluster of this machine only (``--ray local``).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.errors import ModelLakeError, UsageError, one_line
from modellake.store.records import IngestError, IngestReport, ModelRecord
from modellake.tools.cluster import is_local, ray_session, run_tasks
from modellake.tools.ingest.discover import ModelUnit

Hook = Callable[[ModelRecord], None]


def ingest_units_on_ray(catalog: Catalog, units: list[ModelUnit], name: str | None, address: str,
                        report: IngestReport, on_progress: Callable[[str, int, int], None] | None = None,
                        before_commit: Hook | None = None, *, ingestor: type) -> None:
    """Ingest ``units`` as Ray tasks into ``catalog``'s database; outcomes go to ``report``.

    ``ingestor``: the pipeline's ``Ingestor`` (the pipeline passes it in: it calls this
    module, so this module does not import it)."""
    if catalog.url is None and not is_local(address):
        raise UsageError("a Ray cluster of several machines needs a shared catalog: add "
                         "--catalog postgresql://... (the lake's SQLite file serves --ray local only)")
    target = catalog.url or str(catalog.path)
    items = [(target, str(catalog.root), unit, name, before_commit, ingestor) for unit in units]

    def done(n: int, total: int) -> None:
        if on_progress is not None:
            on_progress("on the Ray cluster", n, total)

    with ray_session(address):
        results = run_tasks(ingest_task, items, on_done=done)
    for unit, result in zip(units, results, strict=True):
        _record(report, unit, result)


def ingest_task(target: str, root: str, unit: ModelUnit, name: str | None,
                before_commit: Hook | None, ingestor_cls: type) -> tuple[str, Any]:
    """One model, in a Ray worker: ``("added" | "unchanged", record)`` or ``("error", text)``."""
    with Catalog(target, root=Path(root)) as cat:
        ingestor = ingestor_cls(cat, name, before_commit=before_commit)
        try:
            record = ingestor.ingest_unit(unit)
        except ModelLakeError as exc:
            return "error", str(exc)
        except (OSError, ValueError, RuntimeError, MemoryError) as exc:
            return "error", f"{unit.root}: {one_line(exc)}"
        finally:
            ingestor.close()
    return ("unchanged" if ingestor.report.unchanged else "added"), record


def _record(report: IngestReport, unit: ModelUnit, result: Any) -> None:
    if isinstance(result, BaseException):
        report.errors.append(IngestError(str(unit.root), f"{unit.root}: the Ray task failed: "
                                         f"{one_line(result)}"))
        return
    kind, value = result
    if kind == "error":
        report.errors.append(IngestError(str(unit.root), value))
    elif kind == "unchanged":
        report.unchanged.append(value)
    else:
        report.models.append(value)
