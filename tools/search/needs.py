"""From a need in the user's words to the task that answers it, by meaning.

"tell which language a text is in" names no task; the needs of ``data/needs.json`` (each a
description of what people want done, its Hugging Face pipeline tag and the words model cards
use for it) are embedded once and compared with the query's own embedding. The closest need,
when it is close enough and clearly ahead of needs of other tasks, gives search a soft task
(models of that task rank higher, others are not removed) and card words for the lexical
ranking. The need vectors are cached per embedder in the user's cache folder, so a cold
search does not re-embed them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from modellake.tools.embedding import embedder as embed

log = logging.getLogger(__name__)

MIN_SIM = 0.45  # cosine of the query to the need's description
METHOD_MIN_SIM = 0.55  # a way of making models: its words weigh as much as the query's own
MIN_MARGIN = 0.03  # ahead of the closest need of another task by at least this


@dataclass(frozen=True)
class Need:
    task: str
    need: str
    terms: str
    similarity: float = 0.0
    method: str = ""  # for a way of making a model: its name (its ``task`` is then a relation)
    margin: float = 0.0  # ahead of the closest need of another task by this


_lock = threading.Lock()
_loaded: dict[str, tuple[str, list[Need], np.ndarray]] = {}


def all_needs() -> list[Need]:
    """Every need of ``data/needs.json``, in its order (the first of a task says what it is for)."""
    return _needs()


def _needs(kind: str = "needs") -> list[Need]:
    """``needs``: tasks (``data/needs.json``); ``methods``: how models are made
    (``data/methods.json``; their ``task`` is the relation to a parent, "" when none)."""
    raw = json.loads(resources.files("modellake.tools.search").joinpath(f"data/{kind}.json").read_text())
    if kind == "methods":
        return [Need(n.get("relation") or "", n["need"], n.get("terms", ""), method=n["method"])
                for n in raw["methods"]]
    return [Need(n["task"], n["need"], n.get("terms", "")) for n in raw["needs"]]


def _cache_path(key: str) -> Any:
    from modellake.tools.embedding.onnx_encoder import cache_dir

    return cache_dir() / f"needs-{key}.npy"


def _vectors(needs: list[Need]) -> np.ndarray:
    """The needs' embeddings: from the cache when the embedder and the needs are the same."""
    texts = [n.need for n in needs]
    key = hashlib.sha256("\n".join([embed.name(), *texts]).encode()).hexdigest()[:16]
    path = _cache_path(key)
    try:
        vecs = np.load(path, allow_pickle=False)
        if vecs.shape == (len(texts), embed.DIM):
            return vecs
    except (OSError, ValueError):
        pass
    vecs = embed.embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vecs, allow_pickle=False)
        tmp.replace(path)
    except OSError:
        log.debug("could not cache the need vectors", exc_info=True)
    return vecs


def _table(kind: str = "needs") -> tuple[list[Need], np.ndarray]:
    with _lock:
        got = _loaded.get(kind)
        if got is None or got[0] != embed.name():
            needs = _needs(kind)
            got = _loaded[kind] = (embed.name(), needs, _vectors(needs))
        return got[1], got[2]


def closest_need(qvec: np.ndarray) -> Need | None:
    """The need the query (its unit embedding) describes, or None when none is clearly it."""
    return _closest(qvec, "needs", lambda n: n.task, MIN_SIM)


def closest_method(qvec: np.ndarray) -> Need | None:
    """How the model the query describes was made ("a small student trained to imitate a big
    teacher": distillation), or None when no way of making models is clearly it."""
    return _closest(qvec, "methods", lambda n: n.method, METHOD_MIN_SIM)


def _closest(qvec: np.ndarray, kind: str, group: Any, min_sim: float) -> Need | None:
    needs, vecs = _table(kind)
    sims = vecs @ np.asarray(qvec, dtype=np.float32)
    order = np.argsort(-sims)
    best = int(order[0])
    if sims[best] < min_sim:
        return None
    other = next((float(sims[i]) for i in order[1:] if group(needs[int(i)]) != group(needs[best])), -1.0)
    if sims[best] - other < MIN_MARGIN:
        return None
    n = needs[best]
    return Need(n.task, n.need, n.terms, float(sims[best]), n.method, float(sims[best]) - other)
