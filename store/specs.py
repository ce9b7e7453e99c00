"""Small shared helpers of the store: timestamps and ``name@version`` specs."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def split_spec(spec: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ``("name", 3)``; ``"name"`` -> ``("name", None)``."""
    name, sep, ver = spec.rpartition("@")
    if sep and name and ver.isdigit():
        return name, int(ver)
    return spec, None
