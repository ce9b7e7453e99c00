"""Small shared helpers of the store: timestamps and ``name@version`` specs."""
from __future__ import annotations

from datetime import UTC, datetime

from modellake.store.errors import UsageError

MAX_VERSION = 2**63 - 1  # the largest integer SQLite stores


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def split_spec(spec: str) -> tuple[str, int | None]:
    """``"name@3"`` -> ``("name", 3)``; ``"name"`` -> ``("name", None)``."""
    name, sep, ver = spec.rpartition("@")
    if sep and name and ver.isdigit():
        return name, int(ver)
    return spec, None


def parse_spec(spec: str) -> tuple[str, int | None]:
    """:func:`split_spec`, refusing a version no model can have."""
    name, version = split_spec(spec)
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise UsageError(f"version {version} in {spec!r} is out of range: versions count "
                         f"from 1 (at most {MAX_VERSION})")
    return name, version
