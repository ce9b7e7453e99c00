"""What the lake knows about one model, gathered for its card, each fact with its evidence.

Evidence has four kinds, shown in a card as a short marker ``[E3 measured: run 12]``:

* ``measured``: a benchmark run stored by ``modellake bench`` (the run id);
* ``inferred``: a lineage edge inferred from the weights (the edge and its numbers);
* ``weights``: a number read from the stored tensor statistics (parameter count, sizes);
* ``declared``: what a file of the model says (its card, ``config.json``, a GGUF header,
  ``adapter_config.json``, a classifier head's metadata) or a *reported* run.

Lineage (``modellake.tools.lineage.graph``) and benchmark runs (``modellake.store.runs``) are
optional here: when a module is missing or fails, the card says less and notes why.
"""
from __future__ import annotations

import importlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.errors import ModelLakeError, NotFoundError
from modellake.store.records import BenchmarkRun, LineageEdge, ModelRecord, Record
from modellake.tools.inspection import Inspection, inspect_model

log = logging.getLogger(__name__)

EVIDENCE_KINDS = ("measured", "inferred", "weights", "declared")
HUB_RELATIONS = {"finetune": "finetune", "adapter": "adapter", "quantized": "quantized",
                 "merge": "merge"}  # the Hub's base_model_relation values
SIDE_HEAD_FILE = "classifier_head.safetensors"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_ARCH_PIPELINE = (
    (re.compile(r"ForSequenceClassification$"), "text-classification"),
    (re.compile(r"ForTokenClassification$"), "token-classification"),
    (re.compile(r"ForQuestionAnswering$"), "question-answering"),
    (re.compile(r"ForMaskedLM$"), "fill-mask"),
    (re.compile(r"ForCausalLM$|LMHeadModel$"), "text-generation"),
    (re.compile(r"ForImageClassification$"), "image-classification"),
    (re.compile(r"^Whisper.*ForConditionalGeneration$|ForSpeechSeq2Seq$|ForCTC$"),
     "automatic-speech-recognition"),
    (re.compile(r"^(T5|MT5|Bart|MBart|Pegasus|LongT5)ForConditionalGeneration$"),
     "text2text-generation"),
    (re.compile(r"^Marian\w*MTModel$"), "translation"),
)
_PEFT_TASKS = {"CAUSAL_LM": "text-generation", "SEQ_CLS": "text-classification",
               "TOKEN_CLS": "token-classification", "SEQ_2_SEQ_LM": "text2text-generation",
               "FEATURE_EXTRACTION": "feature-extraction", "QUESTION_ANS": "question-answering"}
_GGUF_ENCODERS = {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "modern-bert"}
TASK_KIND_PIPELINE = {"classification": "text-classification",
                      "similarity": "sentence-similarity", "perplexity": "text-generation",
                      "pseudo_perplexity": "fill-mask", "probe": "feature-extraction"}


# ============================================================================ evidence
@dataclass
class Evidence(Record):
    """One piece of evidence behind a card statement."""

    id: str        # "E3"
    kind: str      # measured | inferred | weights | declared
    source: str    # "run 12", "edge a -> b", "config.json", "tensor statistics", "README.md"
    claim: str     # what it supports, in a few words
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def marker(self) -> str:
        return f"[{self.id} {self.kind}: {self.source}]"


class EvidenceLog:
    """Numbered evidence; the same (kind, source, claim) is recorded once."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []
        self._seen: dict[tuple[str, str, str], Evidence] = {}

    def add(self, kind: str, source: str, claim: str, **data: Any) -> Evidence:
        if kind not in EVIDENCE_KINDS:
            raise ValueError(f"evidence kind must be one of {EVIDENCE_KINDS}, not {kind!r}")
        key = (kind, source, claim)
        if key in self._seen:
            self._seen[key].data.update(data)
            return self._seen[key]
        ev = Evidence(f"E{len(self.items) + 1}", kind, source, claim, _jsonable(data))
        self.items.append(ev)
        self._seen[key] = ev
        return ev


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return str(x)


def markers(*evs: Evidence | None) -> str:
    return " ".join(e.marker for e in evs if e is not None)


# ============================================================================ lineage
@dataclass
class LineageView:
    """The inferred lineage around one model, from ``modellake.tools.lineage.graph``."""

    parents: list[LineageEdge] = field(default_factory=list)
    children: list[LineageEdge] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    available: bool = False
    note: str | None = None  # why there is no lineage, when there is none


def _optional_module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _as_edge(e: Any) -> LineageEdge:
    if isinstance(e, LineageEdge):
        return e
    d = e if isinstance(e, dict) else e.to_dict()
    return LineageEdge(d["parent"], d["child"], d.get("relation", "finetune"),
                       float(d.get("confidence", 0.0)), dict(d.get("evidence") or {}),
                       d.get("source", "inferred"))


def lineage_view(catalog: Catalog, name: str, infer: bool = True) -> LineageView:
    """Inferred parents, children and declared-vs-inferred conflicts of ``name``.

    ``infer`` lets ``modellake.tools.lineage.graph`` solve what changed since its last run
    (cached per layout group); ``infer=False`` reads only the edges already cached.
    Never raises: a lake without lineage gives an empty view with a note.
    """
    mod = _optional_module("modellake.tools.lineage")
    if mod is None:
        return LineageView(note="lineage inference is not installed (modellake.tools.lineage)")
    try:
        if infer:
            graph = mod.lineage(catalog, name)
            parents = [_as_edge(e) for e in graph.parents(name)]
            children = [_as_edge(e) for e in graph.children(name)]
            conflicts = [c.to_dict() if hasattr(c, "to_dict") else dict(c)
                         for c in graph.conflicts if getattr(c, "model", None) == name
                         or (isinstance(c, dict) and c.get("model") == name)]
        else:

            edges = [e for _, e in catalog.lineage.edges()]
            parents = [e for e in edges if e.child == name]
            children = [e for e in edges if e.parent == name]
            conflicts = []
    except NotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 - a card must not fail because lineage did
        log.debug("lineage failed for %s", name, exc_info=True)
        return LineageView(note=f"lineage inference failed: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
    parents.sort(key=lambda e: (-e.confidence, e.parent))
    children.sort(key=lambda e: (-e.confidence, e.child))
    return LineageView(parents, children, conflicts, True)


# ============================================================================ runs
def model_runs(catalog: Catalog, model: ModelRecord) -> tuple[list[BenchmarkRun], str | None]:
    """Runs of exactly this model version (measured and reported), newest first."""
    try:
        runs = catalog.runs.find(model=f"{model.name}@{model.version}")
    except Exception as exc:  # noqa: BLE001
        log.debug("runs failed for %s", model.name, exc_info=True)
        return [], f"benchmark runs could not be read: {type(exc).__name__}: {exc}"
    return [r for r in runs if not r.model_hash or r.model_hash == model.content_hash], None


def latest_by_task(runs: list[BenchmarkRun], trust: str = "measured") -> list[BenchmarkRun]:
    """The newest run of each task (one task definition: the newest ``task_hash``)."""
    out: dict[str, BenchmarkRun] = {}
    for r in sorted(runs, key=lambda r: r.id or 0, reverse=True):
        if r.trust == trust and r.task not in out and r.metrics:
            out[r.task] = r
    return sorted(out.values(), key=lambda r: r.task)


def higher_is_better(run: BenchmarkRun, metric: str) -> bool:
    hib = (run.config or {}).get("higher_is_better") or {}
    if metric in hib:
        return bool(hib[metric])
    base = metric.split(",")[0].strip().lower()
    return not (base in {"loss", "mse", "mae", "rmse", "bits_per_byte", "bpb"}
                or base.endswith("perplexity") or base.startswith("ppl"))


# ============================================================================ files
def model_dir(model: ModelRecord) -> Path:
    src = Path(model.source)
    return src if src.is_dir() else src.parent


def file_names(model: ModelRecord) -> set[str]:
    return {f.path for f in model.files}


def read_side_head(model: ModelRecord) -> dict[str, Any] | None:
    """Labels and shape of a ``classifier_head.safetensors`` stored beside the encoder."""
    if SIDE_HEAD_FILE not in file_names(model):
        return None
    path = model_dir(model) / SIDE_HEAD_FILE
    try:
        from modellake.tools.formats.safetensors_fmt import read_header

        header, _ = read_header(path)
    except (ModelLakeError, OSError):
        return None
    meta = header.get("__metadata__") or {}
    labels: list[str] = []
    raw = meta.get("id2label")
    if raw:
        try:
            d = json.loads(raw) if isinstance(raw, str) else raw
            labels = [str(d[k]) for k in sorted(d, key=lambda k: int(k))]
        except (ValueError, TypeError, KeyError):
            labels = []
    shapes = {k: v.get("shape") for k, v in header.items() if k != "__metadata__"
              and isinstance(v, dict)}
    weight = next((s for k, s in shapes.items() if k.endswith("weight") and s and len(s) == 2),
                  None)
    return {"file": SIDE_HEAD_FILE, "labels": labels,
            "num_labels": len(labels) or (weight[0] if weight else None),
            "input_dim": weight[1] if weight else None}


def config_labels(model: ModelRecord) -> list[str]:
    id2label = (model.config or {}).get("id2label") or {}
    try:
        labels = [str(id2label[k]) for k in sorted(id2label, key=lambda k: int(k))]
    except (ValueError, TypeError):
        return []
    return [] if all(re.fullmatch(r"LABEL_\d+", x) for x in labels) else labels


def is_sentence_transformers(model: ModelRecord) -> bool:
    names = file_names(model)
    return "modules.json" in names or "config_sentence_transformers.json" in names


def library_of(model: ModelRecord) -> tuple[str, str, str] | None:
    """(library_name, source file, why) from the model's files."""
    if model.format == "gguf":
        return "gguf", "GGUF header", "a GGUF file (llama.cpp and compatible runtimes)"
    if model.format == "adapter":
        return "peft", "adapter_config.json", "a PEFT adapter"
    if is_sentence_transformers(model):
        src = "modules.json" if "modules.json" in file_names(model) else \
            "config_sentence_transformers.json"
        return "sentence-transformers", src, "sentence-transformers module files"
    if (model.config or {}).get("architectures") or (model.config or {}).get("model_type"):
        return "transformers", "config.json", "a transformers config"
    return None


def pipeline_of(model: ModelRecord, head: dict[str, Any] | None) -> tuple[str, str, str] | None:
    """(pipeline_tag, source, why) from the architecture and the head."""
    cfg = model.config or {}
    if model.format == "gguf":
        arch = str(cfg.get("architecture") or model.architecture or "")
        if not arch:
            return None
        if arch in _GGUF_ENCODERS:
            return "feature-extraction", "GGUF header", f"general.architecture {arch} (an encoder)"
        return "text-generation", "GGUF header", f"general.architecture {arch} (a decoder LM)"
    if model.format == "adapter":
        task = str(cfg.get("task_type") or "").upper()
        if task in _PEFT_TASKS:
            return _PEFT_TASKS[task], "adapter_config.json", f"task_type {task}"
        return None
    if head:
        n = head.get("num_labels")
        return ("text-classification", head["file"],
                f"a {n}-way classification head" if n else "a classification head")
    archs = [str(a) for a in cfg.get("architectures") or []]
    for a in archs:
        for rx, tag in _ARCH_PIPELINE:
            if rx.search(a):
                return tag, "config.json", f"architectures {a}"
    if archs and all(a.endswith("Model") for a in archs):
        if is_sentence_transformers(model):
            return ("sentence-similarity", "modules.json",
                    f"architectures {archs[0]} (no head) with sentence-transformers pooling")
        return "feature-extraction", "config.json", f"architectures {archs[0]} (no head)"
    return None


# ============================================================================ names
def hub_id_for(record: ModelRecord | None, name: str, declared: list[str] | None = None) -> \
        tuple[str, str] | None:
    """A Hub id for lake model ``name``: (id, where it came from), or None.

    From (in order) a declared id of the child that names it, an HF cache path, or an
    ``org/name`` that the model's own card writes out.
    """
    tail = name.lower().rsplit("/", 1)[-1]
    if _HUB_ID.match(name):
        return name, "lake name"
    for d in declared or []:
        if _HUB_ID.match(d) and d.lower().rsplit("/", 1)[-1] == tail:
            return d, "declared by the child's card"
    if record is not None:
        m = re.search(r"models--([\w.-]+)--([\w.-]+)", record.source)
        if m and m.group(2).lower() == tail:
            return f"{m.group(1)}/{m.group(2)}", "Hugging Face cache path"
        if record.card is not None:
            found = re.findall(r"(?<![\w./-])([A-Za-z0-9][\w.-]*/" + re.escape(tail) + r")(?![\w.-])",
                               record.card.text, re.I)
            found = [f for f in found if not f.lower().startswith(("http", "www"))]
            if found:
                best = max(set(found), key=found.count)
                return best, "the model's own card"
    return None


def match_declared(declared: list[str], lake_name: str) -> str | None:
    """The declared id that names lake model ``lake_name`` (lenient, like lineage does)."""
    ln = lake_name.strip().lower()
    for d in declared:
        dn = d.strip().lower().rstrip("/")
        if dn == ln or dn.rsplit("/", 1)[-1] == ln.rsplit("/", 1)[-1]:
            return d
    return None


# ============================================================================ facts
@dataclass
class Facts:
    """Everything a card about one model may state."""

    model: ModelRecord
    insp: Inspection
    lineage: LineageView
    runs: list[BenchmarkRun]
    runs_note: str | None
    related: dict[str, ModelRecord]            # parents and children by name
    parent_runs: dict[str, list[BenchmarkRun]]
    head: dict[str, Any] | None
    library: tuple[str, str, str] | None
    pipeline: tuple[str, str, str] | None

    @property
    def card(self):
        return self.model.card

    @property
    def measured(self) -> list[BenchmarkRun]:
        return latest_by_task(self.runs, "measured")

    @property
    def reported(self) -> list[BenchmarkRun]:
        return latest_by_task(self.runs, "reported")


def gather(catalog: Catalog, name: str, *, infer_lineage: bool = True) -> Facts:
    """Collect the facts about the current version of ``name`` (or ``name@N``)."""
    insp = inspect_model(catalog, name)
    model = catalog.get_model(f"{insp.name}@{insp.version}")
    if not model.has_weights:
        view = LineageView(note="the weights are not in the lake: no lineage from weights")
    elif catalog.get_model(model.name).version != model.version:
        view = LineageView(note=f"version {model.version} is not the current one: lineage is "
                                "inferred for current versions only")
    else:
        view = lineage_view(catalog, model.name, infer=infer_lineage)
    runs, note = model_runs(catalog, model)
    related: dict[str, ModelRecord] = {}
    parent_runs: dict[str, list[BenchmarkRun]] = {}
    for e in view.parents + view.children:
        other = e.parent if e.child == model.name else e.child
        if other not in related:
            try:
                related[other] = catalog.get_model(other)
            except NotFoundError:
                continue
    for e in view.parents:
        if e.parent in related:
            parent_runs[e.parent] = model_runs(catalog, related[e.parent])[0]
    head = read_side_head(model)
    return Facts(model, insp, view, runs, note, related, parent_runs, head,
                 library_of(model), pipeline_of(model, head))
