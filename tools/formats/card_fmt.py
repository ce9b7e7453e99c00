"""Model cards: YAML front matter (via huggingface_hub) plus Markdown text.

Real cards are messy: CRLF endings, empty or malformed YAML, ``base_model: []``,
strings where lists are expected. Parsing never fails on content; what could
not be understood is recorded in ``CardInfo.metadata_error``.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from modellake.store.errors import InvalidModelFileError
from modellake.store.records import CardInfo

MAX_CARD_BYTES = 5 * 1024 * 1024
_FRONT = re.compile(r"\A\ufeff?\s*---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [_yaml_word(v) for v in value if v is not None and str(v).strip()]
    return [_yaml_word(value)]


def _yaml_word(v: Any) -> str:
    """A list item as written: YAML 1.1 reads the language code ``no`` (Norwegian) as false."""
    if isinstance(v, bool):
        return "no" if v is False else "yes"
    return str(v)


def _as_str(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _split(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(metadata, body, error) from a card's text."""
    import yaml

    m = _FRONT.match(text)
    if not m:
        return {}, text, None
    body = text[m.end():]
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        return {}, body, f"malformed YAML metadata: {first}"
    if data is None:
        return {}, body, None
    if not isinstance(data, dict):
        return {}, body, "YAML metadata is not a mapping"
    return data, body, None


def _results(model_index: Any) -> list[dict[str, Any]]:
    """Flatten a model-index into result rows; tolerant of partial entries."""
    rows: list[dict[str, Any]] = []
    if not isinstance(model_index, list):
        return rows
    for entry in model_index:
        if not isinstance(entry, dict):
            continue
        for res in entry.get("results") or []:
            if not isinstance(res, dict):
                continue
            task = res.get("task") or {}
            ds = res.get("dataset") or {}
            task = task if isinstance(task, dict) else {"type": str(task)}
            ds = ds if isinstance(ds, dict) else {"name": str(ds)}
            for metric in res.get("metrics") or []:
                if not isinstance(metric, dict) or "value" not in metric:
                    continue
                rows.append({
                    "model": entry.get("name"),
                    "task": task.get("type") or task.get("name"),
                    "dataset": ds.get("name") or ds.get("type"),
                    "dataset_type": ds.get("type"),
                    "split": ds.get("split"),
                    "metric": metric.get("type") or metric.get("name"),
                    "metric_name": metric.get("name"),
                    "value": metric.get("value"),
                    "verified": bool(metric.get("verified", False)),
                })
    return rows


def parse_card(text: str) -> CardInfo:
    """Parse a card's text (any line endings) into a ``CardInfo``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta, body, error = _split(text)
    if not error and meta:
        try:  # validate through huggingface_hub's card data, as ModelCard(text) does
            from huggingface_hub.repocard_data import ModelCardData

            logging.getLogger("huggingface_hub.repocard_data").setLevel(logging.ERROR)
            ModelCardData(**meta, ignore_metadata_errors=True)
        except Exception as exc:  # noqa: BLE001 - hub raises ValueError and friends
            error = f"metadata rejected by huggingface_hub: {str(exc).splitlines()[0][:200]}"
    model_index = meta.get("model-index")
    return CardInfo(
        text=body.strip("\n"),
        metadata=meta,
        license=_as_str(meta.get("license")),
        base_model=_as_list(meta.get("base_model")),
        base_model_relation=_as_str(meta.get("base_model_relation")),
        datasets=_as_list(meta.get("datasets")),
        tags=_as_list(meta.get("tags")),
        pipeline_tag=_as_str(meta.get("pipeline_tag")),
        language=_as_list(meta.get("language")),
        library_name=_as_str(meta.get("library_name")),
        model_index=model_index if isinstance(model_index, list) else [],
        results=_results(model_index),
        metadata_error=error,
    )


def read_card(path: Path) -> CardInfo:
    """Read and parse a card file (size-bounded; undecodable bytes replaced)."""
    try:
        size = path.stat().st_size
        if size > MAX_CARD_BYTES:
            raise InvalidModelFileError(path, f"model card of {size} bytes is larger than the "
                                        f"{MAX_CARD_BYTES} byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_card(data.decode("utf-8", errors="replace"))
