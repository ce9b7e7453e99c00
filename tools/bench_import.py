"""Reported results: lm-evaluation-harness JSON and model-index YAML, parsed into runs.

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
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from modellake.store.errors import ModelLakeError
from modellake.store.records import BenchmarkRun
from modellake.tools.bench_tasks import higher_is_better

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
        return datetime.fromtimestamp(float(ts), timezone.utc).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _env_line(info: str, prefix: str) -> str | None:
    for line in (info or "").splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    return None


def parse_lmeval(data: dict[str, Any], file_info: dict[str, Any]) -> ParsedResults:
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise ResultsFileError(f"{file_info['file']}: no `results` object: not an "
                               "lm-evaluation-harness results file")
    cfg = data.get("config") if isinstance(data.get("config"), dict) else {}
    configs = data.get("configs") if isinstance(data.get("configs"), dict) else {}
    versions = data.get("versions") or {}
    nshot = data.get("n-shot") or {}
    nsamples = data.get("n-samples") or {}
    hib_top = data.get("higher_is_better") or {}
    groups = set(data.get("groups") or {})
    parent: dict[str, str] = {}
    for g, subs in (data.get("group_subtasks") or {}).items():
        for s in subs or []:
            parent[str(s)] = str(g)
    model_args = str(cfg.get("model_args") or "")
    m = re.search(r"(?:pretrained|model|path)=([^,]+)", model_args)
    reported_model = m.group(1) if m else ""
    info = str(data.get("pretty_env_info") or "")
    env = {k: v for k, v in {
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
    seed = next((cfg.get(k) for k in ("random_seed", "seed", "numpy_seed") if isinstance(cfg.get(k), int)), None)
    out = ParsedResults("lm-evaluation-harness", reported_models=[reported_model] if reported_model else [])
    for task, vals in results.items():
        if not isinstance(vals, dict):
            continue
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
        if not metrics:
            out.skipped.append({"task": task, "reason": "no numeric metrics"})
            continue
        tcfg = configs.get(task) if isinstance(configs.get(task), dict) else {}
        hib = {m_: higher_is_better(m_) for m_ in metrics}
        for ml in tcfg.get("metric_list") or []:
            if isinstance(ml, dict) and "metric" in ml and "higher_is_better" in ml:
                for k in metrics:
                    if k.split(",")[0] == ml["metric"]:
                        hib[k] = bool(ml["higher_is_better"])
        if isinstance(hib_top.get(task), dict):
            for k in metrics:
                base = k.split(",")[0]
                if base in hib_top[task] and isinstance(hib_top[task][base], bool):
                    hib[k] = hib_top[task][base]
        n = nsamples.get(task) if isinstance(nsamples.get(task), dict) else {}
        config = {k: v for k, v in {
            **file_info,
            "reported_model": reported_model or None,
            "num_fewshot": nshot.get(task, tcfg.get("num_fewshot")),
            "task_version": versions.get(task),
            "dataset_path": tcfg.get("dataset_path"),
            "dataset_name": tcfg.get("dataset_name"),
            "split": tcfg.get("test_split") or tcfg.get("validation_split"),
            "output_type": tcfg.get("output_type"),
            "group": parent.get(task),
            "is_group": task in groups or None,
            "higher_is_better": hib,
            "evaluated_at": _iso(data.get("date")),
        }.items() if v is not None}
        out.runs.append(BenchmarkRun(
            model="", task=str(task), metrics=metrics, trust="reported",
            source=f"lm-evaluation-harness results {file_info['file']} "
                   f"(sha256 {file_info['source_sha256'][:12]})",
            seed=seed, environment=env, stderr=stderr, config=config,
            n_samples=_num(n.get("effective")) and int(n["effective"]),
            dataset_hash=str((data.get("task_hashes") or {}).get(task, ""))))
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


def parse_model_index(text: str, file_info: dict[str, Any]) -> ParsedResults:
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
    out = ParsedResults("model-index")
    items = []  # (entry, result, task, dataset, source, name)
    for entry in data:
        if not isinstance(entry, dict):
            continue
        if entry.get("name"):
            out.reported_models.append(str(entry["name"]))
        for res in entry.get("results") or []:
            if not isinstance(res, dict):
                continue
            task = res.get("task") if isinstance(res.get("task"), dict) else {"type": res.get("task")}
            ds = res.get("dataset") if isinstance(res.get("dataset"), dict) else {"name": res.get("dataset")}
            src = res.get("source") if isinstance(res.get("source"), dict) else {}
            items.append([entry, res, task, ds, src, _mi_task_name(task, ds)])
    _disambiguate(items)
    for entry, res, task, ds, src, name in items:
        metrics: dict[str, float] = {}
        pm: dict[str, float] = {}
        verified: dict[str, bool] = {}
        mlist = [m for m in res.get("metrics") or [] if isinstance(m, dict)]
        types = [str(m.get("type") or m.get("name") or "") for m in mlist]
        for m, typ in zip(mlist, types):
            key = typ if types.count(typ) == 1 else str(m.get("name") or typ)
            if key in metrics:
                key = f"{key}#{len(metrics)}"
            val, plus_minus = _parse_value(m.get("value"))
            if val is None or not key:
                out.skipped.append({"task": name, "metric": key or None, "value": m.get("value"),
                                    "reason": "value is not a number"})
                continue
            metrics[key] = val
            if plus_minus is not None:
                pm[key] = plus_minus
            if "verified" in m:
                verified[key] = bool(m.get("verified"))
        if not metrics:
            out.skipped.append({"task": name, "reason": "no numeric metrics"})
            continue
        config = {k: v for k, v in {
            **file_info,
            "reported_model": entry.get("name"),
            "task_type": task.get("type"), "task_name": task.get("name"),
            "dataset": {k: ds.get(k) for k in ("name", "type", "config", "split", "revision", "args")
                        if ds.get(k) is not None} or None,
            "source_name": src.get("name"), "source_url": src.get("url"),
            "verified": verified or None,
            "plus_minus": pm or None,
            "higher_is_better": {k: higher_is_better(k) for k in metrics},
        }.items() if v is not None}
        where = f"; {src.get('name') or 'source'} {src.get('url') or ''}".rstrip() if src else ""
        out.runs.append(BenchmarkRun(
            model="", task=name, metrics=metrics, trust="reported",
            source=f"model-index in {file_info['file']} (sha256 "
                   f"{file_info['source_sha256'][:12]}){where}",
            config=config))
    return out


# --------------------------------------------------------------------------- entry
def parse_results_file(path: str | Path, fmt: str | None = None) -> ParsedResults:
    """Parse a results file; ``fmt`` is ``lm-eval`` / ``model-index`` or guessed from content."""
    p = Path(path).expanduser()
    try:
        if p.stat().st_size > MAX_RESULTS_BYTES:
            raise ResultsFileError(f"{p}: larger than {MAX_RESULTS_BYTES // 2**20} MB")
        blob = p.read_bytes()
    except OSError as exc:
        raise ResultsFileError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    text = blob.decode("utf-8", errors="replace")
    file_info = {"file": p.name, "path": str(p.resolve()),
                 "source_sha256": hashlib.sha256(blob).hexdigest()}
    if fmt is None:
        fmt = "lm-eval" if text.lstrip().startswith("{") else "model-index"
    if fmt in ("lm-eval", "lm-evaluation-harness", "lmeval"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResultsFileError(f"{p}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(data, dict):
            raise ResultsFileError(f"{p}: expected a JSON object with `results`")
        if "model-index" in data:
            return parse_model_index(json.dumps(data), file_info)
        return parse_lmeval(data, file_info)
    if fmt in ("model-index", "model_index", "card"):
        return parse_model_index(text, file_info)
    raise ResultsFileError(f"unknown results format {fmt!r}; use lm-eval or model-index")
