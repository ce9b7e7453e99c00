"""Model cards: YAML front matter (via huggingface_hub) plus Markdown text.

Real cards are messy: CRLF endings, empty or malformed YAML, ``base_model: []``,
strings where lists are expected. Parsing never fails on content; what could
not be understood is recorded in ``CardInfo.metadata_error``.

Cards are untrusted: the front matter is size-capped and loaded by ``BoundedLoader``,
which refuses a document whose aliases expand past a node budget (a few hundred
bytes of "billion laughs" would otherwise expand to gigabytes) or refer to
themselves; what it builds is made JSON-safe (string keys, dates as text).
"""
from __future__ import annotations

import datetime
import logging
import re
from pathlib import Path
from typing import Any

import yaml

from modellake.store.errors import InvalidModelFileError
from modellake.store.records import CardInfo

MAX_CARD_BYTES = 5 * 1024 * 1024
MAX_FRONT_MATTER_CHARS = 256 * 1024  # real cards: under 64 KB of YAML
MAX_YAML_NODES = 100_000  # nodes once aliases are expanded (real cards: under 7,000)
MAX_YAML_DEPTH = 64
YAML_CHARS_PER_NODE = 64  # a long scalar counts as one node per this many characters
_FRONT = re.compile(r"\A\ufeff?\s*---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)


class YAMLRejected(yaml.YAMLError):
    """A YAML document that is too costly to build: too many nodes once expanded, a
    recursive alias, or nesting too deep."""


def _kids(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return node.value


def check_expansion(root: yaml.Node, budget: int = MAX_YAML_NODES, max_depth: int = MAX_YAML_DEPTH
                    ) -> None:
    """Refuse a composed document that expands past ``budget`` nodes once its aliases are
    followed (a long scalar counts one node per ``YAML_CHARS_PER_NODE`` characters), that
    refers to itself, or that nests deeper than ``max_depth``. Iterative, and linear in the
    composed document: a shared node is sized once."""
    sizes: dict[int, int] = {}  # id(node) -> expanded size, capped at budget + 1
    open_ids: set[int] = set()  # collections on the path from the root
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]  # depth < 0: all children sized
    while stack:
        node, depth = stack.pop()
        key = id(node)
        if depth < 0:
            open_ids.discard(key)
            size = min(budget + 1, 1 + sum([sizes[id(n)] for n in _kids(node)]))
            if size > budget:
                what = "aliases expand to" if len(sizes) < budget else "it has"
                raise YAMLRejected(f"{what} more than {budget} nodes")
            sizes[key] = size
        elif key in open_ids:
            raise YAMLRejected("an alias refers to a node that contains it (recursive anchor)")
        elif key in sizes:
            continue
        elif isinstance(node, yaml.ScalarNode):
            sizes[key] = 1 + len(node.value) // YAML_CHARS_PER_NODE
        elif depth > max_depth:
            raise YAMLRejected(f"nested deeper than {max_depth} levels")
        else:
            if len(sizes) + len(open_ids) > budget:
                raise YAMLRejected(f"it has more than {budget} nodes")
            open_ids.add(key)
            stack.append((node, -1))
            stack.extend([(n, depth + 1) for n in _kids(node)])


class BoundedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """``yaml.SafeLoader`` (libyaml's when present) that checks the composed document with
    ``check_expansion`` before building any Python object from it."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        check_expansion(node)
        return self.construct_document(node)


def json_safe(value: Any) -> Any:
    """YAML data as JSON can hold it: string keys, dates as text, sets as lists, binary
    as its length (depth is bounded by ``MAX_YAML_DEPTH``)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(json_safe(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [json_safe(v) for v in sorted(value, key=repr)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)  # as the catalog stored them before (json.dumps(default=str))
    if isinstance(value, bytes):
        return f"<{len(value)} bytes of binary data>"
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


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
    m = _FRONT.match(text)
    if not m:
        return {}, text, None
    body, front = text[m.end():], m.group(1)
    if len(front) > MAX_FRONT_MATTER_CHARS:
        return {}, body, (f"YAML metadata rejected: {len(front)} characters, more than the "
                          f"{MAX_FRONT_MATTER_CHARS} allowed")
    try:
        data = yaml.load(front, Loader=BoundedLoader)  # a SafeLoader: no arbitrary objects
    except YAMLRejected as exc:
        return {}, body, f"YAML metadata rejected: {exc}"
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        return {}, body, f"malformed YAML metadata: {first}"
    except Exception as exc:  # noqa: BLE001 - constructors on odd input: 5,000 digits, a bad date
        return {}, body, (f"malformed YAML metadata: cannot build a value ({type(exc).__name__}: "
                          f"{_first_line(exc)})")
    if data is None:
        return {}, body, None
    if not isinstance(data, dict):
        return {}, body, "YAML metadata is not a mapping"
    return json_safe(data), body, None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _results(model_index: Any) -> list[dict[str, Any]]:
    """Flatten a model-index into result rows; tolerant of partial entries."""
    rows: list[dict[str, Any]] = []
    if not isinstance(model_index, list):
        return rows
    for entry in model_index:
        if not isinstance(entry, dict) or not isinstance(entry.get("results"), list):
            continue
        for res in entry["results"]:
            if not isinstance(res, dict) or not isinstance(res.get("metrics"), list):
                continue
            task = res.get("task") or {}
            ds = res.get("dataset") or {}
            task = task if isinstance(task, dict) else {"type": str(task)}
            ds = ds if isinstance(ds, dict) else {"name": str(ds)}
            for metric in res["metrics"]:
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
            error = f"metadata rejected by huggingface_hub: {_first_line(exc)}"
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
