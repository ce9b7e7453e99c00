"""Small formatting helpers shared by the CLI and the web UI (no heavy imports)."""
from __future__ import annotations


def human_count(n: int | None) -> str:
    """22713216 -> '22.7M' ('-' when unknown)."""
    from modellake.tools.inspect import human_count as count

    return "-" if n is None else str(count(n))


def human_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
