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
from modellake.store.errors import ModelLakeError, one_line
from modellake.store.records import IngestError, IngestReport, ModelRecord
from modellake.tools.cluster import file_nodes, ray_session, run_tasks
from modellake.tools.ingest.discover import ModelUnit, discover, one_name_for_many

Hook = Callable[[ModelRecord], None]


def ingest_on_ray(catalog: Catalog, paths: list[Path], name: str | None, hf_cache: bool, address: str,
                  report: IngestReport, on_progress: Callable[[str, int, int], None] | None = None, *,
                  ingestor: type, collect: Callable[..., list[ModelUnit] | None]) -> None:
    """``ingest`` on a Ray cluster: the models under ``paths`` found here (``collect``, the
    pipeline's ``collect_units``) or, for paths this machine does not see, on a node that
    does; then one task per model. Outcomes go to ``report``."""
    with ray_session(address, catalog.url):  # one session for discovery and ingest
        units = collect([p for p in paths if p.exists()], None, hf_cache, report) or []
        units += discover_on_nodes([p for p in paths if not p.exists()], address, report)
        error = one_name_for_many(name, units, paths)
        if error is not None:
            report.errors.append(error)
            return
        ingest_units_on_ray(catalog, units, name, address, report, on_progress, ingestor=ingestor)


def ingest_units_on_ray(catalog: Catalog, units: list[ModelUnit], name: str | None, address: str,
                        report: IngestReport, on_progress: Callable[[str, int, int], None] | None = None,
                        before_commit: Hook | None = None, *, ingestor: type) -> None:
    """Ingest ``units`` as Ray tasks into ``catalog``'s database; outcomes go to ``report``.

    ``ingestor``: the pipeline's ``Ingestor`` (the pipeline passes it in: it calls this
    module, so this module does not import it)."""
    items = [(catalog.address, str(catalog.root), unit, name, before_commit, ingestor) for unit in units]
    with ray_session(address, catalog.url):  # each model on a node that sees its files
        nodes = file_nodes([[str(p) for p in unit_files(unit)] for unit in units])
        results = run_tasks(ingest_task, items, on_progress=on_progress, nodes=nodes)
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


def discover_on_nodes(paths: list[Path], address: str, report: IngestReport) -> list[ModelUnit]:
    """The models under ``paths`` that this machine does not see, found by a task on a node
    that does (its own disk); a path no node sees is a failed path in ``report``."""
    if not paths:
        return []
    units: list[ModelUnit] = []
    with ray_session(address):
        nodes = file_nodes([[str(p)] for p in paths])
        found = run_tasks(discover, [(p,) for p in paths], nodes=nodes, num_cpus=0)
    for path, result in zip(paths, found, strict=True):
        if isinstance(result, BaseException):
            report.errors.append(IngestError(str(path), f"{path}: {one_line(result)}"))
            continue
        units += result[0]
        report.errors += [IngestError(str(p), str(exc)) for p, exc in result[1]]
    return units


def unit_files(unit: ModelUnit) -> list[Path]:
    """The files a task reads for ``unit`` (where it is placed depends on who sees them)."""
    return list(dict.fromkeys([*unit.weight_files, *([unit.card_path] if unit.card_path else [])]))


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
