"""Tool results as the model sees them (compact JSON, truncated with a note) and the
evidence they carry (citations: models, runs, lineage edges, card passages).
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

DEFAULT_LIMIT = 6000
NOTE_KEY = "_note"


def jsonable(obj: Any) -> Any:
    """Records, dataclasses, paths and the like as plain JSON values."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        try:
            return jsonable(obj.item())
        except (TypeError, ValueError):
            pass
    return str(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return float(f"{obj:.4g}")
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def _shrink(obj: Any, max_items: int, max_str: int) -> tuple[Any, int]:
    """Cut lists to ``max_items`` and strings to ``max_str``; returns (obj, items dropped)."""
    dropped = 0
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out[k], d = _shrink(v, max_items, max_str)
            dropped += d
        return out, dropped
    if isinstance(obj, list):
        keep = obj[:max_items]
        out_list = []
        for v in keep:
            sv, d = _shrink(v, max_items, max_str)
            out_list.append(sv)
            dropped += d
        if len(obj) > max_items:
            out_list.append(f"... {len(obj) - max_items} more")
            dropped += len(obj) - max_items
        return out_list, dropped
    if isinstance(obj, str) and len(obj) > max_str:
        return obj[:max_str] + f" ... [{len(obj) - max_str} more chars]", 1
    return obj, 0


def compact(result: Any, limit: int = DEFAULT_LIMIT) -> str:
    """Compact JSON of a tool result, at most ``limit`` characters.

    Floats are rounded to 4 significant digits. A result that is too large has its
    lists and strings cut step by step, and says so in a ``_note`` field; as a last
    resort the text is cut and the note appended (then it is no longer valid JSON).
    """
    data = _round(jsonable(result))
    text = _dumps(data)
    if len(text) <= limit:
        return text
    original = len(text)
    for max_items, max_str in ((20, 1000), (10, 400), (5, 200), (3, 120), (1, 80)):
        small, dropped = _shrink(data, max_items, max_str)
        note = (f"result truncated from {original} to fit {limit} characters: lists cut to "
                f"{max_items} items, long texts shortened; ask a narrower question for the rest")
        wrapped = {**small, NOTE_KEY: note} if isinstance(small, dict) else {
            "items": small, NOTE_KEY: note}
        text = _dumps(wrapped)
        if len(text) <= limit:
            return text
    note = f' ... [{NOTE_KEY}: truncated from {original} characters]'
    return text[: max(limit - len(note), 0)] + note


def loads(text: str) -> Any:
    """Parse a compact result back (``None`` when it was cut mid-JSON)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


# -- citations ------------------------------------------------------------------------------
_MODEL_HINTS = ("version", "architecture", "num_parameters", "format", "score", "why")


def citations(tool: str, args: dict[str, Any], result: Any, limit: int = 30) -> list[dict[str, Any]]:
    """Evidence items in one tool result: models, runs, lineage edges, card passages."""
    out: list[dict[str, Any]] = []
    model_name = result.get("name") if isinstance(result, dict) else None
    task = result.get("task") if isinstance(result, dict) else None

    def walk(obj: Any, owner: str | None) -> None:
        if len(out) >= limit:
            return
        if isinstance(obj, list):
            for v in obj:
                walk(v, owner)
            return
        if not isinstance(obj, dict):
            return
        keys = set(obj)
        if {"parent", "child"} <= keys:
            if not (isinstance(obj["parent"], str) and isinstance(obj["child"], str)):
                return  # not an edge between two models (how two layouts' prefixes line up)
            edge = {"kind": "edge", "parent": obj["parent"], "child": obj["child"]}
            for k in ("relation", "confidence", "source"):
                if obj.get(k) is not None:
                    edge[k] = obj[k]
            ev = obj.get("evidence")
            if isinstance(ev, dict):
                edge["evidence"] = {k: v for k, v in list(ev.items())[:6]
                                    if isinstance(v, (int, float, str, bool))}
            out.append(edge)
            return
        if isinstance(obj.get("run_ids"), list) and obj["run_ids"]:
            for rid in obj["run_ids"][:5]:
                out.append({"kind": "run", "id": rid, "model": obj.get("model") or obj.get("name"),
                            "task": obj.get("task") or task, "trust": obj.get("trust")})
            return
        if ("run_id" in keys) or ({"id", "task", "metrics"} <= keys):
            if obj.get("run_id", obj.get("id")) is None:  # a result no run stores: its model cites it
                return
            out.append({"kind": "run", "id": obj.get("run_id", obj.get("id")),
                        "model": obj.get("model"), "task": obj.get("task"),
                        "trust": obj.get("trust")})
            return
        if {"section", "text"} <= keys and owner:
            out.append({"kind": "card", "model": owner, "section": obj["section"],
                        "text": str(obj["text"])[:240]})
            return
        name = obj.get("name")
        if isinstance(name, str) and keys & set(_MODEL_HINTS):
            cite = {"kind": "model", "name": name}
            if obj.get("version") is not None:
                cite["version"] = obj["version"]
            if obj.get("why"):
                cite["why"] = obj["why"] if isinstance(obj["why"], (str, list)) else str(obj["why"])
            out.append(cite)
            owner = name
        for k, v in obj.items():
            if k in ("config", "groups", "top_kurtosis", "files"):
                continue
            if isinstance(v, (dict, list)):
                walk(v, owner)

    walk(result, model_name)
    if isinstance(result, dict) and isinstance(result.get("card"), dict) and model_name:
        card = result["card"]
        fields = {k: card[k] for k in ("license", "base_model", "datasets", "pipeline_tag")
                  if card.get(k)}
        if fields:
            out.append({"kind": "card", "model": model_name, "section": "metadata",
                        "fields": fields})
    if isinstance(result, dict) and isinstance(result.get("metadata"), dict) and model_name:
        meta = {k: v for k, v in result["metadata"].items()
                if k in ("license", "base_model", "datasets", "pipeline_tag")}
        if meta:
            out.append({"kind": "card", "model": model_name, "section": "metadata",
                        "fields": meta})
    if not out and isinstance(args.get("name"), str):
        out.append({"kind": "model", "name": args["name"]})
    return out


def merge_citations(items: list[dict[str, Any]], limit: int = 40) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for c in items:
        key = _dumps(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out[:limit]
