"""Put models into the lake: discover, read, summarize, store (one transaction per model)."""
from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellake.store.catalog import MAX_NAME, Catalog, check_name
from modellake.store.errors import InvalidModelFileError, ModelLakeError, one_line
from modellake.store.records import (
    FileRecord,
    IngestError,
    IngestReport,
    ModelRecord,
    TensorSummary,
    WeightSketch,
)
from modellake.tools.formats.base import WeightFile
from modellake.tools.ingest.discover import ModelUnit, discover, one_name_for_many, read_json

log = logging.getLogger(__name__)
HASH_CHUNK = 8 * 1024 * 1024
MAX_WORD_CHARS = 256  # of a name taken from a config (model_type, quant_method...)

Progress = Callable[[str, int, int], None]  # (label, units done, units total)

_ARCH_HINTS = [  # tensor-name fragment -> architecture, for weights that come without a config
    ("encoder.layer.", "bert"), ("transformer.h.", "gpt2"), ("model.layers.", "llama"),
    ("gpt_neox.layers.", "gpt_neox"), ("model.decoder.layers.", "opt"),
    ("transformer.layer.", "distilbert"), ("blk.", "gguf"),
]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(HASH_CHUNK)  # reused: no fresh pages to fault in per chunk
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])  # releases the GIL, as does the read
    return h.hexdigest()


def _file_records(unit: ModelUnit) -> list[FileRecord]:
    base = unit.root if unit.root.is_dir() else unit.root.parent
    out = []
    for p in unit.files:
        try:
            out.append(FileRecord(p.relative_to(base).as_posix(), p.stat().st_size, sha256_file(p)))
        except OSError as exc:
            raise InvalidModelFileError(p, f"cannot read file: {exc.strerror or exc}") from exc
    return out


def content_hash(files: Iterable[FileRecord]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\0{f.sha256}\n".encode())
    return h.hexdigest()


def guess_architecture(names: Iterable[str]) -> str | None:
    names = list(names)
    for fragment, arch in _ARCH_HINTS:
        if any(fragment in n for n in names):
            return arch
    return None


def open_weights(path: Path) -> WeightFile:
    """Open one weight file with the reader for its format."""
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from modellake.tools.formats.safetensors_fmt import open_safetensors
        return open_safetensors(path)
    if suffix == ".gguf":
        from modellake.tools.formats.gguf_fmt import open_gguf
        return open_gguf(path)
    from modellake.tools.formats.torch_fmt import open_torch
    return open_torch(path)


@dataclass
class WeightScan:
    """What streaming a model's tensors yields."""

    tensors: list[TensorSummary]
    sketch: WeightSketch | None
    num_parameters: int
    dtypes: list[str]


def scan_weights(files: list[WeightFile]) -> WeightScan:
    """Statistics of every tensor and the model's sketch, one tensor (or block) at a time."""
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):  # inf/NaN weights: NaN statistics, dropped
        return _scan(files)


def _scan(files: list[WeightFile]) -> WeightScan:
    from modellake.tools.ingest.tensorstats import SketchPlan, summarize, summarize_blocks

    entries = [e for wf in files for e in wf.entries]
    floats = [(e.name, e.shape) for e in entries if e.is_float]
    plan = SketchPlan(floats) if floats else None
    tensors: list[TensorSummary] = []
    for wf in files:
        for td in wf.stream():
            e = td.entry
            if td.blocks is not None:
                want = plan.indices(e.name) if plan is not None and e.is_float else None
                summary, picked = summarize_blocks(e.name, td.blocks, e.shape, e.dtype,
                                                   e.nbytes, want)
                tensors.append(summary)
                if picked is not None:
                    plan.put(e.name, picked)
                continue
            tensors.append(summarize(e.name, td.values, e.shape, e.dtype, td.raw, e.nbytes))
            if plan is not None and e.is_float:
                plan.take(e.name, td.values)
    return WeightScan(tensors, plan.sketch() if plan else None,
                      sum(t.numel for t, e in zip(tensors, entries) if e.is_float),
                      sorted({e.dtype for e in entries}))


def _card(unit: ModelUnit):
    if unit.card_path is None:
        return None
    from modellake.tools.formats.card_fmt import read_card
    return read_card(unit.card_path)


def _store_card_results(catalog: Catalog, model: ModelRecord, card_path: Path | None) -> None:
    """The card's model-index results, stored as ``reported`` runs of the new version."""
    if model.card is None or not model.card.model_index or card_path is None:
        return
    from modellake.tools.bench.importer import card_runs

    for run in card_runs(model.card, str(card_path)):
        run.model, run.model_version = model.name, model.version
        run.model_hash, run.created_at = model.content_hash, model.ingested_at
        catalog.runs.add(run, model.id)


def _word(value: Any) -> str | None:
    """A config value that names something (model_type, quant_method...): a string or None,
    never a list or a number bound raw into the catalog."""
    if not isinstance(value, str) or not value:
        return None
    value = value[:MAX_WORD_CHARS]  # and valid Unicode (JSON may escape a lone surrogate)
    return value if value.isascii() else value.encode("utf-8", "replace").decode("utf-8")


def _describe(unit: ModelUnit, files: list[WeightFile], scan: WeightScan | None) -> dict[str, Any]:
    """Format-specific fields of the model record."""
    names = [e.name for wf in files for e in wf.entries]
    config = read_json(unit.config_path) if unit.config_path else {}
    fields: dict[str, Any] = {"config": config}
    if unit.kind == "gguf":
        meta = files[0].metadata
        fields.update(format="gguf", architecture=_word(meta.get("architecture")),
                      model_type=_word(meta.get("architecture")),
                      quantization=_word(meta.get("quantization")),
                      config={k: v for k, v in meta.items() if k != "kv"} | {"kv": meta.get("kv", {})})
    elif unit.kind == "adapter":
        fields.update(format="adapter", adapter_base=_word(config.get("base_model_name_or_path")),
                      model_type=(_word(config.get("peft_type")) or "adapter").lower(),
                      architecture=guess_architecture(names))
    elif unit.kind == "card":
        fields.update(format="card", architecture=_word(config.get("model_type")),
                      model_type=_word(config.get("model_type")))
    else:
        arch = _word(config.get("model_type")) or guess_architecture(names)
        quant = config.get("quantization_config") or {}
        fields.update(format="pytorch" if files and files[0].path.suffix != ".safetensors"
                      else "safetensors", architecture=arch, model_type=arch,
                      quantization=_word(quant.get("quant_method")) if isinstance(quant, dict) else None)
    if scan is not None:
        fields.update(num_parameters=scan.num_parameters, dtypes=scan.dtypes)
    return fields


def readable_name(unit: ModelUnit, card: Any = None) -> str:
    """The name a model is stored under when none is given: a card-only model's from its card
    (the repo id it declares, its model-index or YAML name, and its title when the file's own
    name says nothing, as "001.md" does), a ``README.md`` given alone after its folder, else
    the file or folder name."""
    if unit.name:
        return unit.name
    if unit.kind == "card" and card is not None:
        from modellake.tools.cards.naming import card_name, readable_stem
        from modellake.tools.search.facets import text_bases

        readme = unit.root.is_file() and unit.root.name.lower() == "readme.md"
        stem = unit.root.parent.resolve().name if readme else unit.default_name
        named = card_name(card, [b for b, _ in text_bases(card.text)], titles=not readable_stem(stem))
        if named:
            cleaned = re.sub(r"\s+", "-", named.strip())[:MAX_NAME]
            cleaned = re.sub(r"@\d+$", "", cleaned)
            if cleaned and _control_free(cleaned):
                return cleaned
    if unit.root.is_file() and unit.root.name.lower() == "readme.md":
        return unit.root.parent.resolve().name or unit.default_name
    return unit.default_name


def _control_free(name: str) -> bool:
    try:
        check_name(name)
    except ModelLakeError:
        return False
    return True


class Ingestor:
    """Ingests units into one catalog, one transaction per model."""

    def __init__(self, catalog: Catalog, name: str | None = None,
                 before_commit: Callable[[ModelRecord], None] | None = None,
                 after_store: Callable[[ModelRecord], None] | None = None) -> None:
        self.catalog = catalog
        self.name = name
        self.report = IngestReport()
        self.before_commit = before_commit  # called inside each model's transaction (tests)
        self.after_store = after_store  # called with each model stored (its card embedded ahead)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _resolve_name(self, unit: ModelUnit, chash: str, card: Any = None) -> tuple[str, ModelRecord | None]:
        """The name to store under, and the current record if nothing changed."""
        if self.name is None:
            prior = self.catalog.find_current_by_source(str(unit.root))
            if prior is not None:
                return prior.name, prior if prior.content_hash == chash else None
        name = self.name or readable_name(unit, card)
        if self.catalog.has_model(name):
            current = self.catalog.get_model(name)
            if current.content_hash == chash:
                return name, current
            if self.name is None and current.source != str(unit.root):
                name = self._free_name(name)
        return name, None

    def _free_name(self, name: str) -> str:
        i = 2
        while self.catalog.has_model(f"{name}-{i}"):
            i += 1
        return f"{name}-{i}"

    def ingest_unit(self, unit: ModelUnit) -> ModelRecord:
        hashing: Future[list[FileRecord]] = self._pool.submit(_file_records, unit)
        try:
            files = [open_weights(p) for p in unit.weight_files]
            scan = scan_weights(files) if files else None
            if unit.kind in ("hf", "adapter", "safetensors", "torch", "gguf") and not files:
                raise InvalidModelFileError(unit.root, "model directory has no weight files")
            card = _card(unit)
            fields = _describe(unit, files, scan)
        finally:
            file_records = hashing.result()
        chash = content_hash(file_records)
        name, unchanged = self._resolve_name(unit, chash, card)
        if unchanged is not None:
            self.report.unchanged.append(unchanged)
            return unchanged
        record = ModelRecord(name=name, source=str(unit.root), files=file_records,
                             content_hash=chash, card=card, **fields)
        with self.catalog.transaction():  # the model and its card's reported results together
            self.catalog.lock_name(name)
            same = self.catalog.current_with_hash(name, chash)  # another writer just stored it
            if same is not None:
                self.report.unchanged.append(same)
                return same
            stored = self.catalog.add_model(record, scan.tensors if scan else None,
                                            scan.sketch if scan else None)
            _store_card_results(self.catalog, stored, unit.card_path)
            if self.before_commit is not None:
                self.before_commit(stored)
        self.report.models.append(stored)
        if self.after_store is not None:
            self.after_store(stored)
        return stored

    def run(self, units: list[ModelUnit], on_progress: Progress | None = None) -> None:
        for i, unit in enumerate(units):
            if on_progress:
                on_progress(str(unit.root), i, len(units))
            try:
                self.ingest_unit(unit)
            except ModelLakeError as exc:
                self.report.errors.append(IngestError(str(unit.root), str(exc)))
            except (OSError, ValueError, RuntimeError, MemoryError) as exc:
                log.debug("ingest of %s failed", unit.root, exc_info=True)
                self.report.errors.append(IngestError(str(unit.root), f"{unit.root}: {one_line(exc)}"))
            except Exception as exc:  # noqa: BLE001 - last line of defence: the batch goes on
                log.debug("ingest of %s failed unexpectedly", unit.root, exc_info=True)
                self.report.errors.append(IngestError(str(unit.root), f"{unit.root}: unexpected "
                                                      f"{type(exc).__name__}: {one_line(exc)}"))
        if on_progress:
            on_progress("", len(units), len(units))


def hf_cache_units(cache_dir: Path | None = None) -> list[ModelUnit]:
    """Every model snapshot in the local Hugging Face cache, named after its repo."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(cache_dir)
    except CacheNotFound:
        return []
    units = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for rev in sorted(repo.revisions, key=lambda r: r.last_modified):
            found, _ = discover(Path(rev.snapshot_path))
            for u in found:
                u.name = repo.repo_id if len(found) == 1 else f"{repo.repo_id}/{u.default_name}"
                units.append(u)
    return units


def ingest(catalog: Catalog, paths: Iterable[str | Path], name: str | None = None,
           hf_cache: bool = False, on_progress: Progress | None = None, index: bool = True,
           on_index_progress: Progress | None = None, ray: str | None = None) -> IngestReport:
    """Ingest every model found under ``paths`` (and the HF cache if asked).

    Each model is stored in its own transaction: a failure leaves the catalog as
    it was for that model and the others still go in. Failures are listed in
    the report's ``errors``. With ``index`` (the default) the new models' cards are then
    added to the search index, so a search answers at once (``on_index_progress`` gets
    ``("cards" | "passages", done, total)``); ``report.index`` says what that did.
    ``ray``: read and store the models as tasks on a Ray cluster ("auto": the running
    cluster, "local": a cluster of this machine, or a cluster's address); see
    :mod:`modellake.tools.ingest.on_ray`.
    """
    paths = [Path(p).expanduser() for p in paths]
    report = IngestReport()
    ahead = _IndexAhead(on_index_progress) if index and ray is None else None
    if ray is not None:
        from modellake.tools.ingest.on_ray import ingest_on_ray

        ingest_on_ray(catalog, paths, name, hf_cache, ray, report, on_progress,
                      ingestor=Ingestor, collect=collect_units)
    else:
        units = collect_units(paths, name, hf_cache, report)
        if units is None:
            return report
        ingestor = Ingestor(catalog, name, after_store=ahead.submit if ahead else None)
        ingestor.report = report
        try:
            ingestor.run(units, on_progress)
        finally:
            ingestor.close()
    if ahead is not None:
        ahead.close()
    if index:
        from modellake.tools.search.sync import sync_index

        report.index = sync_index(catalog, progress=on_index_progress)
    return report


class _IndexAhead:
    """Index work done on a second thread while the weights are read: first loading what
    indexing needs (the vector store's library, the encoder), then each stored model's card
    passages, embedded ahead (``embedder.embed_ahead``). On two cores reading and embedding
    overlap; the index then finds the vectors ready. Only with the light encoder (ONNX):
    never the torch path, which an ingest must not import."""

    CHUNK = 128  # passages per encoder call, then a progress report

    def __init__(self, progress: Progress | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-ahead")
        self._ready = self._pool.submit(self._warm)
        self._pending: list[ModelRecord] = []
        self._lock = threading.Lock()
        self._progress = progress
        self._done = self._total = 0

    @staticmethod
    def _warm() -> bool:
        try:
            import modellake.store.index  # noqa: F401 - chromadb, ~0.5 s to import
            from modellake.tools.embedding import embedder

            with contextlib.suppress(ImportError):  # what chromadb's embedded client loads on
                import chromadb.api.rust  # noqa: F401 - first use (~0.13 s more)

            if embedder.needs_prepare():  # the one-off export imports torch: not here
                return False
            return embedder.runtime() == "onnx"
        except Exception:  # noqa: BLE001 - indexing itself reports what is wrong
            log.debug("warming the index failed", exc_info=True)
            return False

    def submit(self, record: ModelRecord) -> None:
        if record.card is not None:
            with self._lock:
                self._pending.append(record)
            self._pool.submit(self._embed_pending)

    def _embed_pending(self) -> None:
        """Embed the passages of every model stored since the last call, in one batch: cards
        come in faster than they are encoded, and one batch sorted by length pads less than
        one per card (the 194 real cards: 63 passages/s against 38 card by card)."""
        with self._lock:
            records, self._pending = self._pending, []
        if not records or not self._ready.result():
            return
        from modellake.tools.embedding import embedder

        texts = [text for record in records for text in self._passages(record)]
        self._total += len(texts)
        try:
            for start in range(0, len(texts), self.CHUNK):
                chunk = texts[start:start + self.CHUNK]
                embedder.embed_ahead(chunk)
                self._done += len(chunk)
                if self._progress is not None:
                    self._progress("passages", self._done, self._total)
        except Exception:  # noqa: BLE001 - the index embeds them itself
            log.debug("embedding %d passages ahead failed", len(texts), exc_info=True)

    @staticmethod
    def _passages(record: ModelRecord) -> list[str]:
        from modellake.tools.search.doc import build

        try:
            return [text for _, _, text, _ in build(record)[0].chunks]
        except Exception:  # noqa: BLE001 - the index builds (and reports) it itself
            log.debug("reading the passages of %s failed", record.name, exc_info=True)
            return []

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def collect_units(paths: list[str | Path], name: str | None, hf_cache: bool,
                  report: IngestReport) -> list[ModelUnit] | None:
    """The models under ``paths`` (discovery errors go to ``report``); None when ``name``
    was given for more than one model (said in ``report``)."""
    units: list[ModelUnit] = []
    for p in paths:
        found, errors = discover(Path(p).expanduser())
        units.extend(found)
        report.errors.extend(IngestError(str(path), str(exc)) for path, exc in errors)
    if hf_cache:
        units.extend(hf_cache_units())
    error = one_name_for_many(name, units, paths)
    if error is not None:
        report.errors.append(error)
        return None
    return units
