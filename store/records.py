"""Typed domain records of the lake.

These are plain dataclasses: the catalog stores and returns them, tools take
and return them, and ``to_dict`` gives the JSON shape the CLI prints.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


def _to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        short = getattr(obj, "SUMMARIZED", ())
        return {f.name: [x.brief() for x in getattr(obj, f.name)] if f.name in short
                else _to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_to_dict(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _to_dict(v) for k, v in obj.items()}
    return obj


class Record:
    """Mixin: JSON-ready dict of a dataclass record.

    ``SUMMARIZED`` names list fields whose items appear in short, by their ``brief()``
    (reports list the models or runs they touched that way).
    """

    SUMMARIZED: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self)


@dataclass
class FileRecord(Record):
    """One file of a model: path relative to the model's source, size, sha256."""

    path: str
    size: int
    sha256: str


@dataclass
class TensorSummary(Record):
    """Statistics of one tensor, computed once at ingest.

    ``kurtosis`` is excess kurtosis (0 for a Gaussian). Statistics of tensors
    with more than a few million elements come from a fixed random sample;
    ``zero_fraction`` and ``absmax`` are always exact. ``row_distinct`` is the
    largest number of distinct values in a few sampled rows (a quantization cue).
    """

    name: str
    shape: list[int]
    dtype: str
    numel: int
    nbytes: int
    hash: str
    mean: float | None = None
    std: float | None = None
    absmax: float | None = None
    kurtosis: float | None = None
    zero_fraction: float | None = None
    distinct_estimate: int | None = None
    row_distinct: int | None = None

    @property
    def is_float(self) -> bool:
        return self.mean is not None


@dataclass
class CardInfo(Record):
    """A parsed model card: YAML metadata fields plus the Markdown text."""

    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    base_model: list[str] = field(default_factory=list)
    base_model_relation: str | None = None
    datasets: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    pipeline_tag: str | None = None
    language: list[str] = field(default_factory=list)
    library_name: str | None = None
    model_index: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    metadata_error: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CardInfo:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class WeightSketch(Record):
    """A fixed-size sample of a model's weights.

    Models with the same ``layout_hash`` (same tensor names and shapes) are
    sampled at the same coordinates, so sketch distances estimate full weight
    distances: ``||a - b||^2 ~= scale * ||sa - sb||^2`` with
    ``scale = total_numel / len(vector)``.
    """

    layout_hash: str
    total_numel: int
    vector: list[float]


@dataclass
class ModelRecord(Record):
    """One version of one model in the lake."""

    name: str
    format: str  # safetensors | pytorch | gguf | adapter | card
    source: str
    architecture: str | None = None
    model_type: str | None = None
    num_parameters: int | None = None
    dtypes: list[str] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    ingested_at: str = ""
    version: int = 1
    id: int | None = None
    content_hash: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    adapter_base: str | None = None
    quantization: str | None = None
    card: CardInfo | None = None
    layout_hash: str | None = None

    @property
    def has_card(self) -> bool:
        return self.card is not None

    @property
    def has_weights(self) -> bool:
        return self.format != "card"

    def brief(self) -> dict[str, Any]:
        """The short JSON shape used by ``ingest`` and ``list``."""
        return {
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "architecture": self.architecture,
            "num_parameters": self.num_parameters,
            "files": [f.path for f in self.files],
            "has_card": self.has_card,
        }


@dataclass
class LineageEdge(Record):
    """parent -> child, how the child was derived, with evidence in numbers."""

    parent: str
    child: str
    relation: str  # finetune | adapter | quantized | pruned | merge
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)
    source: str = "inferred"  # inferred | declared


@dataclass
class BenchmarkRun(Record):
    """One evaluation of one model on one task, with its provenance."""

    model: str
    task: str
    metrics: dict[str, float]
    trust: str = "measured"  # measured | reported
    model_hash: str = ""
    dataset_hash: str = ""
    source: str = ""
    seed: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    duration_s: float | None = None
    created_at: str = ""
    outputs: list[Any] | None = None
    id: int | None = None
    model_version: int | None = None
    task_kind: str = ""  # similarity | classification | perplexity | pseudo_perplexity | probe | ""
    task_hash: str = ""  # dataset_hash + the task's definition; runs compare only when equal
    stderr: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    n_samples: int | None = None

    def brief(self) -> dict[str, Any]:
        """The JSON shape of ``runs`` and ``bench``: everything but the per-sample outputs."""
        d = self.to_dict()
        d.pop("outputs")
        d["has_outputs"] = self.outputs is not None
        return d


@dataclass
class CardDraft(Record):
    """A drafted model card: the rendered text plus its evidence and gaps.

    ``markdown``: the card (``"text"`` in its JSON). ``evidence``: one dict per marker in the text (``id``, ``kind``,
    ``source``, ``claim``, ``data``, ``marker``); ``missing``: "section: field" the lake
    knows nothing about; ``completeness``: section -> share of its fields filled (0-1),
    ``overall`` their mean; ``notes``: what a reviewer should know (conflicts, inherited
    licence, lake-only names); ``prose``: ``deterministic`` or ``writer`` (an LLM wrote the
    prose from the evidence).
    """

    model: str
    markdown: str
    metadata: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    completeness: dict[str, float] = field(default_factory=dict)
    version: int | None = None
    overall: float = 0.0
    notes: list[str] = field(default_factory=list)
    prose: str = "deterministic"

    def to_dict(self) -> dict[str, Any]:
        """``markdown`` goes out as ``text`` (the shape of ``card --json``)."""
        return {("text" if k == "markdown" else k): v for k, v in super().to_dict().items()}


@dataclass
class IngestError(Record):
    """A path that could not be ingested, and why."""

    path: str
    error: str


@dataclass
class IngestReport(Record):
    """What one ``ingest`` call did: per model, and per failed path."""

    SUMMARIZED = ("models", "unchanged")

    models: list[ModelRecord] = field(default_factory=list)
    unchanged: list[ModelRecord] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)
    index: Record | None = None  # what indexing the new cards for search did (when asked)
