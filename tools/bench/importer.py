"""Reported results: lm-evaluation-harness JSON and model-index YAML, parsed into runs and
stored (``modellake import-results``).

Imported runs carry ``trust="reported"`` and their source (file name, sha256, and the
leaderboard or harness they came from); they are never averaged with, or ranked silently
against, runs measured here.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog, utcnow
from modellake.store.errors import ModelLakeError
from modellake.store.records import BenchmarkRun, CardInfo
from modellake.tools.bench.records import JsonRecord
from modellake.tools.bench.results import (
    TABLE_FROM,
    bullets,
    capped_table,
    metrics_text,
    named,
    sentence,
    shell_arg,
)
from modellake.tools.bench.tasks import higher_is_better, json_object, read_capped
from modellake.tools.rendering import plural

__all__ = ["ImportReport", "ParsedResults", "ResultsFileError", "import_results",
           "card_runs", "parse_lmeval", "parse_model_index", "parse_results_file"]

MAX_RESULTS_BYTES = 50 * 1024 * 1024


class ResultsFileError(ModelLakeError):
    """A results file that is neither lm-evaluation-harness JSON nor a model-index."""


@dataclass
class ParsedResults:
    format: str                     # lm-evaluation-harness | model-index
    runs: list[BenchmarkRun] = field(default_factory=list)  # model/hash filled in by the caller
    skipped: list[dict[str, Any]] = field(default_factory=list)
    reported_models: list[str] = field(default_factory=list)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v) if math.isfinite(float(v)) else None
    return None


# --------------------------------------------------------------------------- lm-eval
def _metric_key(name: str, filt: str) -> str:
    return name if filt in ("", "none") else f"{name},{filt}"


def _iso(ts: Any) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _env_line(info: str, prefix: str) -> str | None:
    for line in (info or "").splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return None


def _lmeval_metrics(vals: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """A task's numeric metrics and their stderrs (``acc,none`` -> ``acc``, ``acc_stderr``)."""
    metrics: dict[str, float] = {}
    stderr: dict[str, float] = {}
    for key, v in vals.items():
        if key == "alias":
            continue
        name, _, filt = str(key).partition(",")
        num = _num(v)
        if num is None:
            continue
        if name.endswith("_stderr"):
            stderr[_metric_key(name[: -len("_stderr")], filt)] = num
        else:
            metrics[_metric_key(name, filt)] = num
    return metrics, stderr


@dataclass
class _LmevalFile:
    """What an lm-evaluation-harness results file says once for all its tasks."""

    data: dict[str, Any]
    file_info: dict[str, Any]
    reported_model: str
    env: dict[str, Any]
    seed: int | None
    parent: dict[str, str]   # subtask -> its group
    groups: set[str]

    @classmethod
    def read(cls, data: dict[str, Any], file_info: dict[str, Any]) -> _LmevalFile:
        cfg = data.get("config") if isinstance(data.get("config"), dict) else {}
        parent: dict[str, str] = {}
        for g, subs in (data.get("group_subtasks") or {}).items():
            for s in subs or []:
                parent[str(s)] = str(g)
        model_args = str(cfg.get("model_args") or "")
        m = re.search(r"(?:pretrained|model|path)=([^,]+)", model_args)
        seed = next((cfg.get(k) for k in ("random_seed", "seed", "numpy_seed")
                     if isinstance(cfg.get(k), int)), None)
        return cls(data, file_info, m.group(1) if m else "", cls._env(data, cfg, model_args),
                   seed, parent, set(data.get("groups") or {}))

    @staticmethod
    def _env(data: dict[str, Any], cfg: dict[str, Any], model_args: str) -> dict[str, Any]:
        info = str(data.get("pretty_env_info") or "")
        return {k: v for k, v in {
            "harness": "lm-evaluation-harness",
            "harness_git_hash": data.get("git_hash"),
            "transformers": data.get("transformers_version"),
            "torch": _env_line(info, "PyTorch version:"),
            "python": _env_line(info, "Python version:"),
            "gpu": _env_line(info, "GPU models and configuration:") or _env_line(info, "GPU 0:"),
            "backend": cfg.get("model"),
            "model_args": model_args or None,
            "batch_size": cfg.get("batch_size"),
            "batch_sizes": cfg.get("batch_sizes"),
            "device": cfg.get("device"),
            "limit": cfg.get("limit"),
            "bootstrap_iters": cfg.get("bootstrap_iters"),
        }.items() if v not in (None, "", [])}

    def task_config(self, task: str) -> dict[str, Any]:
        configs = self.data.get("configs") if isinstance(self.data.get("configs"), dict) else {}
        return configs.get(task) if isinstance(configs.get(task), dict) else {}

    def directions(self, task: str, metrics: dict[str, float]) -> dict[str, bool]:
        """Whether higher is better per metric: the task's config, then the file's, else by name."""
        hib_top = self.data.get("higher_is_better") or {}
        hib = {m_: higher_is_better(m_) for m_ in metrics}
        for ml in self.task_config(task).get("metric_list") or []:
            if isinstance(ml, dict) and "metric" in ml and "higher_is_better" in ml:
                for k in metrics:
                    if k.split(",")[0] == ml["metric"]:
                        hib[k] = bool(ml["higher_is_better"])
        if isinstance(hib_top.get(task), dict):
            for k in metrics:
                base = k.split(",")[0]
                if base in hib_top[task] and isinstance(hib_top[task][base], bool):
                    hib[k] = hib_top[task][base]
        return hib

    def config(self, task: str, metrics: dict[str, float]) -> dict[str, Any]:
        tcfg = self.task_config(task)
        nshot = self.data.get("n-shot") or {}
        return {k: v for k, v in {
            **self.file_info,
            "reported_model": self.reported_model or None,
            "num_fewshot": nshot.get(task, tcfg.get("num_fewshot")),
            "task_version": (self.data.get("versions") or {}).get(task),
            "dataset_path": tcfg.get("dataset_path"),
            "dataset_name": tcfg.get("dataset_name"),
            "split": tcfg.get("test_split") or tcfg.get("validation_split"),
            "output_type": tcfg.get("output_type"),
            "group": self.parent.get(task),
            "is_group": task in self.groups or None,
            "higher_is_better": self.directions(task, metrics),
            "evaluated_at": _iso(self.data.get("date")),
        }.items() if v is not None}

    def run(self, task: str, metrics: dict[str, float], stderr: dict[str, float]) -> BenchmarkRun:
        nsamples = self.data.get("n-samples") or {}
        n = nsamples.get(task) if isinstance(nsamples.get(task), dict) else {}
        return BenchmarkRun(
            model="", task=str(task), metrics=metrics, trust="reported",
            source=f"lm-evaluation-harness results {self.file_info['file']} "
                   f"(sha256 {self.file_info['source_sha256'][:12]})",
            seed=self.seed, environment=self.env, stderr=stderr,
            config=self.config(task, metrics),
            n_samples=_num(n.get("effective")) and int(n["effective"]),
            dataset_hash=str((self.data.get("task_hashes") or {}).get(task, "")))


def parse_lmeval(data: dict[str, Any], file_info: dict[str, Any]) -> ParsedResults:
    """The runs in an lm-evaluation-harness results JSON: one per task with numeric metrics."""
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise ResultsFileError(f"{file_info['file']}: no `results` object: not an "
                               "lm-evaluation-harness results file")
    f = _LmevalFile.read(data, file_info)
    out = ParsedResults("lm-evaluation-harness",
                        reported_models=[f.reported_model] if f.reported_model else [])
    for task, vals in results.items():
        if not isinstance(vals, dict):
            continue
        metrics, stderr = _lmeval_metrics(vals)
        if not metrics:
            out.skipped.append({"task": task, "reason": "no numeric metrics"})
            continue
        out.runs.append(f.run(task, metrics, stderr))
    return out


# --------------------------------------------------------------------------- model-index
_PM = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(%?)\s*(?:(?:\+/-|±)\s*([-+]?\d+(?:\.\d+)?))?\s*$")


def _parse_value(v: Any) -> tuple[float | None, float | None]:
    """(value, plus-minus) from a number or strings like ``"75.3"``, ``"286.34 +/- 10.43"``."""
    num = _num(v)
    if num is not None:
        return num, None
    if isinstance(v, str):
        m = _PM.match(v)
        if m:
            return float(m.group(1)), float(m.group(3)) if m.group(3) else None
    return None, None


def _few_shot(args: Any) -> str | None:
    if isinstance(args, dict):
        for k in ("num_few_shot", "num_fewshot", "n_shot"):
            if k in args and args[k] is not None:
                return f"{args[k]}-shot"
        return None
    if isinstance(args, (str, int, float)) and str(args).strip():
        return str(args).strip()
    return None


def _mi_task_name(task: dict[str, Any], ds: dict[str, Any]) -> str:
    base = str(ds.get("type") or ds.get("name") or task.get("type") or task.get("name") or "unknown")
    name = base
    conf = ds.get("config")
    if conf and str(conf) not in ("default", base) and not base.endswith(str(conf)):
        name += f"/{conf}"
    quals = [q for q in (_few_shot(ds.get("args")), _few_shot(task.get("args"))) if q]
    if quals:
        name += " [" + ", ".join(dict.fromkeys(quals)) + "]"
    return name


def _front_matter(text: str) -> str:
    m = re.match(r"\A\ufeff?\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", text, re.S)
    return m.group(1) if m else text


def _disambiguate(items: list[list[Any]]) -> None:
    """Make task names unique within one file (e.g. one dataset type, many subsets)."""
    groups: dict[str, list[list[Any]]] = {}
    for it in items:
        groups.setdefault(it[5], []).append(it)
    for name, group in groups.items():
        if len(group) < 2:
            continue
        for pick in (lambda t, d: d.get("name"), lambda t, d: t.get("name"),
                     lambda t, d: d.get("split"), lambda t, d: d.get("revision")):
            quals = [pick(it[2], it[3]) for it in group]
            if all(quals) and len({str(q) for q in quals}) == len(quals):
                for it, q in zip(group, quals):
                    it[5] = f"{name} ({q})"
                break
        else:
            for i, it in enumerate(group, 1):
                it[5] = f"{name} (#{i})"


def _model_index(text: str, file_info: dict[str, Any]) -> list[Any]:
    """The ``model-index`` list of a YAML file or a card's front matter."""
    import yaml

    try:
        data = yaml.safe_load(_front_matter(text))
    except yaml.YAMLError as exc:
        raise ResultsFileError(f"{file_info['file']}: invalid YAML ({str(exc).splitlines()[0]})") from exc
    if isinstance(data, dict):
        data = data.get("model-index", data.get("model_index"))
    if not isinstance(data, list) or not data:
        raise ResultsFileError(f"{file_info['file']}: no `model-index` list found (expected "
                               "model-index YAML, a model card with one, or lm-evaluation-harness JSON)")
    return data


def _list(value: Any) -> list[Any]:
    """A YAML value that should be a list, as one (anything else: nothing)."""
    return value if isinstance(value, list) else []


def _mi_items(data: list[Any], out: ParsedResults) -> list[list[Any]]:
    """(entry, result, task, dataset, source, name) per result, names made unique; the
    entries' model names go to ``out.reported_models``."""
    items = []
    for entry in data:
        if not isinstance(entry, dict):
            continue
        if entry.get("name"):
            out.reported_models.append(str(entry["name"]))
        for res in _list(entry.get("results")):
            if not isinstance(res, dict):
                continue
            task = res.get("task") if isinstance(res.get("task"), dict) else {"type": res.get("task")}
            ds = res.get("dataset") if isinstance(res.get("dataset"), dict) else {"name": res.get("dataset")}
            src = res.get("source") if isinstance(res.get("source"), dict) else {}
            items.append([entry, res, task, ds, src, _mi_task_name(task, ds)])
    _disambiguate(items)
    return items


@dataclass
class _MiMetrics:
    """One model-index result's numeric metrics, with their ``±`` and ``verified`` flags."""

    values: dict[str, float] = field(default_factory=dict)
    plus_minus: dict[str, float] = field(default_factory=dict)
    verified: dict[str, bool] = field(default_factory=dict)


def _mi_metrics(res: dict[str, Any], name: str, skipped: list[dict[str, Any]]) -> _MiMetrics:
    """The result's metrics; those that are not numbers go to ``skipped``."""
    out = _MiMetrics()
    mlist = [m for m in _list(res.get("metrics")) if isinstance(m, dict)]
    types = [str(m.get("type") or m.get("name") or "") for m in mlist]
    for m, typ in zip(mlist, types):
        key = typ if types.count(typ) == 1 else str(m.get("name") or typ)
        if key in out.values:
            key = f"{key}#{len(out.values)}"
        val, plus_minus = _parse_value(m.get("value"))
        if val is None or not key:
            skipped.append({"task": name, "metric": key or None, "value": m.get("value"),
                            "reason": "value is not a number"})
            continue
        out.values[key] = val
        if plus_minus is not None:
            out.plus_minus[key] = plus_minus
        if "verified" in m:
            out.verified[key] = bool(m.get("verified"))
    return out


def _mi_run(entry: dict[str, Any], task: dict[str, Any], ds: dict[str, Any],
            src: dict[str, Any], name: str, metrics: _MiMetrics,
            file_info: dict[str, Any]) -> BenchmarkRun:
    config = {k: v for k, v in {
        **file_info,
        "reported_model": entry.get("name"),
        "task_type": task.get("type"), "task_name": task.get("name"),
        "dataset": {k: ds.get(k) for k in ("name", "type", "config", "split", "revision", "args")
                    if ds.get(k) is not None} or None,
        "source_name": src.get("name"), "source_url": src.get("url"),
        "verified": metrics.verified or None,
        "plus_minus": metrics.plus_minus or None,
        "higher_is_better": {k: higher_is_better(k) for k in metrics.values},
    }.items() if v is not None}
    where = f"; {src.get('name') or 'source'} {src.get('url') or ''}".rstrip() if src else ""
    return BenchmarkRun(
        model="", task=name, metrics=metrics.values, trust="reported",
        source=f"model-index in {file_info['file']} (sha256 "
               f"{file_info['source_sha256'][:12]}){where}",
        config=config)


def _mi_parsed(data: list[Any], file_info: dict[str, Any]) -> ParsedResults:
    out = ParsedResults("model-index")
    for entry, res, task, ds, src, name in _mi_items(data, out):
        metrics = _mi_metrics(res, name, out.skipped)
        if not metrics.values:
            out.skipped.append({"task": name, "reason": "no numeric metrics"})
            continue
        out.runs.append(_mi_run(entry, task, ds, src, name, metrics, file_info))
    return out


def parse_model_index(text: str, file_info: dict[str, Any]) -> ParsedResults:
    """The runs in a model-index (YAML, or a card's front matter): one per result with
    numeric metrics."""
    return _mi_parsed(_model_index(text, file_info), file_info)


def card_runs(card: CardInfo, card_file: str) -> list[BenchmarkRun]:
    """The results a model card reports in its model-index, as ``reported`` runs (none when
    it has no model-index; entries that are not numbers are left out, as on import)."""
    if not card.model_index:
        return []
    blob = json.dumps(card.model_index, sort_keys=True, default=str).encode()
    file_info = {"file": Path(card_file).name, "path": str(card_file), "from_card": True,
                 "source_sha256": hashlib.sha256(blob).hexdigest()}
    runs = _mi_parsed(card.model_index, file_info).runs
    return [r for r in runs if r.task != "unknown" and "unknown" not in r.metrics]  # nameless rows


# --------------------------------------------------------------------------- entry
def parse_results_file(path: str | Path, fmt: str | None = None) -> ParsedResults:
    """Parse a results file; ``fmt`` is ``lm-eval`` / ``model-index`` or guessed from content."""
    p = Path(path).expanduser()
    blob = read_capped(p, MAX_RESULTS_BYTES, lambda exc: ResultsFileError(
        f"{p}: cannot read ({exc.strerror or exc})" if exc else
        f"{p}: larger than {MAX_RESULTS_BYTES // 2**20} MB"))
    text = blob.decode("utf-8", errors="replace")
    file_info = {"file": p.name, "path": str(p.resolve()),
                 "source_sha256": hashlib.sha256(blob).hexdigest()}
    if fmt is None:
        fmt = "lm-eval" if text.lstrip().startswith("{") else "model-index"
    if fmt in ("lm-eval", "lm-evaluation-harness", "lmeval"):
        data = json_object(text, lambda exc: ResultsFileError(
            f"{p}: invalid JSON ({exc.msg} at line {exc.lineno})" if exc else
            f"{p}: expected a JSON object with `results`"))
        if "model-index" in data:
            return parse_model_index(json.dumps(data), file_info)
        return parse_lmeval(data, file_info)
    if fmt in ("model-index", "model_index", "card"):
        return parse_model_index(text, file_info)
    raise ResultsFileError(f"unknown results format {fmt!r}; use lm-eval or model-index")


# --------------------------------------------------------------------------- storing
@dataclass
class ImportReport(JsonRecord):
    """``import-results FILE --model NAME``: the reported runs stored from one file."""

    SUMMARIZED = ("runs",)

    model: str
    file: str
    format: str
    runs: list[BenchmarkRun] = field(default_factory=list)
    duplicates: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # -- words -----------------------------------------------------------------------------
    def _source(self) -> str:
        fmt = {"lm-evaluation-harness": "an lm-evaluation-harness results file",
               "model-index": "a model-index"}.get(self.format, self.format)
        return f"{Path(self.file).name} ({fmt})"

    def summary(self) -> str:
        if not self.runs:
            return f"Nothing new imported for {self.model} from {Path(self.file).name}."
        return (f"Imported {plural(len(self.runs), 'reported result')} for {self.model} from "
                f"{Path(self.file).name}.")

    def text(self) -> str:
        n, src = len(self.runs), self._source()
        if n:
            lead = (f"Imported {plural(n, 'reported result')} for {self.model} from {src}"
                    + (f"; {self.duplicates} {'was' if self.duplicates == 1 else 'were'} already "
                       "stored" if self.duplicates else "") + ".")
        elif self.duplicates:
            lead = (f"Nothing new: the {plural(self.duplicates, 'result')} in {src} "
                    f"{'was' if self.duplicates == 1 else 'were'} already stored for {self.model}.")
        else:
            lead = f"No result in {src} could be imported for {self.model}."
        paras = [lead]
        if n:
            rows = [[r.task, metrics_text(r.metrics)] for r in self.runs]
            paras.append(capped_table(["task", "scores"], rows, "result") if n >= TABLE_FROM
                         else bullets([f"{t}: {m}" for t, m in rows]))
            paras.append(f"They are stored as reported results: `modellake leaderboard --task "
                         f"{shell_arg(self.runs[0].task)} --trust reported` ranks them, never mixed with "
                         "runs measured here.")
        if self.skipped:
            paras.append(self._skipped_text())
        paras += [sentence(w) for w in self.warnings if w]
        return "\n\n".join(paras)

    def _skipped_text(self) -> str:
        by: dict[str, list[str]] = {}
        for s in self.skipped:
            what = " ".join(str(x) for x in (s.get("task"), s.get("metric")) if x) or "an entry"
            by.setdefault(str(s.get("reason") or "not a result"), []).append(what)
        parts = [f"{named(items)} ({reason})" for reason, items in by.items()]
        return f"Skipped {plural(len(self.skipped), 'entry', 'entries')}: " + "; ".join(parts) + "."


def _loose(s: str) -> str:
    return "".join(ch for ch in s.lower().rsplit("/", 1)[-1] if ch.isalnum())


def import_results(catalog: Catalog, path: str | Path, model: str, *,
                   format: str | None = None) -> ImportReport:  # noqa: A002 - CLI name
    """Store the results in an lm-evaluation-harness JSON or a model-index YAML (or a card
    with one) as ``reported`` runs of lake model ``model`` (``name`` or ``name@N``; a
    card-only model is fine). Importing the same file again stores nothing new."""
    record = catalog.get_model(model)
    parsed = parse_results_file(path, format)
    report = ImportReport(model=record.name, file=str(path), format=parsed.format,
                          skipped=parsed.skipped)
    mine = _loose(record.name)
    others = [m for m in parsed.reported_models if m and _loose(m) != mine]
    if others and len(others) == len(parsed.reported_models):
        report.warnings.append(f"the file reports results for {', '.join(sorted(set(others)))}, "
                               f"stored under lake model {record.name} as asked")
    imported_at = utcnow()
    with catalog.transaction():  # the whole file or nothing
        stored_before = {run.task for run in parsed.runs if record.id is not None and
                         catalog.runs.reported_exists(record.id, run.task,
                                                      run.config.get("source_sha256", ""))}
        for run in parsed.runs:
            if run.task in stored_before:
                report.duplicates += 1
                continue
            run.model = record.name
            run.model_version = record.version
            run.model_hash = record.content_hash
            run.created_at = imported_at
            run.config["imported_at"] = imported_at
            catalog.runs.add(run, record.id)
            report.runs.append(run)
    return report

