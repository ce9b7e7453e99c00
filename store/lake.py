"""Where a lake lives on disk and how to open it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modellake.store.errors import LakeError, from_os_error

ENV_HOME = "MODELLAKE_HOME"
ENV_CATALOG = "MODELLAKE_CATALOG"  # a postgresql:// URL: the team's shared catalog
ENV_INDEX = "MODELLAKE_INDEX"  # an http(s):// URL: the team's Chroma server (`chroma run`)


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


def resolve_catalog(explicit: str | None = None) -> str | None:
    """``--catalog URL``, else ``$MODELLAKE_CATALOG``, else None (the lake's SQLite file)."""
    url = (explicit if explicit is not None else os.environ.get(ENV_CATALOG, "")).strip()
    if not url:
        return None
    from modellake.store.pg import is_pg_url

    if not is_pg_url(url):
        raise LakeError(f"the catalog must be a postgresql:// URL (got {url.split('://')[0]}://...); "
                        f"leave --catalog and ${ENV_CATALOG} unset for the lake's own SQLite file")
    return url


def resolve_index(explicit: str | None = None) -> str | None:
    """``--index URL``, else ``$MODELLAKE_INDEX``, else None (the lake's embedded index)."""
    url = (explicit if explicit is not None else os.environ.get(ENV_INDEX, "")).strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise LakeError(f"the index must be a Chroma server's http:// or https:// URL (got {url!r}); "
                        f"leave --index and ${ENV_INDEX} unset for the lake's own index folder")
    return url


@dataclass
class Lake:
    """A lake directory: ``catalog.db`` (SQLite, unless ``catalog_url`` names a PostgreSQL
    database), ``index/`` (vectors), ``files/``."""

    root: Path
    catalog_url: str | None = None
    index_url: str | None = None  # a Chroma server; None: the embedded index in ``index/``

    @classmethod
    def open(cls, explicit: str | os.PathLike[str] | None = None, create: bool = True,
             catalog: str | None = None, index: str | None = None) -> Lake:
        root = resolve_lake_dir(explicit)
        url = resolve_catalog(catalog)
        index_url = resolve_index(index)
        try:
            lake = cls._open(root, create)
        except OSError as exc:
            raise from_os_error(exc, root) from exc
        lake.catalog_url, lake.index_url = url, index_url
        return lake

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

        return Catalog(self.catalog_url or self.catalog_path, root=self.root)
