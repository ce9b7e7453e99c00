"""Where a lake lives on disk and how to open it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modellake.store.errors import LakeError, from_os_error

ENV_HOME = "MODELLAKE_HOME"


def resolve_lake_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--lake DIR``, else ``$MODELLAKE_HOME``, else ``~/.modellake``."""
    if explicit is not None:
        if not str(explicit).strip():
            raise LakeError("the lake directory given is empty; name a directory, or leave it "
                            f"out for the default lake (${ENV_HOME}, else ~/.modellake)")
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".modellake"


@dataclass
class Lake:
    """A lake directory: ``catalog.db`` (SQLite), ``index/`` (vectors), ``files/``."""

    root: Path

    @classmethod
    def open(cls, explicit: str | os.PathLike[str] | None = None, create: bool = True) -> Lake:
        root = resolve_lake_dir(explicit)
        try:
            return cls._open(root, create)
        except OSError as exc:
            raise from_os_error(exc, root) from exc

    @classmethod
    def _open(cls, root: Path, create: bool) -> Lake:
        if root.exists() and not root.is_dir():
            raise LakeError(f"lake path {root} exists and is not a directory; choose another "
                            "with --lake")
        if create:
            root.mkdir(parents=True, exist_ok=True)
        elif not root.is_dir():
            raise LakeError(f"no lake at {root} (create one with `modellake ingest`)")
        return cls(root)

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.db"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def catalog(self) -> Catalog:  # noqa: F821 - imported lazily to keep this module light
        from modellake.store.catalog import Catalog

        return Catalog(self.catalog_path)
