"""Benchmark tasks are data: a dataset file, what the model does with it, and a metric.

A task is a few lines of YAML next to its data file::

    name: my-sts                      # default: the YAML file's stem
    kind: similarity                  # similarity | classification | perplexity
                                      # | pseudo_perplexity | probe
    data: pairs.jsonl                 # .jsonl, .csv or (perplexity kinds) .txt; relative
                                      # to the YAML file
    fields: {text1: s1, text2: s2, score: gold}   # column names, when not the defaults
    metrics: [spearman]               # default: every metric of the kind; first = primary
    options: {batch_size: 32, max_length: 128}

Classification adds ``split: {field: split, train: train, test: test}`` (or
``train_data: other_file.jsonl``) and optionally ``labels: [neg, pos]``.

Built-in tasks live in ``tools/data/tasks/`` (smoke-size suites made for this project);
a lake's own tasks in ``LAKE/tasks/*.yaml``; any YAML path works as a task name too.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellake.store.errors import NotFoundError, TaskError
from modellake.store.records import Record

BUILTIN_DIR = Path(__file__).resolve().parent / "data" / "tasks"
MAX_DATA_BYTES = 200 * 1024 * 1024

KIND_METRICS: dict[str, list[str]] = {
    "similarity": ["spearman", "pearson"],
    "classification": ["accuracy", "macro_f1"],
    "perplexity": ["perplexity"],
    "pseudo_perplexity": ["pseudo_perplexity"],
    "probe": [],
}
KIND_FIELDS: dict[str, dict[str, str]] = {
    "similarity": {"text1": "sentence1", "text2": "sentence2", "score": "score"},
    "classification": {"text": "text", "label": "label"},
    "perplexity": {"text": "text"},
    "pseudo_perplexity": {"text": "text"},
    "probe": {"text": "text"},
}
KIND_DOC = {
    "similarity": "Spearman of cosine(mean-pooled embeddings) against gold scores (encoders)",
    "classification": "accuracy / macro-F1 with the model's classifier head when its labels "
                      "match, else a logistic-regression probe on mean-pooled embeddings",
    "perplexity": "perplexity of a causal LM on a text file (one line = one sample)",
    "pseudo_perplexity": "pseudo-perplexity of a masked LM (each token masked in turn)",
    "probe": "behavioural fingerprint: outputs on fixed inputs, compared across models",
}
OPTION_DEFAULTS: dict[str, Any] = {"batch_size": 32, "max_length": 128}
# Metrics where a smaller value is better; everything else is taken as higher-is-better.
LOWER_IS_BETTER = {"perplexity", "pseudo_perplexity", "loss", "nll", "wer", "cer", "ter",
                   "bits_per_byte", "byte_perplexity", "word_perplexity", "mse", "mae", "rmse"}


def higher_is_better(metric: str) -> bool:
    base = metric.split(",")[0].strip().lower()
    return not (base in LOWER_IS_BETTER or base.endswith("perplexity"))


@dataclass
class TaskSpec(Record):
    """One task, as declared by its YAML file."""

    name: str
    kind: str
    description: str
    data: str
    metrics: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    split: dict[str, str] | None = None
    train_data: str | None = None
    labels: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    origin: str = "builtin"  # builtin | lake | file
    path: str = ""
    smoke: bool = False

    @property
    def primary_metric(self) -> str | None:
        return self.metrics[0] if self.metrics else None

    def option(self, key: str) -> Any:
        return self.options.get(key, OPTION_DEFAULTS.get(key))

    def directions(self) -> dict[str, bool]:
        """metric -> whether higher is better."""
        return {m: higher_is_better(m) for m in self.metrics}

    def brief(self) -> dict[str, Any]:
        """The JSON shape of ``bench --list-tasks``."""
        return {"name": self.name, "kind": self.kind, "description": self.description,
                "metrics": self.metrics, "origin": self.origin, "smoke": self.smoke,
                "path": self.path, "data": self.data}


@dataclass
class TaskData:
    """A task's examples, read from its files, with the hashes that identify them."""

    spec: TaskSpec
    test: list[dict[str, Any]]
    train: list[dict[str, Any]]
    dataset_hash: str
    task_hash: str

    @property
    def n_samples(self) -> int:
        return len(self.test)


# --------------------------------------------------------------------------- YAML
def _bad(path: Path, msg: str) -> TaskError:
    return TaskError(f"task file {path}: {msg}")


def load_task_file(path: str | Path, origin: str = "file") -> TaskSpec:
    """Parse and validate one task YAML file (data paths resolved against its folder)."""
    path = Path(path).expanduser().resolve()
    raw = _read_yaml(path)
    kind = _task_kind(raw, path)
    data, train_data = _data_files(raw, path)
    metrics = _task_metrics(raw, kind, path)
    fields = _task_fields(raw, kind, path)
    split = _task_split(raw, kind, train_data, path)
    labels = raw.get("labels")
    if labels is not None:
        labels = [str(x) for x in labels]
    options = _task_options(raw, path)
    return TaskSpec(
        name=str(raw.get("name") or path.stem), kind=kind,
        description=str(raw.get("description") or KIND_DOC[kind]), data=str(data),
        metrics=list(metrics), fields=fields, split=split, train_data=train_data,
        labels=labels, options=options, origin=origin, path=str(path),
        smoke=bool(raw.get("smoke", False)))


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(path, f"cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise _bad(path, f"invalid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(raw, dict):
        raise _bad(path, "expected a mapping with at least `kind` and `data`")
    return raw


def _task_kind(raw: dict[str, Any], path: Path) -> str:
    kind = str(raw.get("kind", "")).strip().replace("-", "_")
    if kind not in KIND_METRICS:
        raise _bad(path, f"unknown kind {raw.get('kind')!r}; use one of {', '.join(KIND_METRICS)}")
    return kind


def _data_files(raw: dict[str, Any], path: Path) -> tuple[Path, str | None]:
    """The data file and the optional ``train_data`` file, resolved and checked to exist."""
    if not raw.get("data"):
        raise _bad(path, "missing `data:` (the dataset file, relative to the YAML file)")
    data = (path.parent / str(raw["data"])).resolve()
    if not data.is_file():
        raise _bad(path, f"data file {data} does not exist")
    train_data = None
    if raw.get("train_data"):
        tp = (path.parent / str(raw["train_data"])).resolve()
        if not tp.is_file():
            raise _bad(path, f"train_data file {tp} does not exist")
        train_data = str(tp)
    return data, train_data


def _task_metrics(raw: dict[str, Any], kind: str, path: Path) -> list[str]:
    metrics = raw.get("metrics") or KIND_METRICS[kind]
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in KIND_METRICS[kind]]
    if unknown:
        raise _bad(path, f"metric(s) {unknown} not available for kind {kind!r}; "
                         f"available: {KIND_METRICS[kind] or 'none (probe sets keep fingerprints)'}")
    return metrics


def _task_fields(raw: dict[str, Any], kind: str, path: Path) -> dict[str, str]:
    fields = dict(KIND_FIELDS[kind])
    user_fields = raw.get("fields") or {}
    if not isinstance(user_fields, dict):
        raise _bad(path, "`fields` must map roles to column names, e.g. {text: sentence}")
    fields.update({str(k): str(v) for k, v in user_fields.items()})
    return fields


def _task_split(raw: dict[str, Any], kind: str, train_data: str | None,
                path: Path) -> dict[str, str] | None:
    split = raw.get("split")
    if kind == "classification":
        if split is None and train_data is None:
            raise _bad(path, "classification needs a train split for its linear probe: give "
                             "`split: {field: split, train: train, test: test}` or `train_data:`")
        if split is not None:
            if not isinstance(split, dict) or "field" not in split:
                raise _bad(path, "`split` must be {field: COLUMN, train: VALUE, test: VALUE}")
            split = {"field": str(split["field"]), "train": str(split.get("train", "train")),
                     "test": str(split.get("test", "test"))}
    return split


def _task_options(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    options = raw.get("options") or {}
    if not isinstance(options, dict):
        raise _bad(path, "`options` must be a mapping")
    for key in ("batch_size", "max_length"):
        if key in options and (not isinstance(options[key], int) or options[key] < 1):
            raise _bad(path, f"option {key} must be a positive integer")
    return options


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def task_dirs(lake_root: str | Path | None = None) -> list[tuple[Path, str]]:
    dirs = [(BUILTIN_DIR, "builtin")]
    if lake_root is not None:
        dirs.append((Path(lake_root) / "tasks", "lake"))
    return dirs


def list_tasks(lake_root: str | Path | None = None) -> list[TaskSpec]:
    """Built-in tasks, then the lake's own (``LAKE/tasks/*.yaml``), which shadow a built-in of
    the same name. A broken task file raises :class:`TaskError` naming the file."""
    found: dict[str, TaskSpec] = {}
    for folder, origin in task_dirs(lake_root):
        for p in _yaml_files(folder):
            spec = load_task_file(p, origin)
            found[spec.name] = spec
    return sorted(found.values(), key=lambda t: (t.kind, t.name))


def get_task(name: str | Path, lake_root: str | Path | None = None) -> TaskSpec:
    """A task by name (lake tasks first, then built-ins), or by the path of its YAML file."""
    p = Path(str(name)).expanduser()
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return load_task_file(p, "file")
    for folder, origin in reversed(task_dirs(lake_root)):
        for f in _yaml_files(folder):
            if f.stem == str(name):
                spec = load_task_file(f, origin)
                if spec.name == str(name):
                    return spec
    for spec in list_tasks(lake_root):
        if spec.name == str(name):
            return spec
    names = [t.name for t in list_tasks(lake_root)]
    import difflib

    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    err = NotFoundError(f"no task named {name!r}{hint} (known: {', '.join(names)}; add one as "
                        "LAKE/tasks/NAME.yaml or pass the path of a task YAML file)")
    err.hint = ""
    raise err


# --------------------------------------------------------------------------- data
def sha256_bytes(*blobs: bytes) -> str:
    h = hashlib.sha256()
    for b in blobs:
        h.update(hashlib.sha256(b).digest())
    return h.hexdigest()


def read_capped(path: Path, limit: int, fail: Callable[[OSError | None], Exception]) -> bytes:
    """The bytes of ``path``; raises ``fail(None)`` when it is larger than ``limit`` bytes,
    ``fail(exc)`` when it cannot be read."""
    try:
        if path.stat().st_size > limit:
            raise fail(None)
        return path.read_bytes()
    except OSError as exc:
        raise fail(exc) from exc


def json_object(text: str, fail: Callable[[json.JSONDecodeError | None], Exception]) -> dict:
    """``text`` parsed as a JSON object; raises ``fail(exc)`` when it is not JSON,
    ``fail(None)`` when it is JSON but not an object."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(exc) from exc
    if not isinstance(obj, dict):
        raise fail(None)
    return obj


def _read_rows(path: Path, spec: TaskSpec) -> tuple[list[dict[str, Any]], bytes]:
    blob = read_capped(path, MAX_DATA_BYTES, lambda exc: TaskError(
        f"task {spec.name}: cannot read {path}: {exc.strerror or exc}" if exc else
        f"task {spec.name}: data file {path} is larger than {MAX_DATA_BYTES // 2**20} MB"))
    text = blob.decode("utf-8", errors="replace")
    suffix = path.suffix.lower()
    rows: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".ndjson"):
        for i, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            rows.append(json_object(line, lambda exc, i=i: TaskError(
                f"task {spec.name}: {path}:{i}: "
                + (f"invalid JSON ({exc.msg})" if exc else "expected a JSON object"))))
    elif suffix in (".csv", ".tsv"):
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        rows = [dict(r) for r in reader]
    elif suffix in (".txt", ".text", ".md") and spec.kind in ("perplexity", "pseudo_perplexity", "probe"):
        key = spec.fields.get("text", "text")
        rows = [{key: line.strip()} for line in text.splitlines() if line.strip()]
    else:
        raise TaskError(f"task {spec.name}: unsupported data file type {path.suffix!r}; use "
                        ".jsonl or .csv (or .txt for perplexity and probe tasks)")
    return rows, blob


def _field(row: dict[str, Any], key: str, spec: TaskSpec, path: Path, i: int) -> Any:
    col = spec.fields[key]
    if col not in row or row[col] is None or row[col] == "":
        raise TaskError(f"task {spec.name}: {path} row {i + 1} has no {col!r} column "
                        f"(the {key} field; map columns with `fields:` in the task YAML)")
    return row[col]


def _normalize(rows: list[dict[str, Any]], spec: TaskSpec, path: Path) -> list[dict[str, Any]]:
    """Rows reduced to the fields the kind needs, with a stable ``id`` per example."""
    out = []
    id_col = spec.fields.get("id")
    for i, row in enumerate(rows):
        rid = str(row[id_col]) if id_col and row.get(id_col) not in (None, "") else str(i)
        if spec.kind == "similarity":
            try:
                score = float(_field(row, "score", spec, path, i))
            except ValueError as exc:
                raise TaskError(f"task {spec.name}: {path} row {i + 1}: score is not a number") from exc
            out.append({"id": rid, "text1": str(_field(row, "text1", spec, path, i)),
                        "text2": str(_field(row, "text2", spec, path, i)), "score": score})
        elif spec.kind == "classification":
            out.append({"id": rid, "text": str(_field(row, "text", spec, path, i)),
                        "label": str(_field(row, "label", spec, path, i)),
                        "_split": str(row.get(spec.split["field"], "")) if spec.split else ""})
        else:
            out.append({"id": rid, "text": str(_field(row, "text", spec, path, i))})
    return out


def load_task_data(spec: TaskSpec) -> TaskData:
    """Read a task's examples; ``dataset_hash`` covers the data files' bytes, ``task_hash``
    also the task's definition (kind, fields, split, labels, options, metrics)."""
    path = Path(spec.data)
    rows, blob = _read_rows(path, spec)
    blobs = [blob]
    test = _normalize(rows, spec, path)
    train: list[dict[str, Any]] = []
    if spec.kind == "classification":
        if spec.train_data:
            tpath = Path(spec.train_data)
            trows, tblob = _read_rows(tpath, spec)
            blobs.append(tblob)
            train = _normalize(trows, spec, tpath)
        else:
            assert spec.split is not None
            train = [r for r in test if r["_split"] == spec.split["train"]]
            test = [r for r in test if r["_split"] == spec.split["test"]]
        for r in train + test:
            r.pop("_split", None)
        if not train or not test:
            raise TaskError(f"task {spec.name}: needs both train and test examples "
                            f"(found {len(train)} train, {len(test)} test)")
        if spec.labels:
            unknown = sorted({r["label"] for r in train + test} - set(spec.labels))
            if unknown:
                raise TaskError(f"task {spec.name}: labels {unknown} are not in the task's "
                                f"`labels:` list {spec.labels}")
    if not test:
        raise TaskError(f"task {spec.name}: {path} has no examples")
    ids = [r["id"] for r in test]
    if len(set(ids)) != len(ids):
        raise TaskError(f"task {spec.name}: example ids are not unique in {path}")
    dataset_hash = sha256_bytes(*blobs)
    definition = {"kind": spec.kind, "fields": spec.fields, "split": spec.split,
                  "labels": spec.labels, "options": spec.options, "metrics": spec.metrics,
                  "dataset_hash": dataset_hash}
    task_hash = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return TaskData(spec, test, train, dataset_hash, task_hash)


def label_order(data: TaskData) -> list[str]:
    """Class names in a fixed order: the YAML's ``labels``, else sorted as seen."""
    if data.spec.labels:
        return list(data.spec.labels)
    return sorted({r["label"] for r in data.train + data.test})
