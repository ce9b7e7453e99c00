"""Small pieces the benchmark modules share: strict-JSON records, trust levels, metric directions.

Internal to :mod:`modellake.tools.bench`; imports no sibling but :mod:`.tasks`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.records import BenchmarkRun, Record
from modellake.tools.bench.tasks import TaskSpec, higher_is_better

Progress = Callable[[str, int, int], None]  # (label, examples done, examples total)
TRUST_CHOICES = ("measured", "reported", "all")


def lake_root_of(catalog: Catalog, lake_root: str | Path | None) -> Path:
    """``lake_root`` when given, else the folder of ``catalog``'s lake."""
    return Path(lake_root) if lake_root is not None else catalog.root


def trust_levels(trust: str) -> list[str]:
    """The trust levels a ``trust`` choice (``measured``, ``reported``, ``all``) stands for."""
    if trust not in TRUST_CHOICES:
        raise ValueError(f"trust must be one of {TRUST_CHOICES}, not {trust!r}")
    return ["measured", "reported"] if trust == "all" else [trust]


def finite(x: Any) -> bool:
    """Whether ``x`` is a finite number."""
    return isinstance(x, (int, float)) and math.isfinite(x)


def json_safe(obj: Any) -> Any:
    """NaN and infinities become None, so ``--json`` output is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


class JsonRecord(Record):
    """A record whose ``to_dict()`` is strict JSON (no NaN)."""

    def to_dict(self) -> dict[str, Any]:
        return json_safe(super().to_dict())


def metric_direction(runs: list[BenchmarkRun], metric: str, spec: TaskSpec | None) -> bool:
    """Whether higher is better for ``metric``: the task's word, else the runs', else the name's."""
    if spec is not None and metric in spec.metrics:
        return spec.directions()[metric]
    for r in runs:
        hib = (r.config.get("higher_is_better") or {}).get(metric)
        if isinstance(hib, bool):
            return hib
    return higher_is_better(metric)
