"""Small formatting helpers shared by the CLI and the web UI (no heavy imports)."""
from __future__ import annotations


def human_count(n: int | None) -> str:
    """22713216 -> '22.7M' ('-' when unknown)."""
    from modellake.tools.inspect import human_count as count

    return "-" if n is None else str(count(n))


def human_bytes(n: int | None) -> str:
    from modellake.tools.inspect import human_bytes as size

    return size(n) or "-"
