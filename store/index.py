"""The lake's vector index: a ChromaDB ``PersistentClient`` in ``LAKE/index``, or a shared
Chroma server (``chroma run --path DIR --port PORT``) reached by ``HttpClient`` at its URL.

Every chromadb call of modellake lives in this module. Three collections:

* ``card_chunks``: one vector per section-aware chunk of a model card (cosine
  space). Ids are ``"<model_id>:<seq>"``; metadata is ``{"model_id": int}``
  only, so renaming a model never touches the index (names live in the catalog).
* ``weight_sketches``: one vector per model with a weight sketch (L2 space),
  metadata ``{"model_id", "layout_hash"}``; only sketches of the same layout are
  comparable, so queries always filter on ``layout_hash``.
* ``result_docs``: one vector per distinct description of a benchmark result (task, dataset,
  metrics, what the benchmark measures); ids are content hashes, so a result added by
  ``bench``, an import or an ingest costs an embedding only when its description is new.

Collections are always opened with an explicit embedding function (Chroma's
default one downloads a model) and telemetry is off: the index never touches
the network beyond the server it is told to use. Vectors are computed by the caller and
passed in.

``VectorIndex.identity()`` names the vectors stored: the chunk collection's id, new with
every collection (another lake folder, another server, a reset). The search records it in
the catalog with what it indexed, so that a catalog shared by several machines, or a lake
pointed at another server, never trusts vectors it did not write.
"""
from __future__ import annotations

import fcntl
import functools
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.api.types import EmbeddingFunction
from chromadb.config import Settings
from chromadb.utils.embedding_functions import register_embedding_function

from modellake.store.errors import LakeError

CHUNKS = "card_chunks"
SKETCHES = "weight_sketches"
RESULTS = "result_docs"
INDEX_VERSION = 1  # bump when what is stored per vector changes: forces a rebuild
CONNECT_TIMEOUT_S = 10  # to reach a Chroma server before saying it cannot be reached
EXACT_CHUNKS = 400  # a restricted chunk search up to this many chunks is scored exactly
CHROMA_PORT = 8000  # `chroma run`'s default port, for a URL that names none
_F = TypeVar("_F", bound=Callable[..., Any])


class TextEmbedder(EmbeddingFunction):  # type: ignore[type-arg]
    """Chroma adapter around a ``list[str] -> ndarray`` embedder (modellake's MiniLM)."""

    def __init__(self, fn: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self._fn = fn

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:  # noqa: A002 - Chroma's name
        if self._fn is None:
            raise LakeError("the index's text embedder is not attached; "
                            "use modellake.tools.embedding.embedder.chroma_embedding_function()")
        return list(np.asarray(self._fn(list(input)), dtype=np.float32))

    @staticmethod
    def name() -> str:
        return "modellake-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": "all-MiniLM-L6-v2"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> TextEmbedder:
        return TextEmbedder()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"


class NoEmbedder(EmbeddingFunction):  # type: ignore[type-arg]
    """For collections that only ever receive vectors (weight sketches)."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Sequence[str]) -> list[np.ndarray]:  # noqa: A002
        raise LakeError("the weight-sketch collection takes vectors, not text")

    @staticmethod
    def name() -> str:
        return "modellake-none"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NoEmbedder:
        return NoEmbedder()


for _cls in (TextEmbedder, NoEmbedder):
    try:
        register_embedding_function(_cls)
    except ValueError:  # already registered (module reloaded)
        pass


@contextmanager
def index_lock(index_dir: Path) -> Iterator[None]:
    """An exclusive, inter-process lock on the index (writers take it)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def server_address(url: str) -> tuple[str, int, bool]:
    """``(host, port, ssl)`` of a Chroma server URL, ``http(s)://HOST[:PORT]``."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1 \
            or parts.username or parts.path.strip("/") or parts.query:
        raise LakeError(f"the index must be a Chroma server's URL, http://HOST:PORT or https://HOST:PORT "
                        f"(got {shown(url)!r}); leave --index and $MODELLAKE_INDEX unset for the "
                        "lake's own index folder")
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else CHROMA_PORT), ssl


def shown(url: str) -> str:
    """The URL as an error names it: without a user name or password."""
    parts = urlsplit(url.strip())
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl() if parts.netloc else url


def _unreachable(url: str, exc: BaseException) -> LakeError:
    host, port, _ = server_address(url)
    reason = " ".join(str(exc).split()) or type(exc).__name__
    where = "" if host in ("127.0.0.1", "localhost", "::1") else f" on {host}"
    return LakeError(f"cannot reach the Chroma server at {shown(url)} ({reason}); start it{where} with "
                     f"`chroma run --path DIR --port {port}`, or unset $MODELLAKE_INDEX and leave out "
                     "--index to use the lake's own index folder")


def _is_transport(exc: BaseException) -> bool:
    """A server that does not answer (refused, reset, timed out), as httpx or chromadb say it."""
    import httpx

    return isinstance(exc, httpx.TransportError) or "Could not connect to a Chroma server" in str(exc)


def _server_call(method: _F) -> _F:
    """A server that stops answering mid-run is one ``LakeError`` naming it, not a traceback."""
    @functools.wraps(method)
    def call(self: VectorIndex, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            if self.url is None or isinstance(exc, LakeError) or not _is_transport(exc):
                raise
            raise _unreachable(self.url, exc) from exc
    return call  # type: ignore[return-value]


def _batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


class VectorIndex:
    """Card-chunk and weight-sketch vectors of one lake: in ``index_dir`` (embedded), or on
    the Chroma server at ``url``."""

    def __init__(self, index_dir: str | os.PathLike[str] | None = None, text_dim: int = 384,
                 sketch_dim: int = 2048, embedder: EmbeddingFunction | None = None,
                 embedder_name: str = "all-MiniLM-L6-v2", url: str | None = None,
                 namespace: str = "") -> None:
        """``namespace``: a suffix of the collection names, so that one Chroma server keeps
        the vectors of several lakes apart (each lake's catalog has its own)."""
        if (index_dir is None) == (url is None):
            raise ValueError("a VectorIndex needs either index_dir or url")
        suffix = f"-{namespace}" if namespace else ""
        self.chunks_name, self.sketches_name = CHUNKS + suffix, SKETCHES + suffix
        self.results_name = RESULTS + suffix
        self.path = Path(index_dir) if index_dir is not None else None
        self.url = url
        self.text_dim = text_dim
        self.embedder_name = embedder_name
        self.sketch_dim = sketch_dim
        self.client = self._embedded_client() if self.path is not None else self._server_client()
        self._embedder = embedder or TextEmbedder()
        self._open()

    @classmethod
    def open(cls, where: str | os.PathLike[str], **kwargs: Any) -> VectorIndex:
        """The index at ``where``: a Chroma server's ``http(s)://`` URL, else a directory."""
        if isinstance(where, str) and where.startswith(("http://", "https://")):
            return cls(url=where, **kwargs)
        return cls(where, **kwargs)

    def __repr__(self) -> str:
        return f"VectorIndex({shown(self.url) if self.url else str(self.path)!r})"

    def _embedded_client(self) -> Any:
        assert self.path is not None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(
                path=str(self.path),
                settings=Settings(anonymized_telemetry=False, allow_reset=True))
        except Exception as exc:  # noqa: BLE001 - chromadb raises many kinds
            raise LakeError(f"cannot open the vector index at {self.path}: {exc}") from exc

    def _server_client(self) -> Any:
        """A client of the server, which answered (the client asks it who we are)."""
        assert self.url is not None
        host, port, ssl = server_address(self.url)
        try:  # Chroma's client waits forever on a host that does not answer: fail in seconds
            socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise _unreachable(self.url, exc) from exc
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=ssl,
                                       settings=Settings(anonymized_telemetry=False))
        except Exception as exc:  # noqa: BLE001 - refused, not a Chroma server, a TLS error...
            raise _unreachable(self.url, exc) from exc

    @_server_call
    def _open(self) -> None:
        meta = {"index_version": INDEX_VERSION, "dim": self.text_dim, "embedder": self.embedder_name}
        self.chunks = self.client.get_or_create_collection(
            self.chunks_name, embedding_function=self._embedder, metadata=meta,
            configuration={"hnsw": {"space": "cosine", "ef_search": 200}})
        self.sketches = self.client.get_or_create_collection(
            self.sketches_name, embedding_function=NoEmbedder(),
            metadata={"index_version": INDEX_VERSION, "dim": self.sketch_dim},
            configuration={"hnsw": {"space": "l2"}})
        self.results = self.client.get_or_create_collection(
            self.results_name, embedding_function=self._embedder, metadata=meta,
            configuration={"hnsw": {"space": "cosine"}})
        self.max_batch = max(1, min(5000, self.client.get_max_batch_size()))
        self._count: int | None = None

    @_server_call
    def identity(self) -> str:
        """Which vectors these are: the chunk collection's id (see the module docstring).

        Read afresh: when another process has replaced the collection (a rebuild) since this
        handle opened it, the handle follows it first."""
        try:
            current = self.client.get_collection(self.chunks_name, embedding_function=self._embedder)
        except Exception:  # noqa: BLE001 - dropped by another process: created again, empty
            current = None
        if current is None or current.id != self.chunks.id:
            self._open()
        return str(self.chunks.id)

    def is_compatible(self) -> bool:
        """False when the stored index was built by another version or embedder."""
        meta = self.chunks.metadata or {}
        return (meta.get("index_version") == INDEX_VERSION and meta.get("dim") == self.text_dim
                and meta.get("embedder") == self.embedder_name)

    def reset(self) -> None:
        """Drop every vector (all collections) and start empty."""
        self._drop(self.chunks_name, self.sketches_name, self.results_name)

    def reset_sketches(self) -> None:
        """Drop every weight-sketch vector (they are cheap to re-add from the catalog)."""
        self._drop(self.sketches_name)

    @_server_call
    def _drop(self, *names: str) -> None:
        """Delete these collections (those missing are skipped) and reopen them empty."""
        for name in names:
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 - missing collection
                pass
        self._open()

    # -- card chunks ------------------------------------------------------
    @_server_call
    def chunk_count(self, fresh: bool = False) -> int:
        """Chunk vectors stored (cached, as this process's writes keep it current, unless
        ``fresh``: another process may have written since)."""
        if self._count is None or fresh:
            self._count = self.chunks.count()
        return self._count

    @_server_call
    def chunk_ids(self) -> list[str]:
        """The id of every stored chunk vector."""
        out: list[str] = []
        for s in _batches(self.chunks.count(), self.max_batch):
            out += self.chunks.get(include=[], limit=s.stop - s.start, offset=s.start)["ids"]
        return out

    @_server_call
    def add_chunks(self, ids: list[str], model_ids: list[int], vectors: np.ndarray) -> None:
        """Store chunk vectors (upsert: re-adding the same ids replaces them)."""
        if not ids:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        self._count = None
        for s in _batches(len(ids), self.max_batch):
            self.chunks.upsert(ids=ids[s], embeddings=vectors[s],
                               metadatas=[{"model_id": int(m)} for m in model_ids[s]])

    @_server_call
    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunk ids (those that exist)."""
        return self._vectors_of(self.chunks, ids)

    def _vectors_of(self, collection: Any, ids: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for s in _batches(len(ids), self.max_batch):
            got = collection.get(ids=ids[s], include=["embeddings"])
            for vid, vec in zip(got["ids"], got["embeddings"]):
                out[vid] = np.asarray(vec, dtype=np.float32)
        return out

    @_server_call
    def query_chunks(self, vector: np.ndarray, n: int,
                     chunk_ids: Sequence[str] | None = None) -> list[tuple[str, int, float]]:
        """Nearest chunks: ``(chunk_id, model_id, cosine similarity)``, best first.

        ``chunk_ids`` restricts the search to those chunks: a few hundred are scored exactly
        from their stored vectors; more go through Chroma's id-filtered search.
        """
        if n <= 0 or (chunk_ids is not None and not chunk_ids):
            return []
        q = np.asarray(vector, np.float32)
        if chunk_ids is not None and len(chunk_ids) <= EXACT_CHUNKS:
            got = self.chunk_vectors(list(chunk_ids))
            if not got:
                return []
            ids = list(got)
            sims = np.stack([got[i] for i in ids]) @ q / (float(np.linalg.norm(q)) or 1.0)
            order = np.argsort(-sims)[:n]
            return [(ids[i], int(ids[i].split(":", 1)[0]), float(sims[i])) for i in order]
        res = self.chunks.query(query_embeddings=q[None, :], n_results=n,
                                ids=list(chunk_ids) if chunk_ids is not None else None,
                                include=["distances"])
        # the model id is the id's prefix: no metadata to fetch
        return [(cid, int(cid.split(":", 1)[0]), 1.0 - float(dist))
                for cid, dist in zip(res["ids"][0], res["distances"][0])]

    @_server_call
    def delete_chunks(self, ids: Sequence[str]) -> None:
        """Remove chunk vectors by id."""
        ids = list(ids)
        self._count = None
        for s in _batches(len(ids), self.max_batch):
            self.chunks.delete(ids=ids[s])

    @_server_call
    def delete_models(self, model_ids: Sequence[int]) -> None:
        """Remove every vector (chunks and sketch) of these models."""
        ids = [int(m) for m in model_ids]
        self._count = None
        for s in _batches(len(ids), 500):
            part = ids[s]
            where = {"model_id": part[0]} if len(part) == 1 else {"model_id": {"$in": part}}
            self.chunks.delete(where=where)
            self.sketches.delete(where=where)

    # -- result documents ---------------------------------------------------
    @_server_call
    def result_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of result documents (one per distinct text; ids are content hashes)."""
        return self._vectors_of(self.results, ids)

    @_server_call
    def add_results(self, ids: list[str], vectors: np.ndarray) -> None:
        """Store result-document vectors (upsert)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        for s in _batches(len(ids), self.max_batch):
            self.results.upsert(ids=ids[s], embeddings=vectors[s])

    # -- weight sketches ----------------------------------------------------
    def _pad(self, vec: Sequence[float]) -> np.ndarray:
        v = np.nan_to_num(np.asarray(vec, dtype=np.float32)[: self.sketch_dim])
        if v.size < self.sketch_dim:
            v = np.concatenate([v, np.zeros(self.sketch_dim - v.size, np.float32)])
        return v

    @_server_call
    def add_sketches(self, model_ids: list[int], layout_hashes: list[str],
                     vectors: Sequence[Sequence[float]]) -> None:
        if not model_ids:
            return
        for s in _batches(len(model_ids), self.max_batch):
            self.sketches.upsert(
                ids=[f"s{m}" for m in model_ids[s]],
                embeddings=np.stack([self._pad(v) for v in vectors[s]]),
                metadatas=[{"model_id": int(m), "layout_hash": h}
                           for m, h in zip(model_ids[s], layout_hashes[s])])

    @_server_call
    def sketch_count(self) -> int:
        return self.sketches.count()

    @_server_call
    def query_sketches(self, vector: Sequence[float], layout_hash: str,
                       n: int) -> list[tuple[int, float]]:
        """Nearest sketches of the same layout: ``(model_id, squared L2)``, nearest first."""
        res = self.sketches.query(query_embeddings=self._pad(vector)[None, :], n_results=n,
                                  where={"layout_hash": layout_hash},
                                  include=["metadatas", "distances"])
        return [(int(meta["model_id"]), float(d))
                for meta, d in zip(res["metadatas"][0], res["distances"][0])]
